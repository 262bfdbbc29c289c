"""Fuzz the bad-input table: every public entry point against every class of bad input.

Each (entry point, argument, class) triple must raise the ``ValueError`` or
``TypeError`` that docs/bad_input.md lists, with a message naming the argument,
never return a NaN and never crash deep inside numpy with another exception.
"""

import re

import numpy as np
import pytest
from bad_input_table import CORRUPTIONS, DOC, cases, markdown_table, run_case
from hypothesis import given, settings
from hypothesis import strategies as st

CASES = cases()


def _check(entry, arg, label, seed):
    exc, message = run_case(entry, arg, label, np.random.default_rng(seed))
    assert exc is not None, f"{entry.name}({arg}={label}) returned {message}"
    expected = CORRUPTIONS[entry.kinds[arg]][label][1]
    assert type(exc).__name__ == expected, f"{type(exc).__name__}: {message}"
    names = (arg, *entry.aliases.get(arg, ()))
    assert any(re.search(rf"\b{re.escape(n)}\b", message) for n in names), message


def _fuzz_test(part):
    @pytest.mark.parametrize(("entry", "arg", "label"), part,
                             ids=[f"{e.name}-{a}-{lab}" for e, a, lab in part])
    @settings(max_examples=10)
    @given(seed=st.integers(0, 2**32 - 1))
    def test(entry, arg, label, seed):
        _check(entry, arg, label, seed)

    return test


# One parametrized @given test per chunk of cases: with derandomize=True (our default
# profile), hypothesis 6.170 deepens a settings chain on every call of the same test
# function, and ~950 calls overflow the interpreter's stack.
_CHUNK = 400
for _k in range(0, len(CASES), _CHUNK):
    globals()[f"test_bad_input_raises_clear_error_{_k // _CHUNK}"] = _fuzz_test(
        CASES[_k:_k + _CHUNK])


def test_docs_table_is_current():
    assert DOC.exists(), "docs/bad_input.md is missing"
    assert markdown_table() in DOC.read_text(), (
        "docs/bad_input.md is out of date: regenerate its table with "
        "`python tests/bad_input_table.py --write`")
