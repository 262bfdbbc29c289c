"""The docs/math.md §11 claims of ``bngeom reproduce`` at their quick sizes."""

import numpy as np
import pytest

from bngeom.experiments import sgd_reference


def test_sgd_reference_quick_claim_passes():
    res = sgd_reference.run_sgd_reference(seed=1, size="quick")
    claim = sgd_reference.sgd_reference_claim(res)
    assert claim["passed"], claim
    assert claim["measured"] <= 1e-10 and len(res.configs) == 16


def test_sgd_reference_detects_a_different_rule():
    """The oracle is sensitive: a Nesterov-like change of the rule is caught."""
    res = sgd_reference.run_sgd_reference(seed=0, size="quick")
    bad = sgd_reference.SGDReferenceResult(res.configs, [*res.differences[:-1], 1e-6],
                                           res.displacements, res.config)
    assert not sgd_reference.sgd_reference_claim(bad)["passed"]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    W0, a0 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    kw = dict(lr=0.5, steps=5, weight_decay=0.0, batch_size=None, batch_norm="batch", seed=0)
    W1, _ = sgd_reference.reference_sgd(X, y, W0, a0, momentum=0.9, **kw)
    W2, _ = sgd_reference.reference_sgd(X, y, W0, a0, momentum=0.0, **kw)
    assert np.max(np.abs(W1 - W2)) > 1e-3


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="size must be one of"):
        sgd_reference.run_sgd_reference(size="huge")
