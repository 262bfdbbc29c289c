"""The pymanopt adapter: BNManifold agrees with the core, passes pymanopt's diagnostics (slopes
measured here), trains BN networks with pymanopt's optimizers, and Riemannian gradient descent
on it is gradient descent on the BN network (Theorem 2, item 5 of the issue)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pymanopt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymanopt.manifolds.product import Product
from pymanopt.optimizers import ConjugateGradient, SteepestDescent, TrustRegions
from pymanopt.tools import diagnostics

from bngeom import charts, data, model
from bngeom import geometry as geo
from bngeom import strategies as bst
from bngeom.adapters.pymanopt import BNManifold, OutputWeights, SigmaSphereRows, make_problem

matplotlib.use("Agg")

RTOL = 1e-12


def close(actual, expected, rtol=RTOL, atol=1e-13):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def close_points(x, y, rtol=RTOL, atol=1e-13):
    assert len(x) == len(y) == 2
    close(x[0], y[0], rtol, atol)
    close(x[1], y[1], rtol, atol)


@st.composite
def cases(draw, max_norm=2.5):
    """(manifold, x, v, w, grad, hvp) for widths 1 (a single neuron) to 4 (a batch)."""
    cov = draw(bst.covariances(bst.dimensions(2, 5), max_condition=50.0))
    m = draw(st.sampled_from([1, 2, 4]))
    radii = draw(bst.radii(m, min_value=0.3, max_value=3.0))
    U = draw(bst.points(cov, m))
    floats = st.floats(-2.0, 2.0, allow_nan=False)

    def vec(k):
        return np.asarray(draw(st.lists(floats, min_size=k, max_size=k)))

    a, alpha, beta = vec(m), vec(m), vec(m)
    xi = draw(bst.tangent_vectors(U, cov, max_norm=max_norm))
    eta = draw(bst.tangent_vectors(U, cov, max_norm=max_norm))
    d = cov.shape[0]
    grad = [vec(m * d).reshape(m, d), vec(m)]
    hvp = [vec(m * d).reshape(m, d), vec(m)]
    M = BNManifold(cov, m, radii)
    return M, [U, a], [xi, alpha], [eta, beta], grad, hvp


# --------------------------------------------------------------------------- structure


def test_follows_pymanopt_product_conventions():
    cov = np.diag([4.0, 1.0, 0.25])
    M = BNManifold(cov, 5, radii=np.linspace(0.5, 2.0, 5), rng=0)
    # one manifold with two-array points (so that it nests in pymanopt's Product)
    assert not isinstance(M, Product) and isinstance(M, pymanopt.manifolds.manifold.Manifold)
    assert isinstance(M.manifolds[0], SigmaSphereRows)
    assert isinstance(M.manifolds[1], OutputWeights)
    assert M.dim == 5 * 3 and M.point_layout == 2 and M.num_values == 2
    close(M.typical_dist, np.sqrt(np.pi**2 * np.sum(M.radii**2) + 5))
    x = M.random_point()
    assert [v.shape for v in x] == [(5, 3), (5,)]
    close(np.einsum("ki,ij,kj->k", x[0], cov, x[0]), 1.0)
    v = M.random_tangent_vector(x)
    close(M.norm(x, v), 1.0)
    close(np.einsum("ki,ij,kj->k", v[0], cov, x[0]), 0.0, atol=1e-14)
    z = M.zero_vector(x)
    assert M.norm(x, z) == 0.0 and [t.shape for t in z] == [(5, 3), (5,)]
    assert "BN manifold" in str(M)


def test_constructor_and_argument_checks():
    cov = np.eye(3)
    with pytest.raises(ValueError, match="width"):
        BNManifold(cov, 0)
    with pytest.raises(TypeError, match="width"):
        BNManifold(cov, 2.5)
    with pytest.raises(ValueError, match="radii"):
        BNManifold(cov, 2, radii=[1.0, -1.0])
    with pytest.raises(ValueError, match="radii must have shape"):
        BNManifold(cov, 2, radii=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="cov"):
        BNManifold(np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="at least 2 x 2"):
        BNManifold(np.eye(1), 2)
    M = BNManifold(cov, 2, rng=0)
    x = M.random_point()
    with pytest.raises(ValueError, match=r"tangent_vector must have shape \(width, d\)"):
        M.exp(x, [np.zeros((3, 3)), np.zeros(2)])
    # validate=True checks points and tangency at every call
    strict = BNManifold(cov, 2, validate=True, rng=0)
    with pytest.raises(ValueError, match="N_Sigma"):
        strict.inner_product([2 * x[0], x[1]], M.zero_vector(x), M.zero_vector(x))
    with pytest.raises(ValueError, match="tangent"):
        strict.exp(x, [x[0], x[1]])
    # transport to an antipodal row is undefined
    with pytest.raises(ValueError, match="antipodal"):
        M.transport(x, [-x[0], x[1]], M.random_tangent_vector(x))


def test_make_problem_checks():
    ds = data.make_teacher_dataset(30, [2.0, 1.0], teacher_width=2, rng=0)
    with pytest.raises(ValueError, match="centred"):
        make_problem(ds.X + 1.0, ds.y, 3)
    with pytest.raises(ValueError, match="euclidean_gradient"):
        make_problem(ds.X, ds.y, 3, euclidean_gradient="finite_differences")
    with pytest.raises(ValueError, match="same number of samples"):
        make_problem(ds.X, ds.y[:-1], 3)
    with pytest.raises(ValueError, match="activation"):
        make_problem(ds.X, ds.y, 3, activation="swish")
    with pytest.raises(ValueError, match="X must have last dimension"):
        make_problem(ds.X, ds.y, 3, cov=np.eye(3))
    # a given cov is used as is, but X must be centred then too (issue 13)
    problem, M = make_problem(ds.X, ds.y, 3, cov=2.0 * ds.cov)
    close(M.cov, 2.0 * ds.cov)
    with pytest.raises(ValueError, match="centred.*bngeom.center"):
        make_problem(ds.X + 1.0, ds.y, 3, cov=ds.cov)
    with pytest.raises(ValueError, match="labels -1 or \\+1.*signed_labels"):
        make_problem(ds.X, (ds.y > 0).astype(float), 3, loss="logistic")


def test_random_draws_are_reproducible():
    cov = np.diag([2.0, 1.0, 0.5])
    x1 = BNManifold(cov, 4, rng=3).random_point()
    x2 = BNManifold(cov, 4, rng=3).random_point()
    close_points(x1, x2, 0, 0)
    np.random.seed(11)  # noqa: NPY002 (the global state pymanopt uses)
    y1 = BNManifold(cov, 4).random_point()
    np.random.seed(11)  # noqa: NPY002 (the global state pymanopt uses)
    y2 = BNManifold(cov, 4).random_point()
    close_points(y1, y2, 0, 0)


# --------------------------------------------------------------------------- = the core


@given(cases())
def test_manifold_is_the_core(case):
    """Every method gives the core's numbers (rows, radius r_k) plus the flat a-block."""
    M, x, v, w, grad, hvp = case
    cov, r = M.cov, M.radii
    (U, a), (xi, alpha), (eta, beta) = x, v, w
    close(M.inner_product(x, v, w), np.sum(geo.inner_product(U, xi, eta, cov, radius=r))
          + alpha @ beta)
    close(M.norm(x, v), np.sqrt(np.sum(geo.squared_norm(U, xi, cov, radius=r)) + alpha @ alpha))
    y = M.exp(x, v)
    close_points(y, [geo.exp(U, xi, cov), a + alpha])
    V, b = y
    close_points(M.log(x, y), [geo.log(U, V, cov), b - a])
    close(M.dist(x, y), np.sqrt(np.sum(geo.squared_dist(U, V, cov, radius=r))
                                + np.sum((b - a) ** 2)))
    close_points(M.transport(x, y, w), [geo.parallel_transport(U, eta, cov, end_point=V), beta])
    # (validate=False: log(u, u) may return a ~1e-33 vector that the core's relative
    # tangency check rejects; see the report)
    close_points(M.pair_mean(x, y), [geo.exp(U, 0.5 * geo.log(U, V, cov), cov, validate=False),
                                     (a + b) / 2])
    close_points(M.euclidean_to_riemannian_gradient(x, grad),
                 [geo.riemannian_gradient(U, grad[0], cov, radius=r), grad[1]])
    close_points(M.euclidean_to_riemannian_hessian(x, grad, hvp, v),
                 [geo.riemannian_hessian(U, grad[0], hvp[0], xi, cov, radius=r), hvp[1]])
    amb = [grad[0] + 0.3 * (U @ cov), grad[1]]
    close_points(M.projection(x, amb), [geo.to_tangent(U, amb[0], cov), grad[1]])
    close_points(M.to_tangent_space(x, amb), M.projection(x, amb), 0, 0)
    R = M.retraction(x, v)
    close_points(R, [charts.normalize_to_manifold(
        charts.normalize_to_sphere(U) + charts.manifold_to_sphere_differential(U, xi), cov),
        a + alpha])


@given(cases(max_norm=2.8))
def test_identities_through_the_adapter(case):
    M, x, v, w, grad, _ = case
    y = M.exp(x, v)
    close_points(M.log(x, y), v, rtol=1e-8, atol=1e-9)
    close_points(M.exp(x, M.log(x, y)), y, rtol=1e-9, atol=1e-10)
    close(M.dist(x, y), M.norm(x, v), rtol=1e-9, atol=1e-10)
    close(M.dist(x, y), M.dist(y, x), rtol=1e-12)
    # transport is an isometry between tangent spaces
    tv, tw = M.transport(x, y, v), M.transport(x, y, w)
    close(M.inner_product(y, tv, tw), M.inner_product(x, v, w), rtol=1e-9, atol=1e-9)
    # the midpoint is half-way
    mid = M.pair_mean(x, y)
    close(M.dist(x, mid), 0.5 * M.dist(x, y), rtol=1e-8, atol=1e-9)
    close(M.dist(mid, y), 0.5 * M.dist(x, y), rtol=1e-8, atol=1e-9)
    # Theorem 2: the Riemannian gradient represents the differential, g(grad_R, v) = <grad, v>
    rgrad = M.euclidean_to_riemannian_gradient(x, grad)
    close(M.inner_product(x, rgrad, v), np.sum(grad[0] * v[0]) + grad[1] @ v[1],
          rtol=1e-9, atol=1e-9)
    close_points(M.projection(x, rgrad), rgrad, rtol=1e-9, atol=1e-10)
    # the retraction stays on the manifold and agrees with exp to first order
    R = M.retraction(x, v)
    close(np.einsum("ki,ij,kj->k", R[0], M.cov, R[0]), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------- diagnostics


def _linear_piece_slope(h, err, floor, window=8):
    """Slope of log10(err) against log10(h) on the most linear window above ``floor``.

    The measurement of pymanopt's diagnostics (identify_linear_piece), restricted to
    windows where every error is above the rounding floor.
    """
    lh, le = np.log10(h), np.log10(np.maximum(err, 1e-300))
    best = None
    for k in range(len(h) - window + 1):
        seg = slice(k, k + window)
        if np.any(err[seg] <= floor):
            continue
        poly, res, *_ = np.polyfit(lh[seg], le[seg], 1, full=True)
        resid = float(res[0]) if len(res) else 0.0
        if best is None or resid < best[0]:
            best = (resid, poly[0])
    assert best is not None, "no window of step sizes above the rounding floor"
    return best[1]


def _taylor_errors(problem, x, d, order, riemannian_gradient=None):
    """|f(exp_x(h d)) - model(h)| on step sizes h, as in check_directional_derivative."""
    M = problem.manifold
    h = np.logspace(-8, 0, 41)
    f0 = problem.cost(x)
    grad = (riemannian_gradient or problem.riemannian_gradient)(x)
    coeffs = [M.inner_product(x, grad, d), f0]
    if order == 2:
        coeffs = [0.5 * M.inner_product(x, problem.riemannian_hessian(x, d), d)] + coeffs
    values = np.array([problem.cost(M.exp(x, hk * d)) for hk in h])
    return h, np.abs(np.polyval(coeffs, h) - values)


# pymanopt's diagnostics trip numpy deprecation and log10(0) warnings of their own
pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:divide by zero encountered in log10:RuntimeWarning"),
]


@pytest.fixture(scope="module")
def small_problem():
    ds = data.make_teacher_dataset(60, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
    problem, M = make_problem(ds.X, ds.y, 4, radii=[0.5, 1.0, 2.0, 3.0], rng=0)
    x = M.random_point()
    return problem, M, x, M.random_tangent_vector(x)


def test_gradient_check_slope_is_two(small_problem):
    problem, M, x, d = small_problem
    h, err = _taylor_errors(problem, x, d, order=1)
    assert abs(_linear_piece_slope(h, err, floor=1e-13) - 2.0) < 0.05
    # pymanopt's own measurement agrees
    _, _, _, poly = diagnostics.check_directional_derivative(problem, x, d)
    assert abs(poly[0] - 2.0) < 0.05
    # the gradient is tangent: check_gradient's residual
    g = problem.riemannian_gradient(x)
    assert M.norm(x, g - M.to_tangent_space(x, g)) < 1e-14 * M.norm(x, g)
    # the measurement can fail: the embedded-metric gradient (a projection) is not the
    # gradient for g, and its Taylor error is only first order
    def wrong(point):
        return M.projection(point, problem.euclidean_gradient(point))
    h, err = _taylor_errors(problem, x, d, order=1, riemannian_gradient=wrong)
    assert abs(_linear_piece_slope(h, err, floor=1e-13) - 1.0) < 0.1


def test_hessian_check_slope_is_three(small_problem, capsys):
    problem, M, x, d = small_problem
    h, err = _taylor_errors(problem, x, d, order=2)
    assert abs(_linear_piece_slope(h, err, floor=1e-13) - 3.0) < 0.1
    _, _, _, poly = diagnostics.check_directional_derivative(problem, x, d,
                                                            use_quadratic_model=True)
    assert abs(poly[0] - 3.0) < 0.1
    # check_hessian's other checks: tangent, linear, symmetric for g
    diagnostics.check_hessian(problem, x, d)
    out = capsys.readouterr().out
    values = [float(line.rsplit(" ", 1)[-1].rstrip(".")) for line in out.splitlines()
              if line.startswith(("The residual should be 0", "The norm of the residual"))]
    assert len(values) == 2 and max(abs(v) for v in values) < 1e-12
    d1, d2 = M.random_tangent_vector(x), M.random_tangent_vector(x)
    close(M.inner_product(x, d1, problem.riemannian_hessian(x, d2)),
          M.inner_product(x, problem.riemannian_hessian(x, d1), d2), rtol=1e-10, atol=1e-14)
    # the measurement can fail: dropping the curvature terms leaves a second-order error
    def wrong_hessian(point, vec):
        return M.projection(point, problem.euclidean_hessian(point, vec))
    fake = pymanopt.Problem(M, problem._original_cost, riemannian_hessian=pymanopt.function
                            .numpy(M)(lambda U, a, dU, da: wrong_hessian([U, a], [dU, da])))
    h, err = _taylor_errors(fake, x, d, order=2)
    assert abs(_linear_piece_slope(h, err, floor=1e-13) - 2.0) < 0.1


def test_retraction_is_second_order(small_problem, capsys):
    _, M, x, d = small_problem
    t = np.logspace(-12, 0, 49)
    err = np.array([M.dist(M.exp(x, s * d), M.retraction(x, s * d)) for s in t])
    assert abs(_linear_piece_slope(t, err, floor=1e-13) - 3.0) < 0.1
    # pymanopt's check_retraction runs; it takes log10 of the exact zeros that a correct
    # distance returns for tiny steps, so its own slope estimate is not usable here
    diagnostics.check_retraction(M, x, d)
    assert "It appears the slope is" in capsys.readouterr().out
    # the measurement can fail: phi(u + xi) is a first-order retraction only
    t = np.logspace(-6, 0, 25)

    def first_order(point, vec):
        return [charts.normalize_to_manifold(point[0] + vec[0], M.cov), point[1] + vec[1]]

    err = np.array([M.dist(M.exp(x, s * d), first_order(x, s * d)) for s in t])
    assert abs(_linear_piece_slope(t, err, floor=1e-13) - 2.0) < 0.1


# --------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("gradient", ["autograd", "closed_form"])
def test_optimizers_reduce_the_loss(gradient):
    ds = data.make_teacher_dataset(80, [2.0, 1.0, 0.5], teacher_width=2, rng=1)
    problem, M = make_problem(ds.X, ds.y, 4, euclidean_gradient=gradient, rng=2)
    x0 = M.random_point()
    f0 = problem.cost(x0)
    for optimizer in (SteepestDescent(max_iterations=30, verbosity=0),
                      ConjugateGradient(max_iterations=30, verbosity=0),
                      TrustRegions(max_iterations=8, verbosity=0)):
        result = optimizer.run(problem, initial_point=x0)
        assert result.cost < 0.2 * f0, type(optimizer).__name__
        U = result.point[0]
        close(np.einsum("ki,ij,kj->k", U, M.cov, U), 1.0, rtol=1e-12)
        # the cost is the BN loss of any W with phi(W) = U
        close(result.cost, model.bn_loss(ds.X, ds.y, 3.0 * U, result.point[1], ds.cov),
              rtol=1e-12)


def test_closed_form_gradient_is_autograds():
    ds = data.make_teacher_dataset(50, [2.0, 1.0, 0.5], teacher_width=2, rng=3)
    for loss in ("squared", "logistic"):
        y = np.sign(ds.y) if loss == "logistic" else ds.y
        auto, M = make_problem(ds.X, y, 5, "softplus", loss, radii=np.arange(1.0, 6.0), rng=0)
        closed, _ = make_problem(ds.X, y, 5, "softplus", loss, radii=np.arange(1.0, 6.0),
                                 euclidean_gradient="closed_form", memory_budget=2000)
        x = M.random_point()
        close_points(closed.euclidean_gradient(x), auto.euclidean_gradient(x))
        close_points(closed.riemannian_gradient(x), auto.riemannian_gradient(x))


# --------------------------------------------------------------------------- item 5


def _gd_setup():
    ds = data.make_teacher_dataset(200, [2.0, 1.0, 0.5], teacher_width=3, rng=0)
    rng = np.random.default_rng(1)
    W0 = rng.standard_normal((4, 3)) * np.array([0.5, 1.0, 1.5, 2.0])[:, None]
    a0 = rng.standard_normal(4)
    return ds, W0, a0


def _bn_gd(ds, W, a, step, n_steps):
    for _ in range(n_steps):
        res = model.bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov)
        W, a = W - step * res.grad_w, a - step * res.grad_a
    return W, a


def _riemannian_gd(problem, x, step, n_steps, move):
    for _ in range(n_steps):
        x = move(x, -step * problem.riemannian_gradient(x))
    return x


def _gap(x, W, a, cov):
    return float(np.sqrt(np.sum((x[0] - charts.normalize_to_manifold(W, cov)) ** 2)
                         + np.sum((x[1] - a) ** 2)))


def test_riemannian_gd_is_bn_gd():
    """Riemannian GD on BNManifold from phi(W0) vs Euclidean GD on the BN net from W0."""
    ds, W0, a0 = _gd_setup()
    M, x0 = BNManifold.from_bn_weights(W0, a0, ds.cov)
    problem, _ = make_problem(ds.X, ds.y, 4, cov=ds.cov, radii=M.radii,
                              euclidean_gradient="closed_form")
    # one step: agreement to O(step^2) -- in fact O(step^3), since exp is a second-order
    # retraction and the retraction phi(u^ + dpsi xi) reproduces the BN step exactly
    steps = np.logspace(-2.5, -0.5, 9)
    one = np.array([_gap(_riemannian_gd(problem, x0, s, 1, problem.manifold.exp),
                         *_bn_gd(ds, W0, a0, s, 1), ds.cov) for s in steps])
    order_one_step = np.polyfit(np.log(steps), np.log(one), 1)[0]
    assert order_one_step > 1.9 and abs(order_one_step - 3.0) < 0.1
    # fixed time horizon T = k * step: the trajectories converge to each other as step -> 0,
    # at order 1 (k = T/step steps, each O(step^2): the BN radii grow by step^2 |grad|^2)
    T = 3.0
    steps = np.array([0.3, 0.15, 0.075, 0.0375])
    gaps = []
    for s in steps:
        k = int(round(T / s))
        gaps.append(_gap(_riemannian_gd(problem, x0, s, k, problem.manifold.exp),
                         *_bn_gd(ds, W0, a0, s, k), ds.cov))
    order_horizon = np.polyfit(np.log(steps), np.log(gaps), 1)[0]
    assert abs(order_horizon - 1.0) < 0.1
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 0.05
    # exactness: with the retraction and the radii tracked (|w_k| grows), the two coincide
    W, a, x = W0, a0, x0
    for _ in range(15):
        Mk, xk = BNManifold.from_bn_weights(W, a, ds.cov)
        close_points(xk, x, rtol=1e-12, atol=1e-12)
        pk, _ = make_problem(ds.X, ds.y, 4, cov=ds.cov, radii=Mk.radii,
                             euclidean_gradient="closed_form")
        x = Mk.retraction(x, -0.5 * pk.riemannian_gradient(x))
        W, a = _bn_gd(ds, W, a, 0.5, 1)
    close_points(M.point_from_bn(W, a), x, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- nesting


def test_nests_in_pymanopt_product():
    """Product([BNManifold, Euclidean, Stiefel]): points [[U, a], z, S], optimizers run."""
    import autograd.numpy as anp
    from pymanopt.manifolds import Euclidean, Stiefel

    M = BNManifold(np.diag([2.0, 1.0, 0.5]), 3, rng=0)
    P = Product([M, Euclidean(3), Stiefel(4, 2)])
    assert P.point_layout == (2, 1, 1) and P.dim == 9 + 3 + 5
    np.random.seed(0)  # noqa: NPY002 (pymanopt's Euclidean and Stiefel draw from it)
    target, x0 = P.random_point(), P.random_point()

    @pymanopt.function.autograd(P)
    def cost(U, a, z, S):
        return (anp.sum((U - target[0][0]) ** 2) + anp.sum((a - target[0][1]) ** 2)
                + anp.sum((z - target[1]) ** 2) + anp.sum((S - target[2]) ** 2))

    problem = pymanopt.Problem(P, cost)
    v = P.random_tangent_vector(x0)
    close(P.norm(x0, v), 1.0)
    close(P.norm(x0, 3.0 * v - v), 2.0)
    y = P.retraction(x0, v)
    close_points(y[0], M.retraction(x0[0], v[0]), 0, 0)
    close(y[1], x0[1] + v[1])
    close(P.inner_product(x0, v, v), M.inner_product(x0[0], v[0], v[0]) + v[1] @ v[1]
          + np.sum(v[2] * v[2]))
    for optimizer in (SteepestDescent(max_iterations=60, verbosity=0),
                      ConjugateGradient(max_iterations=60, verbosity=0),
                      ConjugateGradient(beta_rule="LiuStorey", max_iterations=60, verbosity=0),
                      TrustRegions(max_iterations=10, verbosity=0)):
        result = optimizer.run(problem, initial_point=x0)
        assert result.cost < 1e-8, type(optimizer).__name__
        close_points(result.point[0], target[0], rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- paired vectors


@pytest.mark.parametrize("beta_rule", ["FletcherReeves", "HagerZhang", "HestenesStiefel",
                                       "PolakRibiere", "LiuStorey"])
def test_every_beta_rule_runs_with_validation(beta_rule):
    """LiuStorey pairs grad at x with a direction transported to the next point."""
    ds = data.make_teacher_dataset(80, [2.0, 1.0, 0.5], teacher_width=2, rng=1)
    problem, M = make_problem(ds.X, ds.y, 4, rng=2)
    assert M.validate
    x0 = M.random_point()
    result = ConjugateGradient(beta_rule=beta_rule, max_iterations=60,
                               verbosity=0).run(problem, initial_point=x0)
    assert result.cost < 1e-3 * problem.cost(x0)


def test_transported_vectors_in_the_metric():
    cov = np.diag([4.0, 1.0, 0.25])
    M = BNManifold(cov, 3, radii=[0.5, 1.0, 2.0], rng=4)
    x, y = M.random_point(), M.random_point()
    v = M.random_tangent_vector(x)
    newx = M.exp(x, 0.8 * v)
    w = M.transport(x, newx, M.random_tangent_vector(x))  # tangent at newx, not at x
    assert w.transported_from is x[0]
    with pytest.raises(ValueError, match="tangent"):
        geo.inner_product(x[0], v[0], w[0], cov)  # the core stays strict
    # a vector transported from x enters through its projection at x, in either slot
    expected = M.inner_product(x, v, M.projection(x, w))
    close(M.inner_product(x, v, w), expected)
    close(M.inner_product(x, w, v), expected)
    close(M.inner_product([x[0].copy(), x[1]], w, v), expected)  # equal rows, not identical
    # the metric of Prop. 1 ignores the normal part: xi^T G(u)^+ eta, r^2-weighted
    Gp = np.linalg.pinv(geo.cometric_matrix(x[0], cov))
    close(sum(r**2 * v[0][k] @ Gp[k] @ w[0][k] for k, r in enumerate(M.radii))
          + v[1] @ w[1], expected, rtol=1e-9, atol=1e-12)
    # at its own end point it is an ordinary tangent vector
    close(M.norm(newx, w), M.norm(x, M.transport(newx, x, w)), rtol=1e-10)
    # anything else that is not tangent still raises, however mildly off
    with pytest.raises(ValueError, match="tangent"):
        M.inner_product(x, v, [w[0] + 0.0, w[1]])  # arithmetic drops the record
    with pytest.raises(ValueError, match="tangent"):
        M.inner_product(y, M.random_tangent_vector(y), w)  # transported from elsewhere
    with pytest.raises(ValueError, match="tangent"):
        M.inner_product(x, v, [v[0] + 0.05 * x[0], v[1]])
    with pytest.raises(ValueError, match="tangent"):
        M.norm(x, [x[0] @ cov, v[1]])
    with pytest.raises(ValueError, match="N_Sigma"):
        M.inner_product([2 * y[0], y[1]], v, v)


# --------------------------------------------------------------------------- backends


@pytest.mark.parametrize("backend", ["numpy", "pytorch", "jax"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_backends_agree_with_autograd(backend, loss):
    """Cost, Euclidean gradient and Hessian-vector product of every backend = autograd's."""
    if backend in ("pytorch", "jax"):
        pytest.importorskip("torch" if backend == "pytorch" else "jax")
    ds = data.make_teacher_dataset(60, [2.0, 1.0, 0.5], teacher_width=2, rng=4)
    y = np.sign(ds.y) if loss == "logistic" else ds.y
    auto, M = make_problem(ds.X, y, 4, "softplus", loss, radii=[0.5, 1.0, 2.0, 3.0], rng=0)
    other, M2 = make_problem(ds.X, y, 4, "softplus", loss, radii=[0.5, 1.0, 2.0, 3.0],
                             backend=backend, memory_budget=3000)
    x = M.random_point()
    v = M.random_tangent_vector(x)
    close(float(other.cost(x)), auto.cost(x))
    close_points([np.asarray(g) for g in other.euclidean_gradient(x)],
                 auto.euclidean_gradient(x), rtol=1e-10, atol=1e-14)
    close_points([np.asarray(h) for h in other.euclidean_hessian(x, v)],
                 auto.euclidean_hessian(x, v), rtol=1e-10, atol=1e-14)
    close_points(other.riemannian_hessian(x, v), auto.riemannian_hessian(x, v),
                 rtol=1e-10, atol=1e-14)
    result = TrustRegions(max_iterations=4, verbosity=0).run(other, initial_point=x)
    reference = TrustRegions(max_iterations=4, verbosity=0).run(auto, initial_point=x)
    assert result.cost < auto.cost(x)
    close(result.cost, reference.cost, rtol=1e-8)


def test_make_problem_options():
    from bngeom.adapters.pymanopt import ProblemOptions

    ds = data.make_teacher_dataset(30, [2.0, 1.0], teacher_width=2, rng=0)
    with pytest.raises(ValueError, match="backend must be one of"):
        make_problem(ds.X, ds.y, 3, backend="tensorflow")
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['euclidean_grad'\]"):
        make_problem(ds.X, ds.y, 3, euclidean_grad="closed_form")
    with pytest.raises(ValueError, match="euclidean_gradient applies to backend='autograd'"):
        make_problem(ds.X, ds.y, 3, backend="numpy", euclidean_gradient="closed_form")
    with pytest.raises(ValueError, match="memory_budget"):
        make_problem(ds.X, ds.y, 3, memory_budget=0)
    with pytest.raises(TypeError, match="validate must be a bool"):
        ProblemOptions(validate="yes")
    # the options as a dataclass, and the 0.2 keywords, give the same problem
    opts = ProblemOptions(euclidean_gradient="closed_form", memory_budget=4000, validate=False)
    p1, M1 = make_problem(ds.X, ds.y, 3, rng=0, **vars(opts))
    p2, _ = make_problem(ds.X, ds.y, 3, euclidean_gradient="closed_form", memory_budget=4000,
                         validate=False)
    assert not M1.validate
    x = M1.random_point()
    close_points(p1.euclidean_gradient(x), p2.euclidean_gradient(x), 0, 0)
