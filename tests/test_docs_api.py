"""The docs cannot rot: the API reference lists every public name, and links and names resolve.

* every public module of the package (no component starting with ``_``) has a section
  ``## `bngeom.module` `` in docs/api.md, and every name of its ``__all__`` is a bullet
  ``- `name` `` of that section (``bngeom.__all__`` in the section ``## `bngeom` ``);
* every bullet names something that exists;
* every ``bngeom.x.y`` written in the docs resolves to an attribute;
* every relative link between the docs points to an existing file;
* the docs' doctests pass (CI also runs ``pytest --doctest-glob="*.md" docs/``).
"""

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import bngeom

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api.md"
# Pages checked here (the other pages' examples run under the doctest-glob of CI).
PAGES = ("index.md", "math.md", "api.md", "figures.md")


def _walk() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(bngeom.__path__, "bngeom.")
            if not any(part.startswith("_") for part in info.name.split("."))]


def public_modules() -> list[str]:
    """Public modules under their own names (the 0.1 paths are aliases, checked apart)."""
    return sorted(["bngeom"] + [n for n in _walk() if importlib.import_module(n).__name__ == n])


def alias_modules() -> dict[str, str]:
    """0.1 import path -> the moved module it is."""
    return {n: importlib.import_module(n).__name__ for n in _walk()
            if importlib.import_module(n).__name__ != n}


def sections() -> dict[str, str]:
    text = API.read_text()
    parts = re.split(r"^## `(bngeom[\w.]*)`.*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def bullets(section: str) -> list[str]:
    return re.findall(r"^- `([A-Za-z_][\w]*)", section, flags=re.M)


def suggestion(module, name: str) -> str:
    obj = getattr(module, name)
    doc = (inspect.getdoc(obj) or "").strip().splitlines()
    first = doc[0] if doc and (callable(obj) or inspect.ismodule(obj)) else ""
    return f"- `{name}` -- {first}"


@pytest.mark.parametrize("modname", public_modules())
def test_every_public_name_is_in_the_api_reference(modname):
    module = importlib.import_module(modname)
    secs = sections()
    assert modname in secs, f"docs/api.md has no section ## `{modname}`"
    listed = set(bullets(secs[modname]))
    missing = [n for n in getattr(module, "__all__", []) if n not in listed]
    assert not missing, (f"docs/api.md, section `{modname}`, does not list {missing}; "
                         "add:\n" + "\n".join(suggestion(module, n) for n in missing))


def test_every_listed_name_exists():
    modules = set(public_modules())
    for modname, text in sections().items():
        assert modname in modules, f"docs/api.md documents {modname}, which is not a module"
        module = importlib.import_module(modname)
        for name in bullets(text):
            assert hasattr(module, name), f"docs/api.md lists {modname}.{name}, which is gone"


def test_every_old_import_path_is_listed():
    text = API.read_text().split("## Import paths of 0.1", 1)[1]
    for old, new in alias_modules().items():
        assert f"| `{old}` | `{new}` |" in text, f"docs/api.md does not list {old} -> {new}"


def _dotted_names(text: str) -> set[str]:
    return set(re.findall(r"`(bngeom(?:\.[A-Za-z_]\w*)+)`", text))


@pytest.mark.parametrize("page", PAGES)
def test_dotted_names_in_the_docs_resolve(page):
    for dotted in sorted(_dotted_names((DOCS / page).read_text())):
        parts = dotted.split(".")
        obj, i = None, len(parts)
        while i > 0:  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                i -= 1
        for attr in parts[i:]:
            assert hasattr(obj, attr), f"{page} mentions `{dotted}`, which does not resolve"
            obj = getattr(obj, attr)


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_resolve(page):
    text = (DOCS / page).read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (DOCS / target).exists(), f"{page} links to {target}, which does not exist"


@pytest.mark.parametrize("page", PAGES)
def test_doc_examples_pass(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
