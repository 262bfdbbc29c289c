r"""Property tests of the metric core (MATH §4-5): Proposition 1 and the closed forms.

Oracles are independent of the closed forms under test: the pseudo-inverse
metric matrix (the paper's definition), linear solves on an orthonormal basis
of :math:`T_u N_\Sigma` (``scipy.linalg.null_space``), and finite differences
along geodesics.

Tolerances. The covariances have condition number :math:`\kappa \le 100`. On
:math:`T_u` the eigenvalues of :math:`G(u)` lie in
:math:`[\|u\|^2\cos^2\angle(u, \Sigma u), \|u\|^2]` and
:math:`\cos\angle(u,\Sigma u) \ge 2\sqrt\kappa/(1+\kappa) \ge 0.19`, so the
pseudo-inverse loses at most a factor ~30 over machine precision; relative
tolerances of 1e-10 leave three orders of magnitude of margin.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.linalg import null_space

from bngeom import geometry as geo
from bngeom.testing.strategies import covariances, points, radii, tangent_vectors

RTOL = 1e-10
# Eigenvalues of Sigma in [0.05, 20] (scale 0.5..2, condition <= 100): |u| <= 4.5.
COVS = covariances(max_condition=100.0, min_scale=0.5, max_scale=2.0)


def _floats(bound: float) -> st.SearchStrategy[float]:
    """Floats in [-bound, bound] that are 0 or of size >= 1e-6 (no underflow games)."""
    return st.floats(-bound, bound).map(lambda x: 0.0 if abs(x) < 1e-6 else x)


FLOATS = _floats(1.0)


def _tangent_basis(u: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Orthonormal basis (d, d-1) of T_u N_Sigma = (Sigma u)^perp, from an SVD."""
    return null_space((cov @ u)[None, :])


def _g_norm_pinv(u, xi, cov, radius=1.0):
    m = geo.pinv_metric_matrix(u, cov, radius=radius)
    return float(np.sqrt(max(xi @ m @ xi, 0.0)))


def _draw_setting(data, n=None):
    cov = data.draw(COVS, label="cov")
    u = data.draw(points(cov, n=n), label="u")
    return cov, u


# ---------------------------------------------------------------------------
# Proposition 1


@given(st.data())
def test_metric_matrix_is_symmetric_positive_definite_on_tangent_space(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    m = geo.pinv_metric_matrix(u, cov, radius=r)
    scale = np.linalg.norm(m, 2)
    assert np.max(np.abs(m - m.T)) <= RTOL * scale
    normal = cov @ u
    # Annihilates the normal Sigma u.
    assert np.linalg.norm(m @ normal) <= RTOL * scale * np.linalg.norm(normal)
    # Positive definite on T_u: Gram matrix on an orthonormal basis.
    basis = _tangent_basis(u, cov)
    eig = np.linalg.eigvalsh(basis.T @ m @ basis)
    assert eig[0] > 0
    # Its spectrum is known: r^2/|u|^2 (d-2 times) and r^2 cos^2(u, Sigma u)/|u|^2.
    sq = u @ u
    cos2 = (u @ normal) ** 2 / (sq * (normal @ normal))
    expected = np.sort(np.r_[np.full(len(u) - 2, r**2 / sq), r**2 * cos2 / sq])
    np.testing.assert_allclose(eig, expected, rtol=RTOL, atol=RTOL * eig[-1])


@given(st.data())
def test_cometric_and_metric_are_pseudo_inverses(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    g = geo.bn_cometric_matrix(u, cov, radius=r)
    m = geo.pinv_metric_matrix(u, cov, radius=r)
    normal = cov @ u
    n_hat = normal / np.linalg.norm(normal)
    # G G^+ is the orthogonal projector onto T_u = range G(u).
    np.testing.assert_allclose(g @ m, np.eye(len(u)) - np.outer(n_hat, n_hat), atol=RTOL)
    assert np.linalg.norm(g @ normal) <= RTOL * np.linalg.norm(g, 2) * np.linalg.norm(normal)
    # Eq. (7) written out: ||u||^2 (I - u u^T Sigma)(I - Sigma u u^T) / r^2.
    p = np.eye(len(u)) - np.outer(u, normal)
    np.testing.assert_allclose(g, (u @ u) * p @ p.T / r**2, rtol=RTOL,
                               atol=RTOL * np.linalg.norm(g, 2))


@given(st.data())
def test_spd_metric_matrix_completes_the_pseudo_inverse_along_the_normal(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    m = geo.metric_matrix(u, cov, radius=r)
    c = geo.cometric_matrix(u, cov, radius=r)
    normal = cov @ u
    nn = np.outer(normal, normal) / (normal @ normal)
    scale = np.linalg.norm(m, 2)
    # G(u)^+ (pseudo-inverse oracle) plus r^2 n n^T, symmetric positive definite
    np.testing.assert_allclose(m, geo.pinv_metric_matrix(u, cov, radius=r) + r**2 * nn,
                               rtol=0, atol=RTOL * scale)
    assert np.max(np.abs(m - m.T)) <= RTOL * scale
    assert np.linalg.eigvalsh(m)[0] > 0
    # the cometric is its true inverse and completes G(u) the same way
    np.testing.assert_allclose(c @ m, np.eye(len(u)), rtol=0, atol=RTOL * np.linalg.cond(m))
    np.testing.assert_allclose(c, geo.bn_cometric_matrix(u, cov, radius=r) + nn / r**2,
                               rtol=0, atol=RTOL * np.linalg.norm(c, 2))
    # it represents g on tangent vectors
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    eta = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="eta")
    bound = _g_norm_pinv(u, xi, cov, r) * _g_norm_pinv(u, eta, cov, r)
    assert abs(xi @ m @ eta - geo.inner_product(u, xi, eta, cov, radius=r)) <= (
        RTOL * bound + 1e-300)


@given(st.data())
def test_metric_matrix_is_the_identity_on_the_round_sphere(data):
    d = data.draw(st.integers(2, 6), label="d")
    u = data.draw(points(np.eye(d)), label="u")
    np.testing.assert_allclose(geo.metric_matrix(u, np.eye(d)), np.eye(d), rtol=0, atol=1e-14)
    np.testing.assert_allclose(geo.cometric_matrix(u, np.eye(d)), np.eye(d), rtol=0,
                               atol=1e-14)


@given(st.data())
def test_closed_form_inner_product_equals_pseudo_inverse(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    eta = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="eta")
    m = geo.pinv_metric_matrix(u, cov, radius=r)
    reference = xi @ m @ eta
    closed = geo.inner_product(u, xi, eta, cov, radius=r)
    bound = _g_norm_pinv(u, xi, cov, r) * _g_norm_pinv(u, eta, cov, r)
    assert abs(closed - reference) <= RTOL * bound + 1e-300
    assert geo.squared_norm(u, xi, cov, radius=r) == pytest.approx(xi @ m @ xi, rel=RTOL,
                                                                   abs=1e-300)
    assert geo.norm(u, xi, cov, radius=r) == pytest.approx(_g_norm_pinv(u, xi, cov, r),
                                                           rel=RTOL, abs=1e-300)


@given(st.data())
def test_riemannian_gradient_solves_the_metric_equation(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    grad = data.draw(hnp.arrays(np.float64, u.shape, elements=_floats(10.0)),
                     label="grad")
    m = geo.pinv_metric_matrix(u, cov, radius=r)
    basis = _tangent_basis(u, cov)
    # v = B c with g(B c, B e_j) = <grad, B e_j> for every basis vector.
    coef = np.linalg.solve(basis.T @ m @ basis, basis.T @ grad)
    reference = basis @ coef
    closed = geo.riemannian_gradient(u, grad, cov, radius=r)
    scale = np.linalg.norm(grad) * (u @ u) / r**2
    np.testing.assert_allclose(closed, reference, rtol=0, atol=RTOL * scale + 1e-300)
    np.testing.assert_allclose(closed, geo.bn_cometric_matrix(u, cov, radius=r) @ grad,
                               rtol=0, atol=RTOL * scale + 1e-300)
    # the SPD cometric applied to the tangential part of the gradient gives the same
    tangential = geo.to_tangent(u, grad, cov)
    np.testing.assert_allclose(closed, geo.cometric_matrix(u, cov, radius=r) @ tangential,
                               rtol=0, atol=RTOL * scale + 1e-300)
    assert abs(closed @ cov @ u) <= RTOL * scale * np.linalg.norm(cov @ u) + 1e-300


# ---------------------------------------------------------------------------
# projections


@given(st.data())
def test_projections_land_in_tangent_space(data):
    cov, u = _draw_setting(data)
    v = data.draw(hnp.arrays(np.float64, u.shape, elements=FLOATS), label="v")
    normal = cov @ u
    for proj in (geo.to_tangent(u, v, cov), geo.oblique_projection(u, v, cov)):
        assert abs(proj @ normal) <= RTOL * (np.linalg.norm(v) + 1) * np.linalg.norm(normal)
        assert geo.is_tangent(u, proj, cov, atol=1e-9 * (1 + np.linalg.norm(proj)))
    # to_tangent is the Euclidean-orthogonal projection: v - P v is parallel to Sigma u.
    rest = v - geo.to_tangent(u, v, cov)
    assert np.linalg.norm(rest - normal * (rest @ normal) / (normal @ normal)) <= 1e-12 * (
        1 + np.linalg.norm(v))
    # The oblique projection removes a multiple of u, and both are idempotent.
    rest = v - geo.oblique_projection(u, v, cov)
    assert np.linalg.norm(rest - u * (rest @ u) / (u @ u)) <= 1e-12 * (1 + np.linalg.norm(v))
    xi = geo.to_tangent(u, v, cov)
    np.testing.assert_allclose(geo.oblique_projection(u, xi, cov), xi, atol=1e-12)
    assert geo.belongs(u, cov)
    assert not geo.belongs(2.0 * u, cov)


# ---------------------------------------------------------------------------
# exp, log, distance


@given(st.data())
def test_exp_stays_on_manifold_and_is_tangent_at_start(data):
    cov, u = _draw_setting(data)
    xi = data.draw(tangent_vectors(u, cov, max_norm=10.0), label="xi")
    v = geo.exp(u, xi, cov)
    assert abs(v @ cov @ v - 1.0) <= 1e-12
    assert geo.belongs(v, cov, atol=1e-12)
    # exp_u(0) = u and the curve t -> exp_u(t xi) leaves u with velocity xi.
    np.testing.assert_allclose(geo.exp(u, 0.0 * xi, cov), u, rtol=1e-15, atol=0)
    h = 1e-6
    velocity = (geo.exp(u, h * xi, cov) - geo.exp(u, -h * xi, cov)) / (2 * h)
    np.testing.assert_allclose(velocity, xi, atol=1e-7 * (1 + np.linalg.norm(xi)))


@given(st.data())
def test_log_inverts_exp_inside_injectivity_radius(data):
    cov, u = _draw_setting(data)
    # Injectivity radius pi; keep a margin of 0.14.
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    back = geo.log(u, geo.exp(u, xi, cov), cov)
    np.testing.assert_allclose(back, xi, rtol=0,
                               atol=1e-9 * np.linalg.norm(xi) + 1e-13 * np.linalg.norm(u))
    assert abs(back @ cov @ u) <= 1e-12 * (np.linalg.norm(back) + 1) * np.linalg.norm(cov @ u)


@given(st.data())
def test_exp_inverts_log(data):
    cov, u = _draw_setting(data)
    v = data.draw(st.one_of(st.just(u), points(cov)), label="v")      # v == u included
    unit_u, unit_v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    xi = geo.log(u, v, cov)
    np.testing.assert_allclose(geo.exp(u, xi, cov), v, atol=1e-9 * np.linalg.norm(v))
    if unit_u @ unit_v > -0.99:     # away from the cut locus
        assert geo.norm(u, xi, cov) == pytest.approx(geo.dist(u, v, cov), rel=1e-9, abs=1e-12)


@given(st.data())
def test_log_of_nearby_point_is_a_valid_tangent_vector(data):
    cov, u = _draw_setting(data)
    t = data.draw(st.sampled_from([0.0, 1e-15, 1e-12, 1e-9]), label="t")
    xi = data.draw(tangent_vectors(u, cov, min_norm=1.0, max_norm=1.0), label="xi")
    v = geo.exp(u, t * xi, cov)
    back = geo.log(u, v, cov)
    # Validated calls accept the logarithm (it is tangent to working precision).
    assert geo.norm(u, back, cov) == pytest.approx(t, abs=1e-14)
    np.testing.assert_allclose(geo.exp(u, back, cov), v, atol=1e-14 * np.linalg.norm(u))


def test_log_of_coincident_points_is_zero():
    # Regression: u^T u rounds to 1 - 2^-53 here, which used to leave rounding noise
    # along u in log(u, u) that validated calls then rejected as non-tangent.
    u = np.array([0.0, 1.0, 1.0]) / np.sqrt(2.0)
    xi = geo.log(u, u, np.eye(3))
    np.testing.assert_array_equal(np.abs(xi), np.zeros(3))
    np.testing.assert_allclose(geo.exp(u, xi, np.eye(3)), u, rtol=1e-15, atol=0)


@given(st.data())
def test_tiny_tangent_vectors_are_accepted(data):
    cov, u = _draw_setting(data)
    size = data.draw(st.sampled_from([1e-160, 1e-200, 1e-300]), label="size")
    xi = data.draw(tangent_vectors(u, cov, min_norm=1.0, max_norm=1.0), label="xi")
    # A tangent vector stays tangent when scaled down; exp of it is (numerically) u.
    np.testing.assert_allclose(geo.exp(u, size * xi, cov), u, rtol=0,
                               atol=1e-14 * np.linalg.norm(u))
    assert geo.norm(u, size * xi, cov) <= 2 * size


@given(st.data())
def test_distance_to_exp_is_length(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    xi = data.draw(tangent_vectors(u, cov, max_norm=2 * np.pi - 0.1), label="xi")
    length = geo.norm(u, xi, cov)
    d = geo.dist(u, geo.exp(u, xi, cov), cov, radius=r)
    # Geodesics minimize up to length pi, then the great circle comes back.
    expected = length if length <= np.pi else 2 * np.pi - length
    assert d == pytest.approx(r * expected, rel=1e-9, abs=1e-12 * r)
    assert geo.squared_dist(u, geo.exp(u, xi, cov), cov, radius=r) == pytest.approx(
        d**2, rel=1e-12, abs=1e-300)


@given(st.data())
def test_distance_is_a_metric(data):
    cov, u = _draw_setting(data)
    v = data.draw(points(cov), label="v")
    w = data.draw(points(cov), label="w")
    r = data.draw(radii(), label="radius")
    d_uv = geo.dist(u, v, cov, radius=r)
    assert d_uv == geo.dist(v, u, cov, radius=r)
    assert geo.dist(u, u, cov, radius=r) <= 1e-12 * r
    assert 0 <= d_uv <= np.pi * r * (1 + 1e-15)
    assert geo.dist(u, w, cov, radius=r) <= d_uv + geo.dist(v, w, cov, radius=r) + 1e-12 * r
    assert geo.dist(u, v, cov, radius=r) == pytest.approx(r * geo.dist(u, v, cov), rel=1e-14)
    assert geo.injectivity_radius(u, radius=r) == pytest.approx(np.pi * r)


@given(st.data())
def test_geodesic_passes_through_endpoints_at_constant_speed(data):
    cov, u = _draw_setting(data)
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    v = geo.exp(u, xi, cov)
    path = geo.geodesic(u, cov, end_point=v)
    ends = path(np.array([0.0, 1.0]))
    np.testing.assert_allclose(ends[0], u, atol=1e-12 * np.linalg.norm(u))
    np.testing.assert_allclose(ends[1], v, atol=1e-9 * np.linalg.norm(v))
    t = np.linspace(0.0, 1.0, 5)
    pts = geo.geodesic(u, cov, initial_tangent_vec=xi)(t)
    steps = geo.dist(pts[:-1], pts[1:], cov)
    np.testing.assert_allclose(steps, geo.norm(u, xi, cov) / 4, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# parallel transport


@given(st.data())
def test_parallel_transport_preserves_metric_and_lands_in_tangent_space(data):
    cov, u = _draw_setting(data)
    direction = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="direction")
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    eta = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="eta")
    r = data.draw(radii(), label="radius")
    v = geo.exp(u, direction, cov)
    t_xi = geo.parallel_transport(u, xi, cov, direction=direction)
    t_eta = geo.parallel_transport(u, eta, cov, direction=direction)
    scale = r**2 * (geo.norm(u, xi, cov) * geo.norm(u, eta, cov))
    assert geo.inner_product(v, t_xi, t_eta, cov, radius=r, validate=False) == pytest.approx(
        geo.inner_product(u, xi, eta, cov, radius=r), abs=1e-9 * scale + 1e-300)
    normal_v = cov @ v
    for t in (t_xi, t_eta):
        assert abs(t @ normal_v) <= 1e-10 * (np.linalg.norm(t) * np.linalg.norm(normal_v))
    # The end point form agrees with the direction form.
    np.testing.assert_allclose(geo.parallel_transport(u, xi, cov, end_point=v), t_xi,
                               atol=1e-9 * (np.linalg.norm(t_xi) + 1e-300))
    # The velocity of a geodesic is parallel: transporting xi = direction gives -log_v(u).
    np.testing.assert_allclose(geo.parallel_transport(u, direction, cov, direction=direction),
                               -geo.log(v, u, cov),
                               atol=1e-9 * np.linalg.norm(direction) + 1e-13 * np.linalg.norm(u))
    # Transporting back along the same geodesic is the identity.
    back = geo.parallel_transport(v, t_xi, cov, end_point=u, validate=False)
    np.testing.assert_allclose(back, xi, atol=1e-9 * (np.linalg.norm(xi) + 1e-300))


def test_parallel_transport_refuses_antipodal_end_point():
    cov = np.diag([4.0, 1.0])
    u = np.array([0.5, 0.0])
    with pytest.raises(ValueError, match="antipodal"):
        geo.parallel_transport(u, np.array([0.0, 1.0]), cov, end_point=-u)


# ---------------------------------------------------------------------------
# Riemannian Hessian


def _test_function(coef_c, coef_e, coef_a, coef_b):
    """A smooth non-quadratic F(u) = sum tanh(C u + e) + u^T A u / 2 + b^T u (autograd)."""
    sym = 0.5 * (coef_a + coef_a.T)

    def f(u):
        return anp.sum(anp.tanh(anp.dot(coef_c, u) + coef_e)) + 0.5 * anp.dot(
            u, anp.dot(sym, u)) + anp.dot(coef_b, u)

    return f, autograd.grad(f), autograd.hessian_vector_product(f)


def _draw_function(data, d):
    c = data.draw(hnp.arrays(np.float64, (3, d), elements=FLOATS), label="C")
    e = data.draw(hnp.arrays(np.float64, (3,), elements=FLOATS), label="e")
    a = data.draw(hnp.arrays(np.float64, (d, d), elements=FLOATS), label="A")
    b = data.draw(hnp.arrays(np.float64, (d,), elements=FLOATS), label="b")
    return _test_function(c, e, a, b)


@given(st.data())
def test_riemannian_hessian_is_symmetric_and_tangent(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    f, grad, hvp = _draw_function(data, len(u))
    xi = data.draw(tangent_vectors(u, cov, max_norm=1.0), label="xi")
    eta = data.draw(tangent_vectors(u, cov, max_norm=1.0), label="eta")
    g = grad(u)
    h_xi = geo.riemannian_hessian(u, g, hvp(u, xi), xi, cov, radius=r)
    h_eta = geo.riemannian_hessian(u, g, hvp(u, eta), eta, cov, radius=r)
    normal = cov @ u
    for h in (h_xi, h_eta):
        assert abs(h @ normal) <= 1e-10 * (np.linalg.norm(h) + 1e-300) * np.linalg.norm(normal)
    left = geo.inner_product(u, h_xi, eta, cov, radius=r, validate=False)
    right = geo.inner_product(u, xi, h_eta, cov, radius=r, validate=False)
    scale = r**2 * (geo.norm(u, h_xi, cov, validate=False) * geo.norm(u, eta, cov)
                    + geo.norm(u, xi, cov) * geo.norm(u, h_eta, cov, validate=False))
    assert left == pytest.approx(right, abs=1e-10 * scale + 1e-300)


@given(st.data())
def test_riemannian_hessian_matches_second_derivative_along_geodesic(data):
    cov, u = _draw_setting(data)
    r = data.draw(radii(), label="radius")
    f, grad, hvp = _draw_function(data, len(u))
    xi = data.draw(tangent_vectors(u, cov, min_norm=1.0, max_norm=1.0), label="xi")
    hess_xi = geo.riemannian_hessian(u, grad(u), hvp(u, xi), xi, cov, radius=r)
    exact = geo.inner_product(u, hess_xi, xi, cov, radius=r, validate=False)

    # Geodesics are unchanged by r, and have zero acceleration: (F o gamma)''(0) = Hess[xi, xi].
    def second_difference(h):
        plus, minus = geo.exp(u, h * xi, cov), geo.exp(u, -h * xi, cov)
        return (f(plus) - 2.0 * f(u) + f(minus)) / h**2

    h = 1e-2
    richardson = (4.0 * second_difference(h / 2) - second_difference(h)) / 3.0
    # Scale of the terms: |F| (rounding) and the Euclidean size of the geodesic.
    size = np.linalg.norm(u) + np.linalg.norm(xi)
    scale = 1.0 + abs(f(u)) + size**2 * (1 + size)
    assert richardson == pytest.approx(exact, abs=1e-6 * scale)


# ---------------------------------------------------------------------------
# batches and broadcasting


def _loop(fn, *arrays, **kwargs):
    """Apply fn point by point over the leading axes of equally shaped arrays."""
    batch = arrays[0].shape[:-1]
    out = [fn(*(a[idx] for a in arrays), **kwargs) for idx in np.ndindex(batch)]
    return np.reshape(np.array(out), batch + np.shape(out[0]))


@pytest.mark.parametrize("batch", [(5,), (2, 3)])
@given(data=st.data())
def test_batched_calls_equal_pointwise_calls(batch, data):
    cov, u = _draw_setting(data, n=batch)
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    eta = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="eta")
    r = data.draw(radii(batch), label="radius")
    grad = data.draw(hnp.arrays(np.float64, u.shape, elements=FLOATS), label="grad")
    v = geo.exp(u, eta, cov)

    def same(batched, pointwise):
        # Batched and single products may round differently: compare whole-array norms.
        assert batched.shape == pointwise.shape
        assert np.linalg.norm(batched - pointwise) <= (1e-12 * np.linalg.norm(pointwise)
                                                       + 1e-15 * np.linalg.norm(u))

    same(geo.inner_product(u, xi, eta, cov, radius=r),
         _loop(lambda a, b, c, s: geo.inner_product(a, b, c, cov, radius=s[0]), u, xi, eta,
               r[..., None]))
    same(geo.norm(u, xi, cov), _loop(lambda a, b: geo.norm(a, b, cov), u, xi))
    same(geo.riemannian_gradient(u, grad, cov, radius=r),
         _loop(lambda a, b, s: geo.riemannian_gradient(a, b, cov, radius=s[0]), u, grad,
               r[..., None]))
    same(geo.cometric_matrix(u, cov), _loop(lambda a: geo.cometric_matrix(a, cov), u))
    same(geo.metric_matrix(u, cov), _loop(lambda a: geo.metric_matrix(a, cov), u))
    same(geo.bn_cometric_matrix(u, cov), _loop(lambda a: geo.bn_cometric_matrix(a, cov), u))
    same(geo.pinv_metric_matrix(u, cov), _loop(lambda a: geo.pinv_metric_matrix(a, cov), u))
    same(geo.riemannian_hessian(u, grad, eta, xi, cov, radius=r),
         _loop(lambda a, b, c, e, s: geo.riemannian_hessian(a, b, c, e, cov, radius=s[0]),
               u, grad, eta, xi, r[..., None]))
    same(v, _loop(lambda a, b: geo.exp(a, b, cov), u, eta))
    same(geo.log(u, v, cov), _loop(lambda a, b: geo.log(a, b, cov), u, v))
    same(geo.dist(u, v, cov, radius=r),
         _loop(lambda a, b, s: geo.dist(a, b, cov, radius=s[0]), u, v, r[..., None]))
    same(geo.parallel_transport(u, xi, cov, direction=eta),
         _loop(lambda a, b, c: geo.parallel_transport(a, b, cov, direction=c), u, xi, eta))
    same(geo.to_tangent(u, grad, cov), _loop(lambda a, b: geo.to_tangent(a, b, cov), u, grad))
    assert geo.belongs(u, cov).shape == batch
    assert geo.injectivity_radius(u, radius=2.0).shape == batch


@given(st.data())
def test_one_base_point_broadcasts_against_many_vectors(data):
    cov, u = _draw_setting(data)
    rows = np.broadcast_to(u, (4, len(u)))
    xi = data.draw(tangent_vectors(rows, cov, max_norm=3.0), label="xi")
    np.testing.assert_allclose(geo.exp(u, xi, cov), geo.exp(rows, xi, cov), rtol=1e-14,
                               atol=0)
    np.testing.assert_allclose(geo.norm(u, xi, cov), geo.norm(rows, xi, cov), rtol=1e-14,
                               atol=0)
    path = geo.geodesic(u, cov, initial_tangent_vec=xi[0])
    assert path(np.linspace(0, 1, 3)).shape == (3, len(u))


# ---------------------------------------------------------------------------
# random points and vectors, and bad input


@given(st.data())
def test_random_point_and_tangent_vector(data):
    cov = data.draw(COVS, label="cov")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    u = geo.random_point(cov, 6, rng=seed)
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", u, cov, u), 1.0, rtol=1e-13)
    xi = geo.random_tangent_vector(u, cov, rng=seed, scale=2.0)
    assert np.all(geo.is_tangent(u, xi, cov, atol=1e-10 * (1 + np.linalg.norm(xi))))
    np.testing.assert_array_equal(geo.random_point(cov, 6, rng=seed), u)


def test_bad_input_raises():
    cov = np.diag([4.0, 1.0])
    u = np.array([0.5, 0.0])
    with pytest.raises(ValueError, match="N_Sigma"):
        geo.exp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), cov)
    with pytest.raises(ValueError, match="tangent"):
        geo.exp(u, np.array([1.0, 1.0]), cov)
    with pytest.raises(ValueError, match="last dimension"):
        geo.inner_product(u, np.zeros(3), np.zeros(3), cov)
    with pytest.raises(ValueError, match="radius"):
        geo.norm(u, np.array([0.0, 1.0]), cov, radius=-1.0)
    with pytest.raises(ValueError, match="exactly one"):
        geo.geodesic(u, cov)
    with pytest.raises(ValueError, match="finite"):
        geo.norm(u, np.array([0.0, np.nan]), cov)


def test_radius_arrays_must_fit_the_batch_and_scale_must_be_positive():
    cov = np.diag([4.0, 1.0, 0.25])
    u = geo.random_point(cov, 4, rng=0)
    xi = geo.random_tangent_vector(u, cov, rng=1)
    for fn, args in ((geo.inner_product, (u, xi, xi, cov)),
                     (geo.riemannian_gradient, (u, xi, cov)),
                     (geo.cometric_matrix, (u, cov)), (geo.metric_matrix, (u, cov)),
                     (geo.bn_cometric_matrix, (u, cov)), (geo.pinv_metric_matrix, (u, cov)),
                     (geo.dist, (u, u, cov)), (geo.squared_norm, (u, xi, cov))):
        with pytest.raises(ValueError, match="radius must be a scalar or have"):
            fn(*args, radius=np.ones(3))
        assert np.shape(fn(*args, radius=np.full(4, 2.0)))[:1] == (4,)
    with pytest.raises(ValueError, match="scale"):
        geo.random_tangent_vector(u, cov, rng=1, scale=float("nan"))
    with pytest.raises(TypeError, match="scale"):
        geo.random_tangent_vector(u, cov, rng=1, scale="a")
