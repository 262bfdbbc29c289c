"""Tests of bngeom.wasserstein: W2 on M = N_Sigma x R (MATH §6, eq. 16)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bngeom import geometry as geo
from bngeom.geometry.charts import normalize_to_manifold, normalize_to_sphere
from bngeom.nn.data import random_rotation
from bngeom.wasserstein import pairwise_squared_dist, wasserstein2

COV = np.array([[3.0, 0.4, 0.0], [0.4, 1.0, 0.2], [0.0, 0.2, 0.3]])


def particles(n, rng, cov=COV, a_scale=1.0):
    gen = np.random.default_rng(rng)
    return np.column_stack([geo.random_point(cov, n, rng=gen), gen.uniform(-a_scale, a_scale, n)])


def isometry(z, Q, cov):
    """phi o Q o psi on the u part: an isometry of (N_Sigma, g) (MATH §5)."""
    d = cov.shape[0]
    u = normalize_to_manifold(normalize_to_sphere(z[:, :d]) @ Q.T, cov)
    return np.column_stack([u, z[:, d]])


def brute_cost(x, y, cov, radius=1.0):
    d = cov.shape[0]
    dg = geo.dist(x[:, None, :d], y[None, :, :d], cov, radius=radius)
    return dg**2 + (x[:, None, d] - y[None, :, d]) ** 2


# --- the cost matrix ----------------------------------------------------------------


def test_pairwise_matches_core_dist_including_near_pairs():
    x = particles(40, 0)
    y = np.concatenate([particles(30, 1), x[:5], x[5:10] * [-1, -1, -1, 1]])  # equal, antipodal
    y[-3:, :3] = normalize_to_manifold(x[:3, :3] + 1e-9, COV)               # nearly equal
    for radius in (1.0, 2.5):
        got = pairwise_squared_dist(x, y, COV, radius=radius)
        np.testing.assert_allclose(got, brute_cost(x, y, COV, radius), rtol=1e-12, atol=1e-14)
    assert np.all(np.diag(pairwise_squared_dist(x, x, COV)) == 0.0)


def test_pairwise_memory_budget():
    x = particles(20, 0)
    with pytest.raises(ValueError, match="memory_budget"):
        pairwise_squared_dist(x, x, COV, memory_budget=100)


# --- known answers --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "sinkhorn"])
def test_measure_against_itself_is_zero(method):
    x = particles(60, 2)
    val = wasserstein2(x, x, COV, method=method, reg=1e-3)
    if method == "exact":
        assert val == 0.0
    else:   # the entropic plan spreads a little mass off the diagonal
        assert 0.0 <= val < 1e-5


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), radius=st.sampled_from([0.5, 1.0, 2.0]))
def test_common_isometry_leaves_w2_unchanged(seed, radius):
    gen = np.random.default_rng(seed)
    x, y = particles(25, gen), particles(30, gen)
    Q = random_rotation(3, gen)
    before = wasserstein2(x, y, COV, radius=radius)
    after = wasserstein2(isometry(x, Q, COV), isometry(y, Q, COV), COV, radius=radius)
    assert after == pytest.approx(before, rel=1e-10, abs=1e-12)
    # and the isometry really moves the particles
    assert np.max(np.abs(isometry(x, Q, COV) - x)) > 1e-3


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), radius=st.floats(0.2, 3.0))
def test_two_diracs_give_d_M(seed, radius):
    gen = np.random.default_rng(seed)
    x, y = particles(1, gen, a_scale=3.0), particles(1, gen, a_scale=3.0)
    dm = np.sqrt(geo.dist(x[0, :3], y[0, :3], COV, radius=radius) ** 2 + (x[0, 3] - y[0, 3]) ** 2)
    assert wasserstein2(x, y, COV, radius=radius) == pytest.approx(dm, rel=1e-12)


def test_two_point_measures_with_weights():
    # u fixed at +-e1 / ||e1||_Sigma; a in {0, 1} versus {0, 1} shifted by t: optimal cost is
    # the min over the two matchings, checked in closed form.
    cov = np.diag([4.0, 1.0])
    u1, u2 = np.array([0.5, 0.0]), np.array([0.0, 1.0])
    x = np.array([[*u1, 0.0], [*u2, 1.0]])
    y = np.array([[*u1, 0.3], [*u2, 1.3]])
    w = np.array([0.25, 0.75])
    # Identity matching costs 0.3^2 each; swapping costs (pi/2)^2 + ... more.
    assert wasserstein2(x, y, cov, weights_x=w, weights_y=w) == pytest.approx(0.3, rel=1e-12)
    # Unequal weights: mass 0.5 must cross between the two points.
    wy = np.array([0.75, 0.25])
    exact = np.sqrt(0.25 * 0.3**2 + 0.25 * 0.3**2 + 0.5 * ((np.pi / 2) ** 2 + 0.7**2))
    assert wasserstein2(x, y, cov, weights_x=w, weights_y=wy) == pytest.approx(exact, rel=1e-12)


def test_shift_of_output_weights():
    x = particles(50, 3)
    y = x.copy()
    y[:, -1] += 0.25
    assert wasserstein2(x, y, COV) == pytest.approx(0.25, rel=1e-12)


def test_zero_weights_drop_particles():
    x, y = particles(10, 4), particles(12, 5)
    w = np.full(10, 1 / 8)
    w[:2] = 0.0
    full = wasserstein2(x, y, COV, weights_x=w)
    assert full == pytest.approx(wasserstein2(x[2:], y, COV), rel=1e-12)


# --- Sinkhorn ---------------------------------------------------------------------------


def test_sinkhorn_approaches_exact_as_reg_shrinks():
    x, y = particles(120, 6), particles(100, 7)
    exact = wasserstein2(x, y, COV) ** 2
    gaps = []
    for reg in (1e-1, 1e-2, 3e-3):
        res = wasserstein2(x, y, COV, method="sinkhorn", reg=reg, tol=1e-6, full_output=True)
        assert res.marginal_error <= 1e-6
        assert res.cost >= exact - 1e-9             # the entropic plan is a coupling
        gaps.append(res.cost - exact)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3 * exact


def test_sinkhorn_matches_pot():
    x, y = particles(80, 8), particles(70, 9)
    ours = wasserstein2(x, y, COV, method="sinkhorn", reg=5e-2, tol=1e-9, full_output=True)
    pot = wasserstein2(x, y, COV, method="sinkhorn", reg=5e-2, tol=1e-9, solver="pot",
                       max_iter=100_000, full_output=True)
    assert ours.cost == pytest.approx(pot.cost, rel=1e-6)


def test_multiscale_equals_dense():
    x, y = particles(700, 10), particles(600, 11)
    kw = dict(method="sinkhorn", reg=2e-2, tol=1e-8, full_output=True)
    dense = wasserstein2(x, y, COV, solver="dense", **kw)
    multi = wasserstein2(x, y, COV, solver="multiscale", coarse_size=128,
                         memory_budget=2**20, **kw)   # small blocks: many screening blocks
    assert multi.solver == "multiscale" and multi.nnz < 0.5 * x.shape[0] * y.shape[0]
    assert multi.info["screens"] >= 2               # at least one certifying pass
    assert multi.cost == pytest.approx(dense.cost, rel=1e-7)


def test_sinkhorn_small_reg_does_not_underflow():
    x, y = particles(50, 12, a_scale=3.0), particles(50, 13, a_scale=3.0)
    res = wasserstein2(x, y, COV, method="sinkhorn", reg=1e-4, full_output=True)
    assert np.isfinite(res.value)
    assert res.value == pytest.approx(wasserstein2(x, y, COV), rel=1e-3)


# --- validation ---------------------------------------------------------------------------


def test_bad_inputs():
    x = particles(5, 14)
    with pytest.raises(ValueError, match=r"shape \(N, d \+ 1\)"):
        wasserstein2(x[:, :3], x, COV)
    off = x.copy()
    off[0, :3] *= 2
    with pytest.raises(ValueError, match="N_Sigma"):
        wasserstein2(off, x, COV)
    with pytest.raises(ValueError, match="nonnegative"):
        wasserstein2(x, x, COV, weights_x=[0.5, 0.5, 0.5, -0.5, 0.0])
    with pytest.raises(ValueError, match="sum to 1"):
        wasserstein2(x, x, COV, weights_y=np.full(5, 0.3))
    with pytest.raises(ValueError, match="one weight per particle"):
        wasserstein2(x, x, COV, weights_x=[1.0])
    with pytest.raises(ValueError, match="method"):
        wasserstein2(x, x, COV, method="emd")
    with pytest.raises(ValueError, match="reg"):
        wasserstein2(x, x, COV, method="sinkhorn", reg=0.0)
    with pytest.raises(ValueError, match="radius"):
        wasserstein2(x, x, COV, radius=-1.0)
    with pytest.raises(ValueError, match="finite"):
        wasserstein2(np.full((2, 4), np.nan), x, COV)
    with pytest.raises(ValueError, match="memory_budget"):
        wasserstein2(x, x, COV, memory_budget=10)
