"""pymanopt's own manifold, product, optimizer and diagnostics tests, ported onto BNManifold.

Ports (our own code, following the structure of pymanopt's repository tests) of
``tests/manifolds/test_sphere.py``, ``test_oblique.py``, ``test_euclidean.py`` and
``test_product.py``, of ``tests/optimizers/test_optimizers.py`` and
``test_conjugate_gradient.py``, and of the checks in ``pymanopt.tools.diagnostics``. Where a
pymanopt test states a property of the round sphere's embedded metric, the port states the
same property for the metric of Proposition 1 (closed forms written out here from MATH
§4-5), and, for ``Sigma = I`` and unit radii, checks that the rows *are* pymanopt's own
``Oblique`` manifold. Every test runs on several configurations: d = 2, 3, 5; isotropic and
anisotropic Sigma; unit and non-unit radii; a single neuron and a batch.
"""

from __future__ import annotations

import contextlib
import io

import autograd
import autograd.numpy as anp
import matplotlib
import numpy as np
import pymanopt
import pytest
from numpy import testing as np_testing
from pymanopt.manifolds import Euclidean, Oblique, Product, Stiefel
from pymanopt.tools import diagnostics
from pymanopt.tools import testing as pymanopt_testing

from bngeom.adapters.pymanopt import BNManifold, BNTangentVector, OutputWeights

matplotlib.use("Agg")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:divide by zero encountered in log10:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive:UserWarning"),
]


def _rotated(eigenvalues, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))
    cov = q @ np.diag(eigenvalues) @ q.T
    return (cov + cov.T) / 2


#: (id, cov, width, radii): Sigma = I and anisotropic Sigma, d = 2, 3, 5, radii = 1 and not.
CONFIGS = [
    ("d2-iso-m1", np.eye(2), 1, 1.0),
    ("d3-iso-m4", np.eye(3), 4, 1.0),
    ("d3-diag-m4-radii", np.diag([4.0, 1.0, 0.25]), 4, np.array([0.5, 1.0, 2.0, 3.0])),
    ("d5-rotated-m3-r2", _rotated([9.0, 3.0, 1.0, 0.5, 0.2], 7), 3, 2.0),
]


@pytest.fixture(params=CONFIGS, ids=[c[0] for c in CONFIGS])
def manifold(request):
    _, cov, width, radii = request.param
    np.random.seed(0)  # noqa: NPY002 (pymanopt's tests draw from numpy's global state)
    return BNManifold(cov, width, radii)


# --------------------------------------------------------------------------- closed forms


_RNG = np.random.default_rng(2024)


def _normal(shape):
    """Gaussian ambient vectors (pymanopt's tests use np.random.normal)."""
    return _RNG.standard_normal(shape)


def _unit(U):
    return U / np.linalg.norm(U, axis=-1, keepdims=True)


def _radii(M):
    return np.broadcast_to(M.radii, (M.width,))


def _G(u, cov):
    """MATH §3: G(u) = |u|^2 (I - u u^T Sigma)(I - Sigma u u^T)."""
    eye = np.eye(len(u))
    return (u @ u) * (eye - np.outer(u, u) @ cov) @ (eye - cov @ np.outer(u, u))


def _metric(M, U, xi, eta):
    """Prop. 1 as written: sum_k r_k^2 xi_k^T G(u_k)^+ eta_k (a pseudo-inverse per row)."""
    return sum(r**2 * xi[k] @ np.linalg.pinv(_G(U[k], M.cov)) @ eta[k]
               for k, r in enumerate(_radii(M)))


def _dpsi(U, xi):
    """MATH §5: d psi_u(xi) = (xi - u^(u^T xi)) / |u|, row-wise."""
    w = _unit(U)
    return (xi - w * np.sum(w * xi, axis=-1, keepdims=True)) / np.linalg.norm(
        U, axis=-1, keepdims=True)


def _dphi(W, zeta, cov):
    """MATH §5: d phi_w(zeta) = (zeta - u (u^T Sigma zeta)) / |w|_Sigma, u = phi(w)."""
    norm = np.sqrt(np.einsum("ki,ij,kj->k", W, cov, W))[:, None]
    U = W / norm
    return (zeta - U * np.einsum("ki,ij,kj->k", U, cov, zeta)[:, None]) / norm


def _tangent_residual(M, U, xi):
    return np.abs(np.einsum("ki,ij,kj->k", xi, M.cov, U)).max()


def _cost_factory(M, seed=3):
    """A smooth cost of the rows and the output weights (autograd-traceable)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, M.cov.shape[0]))
    y = rng.standard_normal(20)

    def cost(U, a):
        return anp.mean((anp.tanh(X @ U.T) @ a / M.width - y) ** 2) + 0.1 * anp.sum(U**3)

    return cost


# --------------------------------------------------------------------------- test_sphere


class TestSphereSuite:
    """pymanopt's ``TestSphereManifold``, for the metric of Proposition 1 on the rows."""

    def test_dim(self, manifold):
        assert manifold.dim == manifold.width * manifold.cov.shape[0]

    def test_typical_dist(self, manifold):
        np_testing.assert_almost_equal(
            manifold.typical_dist, np.sqrt(np.pi**2 * np.sum(_radii(manifold) ** 2)
                                           + manifold.width))

    def test_dist(self, manifold):
        x, y = manifold.random_point(), manifold.random_point()
        angles = np.arccos(np.clip(np.sum(_unit(x[0]) * _unit(y[0]), axis=1), -1, 1))
        correct = np.sqrt(np.sum((_radii(manifold) * angles) ** 2) + np.sum((x[1] - y[1]) ** 2))
        np_testing.assert_almost_equal(correct, manifold.dist(x, y))

    def test_inner_product(self, manifold):
        x = manifold.random_point()
        u, v = manifold.random_tangent_vector(x), manifold.random_tangent_vector(x)
        np_testing.assert_almost_equal(_metric(manifold, x[0], u[0], v[0]) + u[1] @ v[1],
                                       manifold.inner_product(x, u, v))

    def test_projection(self, manifold):
        x = manifold.random_point()
        H = [_normal(x[0].shape), _normal(x[1].shape)]
        n = x[0] @ manifold.cov
        expected = H[0] - n * (np.sum(n * H[0], axis=1) / np.sum(n * n, axis=1))[:, None]
        P = manifold.projection(x, H)
        np_testing.assert_array_almost_equal(expected, P[0])
        np_testing.assert_array_almost_equal(H[1], P[1])

    def test_euclidean_to_riemannian_gradient(self, manifold):
        """Theorem 2: (G(u_k) H_k / r_k^2, h_a)."""
        x = manifold.random_point()
        H = [_normal(x[0].shape), _normal(x[1].shape)]
        expected = np.stack([_G(u, manifold.cov) @ h / r**2
                             for u, h, r in zip(x[0], H[0], _radii(manifold), strict=True)])
        g = manifold.euclidean_to_riemannian_gradient(x, H)
        np_testing.assert_array_almost_equal(expected, g[0])
        np_testing.assert_array_almost_equal(H[1], g[1])

    def test_euclidean_to_riemannian_hessian(self, manifold):
        """Through the isometry psi: pymanopt's own tool on the round sphere's side.

        F = f o phi on the unit rows W = psi(U); pymanopt.tools.testing builds the sphere's
        Riemannian Hessian from the Jacobian of its projector; pushed back by d phi (and
        divided by r_k^2) it must be BNManifold's.
        """
        cov, r = manifold.cov, _radii(manifold)[:, None]
        x = manifold.random_point()
        xi = manifold.random_tangent_vector(x)
        cost = _cost_factory(manifold)

        def f(U):
            return cost(U, x[1])

        def F(W):
            return f(W / anp.sqrt(anp.sum((W @ cov) * W, axis=1))[:, None])

        def hvp(fun, P, Z):
            return autograd.grad(lambda Q: anp.sum(autograd.grad(fun)(Q) * Z))(P)

        egrad, ehess = autograd.grad(f)(x[0]), hvp(f, x[0], xi[0])
        ours = manifold.euclidean_to_riemannian_hessian(x, [egrad, np.zeros(manifold.width)],
                                                        [ehess, np.zeros(manifold.width)], xi)

        def sphere_projector(W, G):
            return G - W * anp.sum(W * G, axis=1)[:, None]

        W, Z = _unit(x[0]), _dpsi(x[0], xi[0])
        sphere_hess = pymanopt_testing.euclidean_to_riemannian_hessian(sphere_projector)(
            W, autograd.grad(F)(W), hvp(F, W, Z), Z)
        np_testing.assert_allclose(ours[0], _dphi(W, sphere_hess, cov) / r**2,
                                   rtol=1e-9, atol=1e-11)
        np_testing.assert_allclose(ours[1], 0.0)

    def test_retraction(self, manifold):
        x = manifold.random_point()
        u = manifold.random_tangent_vector(x)
        xretru = manifold.retraction(x, u)
        np_testing.assert_almost_equal(np.einsum("ki,ij,kj->k", xretru[0], manifold.cov,
                                                 xretru[0]), 1.0)
        u = u * 1e-6
        xretru = manifold.retraction(x, u)
        np_testing.assert_allclose(xretru[0], x[0] + u[0])
        np_testing.assert_allclose(xretru[1], x[1] + u[1])

    def test_norm(self, manifold):
        x = manifold.random_point()
        u = manifold.random_tangent_vector(x)
        np_testing.assert_almost_equal(
            manifold.norm(x, u), np.sqrt(_metric(manifold, x[0], u[0], u[0]) + u[1] @ u[1]))

    def test_random_point(self, manifold):
        x, y = manifold.random_point(), manifold.random_point()
        np_testing.assert_almost_equal(np.einsum("ki,ij,kj->k", x[0], manifold.cov, x[0]), 1)
        assert np.linalg.norm(x[0] - y[0]) + np.linalg.norm(x[1] - y[1]) > 1e-3

    def test_random_tangent_vector(self, manifold):
        x = manifold.random_point()
        u, v = manifold.random_tangent_vector(x), manifold.random_tangent_vector(x)
        np_testing.assert_almost_equal(_tangent_residual(manifold, x[0], u[0]), 0)
        np_testing.assert_almost_equal(manifold.norm(x, u), 1)
        assert isinstance(u, BNTangentVector)
        # each block has norm 1/sqrt(2) (pymanopt's Product convention): with d = 2, m = 1
        # both blocks are 1-dimensional and two draws coincide with probability 1/4
        draws = [v] + [manifold.random_tangent_vector(x) for _ in range(6)]
        assert max(np.linalg.norm(u[0] - w[0]) + np.linalg.norm(u[1] - w[1])
                   for w in draws) > 1e-3

    def test_transport(self, manifold):
        """Parallel transport (pymanopt's Sphere uses the projection): tangent, isometric,
        invertible, and the projection to first order in the step."""
        x = manifold.random_point()
        u, w = manifold.random_tangent_vector(x), manifold.random_tangent_vector(x)
        for step in (0.5, 1e-4):
            y = manifold.exp(x, step * w)
            tu = manifold.transport(x, y, u)
            np_testing.assert_almost_equal(_tangent_residual(manifold, y[0], tu[0]), 0)
            np_testing.assert_almost_equal(manifold.norm(y, tu), manifold.norm(x, u))
            np_testing.assert_array_almost_equal(manifold.transport(y, x, tu)[0], u[0])
            np_testing.assert_array_almost_equal(tu[1], u[1])
        gap = np.linalg.norm(tu[0] - manifold.projection(y, u)[0])
        assert gap < 1e-3 * np.linalg.norm(u[0])

    def test_exp_log_inverse(self, manifold):
        X, Y = manifold.random_point(), manifold.random_point()
        Yexplog = manifold.exp(X, manifold.log(X, Y))
        np_testing.assert_array_almost_equal(Y[0], Yexplog[0])
        np_testing.assert_array_almost_equal(Y[1], Yexplog[1])

    def test_log_exp_inverse(self, manifold):
        X = manifold.random_point()
        U = manifold.random_tangent_vector(X)
        Ulogexp = manifold.log(X, manifold.exp(X, U))
        np_testing.assert_array_almost_equal(U[0], Ulogexp[0])
        np_testing.assert_array_almost_equal(U[1], Ulogexp[1])

    def test_pair_mean(self, manifold):
        X, Y = manifold.random_point(), manifold.random_point()
        Z = manifold.pair_mean(X, Y)
        np_testing.assert_array_almost_equal(manifold.dist(X, Z), manifold.dist(Y, Z))


class TestIsOblique:
    """With Sigma = I and unit radii, the rows are pymanopt's own ``Oblique(d, m)``."""

    @pytest.fixture(params=[(2, 1), (3, 4), (5, 3)], ids=["d2-m1", "d3-m4", "d5-m3"])
    def pair(self, request):
        d, m = request.param
        np.random.seed(1)  # noqa: NPY002 (pymanopt's manifolds draw from numpy's global state)
        return BNManifold(np.eye(d), m), Oblique(d, m)

    def test_methods_agree(self, pair):
        M, ob = pair
        x, y = M.random_point(), M.random_point()
        u, v = M.random_tangent_vector(x), M.random_tangent_vector(x)
        X, Y, Uo, Vo = x[0].T, y[0].T, u[0].T, v[0].T
        H = _normal(X.shape)
        np_testing.assert_allclose(M.rows.inner_product(x[0], u[0], v[0]),
                                   ob.inner_product(X, Uo, Vo), rtol=1e-12, atol=1e-14)
        np_testing.assert_allclose(M.rows.dist(x[0], y[0]), ob.dist(X, Y), rtol=1e-12)
        np_testing.assert_allclose(M.rows.exp(x[0], u[0]).T, ob.exp(X, Uo), atol=1e-13)
        np_testing.assert_allclose(M.rows.retraction(x[0], u[0]).T, ob.retraction(X, Uo),
                                   atol=1e-13)
        np_testing.assert_allclose(M.rows.log(x[0], y[0]).T, ob.log(X, Y), atol=1e-12)
        np_testing.assert_allclose(M.rows.projection(x[0], H.T).T, ob.projection(X, H),
                                   atol=1e-13)
        np_testing.assert_allclose(M.rows.euclidean_to_riemannian_gradient(x[0], H.T).T,
                                   ob.euclidean_to_riemannian_gradient(X, H), atol=1e-13)
        Hh = _normal(X.shape)
        np_testing.assert_allclose(
            M.rows.euclidean_to_riemannian_hessian(x[0], H.T, Hh.T, u[0]).T,
            ob.euclidean_to_riemannian_hessian(X, H, Hh, Uo), atol=1e-12)
        np_testing.assert_allclose(M.rows.pair_mean(x[0], y[0]).T, ob.pair_mean(X, Y),
                                   atol=1e-12)
        assert M.rows.dim == ob.dim


# --------------------------------------------------------------------------- test_oblique


class TestObliqueSuite:
    """pymanopt's ``TestObliqueManifold`` (inverse pairs checked through dist and norm)."""

    def test_exp_log_inverse(self, manifold):
        x, y = manifold.random_point(), manifold.random_point()
        z = manifold.exp(x, manifold.log(x, y))
        np_testing.assert_almost_equal(0, manifold.dist(y, z), decimal=6)

    def test_log_exp_inverse(self, manifold):
        x = manifold.random_point()
        u = manifold.random_tangent_vector(x)
        v = manifold.log(x, manifold.exp(x, u))
        np_testing.assert_almost_equal(0, manifold.norm(x, u - v))

    def test_pair_mean(self, manifold):
        X, Y = manifold.random_point(), manifold.random_point()
        Z = manifold.pair_mean(X, Y)
        np_testing.assert_array_almost_equal(manifold.dist(X, Z), manifold.dist(Y, Z))


# --------------------------------------------------------------------------- test_euclidean


@pytest.fixture(params=["OutputWeights", "BNManifold.a"])
def flat(request):
    """The output weights: OutputWeights itself, and the a-block of BNManifold."""
    np.random.seed(2)  # noqa: NPY002 (pymanopt's Euclidean draws from numpy's global state)
    if request.param == "OutputWeights":
        return OutputWeights(7, rng=0)
    return BNManifold(np.diag([2.0, 0.5]), 7, rng=0).outputs


class TestEuclideanSuite:
    """pymanopt's ``TestEuclideanManifold`` on the output weights ``a`` (shape (m,))."""

    def test_dim(self, flat):
        assert flat.dim == 7

    def test_typical_dist(self, flat):
        np_testing.assert_almost_equal(flat.typical_dist, np.sqrt(7))

    def test_dist(self, flat):
        x, y = _normal((2, 7))
        np_testing.assert_almost_equal(flat.dist(x, y), np.linalg.norm(x - y))

    def test_inner_product(self, flat):
        x = flat.random_point()
        y, z = flat.random_tangent_vector(x), flat.random_tangent_vector(x)
        np_testing.assert_almost_equal(np.sum(y * z), flat.inner_product(x, y, z))

    def test_projection(self, flat):
        x = flat.random_point()
        u = flat.random_tangent_vector(x)
        np_testing.assert_allclose(flat.projection(x, u), u)

    def test_euclidean_to_riemannian_hessian(self, flat):
        x = flat.random_point()
        u = flat.random_tangent_vector(x)
        egrad, ehess = _normal((2, 7))
        np_testing.assert_allclose(flat.euclidean_to_riemannian_hessian(x, egrad, ehess, u),
                                   ehess)

    def test_retraction(self, flat):
        x = flat.random_point()
        u = flat.random_tangent_vector(x)
        np_testing.assert_allclose(flat.retraction(x, u), x + u)

    def test_euclidean_to_riemannian_gradient(self, flat):
        x = flat.random_point()
        u = flat.random_tangent_vector(x)
        np_testing.assert_allclose(flat.euclidean_to_riemannian_gradient(x, u), u)

    def test_norm(self, flat):
        x = flat.random_point()
        u = _normal(7)
        np_testing.assert_almost_equal(np.sqrt(np.sum(u**2)), flat.norm(x, u))

    def test_random_point(self, flat):
        x, y = flat.random_point(), flat.random_point()
        assert np.shape(x) == (7,)
        assert np.linalg.norm(x - y) > 1e-6

    def test_random_tangent_vector(self, flat):
        x = flat.random_point()
        u, v = flat.random_tangent_vector(x), flat.random_tangent_vector(x)
        assert np.shape(u) == (7,)
        np_testing.assert_almost_equal(np.linalg.norm(u), 1)
        assert np.linalg.norm(u - v) > 1e-6

    def test_transport(self, flat):
        x, y = flat.random_point(), flat.random_point()
        u = flat.random_tangent_vector(x)
        np_testing.assert_allclose(flat.transport(x, y, u), u)

    def test_exp_log_inverse(self, flat):
        X, Y = flat.random_point(), flat.random_point()
        np_testing.assert_array_almost_equal(Y, flat.exp(X, flat.log(X, Y)))

    def test_log_exp_inverse(self, flat):
        X = flat.random_point()
        U = flat.random_tangent_vector(X)
        np_testing.assert_array_almost_equal(U, flat.log(X, flat.exp(X, U)))

    def test_pair_mean(self, flat):
        X, Y = flat.random_point(), flat.random_point()
        Z = flat.pair_mean(X, Y)
        np_testing.assert_array_almost_equal(flat.dist(X, Z), flat.dist(Y, Z))


# --------------------------------------------------------------------------- test_product


@pytest.fixture(params=CONFIGS, ids=[c[0] for c in CONFIGS])
def product(request):
    """pymanopt's Product with BNManifold as a factor: points [[U, a], z]."""
    _, cov, width, radii = request.param
    np.random.seed(3)  # noqa: NPY002 (pymanopt's manifolds draw from numpy's global state)
    bn, euclidean = BNManifold(cov, width, radii), Euclidean(5, 2)
    P = Product([bn, euclidean])
    point = P.random_point()

    @pymanopt.function.autograd(P)
    def cost(U, a, z):
        return (anp.sum((U - point[0][0]) ** 2) + anp.sum((a - point[0][1]) ** 2)
                + anp.sum((z - point[1]) ** 2))

    return P, bn, euclidean, cost


class TestProductSuite:
    """pymanopt's ``TestProductManifold``, with BNManifold as a factor."""

    def test_dim(self, product):
        P, bn, *_ = product
        np_testing.assert_equal(P.dim, bn.width * bn.cov.shape[0] + 10)
        assert P.point_layout == (2, 1) and P.num_values == 3

    def test_typical_dist(self, product):
        P, bn, *_ = product
        np_testing.assert_almost_equal(P.typical_dist, np.sqrt(bn.typical_dist**2 + 10))

    def test_dist(self, product):
        P, bn, euclidean, _ = product
        X, Y = P.random_point(), P.random_point()
        np_testing.assert_almost_equal(
            P.dist(X, Y), np.sqrt(bn.dist(X[0], Y[0]) ** 2 + euclidean.dist(X[1], Y[1]) ** 2))

    def test_tangent_vector_multiplication(self, product):
        """Regression test of pymanopt issue 49 (numpy scalars times product vectors)."""
        P, *_ = product
        x = P.random_point()
        eta = P.random_tangent_vector(x)
        for factor in (42, np.float64(42.0)):
            eta_scaled = eta * factor
            (xi, alpha), zeta = eta
            (xi_s, alpha_s), zeta_s = eta_scaled
            assert np.allclose(xi * factor, xi_s) and np.allclose(alpha * factor, alpha_s)
            assert np.allclose(zeta * factor, zeta_s)
            assert isinstance(eta_scaled[0], BNTangentVector)

    def test_inner_product_and_norm(self, product):
        P, bn, *_ = product
        x = P.random_point()
        u, v = P.random_tangent_vector(x), P.random_tangent_vector(x)
        np_testing.assert_almost_equal(P.inner_product(x, u, v),
                                       bn.inner_product(x[0], u[0], v[0]) + np.sum(u[1] * v[1]))
        np_testing.assert_almost_equal(P.norm(x, u), 1.0)

    def test_exp_log_inverse(self, product):
        P, *_ = product
        X, Y = P.random_point(), P.random_point()
        Yexplog = P.exp(X, P.log(X, Y))
        np_testing.assert_almost_equal(P.dist(Y, Yexplog), 0)

    def test_keyword_arguments(self, product):
        """pymanopt's test calls exp and dist with keywords; so do the factors' methods."""
        _, bn, *_ = product
        X, Y = bn.random_point(), bn.random_point()
        Yexplog = bn.exp(X, tangent_vector=bn.log(point_a=X, point_b=Y))
        np_testing.assert_almost_equal(bn.dist(point_a=Y, point_b=Yexplog), 0)

    def test_log_exp_inverse(self, product):
        P, *_ = product
        X = P.random_point()
        U = P.random_tangent_vector(X)
        Ulogexp = P.log(X, P.exp(X, U))
        np_testing.assert_array_almost_equal(U[0][0], Ulogexp[0][0])
        np_testing.assert_array_almost_equal(U[0][1], Ulogexp[0][1])
        np_testing.assert_array_almost_equal(U[1], Ulogexp[1])

    def test_pair_mean(self, product):
        P, *_ = product
        X, Y = P.random_point(), P.random_point()
        Z = P.pair_mean(X, Y)
        np_testing.assert_array_almost_equal(P.dist(X, Z), P.dist(Y, Z))

    def test_gradient_and_optimizers(self, product):
        P, bn, _, cost = product
        problem = pymanopt.Problem(P, cost)
        x0 = P.random_point()
        g = problem.riemannian_gradient(x0)
        np_testing.assert_almost_equal(_tangent_residual(bn, x0[0][0], g[0][0]), 0)
        for name in ("SteepestDescent", "ConjugateGradient", "TrustRegions"):
            result = getattr(pymanopt.optimizers, name)(
                max_iterations=40, verbosity=0).run(problem, initial_point=x0)
            assert result.cost < 0.05 * problem.cost(x0), name

    def test_particle_swarm_on_product(self, product):
        """Derivative-free ParticleSwarm runs on the product. (NelderMead does not, for any
        factor with multi-array points: pymanopt's compute_centroid hands the flattened
        point [U, a, z] to Product.dist; it runs on BNManifold itself, see TestOptimizerSuite.)
        """
        P, bn, _, cost = product
        result = pymanopt.optimizers.ParticleSwarm(max_iterations=5, verbosity=0).run(
            pymanopt.Problem(P, cost))
        (U, a), z = result.point
        np_testing.assert_allclose(np.einsum("ki,ij,kj->k", U, bn.cov, U), 1.0, rtol=1e-10)
        assert a.shape == (bn.width,) and z.shape == (5, 2)

    def test_vararg_cost_on_product(self):
        """pymanopt's ``test_vararg_cost_on_product``: BNManifold next to Stiefel factors."""
        np.random.seed(4)  # noqa: NPY002 (pymanopt's manifolds draw from numpy's global state)
        manifold = Product([BNManifold(np.eye(3), 2), Stiefel(3, 3), Stiefel(3, 3)])

        @pymanopt.function.autograd(manifold)
        def cost(*args):
            U, a, X, Y = args
            return anp.sum(U) + anp.sum(a**2) + anp.sum(X) + anp.sum(Y)

        problem = pymanopt.Problem(manifold, cost)
        (Uopt, aopt), Xopt, Yopt = pymanopt.optimizers.TrustRegions(
            max_iterations=1, verbosity=0).run(problem).point
        assert Uopt.shape == (2, 3) and aopt.shape == (2,)
        assert Xopt.shape == (3, 3) and Yopt.shape == (3, 3)


# --------------------------------------------------------------------------- optimizers


def _problem(manifold):
    cost = pymanopt.function.autograd(manifold)(_cost_factory(manifold))
    return pymanopt.Problem(manifold, cost)


class TestOptimizerSuite:
    """pymanopt's ``TestOptimizers`` and ``TestConjugateGradient`` on BNManifold."""

    @pytest.mark.parametrize("optimizer_name", pymanopt.optimizers.OPTIMIZERS)
    def test_optimizers(self, manifold, optimizer_name):
        problem = _problem(manifold)
        iterations = 5 if optimizer_name == "NelderMead" else 20  # 15 SD steps per centroid
        optimizer = getattr(pymanopt.optimizers, optimizer_name)(max_iterations=iterations,
                                                                 verbosity=0)
        result = optimizer.run(problem)
        assert [np.shape(p) for p in result.point] == [np.shape(p) for p in
                                                       manifold.random_point()]
        np_testing.assert_allclose(np.einsum("ki,ij,kj->k", result.point[0], manifold.cov,
                                             result.point[0]), 1.0, rtol=1e-10)
        assert result.time != 0
        assert result.iterations <= iterations
        assert isinstance(result.stopping_criterion, str)

    def test_optimization_log(self, manifold):
        problem = _problem(manifold)
        result = pymanopt.optimizers.ConjugateGradient(max_iterations=15,
                                                       verbosity=0).run(problem)
        assert result.log["stopping_criteria"]["max_iterations"] == 15
        assert result.log["iterations"] is None
        result = pymanopt.optimizers.ConjugateGradient(max_iterations=15, verbosity=0,
                                                       log_verbosity=1).run(problem)
        assert len(result.log["iterations"]["cost"]) == result.iterations

    @pytest.mark.parametrize("beta_rule", ["FletcherReeves", "HagerZhang", "HestenesStiefel",
                                           "PolakRibiere", "LiuStorey"])
    def test_beta_rules(self, manifold, beta_rule):
        """Every rule finds the unique minimiser (validate=True), as pymanopt's test finds the
        dominant eigenvector: -sum_k c_k^T u_k + |a - a*|^2 / 2 is minimal at
        u_k = Sigma^-1 c_k / sqrt(c_k^T Sigma^-1 c_k), a = a* (its only local minimum)."""
        rng = np.random.default_rng(5)
        C = rng.standard_normal((manifold.width, manifold.cov.shape[0]))
        a_star = rng.standard_normal(manifold.width)

        @pymanopt.function.autograd(manifold)
        def cost(U, a):
            return -anp.sum(C * U) + 0.5 * anp.sum((a - a_star) ** 2)

        S = np.linalg.solve(manifold.cov, C.T).T
        U_star = S / np.sqrt(np.sum(S * C, axis=1))[:, None]
        x0 = manifold.random_point()
        result = pymanopt.optimizers.ConjugateGradient(
            beta_rule=beta_rule, verbosity=0, max_iterations=500).run(
                pymanopt.Problem(manifold, cost), initial_point=x0)
        if beta_rule == "FletcherReeves":
            # FR "jams" (tiny steps, Nocedal & Wright 5.2) on anisotropic problems, on
            # pymanopt's own Oblique too: require progress, not convergence in 500 steps
            f_star, f0 = cost(U_star, a_star), cost(*x0)
            assert result.cost - f_star < 0.1 * (f0 - f_star)
            return
        np_testing.assert_allclose(result.point[0], U_star, atol=1e-4)  # |grad| <= 1e-6
        np_testing.assert_allclose(result.point[1], a_star, atol=1e-4)

    def test_beta_invalid_rule(self):
        with pytest.raises(ValueError):
            pymanopt.optimizers.ConjugateGradient(beta_rule="SomeUnknownBetaRule")


# --------------------------------------------------------------------------- diagnostics


def _printed(fn, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args)
    return result, out.getvalue()


def _last_number(text, prefix):
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[-1].rstrip("."))


class TestDiagnosticsSuite:
    """``pymanopt.tools.diagnostics`` on BNManifold problems, their printed verdicts read."""

    def test_check_gradient(self, manifold):
        problem = _problem(manifold)
        x = manifold.random_point()
        d = manifold.random_tangent_vector(x)
        _, out = _printed(diagnostics.check_gradient, problem, x, d)
        assert abs(_last_number(out, "The residual should be close to 0")) < 1e-12
        *_, poly = diagnostics.check_directional_derivative(problem, x, d)
        assert abs(poly[0] - 2.0) < 0.1

    def test_check_hessian(self, manifold):
        problem = _problem(manifold)
        x = manifold.random_point()
        d = manifold.random_tangent_vector(x)
        _, out = _printed(diagnostics.check_hessian, problem, x, d)
        assert abs(_last_number(out, "The residual should be 0, or very close")) < 1e-12
        assert abs(_last_number(out, "The norm of the residual between")) < 1e-10
        line = next(line for line in out.splitlines() if "should be close to zero" in line)
        a, b = (float(t) for t in line.split(": ")[1].split(" = ")[0].split(" - "))
        np_testing.assert_allclose(a, b, rtol=1e-4, atol=1e-10)
        *_, poly = diagnostics.check_directional_derivative(problem, x, d,
                                                            use_quadratic_model=True)
        assert abs(poly[0] - 3.0) < 0.15

    def test_check_retraction(self, manifold):
        """pymanopt reads the slope on a linear piece; a second-order retraction gives 3
        (or, where the error is at rounding level everywhere, the check says so)."""
        _, out = _printed(diagnostics.check_retraction, manifold)
        slope = _last_number(out, "It appears the slope is")
        x = manifold.random_point()
        d = manifold.random_tangent_vector(x)
        t = np.logspace(-4, 0, 17)
        err = np.array([manifold.dist(manifold.exp(x, s * d), manifold.retraction(x, s * d))
                        for s in t])
        fit = np.polyfit(np.log10(t[err > 1e-13]), np.log10(err[err > 1e-13]), 1)[0]
        assert abs(fit - 3.0) < 0.2
        assert slope >= 2.0 or not np.isfinite(slope)
