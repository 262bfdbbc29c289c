"""Numerical edges of the metric core (issue 7, item 2).

- exp/log round trips over geodesic distances from 1e-9 to pi - 1e-6;
- the documented behaviour of ``log`` at the cut locus;
- covariances with condition number up to 1e10 keep points on N_Sigma to 1e-10 after
  10,000 exp steps;
- float32 input works with the documented tolerance.
"""

import numpy as np
import pytest

from bngeom import geometry as geo
from bngeom.geometry.charts import sphere_to_manifold_differential
from bngeom.nn.data import random_rotation

DISTANCES = [1e-9, 1e-6, 1e-3, 0.5, 1.0, 2.0, 3.0, np.pi - 1e-3, np.pi - 1e-6]


def _cov(d, condition, rotate, seed=0):
    lam = np.geomspace(1.0, 1.0 / condition, d)
    if not rotate:
        return np.diag(lam)
    Q = random_rotation(d, seed)
    cov = (Q * lam) @ Q.T
    return 0.5 * (cov + cov.T)


def _unit_tangent(u, cov, rng):
    xi = geo.random_tangent_vector(u, cov, rng)
    return xi / geo.norm(u, xi, cov)[..., None]


@pytest.mark.parametrize("t", DISTANCES)
@pytest.mark.parametrize("condition", [1.0, 1e3, 1e6])
def test_exp_log_round_trip(t, condition):
    rng = np.random.default_rng(1)
    cov = _cov(7, condition, rotate=True)
    u = geo.random_point(cov, 500, rng)
    xi = t * _unit_tangent(u, cov, rng)
    v = geo.exp(u, xi, cov)
    # Distance along the geodesic is the length of the initial velocity.
    assert np.max(np.abs(geo.dist(u, v, cov) - t)) <= 1e-10
    back = geo.log(u, v, cov)
    # exp(log(v)) == v to 1e-10 over the whole range.
    assert np.max(geo.dist(v, geo.exp(u, back, cov), cov)) <= 1e-10
    # log(exp(xi)) == xi: 1e-10, except that near the cut locus the direction of log is
    # ill-conditioned by 1/sin(t) (the point v itself only carries ~1e-16), documented in log.
    err = np.max(geo.norm(u, back - xi, cov, validate=False))
    bound = max(1e-10, 1e-15 * t / np.sin(t))
    assert err <= bound, (err, bound)


def test_log_at_cut_locus_is_documented_deterministic_direction():
    cov = _cov(5, 10.0, rotate=True)
    rng = np.random.default_rng(2)
    u = geo.random_point(cov, 20, rng)
    v = geo._to_manifold(-u, cov)  # antipode: v / |v| = -u / |u|
    out = geo.log(u, v, cov)
    # length pi, tangent, exp lands on v, and the choice is deterministic
    np.testing.assert_allclose(geo.norm(u, out, cov), np.pi, rtol=1e-12)
    assert np.all(geo.is_tangent(u, out, cov, atol=1e-10))
    assert np.max(geo.dist(geo.exp(u, out, cov), v, cov)) <= 1e-7
    np.testing.assert_array_equal(out, geo.log(u.copy(), v.copy(), cov))
    # the direction is e_j (smallest |u_j / |u||) projected on the sphere's tangent space
    unit = u / np.linalg.norm(u, axis=1, keepdims=True)
    j = np.argmin(np.abs(unit), axis=1)
    e = np.eye(5)[j]
    zeta = e - unit * np.sum(unit * e, axis=1, keepdims=True)
    zeta = np.pi * zeta / np.linalg.norm(zeta, axis=1, keepdims=True)
    expected = sphere_to_manifold_differential(unit, zeta, cov)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_parallel_transport_refuses_antipodal_end_point():
    cov = np.eye(3)
    u = np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="antipodal"):
        geo.parallel_transport(u, np.array([0.0, 1.0, 0.0]), cov, end_point=-u)


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize("condition", [1e4, 1e10])
def test_ill_conditioned_covariance_stays_on_manifold(rotate, condition):
    rng = np.random.default_rng(3)
    d = 10
    cov = _cov(d, condition, rotate, seed=4)
    u = geo.random_point(cov, 16, rng)
    for _ in range(10_000):
        xi = geo.random_tangent_vector(u, cov, rng, scale=0.1)
        u = geo.exp(u, xi, cov, validate=False)
    quad = np.einsum("ni,ij,nj->n", u, cov, u)
    assert np.max(np.abs(quad - 1.0)) <= 1e-10


def test_ill_conditioned_start_on_the_smallest_axis():
    # The hardest place: u along the eigenvector of the smallest eigenvalue (|u| ~ 1e5).
    rng = np.random.default_rng(5)
    d = 10
    Q = random_rotation(d, 6)
    lam = np.geomspace(1.0, 1e-10, d)
    cov = 0.5 * ((Q * lam) @ Q.T + ((Q * lam) @ Q.T).T)
    u = geo.random_point(cov, 1, rng)
    u = geo.exp(u, geo.log(u, geo._to_manifold(Q[:, -1][None], cov), cov), cov)
    for _ in range(10_000):
        u = geo.exp(u, geo.random_tangent_vector(u, cov, rng, scale=1e-4), cov, validate=False)
    assert abs(float(u[0] @ cov @ u[0]) - 1.0) <= 1e-10


def test_float32_inputs_work_with_documented_tolerance():
    rng = np.random.default_rng(7)
    cov64 = _cov(6, 100.0, rotate=True)
    u64 = geo.random_point(cov64, 50, rng)
    xi64 = 0.5 * _unit_tangent(u64, cov64, rng)
    cov, u, xi = (x.astype(np.float32) for x in (cov64, u64, xi64))
    v = geo.exp(u, xi, cov)
    assert v.dtype == np.float32
    # float32: ~1e-5 relative (the validation tolerance is 100 float32 eps = 1.2e-5)
    np.testing.assert_allclose(v, geo.exp(u64, xi64, cov64), rtol=0, atol=1e-5 * np.abs(v).max())
    np.testing.assert_allclose(geo.log(u, v, cov), xi64, atol=1e-4)
    np.testing.assert_allclose(geo.inner_product(u, xi, xi, cov), 0.25, rtol=1e-5)
