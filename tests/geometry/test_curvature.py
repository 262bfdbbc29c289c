r"""Curvature of :math:`(N_\Sigma, r^2 g)` and :math:`N_\Sigma\times\mathbb R` (docs/math.md §10).

Oracles independent of the closed forms: the round sphere's curvature written out in
plain numpy and pushed through the chart differential :math:`d\psi` (an isometry), and
geomstats' own ``Hypersphere`` for :math:`\Sigma = I`; the tensors are checked by
contraction against each other and by the algebraic symmetries of a curvature tensor.
"""

from __future__ import annotations

import numpy as np
import pytest
from geomstats.geometry.hypersphere import Hypersphere
from hypothesis import given, settings
from hypothesis import strategies as st

from bngeom import geometry as geo
from bngeom.adapters.geomstats import BNSpace
from bngeom.geometry import charts
from bngeom.testing.strategies import covariances, points, radii

COVS = covariances(max_condition=100.0, min_scale=0.5, max_scale=2.0)


def _setting(data, n=3):
    cov = data.draw(COVS, label="cov")
    u = data.draw(points(cov, n=n), label="u")
    seeds = data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=4, max_size=4), label="seeds")
    vecs = [geo.random_tangent_vector(u, cov, rng=s) for s in seeds]
    return cov, u, vecs


@settings(max_examples=30)
@given(st.data())
def test_curvature_is_the_round_spheres_pulled_back_by_psi(data):
    cov, u, (x, y, z, _) = _setting(data)
    dpsi = [charts.manifold_to_sphere_differential(u, v) for v in (x, y, z)]
    a, b, c = dpsi
    # round unit sphere: R(A, B)C = <B, C> A - <A, C> B
    sphere = np.sum(b * c, -1)[:, None] * a - np.sum(a * c, -1)[:, None] * b
    got = charts.manifold_to_sphere_differential(u, geo.curvature(u, x, y, z, cov))
    scale = np.prod([np.linalg.norm(v, axis=-1) for v in dpsi], axis=0)[:, None]
    assert np.all(np.abs(got - sphere) <= 1e-11 * scale + 1e-300)
    assert np.all(geo.is_tangent(u, geo.curvature(u, x, y, z, cov), cov, atol=1e-9))


@pytest.mark.parametrize("d", [3, 5])
def test_identity_covariance_equals_geomstats_hypersphere(d):
    sphere = Hypersphere(d - 1)
    u = geo.random_point(np.eye(d), 4, rng=d)
    x, y, z = (geo.random_tangent_vector(u, np.eye(d), rng=d + k) for k in range(3))
    np.testing.assert_allclose(geo.curvature(u, x, y, z, np.eye(d)),
                               sphere.metric.curvature(x, y, z, u), rtol=0, atol=1e-13)
    np.testing.assert_allclose(geo.metric_matrix(u, np.eye(d)), sphere.metric.metric_matrix(u),
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(geo.sectional_curvature(u, x, y, np.eye(d)),
                               sphere.metric.sectional_curvature(x, y, u), rtol=1e-12)


@settings(max_examples=30)
@given(st.data())
def test_tensors_contract_to_each_other(data):
    cov, u, (x, y, z, w) = _setting(data)
    r = data.draw(radii(), label="radius")
    d = len(cov)
    t = geo.riemann_tensor(u, cov)
    curv = geo.curvature(u, x, y, z, cov)
    np.testing.assert_allclose(np.einsum("nijkl,nj,nk,ni->nl", t, x, y, z), curv, rtol=0,
                               atol=1e-10 * np.max(np.abs(curv)) + 1e-12)
    ric = geo.ricci_tensor(u, cov)
    np.testing.assert_allclose(np.einsum("nijkj->nik", t), ric, rtol=0,
                               atol=1e-10 * np.max(np.abs(ric)) + 1e-12)
    np.testing.assert_allclose(ric, (d - 2) * geo.pinv_metric_matrix(u, cov), rtol=0,
                               atol=1e-9 * np.max(np.abs(ric)) + 1e-12)
    scalar = np.einsum("nij,nij->n", geo.cometric_matrix(u, cov, radius=r), ric)
    np.testing.assert_allclose(scalar, geo.scalar_curvature(u, cov, radius=r), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(geo.scalar_curvature(u, cov, radius=r),
                               (d - 1) * (d - 2) / r**2, rtol=1e-15)
    # covariant tensor R_ijkl = M_im T_jklm: skew pairs, pair symmetry, first Bianchi
    metric = geo.metric_matrix(u, cov)
    cov_t = np.einsum("nim,njklm->nijkl", metric, t)
    tol = 1e-9 * np.max(np.abs(metric)) ** 2       # |R_ijkl| <= 2 |G^+|^2
    np.testing.assert_allclose(cov_t, -np.swapaxes(cov_t, 1, 2), rtol=0, atol=tol)
    np.testing.assert_allclose(cov_t, -np.swapaxes(cov_t, 3, 4), rtol=0, atol=tol)
    np.testing.assert_allclose(cov_t, np.transpose(cov_t, (0, 3, 4, 1, 2)), rtol=0, atol=tol)
    bianchi = cov_t + np.transpose(cov_t, (0, 1, 3, 4, 2)) + np.transpose(cov_t, (0, 1, 4, 2, 3))
    np.testing.assert_allclose(bianchi, 0.0, rtol=0, atol=3 * tol)
    del w


@settings(max_examples=30)
@given(st.data())
def test_sectional_curvature_is_one_over_r_squared(data):
    cov, u, (x, y, _, _) = _setting(data)
    r = data.draw(radii(), label="radius")
    sec = geo.sectional_curvature(u, x, y, cov, radius=r)
    ip = [geo.inner_product(u, a, b, cov) for a, b in ((x, x), (y, y), (x, y))]
    plane = ip[0] * ip[1] - ip[2] ** 2 > 1e-6 * ip[0] * ip[1]
    np.testing.assert_allclose(sec[plane], 1 / r**2, rtol=1e-9)
    assert np.all((sec == 0) | plane)       # no plane: 0 (d = 2, or x, y dependent)
    if len(cov) == 2:
        assert not np.any(sec)
    # dependent vectors span no plane: 0, as geomstats
    np.testing.assert_array_equal(geo.sectional_curvature(u, x, 0.0 * x, cov, radius=r), 0.0)
    zeros = geo.curvature_derivative(u, x, y, x, y, cov)
    assert zeros.shape == u.shape and not np.any(zeros)
    assert not np.any(geo.directional_curvature_derivative(u, x, y, cov))


@settings(max_examples=20)
@given(st.data())
def test_product_curvature_matches_the_closed_form(data):
    cov = data.draw(COVS, label="cov")
    r = data.draw(radii(), label="radius")
    space = BNSpace(cov, radius=r)
    p = space.random_point(3, rng=data.draw(st.integers(0, 1000), label="seed"))
    v, w = (space.random_tangent_vec(p, rng=k) for k in (1, 2))
    m, d = space.metric, len(cov)
    xu, yu = v[:, :d], w[:, :d]
    # kappa = |X_u ^ Y_u|^2_{r^2 g} / (r^2 |X ^ Y|^2)
    ip = m._u_metric.inner_product
    wedge_u = ip(xu, xu, p[:, :d]) * ip(yu, yu, p[:, :d]) - ip(xu, yu, p[:, :d]) ** 2
    wedge = m.squared_norm(v, p) * m.squared_norm(w, p) - m.inner_product(v, w, p) ** 2
    np.testing.assert_allclose(m.sectional_curvature(v, w, p), wedge_u / (r**2 * wedge),
                               rtol=1e-9, atol=1e-12 / r**2)
    curv = m.curvature(v, w, v, p)
    np.testing.assert_allclose(curv[:, :d], geo.curvature(p[:, :d], xu, yu, xu, cov))
    assert not np.any(curv[:, d])
    ric = m.ricci_tensor(p)
    np.testing.assert_allclose(np.einsum("nijkj->nik", m.riemann_tensor(p)), ric, rtol=0,
                               atol=1e-10 * np.max(np.abs(ric)) + 1e-12)
    np.testing.assert_allclose(m.scalar_curvature(p), (d - 1) * (d - 2) / r**2, rtol=1e-15)
    assert not np.any(m.curvature_derivative(v, w, v, w, p))
    assert not np.any(m.directional_curvature_derivative(v, w, p))
