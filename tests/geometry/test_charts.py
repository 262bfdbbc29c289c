r"""Property tests of the charts phi (BN -> N_Sigma) and psi (N_Sigma -> sphere) (MATH §3, §5).

Differentials are checked against autograd Jacobians of the maps written out
again here; the isometry claim of MATH §5 against the pseudo-inverse metric.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bngeom import charts, geometry
from bngeom.testing.strategies import covariances, points, radii, tangent_vectors

COVS = covariances(max_condition=100.0, min_scale=0.5, max_scale=2.0)


def _vectors(shape, bound=1.0):
    """Arrays with entries 0 or of size >= 1e-6 * bound (no underflow games)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound).map(
        lambda x: 0.0 if abs(x) < 1e-6 * bound else x))


def _bn_weights(data, cov, n=None):
    """Non-zero BN weights: points of N_Sigma scaled by drawn radii."""
    u = data.draw(points(cov, n=n), label="direction")
    r = data.draw(radii(n), label="radius")
    return u / np.linalg.norm(u, axis=-1, keepdims=True) * np.asarray(r)[..., None]


def phi_reference(cov):
    return lambda w: w / anp.sqrt(anp.dot(w, anp.dot(cov, w)))


def psi_reference(u):
    return u / anp.sqrt(anp.dot(u, u))


@pytest.mark.parametrize("batch", [None, 4, (2, 3)])
@given(data=st.data())
def test_phi_maps_onto_manifold_and_ignores_scale(batch, data):
    cov = data.draw(COVS, label="cov")
    w = _bn_weights(data, cov, batch)
    u = charts.normalize_to_manifold(w, cov)
    assert u.shape == w.shape
    np.testing.assert_allclose(np.einsum("...i,ij,...j->...", u, cov, u), 1.0, rtol=1e-13)
    c = data.draw(radii(min_value=1e-3, max_value=1e3), label="c")
    np.testing.assert_allclose(charts.normalize_to_manifold(c * w, cov), u, rtol=1e-13,
                               atol=1e-15 * np.max(np.abs(u)))
    np.testing.assert_array_equal(charts.normalize_to_manifold(-w, cov), -u)
    # phi keeps the direction; ||w||_Sigma is the std of w^T x (MATH §1).
    np.testing.assert_allclose(charts.normalize_to_sphere(u), charts.normalize_to_sphere(w),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(charts.covariance_norm(w, cov),
                               np.sqrt(np.einsum("...i,ij,...j->...", w, cov, w)), rtol=1e-14)
    np.testing.assert_allclose(charts.neuron_radii(w), np.linalg.norm(w, axis=-1), rtol=1e-15)


@given(st.data())
def test_covariance_norm_is_standard_deviation_of_preactivation(data):
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    d = data.draw(st.integers(2, 8), label="d")
    X = np.random.default_rng(seed).standard_normal((50, d)) @ np.diag(np.linspace(0.2, 3, d))
    X = X - X.mean(axis=0)
    cov = X.T @ X / len(X)
    w = data.draw(_vectors((d,)).filter(lambda v: np.linalg.norm(v) > 0.1), label="w")
    assert charts.covariance_norm(w, cov) == pytest.approx(np.std(X @ w), rel=1e-12)


@given(st.data())
def test_psi_and_phi_are_inverse_between_manifold_and_sphere(data):
    cov = data.draw(COVS, label="cov")
    u = data.draw(points(cov, n=5), label="u")
    s = charts.normalize_to_sphere(u)
    np.testing.assert_allclose(np.linalg.norm(s, axis=-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(charts.normalize_to_manifold(s, cov), u, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(charts.normalize_to_sphere(charts.normalize_to_manifold(s, cov)),
                               s, rtol=1e-13, atol=1e-15)


@given(st.data())
def test_phi_differential_matches_autograd_and_is_tangent(data):
    cov = data.draw(COVS, label="cov")
    w = _bn_weights(data, cov)
    zeta = data.draw(_vectors(w.shape), label="zeta")
    dphi = charts.sphere_to_manifold_differential(w, zeta, cov)
    reference = autograd.jacobian(phi_reference(cov))(w) @ zeta
    np.testing.assert_allclose(dphi, reference, rtol=0,
                               atol=1e-12 * np.linalg.norm(zeta) / np.linalg.norm(w)
                               * np.linalg.norm(cov, 2) ** 1.5 / np.min(np.linalg.eigvalsh(cov))
                               + 1e-300)
    u = charts.normalize_to_manifold(w, cov)
    assert abs(dphi @ cov @ u) <= 1e-12 * (np.linalg.norm(dphi) + 1e-300) * np.linalg.norm(
        cov @ u) + 1e-14 * np.linalg.norm(zeta)
    # The radial direction is the kernel: d phi_w(w) = 0.
    assert np.linalg.norm(charts.sphere_to_manifold_differential(w, w, cov)) <= 1e-13 * (
        np.linalg.norm(u))


@given(st.data())
def test_psi_differential_matches_autograd_and_is_an_isometry(data):
    cov = data.draw(COVS, label="cov")
    u = data.draw(points(cov), label="u")
    xi = data.draw(tangent_vectors(u, cov, max_norm=3.0), label="xi")
    dpsi = charts.manifold_to_sphere_differential(u, xi)
    reference = autograd.jacobian(psi_reference)(u) @ xi
    np.testing.assert_allclose(dpsi, reference, rtol=0,
                               atol=1e-12 * np.linalg.norm(xi) / np.linalg.norm(u) + 1e-300)
    # Isometry (MATH §5): |d psi_u xi| = sqrt(xi^T G(u)^+ xi), the pseudo-inverse metric.
    metric = geometry.pinv_metric_matrix(u, cov)
    assert np.linalg.norm(dpsi) == pytest.approx(np.sqrt(max(xi @ metric @ xi, 0.0)),
                                                 rel=1e-10, abs=1e-300)
    # d phi at psi(u) inverts d psi on T_u.
    back = charts.sphere_to_manifold_differential(charts.normalize_to_sphere(u), dpsi, cov)
    np.testing.assert_allclose(back, xi, rtol=0, atol=1e-12 * np.linalg.norm(xi) + 1e-300)


@given(st.data())
def test_batched_differentials_equal_pointwise(data):
    cov = data.draw(COVS, label="cov")
    w = _bn_weights(data, cov, (2, 3))
    zeta = data.draw(_vectors(w.shape), label="zeta")
    batched = charts.sphere_to_manifold_differential(w, zeta, cov)
    u = charts.normalize_to_manifold(w, cov)
    batched_psi = charts.manifold_to_sphere_differential(u, zeta)
    # Batched and single matrix products may round differently: compare row norms.
    for idx in np.ndindex(w.shape[:-1]):
        single = charts.sphere_to_manifold_differential(w[idx], zeta[idx], cov)
        assert np.linalg.norm(batched[idx] - single) <= 1e-14 * np.linalg.norm(single) + 1e-300
        single = charts.manifold_to_sphere_differential(u[idx], zeta[idx])
        assert np.linalg.norm(batched_psi[idx] - single) <= 1e-14 * np.linalg.norm(
            single) + 1e-300


def test_zero_rows_and_bad_shapes_raise():
    cov = np.eye(2)
    with pytest.raises(ValueError, match="non-zero"):
        charts.normalize_to_manifold(np.array([[1.0, 0.0], [0.0, 0.0]]), cov)
    with pytest.raises(ValueError, match="non-zero"):
        charts.normalize_to_sphere(np.zeros(3))
    with pytest.raises(ValueError, match="last dimension"):
        charts.normalize_to_manifold(np.ones(3), cov)
    with pytest.raises(ValueError, match="symmetric"):
        charts.covariance_norm(np.ones(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(TypeError):
        charts.normalize_to_manifold("ab", cov)
