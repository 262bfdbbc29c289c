"""The fused metric kernels equal the core's closed forms row by row (issue 6).

1e-12 relative, or the conditioning of the log near the cut locus.
"""

import numpy as np
import pytest

from bngeom import geometry
from bngeom.geometry import _compiled as _kernels

# ---------------------------------------------------------------------------
# the fused metric kernels == bngeom.geometry's numpy closed forms


def _batch(n, d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    cov = A @ A.T / d + 0.3 * np.eye(d)
    u = geometry.random_point(cov, n, rng=rng)
    xi = geometry.random_tangent_vector(u, cov, rng=rng)
    eta = geometry.random_tangent_vector(u, cov, rng=rng)
    v = geometry.random_point(cov, n, rng=rng)
    v[:3] = u[:3]                                     # log = 0 exactly, dist = 0
    v[3:6] = -u[3:6]                                  # the cut locus
    v[6:9] = geometry.exp(u[6:9], 1e-9 * xi[6:9], cov)  # tiny angles
    return cov, u, xi, eta, v, rng.standard_normal((n, d))


def _rowwise_close(a, b, rtol=1e-12, atol=0.0):
    """Row by row: |a - b| <= rtol |b| + atol."""
    a, b = np.atleast_2d(a.T).T, np.atleast_2d(b.T).T
    err = np.linalg.norm(a - b, axis=-1)
    bound = rtol * np.linalg.norm(b, axis=-1) + atol + 1e-300
    assert np.all(err <= bound), float((err / bound).max())


@pytest.mark.parametrize("d", [1, 2, 7, 64])
@pytest.mark.parametrize("threads", [1, 3])
def test_metric_kernels_equal_core(d, threads, monkeypatch):
    # compare with the numpy closed forms even if geometry routes large batches here
    monkeypatch.setattr(geometry, "FUSED_MIN_POINTS", 2**62, raising=False)
    n = 3 * _kernels.METRIC_POINTS_PER_THREAD + 17 if threads > 1 else 200
    cov, u, xi, eta, v, g = _batch(n, d, seed=d)
    r = 1.7
    _rowwise_close(_kernels.inner_product(u, xi, eta, r, threads=threads),
                   geometry.inner_product(u, xi, eta, cov, radius=r, validate=False), 1e-11)
    # rounding of the projections: absolute errors of order eps |u|^2 |grad| (d = 1: T_u = 0)
    scale = 1e-14 * np.max(np.sum(u * u, axis=1) * np.linalg.norm(g, axis=1)) / r**2
    _rowwise_close(_kernels.riemannian_gradient(u, g, cov, r, threads=threads),
                   geometry.riemannian_gradient(u, g, cov, radius=r, validate=False), atol=scale)
    _rowwise_close(_kernels.exp(u, xi, cov, threads=threads),
                   geometry.exp(u, xi, cov, validate=False))
    # angles from unit vectors: absolute rounding of order eps (relative at tiny angles)
    _rowwise_close(_kernels.dist(u, v, r, threads=threads),
                   geometry.dist(u, v, cov, radius=r, validate=False), atol=1e-14 * r)
    fused_log = _kernels.log(u, v, cov, threads=threads)
    assert np.array_equal(fused_log[:3], np.zeros((3, d)))        # log_u(u) = 0 exactly
    if d == 1:          # N_Sigma is two points: the core refuses a log between them
        with pytest.raises(ValueError, match="d = 1"):
            geometry.log(u, v, cov, validate=False)
        return
    core_log = geometry.log(u, v, cov, validate=False)
    # the log's conditioning is 1/sin(angle): compare away from the cut locus, and there
    c = np.einsum("ni,ni->n", u / np.linalg.norm(u, axis=1, keepdims=True),
                  v / np.linalg.norm(v, axis=1, keepdims=True))
    far = np.sqrt(np.maximum(1 - c * c, 0)) > 1e-3
    _rowwise_close(fused_log[far], core_log[far], 1e-11)
    np.testing.assert_allclose(fused_log[3:6], core_log[3:6], rtol=1e-9, atol=1e-12)
    # the fused exp lands on N_Sigma and inverts log
    w = _kernels.exp(u, fused_log, cov, threads=threads)
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", w, cov, w), 1.0, rtol=1e-13)
    _rowwise_close(w[far], v[far], 1e-9)


def test_metric_kernels_take_per_point_radii_and_strided_rows():
    n, d = 300, 6
    cov, u, xi, eta, v, g = _batch(n, d, seed=5)
    r = np.random.default_rng(6).uniform(0.2, 3.0, n)
    _rowwise_close(_kernels.inner_product(u, xi, eta, r),
                   geometry.inner_product(u, xi, eta, cov, radius=r, validate=False), 1e-11)
    _rowwise_close(_kernels.riemannian_gradient(u, g, cov, r),
                   geometry.riemannian_gradient(u, g, cov, radius=r, validate=False),
                   atol=1e-14 * np.abs(g).max() * 100)
    _rowwise_close(_kernels.dist(u, v, r), geometry.dist(u, v, cov, radius=r, validate=False),
                   atol=1e-14 * r.max())
    # the u block of (u, a) rows: a strided view, not copied
    rows_u = np.concatenate([u, np.ones((n, 1))], axis=1)[:, :d]
    rows_xi = np.concatenate([xi, np.ones((n, 1))], axis=1)[:, :d]
    rows_v = np.concatenate([v, np.ones((n, 1))], axis=1)[:, :d]
    rows_g = np.concatenate([g, np.ones((n, 1))], axis=1)[:, :d]
    assert not rows_u.flags.c_contiguous
    np.testing.assert_allclose(_kernels.exp(rows_u, rows_xi, cov), _kernels.exp(u, xi, cov),
                               rtol=1e-13, atol=1e-15)
    # log and the gradient copy each strided row before their Sigma u product
    # (vectorized loops may sum in another order: equal to a few ulp, not bitwise)
    np.testing.assert_allclose(_kernels.log(rows_u, rows_v, cov), _kernels.log(u, v, cov),
                               rtol=1e-13, atol=1e-15)
    _rowwise_close(_kernels.riemannian_gradient(rows_u, rows_g, cov, r),
                   _kernels.riemannian_gradient(u, g, cov, r), atol=1e-14 * np.abs(g).max())
    with pytest.raises(ValueError, match="radius"):
        _kernels.dist(u, v, np.ones(n + 1))


def test_metric_kernels_thread_counts_agree():
    n = 4 * _kernels.METRIC_POINTS_PER_THREAD
    cov, u, xi, eta, v, g = _batch(n, 9, seed=3)
    for fn, args in ((_kernels.inner_product, (u, xi, eta)), (_kernels.log, (u, v, cov)),
                     (_kernels.riemannian_gradient, (u, g, cov)), (_kernels.exp, (u, xi, cov)),
                     (_kernels.dist, (u, v))):
        one = fn(*args, threads=1)
        assert np.array_equal(one, fn(*args, threads=4))          # rows are independent
