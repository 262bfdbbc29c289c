"""bngeom.wasserstein: options dataclasses, 0.1 keywords, extreme scales of the output weights."""

import numpy as np
import pytest

from bngeom import geometry as geo
from bngeom.wasserstein import (
    MemoryOptions,
    MultiscaleOptions,
    SinkhornOptions,
    WassersteinOptions,
    pairwise_squared_dist,
    wasserstein2,
)

COV = np.array([[3.0, 0.4, 0.0], [0.4, 1.0, 0.2], [0.0, 0.2, 0.3]])


def particles(n, seed, a_scale=1.0, a_values=None):
    gen = np.random.default_rng(seed)
    a = gen.uniform(-1, 1, n) if a_values is None else gen.choice(a_values, n)
    return np.column_stack([geo.random_point(COV, n, rng=gen), a_scale * a])


def with_outputs(z, factor):
    out = z.copy()
    out[:, -1] *= factor
    return out


# --- options and the 0.1 keywords -------------------------------------------------------


def test_options_and_legacy_keywords_give_the_same_result():
    x, y = particles(60, 0), particles(50, 1)
    old = wasserstein2(x, y, COV, method="sinkhorn", reg=2e-2, tol=1e-7, eps_scaling=0.7,
                       memory_budget=2**24, full_output=True)
    new = wasserstein2(x, y, COV, method="sinkhorn", full_output=True, options=WassersteinOptions(
        sinkhorn=SinkhornOptions(reg=2e-2, tol=1e-7, eps_scaling=0.7),
        memory=MemoryOptions(budget=2**24)))
    assert new.cost == old.cost and new.n_iter == old.n_iter
    # one group alone, and a keyword replacing one of its fields
    alone = wasserstein2(x, y, COV, method="sinkhorn", options=SinkhornOptions(reg=1.0),
                         reg=2e-2, tol=1e-7, eps_scaling=0.7, full_output=True)
    assert alone.cost == old.cost


def test_multiscale_options_are_used():
    x, y = particles(300, 2), particles(280, 3)
    res = wasserstein2(x, y, COV, method="sinkhorn", full_output=True,
                       options=WassersteinOptions(
                           sinkhorn=SinkhornOptions(reg=2e-2, tol=1e-8),
                           multiscale=MultiscaleOptions(dense_limit=1000, coarse_size=64)))
    dense = wasserstein2(x, y, COV, method="sinkhorn", reg=2e-2, tol=1e-8, full_output=True)
    assert res.solver == "multiscale" and res.info["coarse_size"] == 64
    assert dense.solver == "dense"
    assert res.cost == pytest.approx(dense.cost, rel=1e-7)


def test_pot_and_hand_written_dense_solvers_agree():
    x, y = particles(80, 4), particles(70, 5)
    kw = dict(method="sinkhorn", full_output=True)
    ours = wasserstein2(x, y, COV, options=SinkhornOptions(reg=5e-2, tol=1e-9), **kw)
    pot = wasserstein2(x, y, COV, options=SinkhornOptions(reg=5e-2, tol=1e-9, solver="pot"), **kw)
    assert (ours.solver, pot.solver) == ("dense", "pot")
    assert ours.cost == pytest.approx(pot.cost, rel=1e-6)
    assert ours.marginal_error <= 1e-9 and pot.marginal_error <= 1e-8


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg=-1.0), ValueError, "reg must be > 0"),
    (dict(tol=float("nan")), ValueError, "tol must be finite"),
    (dict(max_iter=0), ValueError, "max_iter must be >= 1"),
    (dict(max_iter=2.5), TypeError, "max_iter must be an integer"),
    (dict(solver="sparse"), ValueError, "solver must be"),
    (dict(eps_scaling=1.0), ValueError, r"eps_scaling must be in \(0, 1\)"),
    (dict(truncation=0), ValueError, "truncation must be > 0"),
    (dict(dense_limit=-3), ValueError, "dense_limit must be >= 1"),
    (dict(coarse_size="big"), TypeError, "coarse_size must be an integer"),
    (dict(memory_budget=0), ValueError, "memory_budget must be > 0"),
    (dict(regularization=1e-2), TypeError, "unexpected keyword argument 'regularization'"),
    (dict(options={"reg": 1e-2}), TypeError, "options must be a WassersteinOptions"),
    (dict(method=None), ValueError, "method must be 'exact' or 'sinkhorn'"),
    (dict(validate="no"), TypeError, "validate must be a bool"),
])
def test_bad_options(kwargs, exc, match):
    x = particles(5, 6)
    with pytest.raises(exc, match=match):
        wasserstein2(x, x, COV, **kwargs)


def test_validate_keyword_and_option():
    x, y = particles(30, 14), particles(20, 15)
    ref = wasserstein2(x, y, COV)
    assert wasserstein2(x, y, COV, validate=False) == ref
    assert wasserstein2(x, y, COV, options=WassersteinOptions(validate=False)) == ref
    off = x.copy()
    off[0, :3] *= 2                                  # off N_Sigma: refused only when checked
    with pytest.raises(ValueError, match="N_Sigma"):
        wasserstein2(off, y, COV, options=WassersteinOptions(validate=False), validate=True)
    assert np.isfinite(wasserstein2(off, y, COV, validate=False))


def test_options_check_their_fields():
    with pytest.raises(TypeError, match="WassersteinOptions.sinkhorn must be a SinkhornOptions"):
        WassersteinOptions(sinkhorn=MemoryOptions())
    with pytest.raises(ValueError, match="reg must be finite"):
        SinkhornOptions(reg=float("inf"))
    assert SinkhornOptions(reg=np.float32(0.5)).reg == 0.5


# --- extreme output weights and radii (eq. 16 is homogeneous) ---------------------------


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300, 1e-200])
def test_output_weights_at_extreme_scales(scale):
    # W2 with outputs a * s and radius s equals s times W2 with outputs a and radius 1.
    x = particles(20, 7, a_values=[-1.0, 1.0])
    y = particles(25, 8, a_values=[-1.0, 1.0])
    ref = wasserstein2(x, y, COV)
    got = wasserstein2(with_outputs(x, scale), with_outputs(y, scale), COV, radius=scale)
    assert np.isfinite(got) and got == pytest.approx(scale * ref, rel=1e-12)


def test_output_weights_1e154_exact_and_sinkhorn():
    # issue 14: +-1e154 made POT's network simplex report "Problem infeasible".
    x = particles(20, 9, a_values=[-1e154, 1e154])
    y = particles(25, 10, a_values=[-1e154, 1e154])
    res = wasserstein2(x, y, COV, full_output=True)
    unit = wasserstein2(with_outputs(x, 1e-154), with_outputs(y, 1e-154), COV, radius=1e-154)
    assert res.value == pytest.approx(1e154 * unit, rel=1e-12)
    assert res.cost == np.inf                       # W2^2 = 1.4e308 * ... exceeds float64
    ent = wasserstein2(x, y, COV, method="sinkhorn", reg=1e306, tol=1e-12, full_output=True)
    assert np.isfinite(ent.value) and ent.value >= res.value * (1 - 1e-9)
    assert ent.info["scale"] == 2.0**512 and np.all(np.isfinite(ent.info["f"]))
    with pytest.raises(ValueError, match=r"reg = 0.01 is out of range"):
        wasserstein2(x, y, COV, method="sinkhorn")   # reg 1e-2 against costs 1e308


def test_equal_huge_output_weights_cancel():
    # every output weight 1e300: the cost is the angular part alone, W2 as with a = 0
    x, y = particles(12, 16), particles(14, 17)
    flat = lambda z, c: np.column_stack([z[:, :3], np.full(len(z), c)])  # noqa: E731
    ref = wasserstein2(flat(x, 0.0), flat(y, 0.0), COV)
    assert ref > 0.1
    assert wasserstein2(flat(x, 1e300), flat(y, 1e300), COV) == pytest.approx(ref, rel=1e-12)


def test_unrepresentable_inputs_are_refused():
    x = particles(6, 11)
    with pytest.raises(ValueError, match=r"x\[:, -1\] \(output weights\) must satisfy"):
        wasserstein2(with_outputs(x, 1e308), x, COV)
    with pytest.raises(ValueError, match=r"y\[:, -1\] \(output weights\) must satisfy"):
        wasserstein2(x, with_outputs(x, 1e308), COV)
    with pytest.raises(ValueError, match="radius"):
        wasserstein2(x, x, COV, radius=1e308)
    with pytest.raises(ValueError, match="squared distances may overflow"):
        pairwise_squared_dist(with_outputs(x, 1e154), x, COV)


def test_tiny_radius_and_outputs_keep_their_digits():
    x, y = particles(15, 12), particles(15, 13)
    ref = wasserstein2(x, y, COV)
    tiny = wasserstein2(with_outputs(x, 1e-200), with_outputs(y, 1e-200), COV, radius=1e-200)
    assert tiny == pytest.approx(1e-200 * ref, rel=1e-12)
    # the cost matrix of the same measures at ordinary scale is untouched by rescaling
    np.testing.assert_array_equal(pairwise_squared_dist(x, y, COV),
                                  pairwise_squared_dist(x, y, COV, validate=False))
