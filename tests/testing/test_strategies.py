"""The public hypothesis strategies keep their promises (bngeom.strategies)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bngeom import geometry
from bngeom.nn.functions import ACTIVATIONS, LOSSES
from bngeom.testing.strategies import (
    Network,
    activation_names,
    covariances,
    dimensions,
    loss_names,
    networks,
    points,
    radii,
    spectra,
    tangent_vectors,
    widths,
)


@given(st.data())
def test_covariances_are_spd_with_bounded_condition(data):
    kappa = data.draw(st.floats(1.0, 1e4), label="max_condition")
    d = data.draw(dimensions(), label="d")
    cov = data.draw(covariances(dim=d, max_condition=kappa, min_scale=0.5, max_scale=2.0),
                    label="cov")
    assert cov.shape == (d, d) and cov.dtype == np.float64
    np.testing.assert_array_equal(cov, cov.T)
    eig = np.linalg.eigvalsh(cov)
    assert eig[0] > 0
    assert eig[-1] / eig[0] <= kappa * (1 + 1e-8)
    # Geometric centre in [min_scale, max_scale], so all eigenvalues in the documented range.
    assert 0.5 / np.sqrt(kappa) * (1 - 1e-9) <= eig[0]
    assert eig[-1] <= 2.0 * np.sqrt(kappa) * (1 + 1e-9)


@given(spectra(5, max_condition=10.0, min_scale=1.0, max_scale=1.0),
       covariances(3, rotate=False))
def test_spectra_and_diagonal_covariances(spec, diag):
    assert spec.shape == (5,) and np.all(spec > 0)
    assert spec.max() / spec.min() <= 10.0 * (1 + 1e-12)
    assert np.all((spec >= 10.0**-0.5 * (1 - 1e-12)) & (spec <= 10.0**0.5 * (1 + 1e-12)))
    np.testing.assert_array_equal(diag, np.diag(np.diag(diag)))


@pytest.mark.parametrize("n", [None, 3, (2, 2)])
@given(data=st.data())
def test_points_lie_on_manifold(n, data):
    cov = data.draw(covariances(), label="cov")
    u = data.draw(points(cov, n=n), label="u")
    shape = () if n is None else ((n,) if isinstance(n, int) else n)
    assert u.shape == shape + (len(cov),)
    np.testing.assert_allclose(np.einsum("...i,ij,...j->...", u, cov, u), 1.0, rtol=1e-13)


@given(st.data())
def test_tangent_vectors_are_tangent_with_requested_length(data):
    cov = data.draw(covariances(), label="cov")
    u = data.draw(points(cov, n=4), label="u")
    low = data.draw(st.one_of(st.just(0.0), st.floats(1e-6, 2.0)), label="min_norm")
    high = data.draw(st.floats(max(low, 1e-6), 4.0), label="max_norm")
    xi = data.draw(tangent_vectors(u, cov, min_norm=low, max_norm=high), label="xi")
    assert xi.shape == u.shape
    normal = u @ cov
    inner = np.abs(np.sum(xi * normal, axis=-1))
    assert np.all(inner <= 1e-12 * (np.linalg.norm(xi, axis=-1) + 1e-300)
                  * np.linalg.norm(normal, axis=-1))
    # Length in the metric g, measured with the pseudo-inverse definition.
    metric = geometry.pinv_metric_matrix(u, cov)
    length = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", xi, metric, xi), 0.0))
    assert np.all(length <= high * (1 + 1e-9) + 1e-12)
    assert np.all((length >= low * (1 - 1e-9)) | (length == 0))
    if low > 0:
        assert np.all(length > 0)


@given(radii(), radii((2, 3), min_value=0.5, max_value=2.0), widths(2, 5))
def test_radii_and_widths(r, rs, m):
    assert isinstance(r, float) and 0.1 <= r <= 10.0
    assert rs.shape == (2, 3) and np.all((rs >= 0.5) & (rs <= 2.0))
    assert 2 <= m <= 5


@given(activation_names(), loss_names())
def test_names_are_known(activation, loss):
    assert activation in ACTIVATIONS and loss in LOSSES


@given(networks())
def test_networks_are_consistent(net):
    assert isinstance(net, Network)
    n, d = net.X.shape
    m = net.W.shape[0]
    assert 2 <= d <= 8 and 1 <= m <= 8 and max(20, 5 * d) <= n <= 160
    assert net.W.shape == (m, d) and net.a.shape == (m,) and net.y.shape == (n,)
    np.testing.assert_allclose(net.X.mean(axis=0), 0.0, atol=1e-12 * np.abs(net.X).max())
    np.testing.assert_allclose(net.cov, net.X.T @ net.X / n, rtol=1e-12,
                               atol=1e-14 * np.abs(net.cov).max())
    r = np.linalg.norm(net.W, axis=1)
    assert np.all((r >= 0.1 * (1 - 1e-12)) & (r <= 10.0 * (1 + 1e-12)))
    assert np.all(np.abs(net.a) <= 2.0)
    assert net.activation in ACTIVATIONS and net.loss in LOSSES
    if net.loss == "logistic":
        assert set(np.unique(net.y)) <= {-1.0, 1.0}


@given(networks(dim=3, width=2, n_samples=30, activation="relu", loss="squared"))
def test_networks_accept_fixed_values(net):
    assert net.X.shape == (30, 3) and net.W.shape == (2, 3)
    assert (net.activation, net.loss) == ("relu", "squared")


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="max_condition"):
        covariances(max_condition=0.5)
    with pytest.raises(ValueError, match="min_dim"):
        dimensions(1, 3)
    with pytest.raises(ValueError, match="min_value"):
        radii(min_value=2.0, max_value=1.0)
    with pytest.raises(ValueError, match="N_Sigma"):
        tangent_vectors(np.array([2.0, 0.0]), np.eye(2))
    with pytest.raises(ValueError, match="min_norm"):
        tangent_vectors(np.array([1.0, 0.0]), np.eye(2), min_norm=2.0, max_norm=1.0)
    with pytest.raises(ValueError, match="positive definite"):
        points(np.diag([1.0, 0.0]))
