"""Large batches go through the fused kernels; they equal the numpy path, edge cases included."""

import numpy as np
import pytest

from bngeom import geometry as geo

OPS = {
    "inner_product": lambda u, v, xi, cov: geo.inner_product(u, xi, 2 * xi + 0.0, cov,
                                                             radius=2.0),
    "riemannian_gradient": lambda u, v, xi, cov: geo.riemannian_gradient(u, 3 * xi + 1, cov,
                                                                         radius=0.5),
    "exp": lambda u, v, xi, cov: geo.exp(u, xi, cov),
    "log": lambda u, v, xi, cov: geo.log(u, v, cov),
    "dist": lambda u, v, xi, cov: geo.dist(u, v, cov, radius=np.linspace(0.5, 2, len(u))),
}


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    d = 6
    A = rng.standard_normal((d, d))
    cov = A @ A.T / d + 0.1 * np.eye(d)
    n = geo.FUSED_MIN_POINTS + 7
    u = geo.random_point(cov, n, rng)
    xi = geo.random_tangent_vector(u, cov, rng, scale=0.7)
    v = geo.exp(u, xi, cov)
    v[:10] = u[:10]                                  # coincident points: log is exactly 0
    v[10:20] = geo._to_manifold(-u[10:20], cov)      # antipodal: the documented direction
    return u, v, xi, cov


@pytest.mark.parametrize("name", sorted(OPS))
def test_fused_path_equals_numpy_path(name, batch, monkeypatch):
    u, v, xi, cov = batch
    fused = OPS[name](u, v, xi, cov)
    monkeypatch.setattr(geo, "FUSED_MIN_POINTS", 10**12)
    reference = OPS[name](u, v, xi, cov)
    scale = np.max(np.abs(reference))
    np.testing.assert_allclose(fused, reference, rtol=0, atol=1e-13 * scale)
    if name == "log":
        assert np.all(fused[:10] == 0.0)
