"""The geoopt manifolds: geoopt's own checks, steps equal to the numpy core's, training.

* geoopt's point and tangent checks (``assert_check_point_on_manifold``,
  ``assert_check_vector_on_tangent``) on what every method returns, plain and wrapped in
  geoopt's ``Scaled``, batched and row by row (the properties geoopt's own
  ``test_manifold_basic.py`` asks of its manifolds);
* every method equals :mod:`bngeom.geometry` on numpy arrays to 1e-12 (float64);
* ``RiemannianSGD`` and ``RiemannianAdam`` steps on a ``ManifoldParameter`` equal the same
  steps written with the numpy core (the exponential map or the chart retraction) to 1e-12,
  with the Euclidean gradient from :func:`bngeom.model.vanilla_loss_and_gradients`;
* a torch two-layer network on ``M^m`` trains (its loss falls) and is the BN network;
* bad input raises ``ValueError`` or ``TypeError`` naming the argument.
"""

import geoopt
import numpy as np
import pytest
import torch

from bngeom import geometry as geo
from bngeom.adapters.geoopt import BNSphere, BNSphereExact, NeuronManifold, NeuronManifoldExact
from bngeom.adapters.pymanopt import BNManifold, SigmaSphereRows
from bngeom.geometry.charts import chart
from bngeom.nn import data
from bngeom.nn.model import bn_loss, vanilla_loss_and_gradients

F64 = torch.float64
COV = np.diag([4.0, 1.0, 0.25])
COV5 = np.array([[2.0, 0.3, 0.0, 0.1, 0.0],
                 [0.3, 1.0, 0.2, 0.0, 0.0],
                 [0.0, 0.2, 0.5, 0.0, 0.1],
                 [0.1, 0.0, 0.0, 3.0, 0.4],
                 [0.0, 0.0, 0.1, 0.4, 0.8]])
SPHERES = [BNSphere, BNSphereExact]
PRODUCTS = [NeuronManifold, NeuronManifoldExact]


def _t(array):
    return torch.tensor(np.asarray(array), dtype=F64)  # a copy: optimizers step in place


def _close(tensor, array, tol=1e-12):
    np.testing.assert_allclose(tensor.detach().numpy(), array, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------
# geoopt's own checks


def _case(kind, cov, radius, scaled, seed):
    """(manifold, point x, ambient ex with projx(ex) = x, tangent v, ambient ev)."""
    manifold = kind(cov, radius)
    gen = torch.Generator().manual_seed(seed)
    shape = (cov.shape[0] + (kind in PRODUCTS),)
    ex = torch.randn(*shape, generator=gen, dtype=F64)
    x = manifold.projx(ex)
    ev = torch.randn(*shape, generator=gen, dtype=F64)
    v = manifold.proju(x, ev)
    return (geoopt.Scaled(manifold, 2.0) if scaled else manifold), x, ex, v, ev


CASES = [(kind, cov, radius, scaled, seed)
         for kind in SPHERES + PRODUCTS
         for cov, radius in ((np.eye(4), 1.0), (COV, 2.5), (COV5, 0.5))
         for scaled in (False, True)
         for seed in (1, 2)]


@pytest.fixture(params=CASES, ids=lambda c: f"{c[0].__name__}-d{c[1].shape[0]}-r{c[2]}"
                f"{'-scaled' if c[3] else ''}-{c[4]}")
def case(request):
    return _case(*request.param)


def test_projections_land_on_the_manifold_and_are_idempotent(case):
    manifold, x, ex, v, ev = case
    manifold.assert_check_point_on_manifold(x)
    manifold.assert_check_vector_on_tangent(x, v)
    _close(manifold.projx(x), x.numpy(), 1e-14)
    _close(manifold.proju(x, v), v.numpy(), 1e-14)
    assert not manifold.check_vector_on_tangent(x, ev)


def test_batched_calls_equal_row_by_row_calls(case):
    manifold, x, ex, v, ev = case
    scales = _t([[0.1], [0.5], [1.0], [2.0]])
    X, U = torch.stack([x] * 4), torch.stack([v] * 4) * scales
    V = manifold.proju(X, torch.stack([ev] * 4) * scales.flip(0))
    Y = manifold.retr(X, U)
    Q = manifold.transp_follow_retr(X, U, V)
    manifold.assert_check_point_on_manifold(Y)
    manifold.assert_check_vector_on_tangent(Y, Q)
    _close(manifold.projx(torch.stack([ex] * 4)), X.numpy(), 1e-14)
    for k in range(4):
        manifold.assert_check_point_on_manifold(Y[k])
        manifold.assert_check_vector_on_tangent(Y[k], Q[k])
        _close(manifold.retr(X[k], U[k]), Y[k].numpy(), 1e-14)
        _close(manifold.transp_follow_retr(X[k], U[k], V[k]), Q[k].numpy(), 1e-14)
        _close(manifold.inner(X, U, V)[k], manifold.inner(X[k], U[k], V[k]).numpy(), 1e-14)


def test_logmap_inverts_expmap_and_dist_is_the_norm(case):
    manifold, x, ex, v, ev = case
    y = manifold.expmap(x, v)
    manifold.assert_check_point_on_manifold(y)
    _close(manifold.expmap(x, manifold.logmap(x, y)), y.numpy(), 1e-10)
    _close(manifold.logmap(x, x), np.zeros(x.shape), 1e-14)
    _close(manifold.dist(x, y), manifold.norm(x, v).numpy(), 1e-10)
    _close(manifold.dist2(x, y), manifold.inner(x, v, v).numpy(), 1e-10)


def test_transport_is_an_isometry_and_retr_transp_agrees(case):
    manifold, x, ex, v, ev = case
    w = manifold.proju(x, ev.flip(0))
    y, (tv, tw) = manifold.retr(x, v), (manifold.transp(x, manifold.retr(x, v), u)
                                         for u in (v, w))
    manifold.assert_check_vector_on_tangent(y, tv)
    _close(manifold.inner(y, tv, tw), manifold.inner(x, v, w).numpy(), 1e-10)
    y2, tw2 = manifold.retr_transp(x, v, w)
    _close(y2, y.numpy(), 1e-14)
    _close(tw2, tw.numpy(), 1e-14)
    y3, tw3 = manifold.expmap_transp(x, v, w)
    _close(y3, manifold.expmap(x, v).numpy(), 1e-14)
    manifold.assert_check_vector_on_tangent(y3, tw3)


@pytest.mark.parametrize("kind", SPHERES + PRODUCTS)
def test_random_and_origin_are_points_and_manifold_parameters_work(kind):
    manifold = kind(COV, 1.5)
    shape = (7, 3 + (kind in PRODUCTS))
    torch.manual_seed(0)
    p = manifold.random(*shape, dtype=F64)
    assert p.shape == shape and p.dtype == F64 and p.manifold is manifold
    manifold.assert_check_point_on_manifold(p)
    o1, o2 = manifold.origin(*shape, dtype=F64), manifold.origin(shape, dtype=F64)
    manifold.assert_check_point_on_manifold(o1)
    assert torch.equal(o1, o2)
    param = geoopt.ManifoldParameter(torch.randn(*shape, dtype=F64), manifold=manifold)
    with torch.no_grad():
        param.proj_()
    manifold.assert_check_point_on_manifold(param)


# ---------------------------------------------------------------------------
# every method equals the numpy core


@pytest.fixture(params=[1.0, 2.5, "per-row"])
def sphere_data(request):
    rng = np.random.default_rng(3)
    u = geo.random_point(COV5, 6, rng=rng)
    radius = rng.uniform(0.5, 3.0, 6) if request.param == "per-row" else request.param
    xi = geo.random_tangent_vector(u, COV5, rng=rng)
    eta = geo.random_tangent_vector(u, COV5, rng=rng)
    v = geo.random_point(COV5, 6, rng=rng)
    grad = rng.standard_normal(u.shape)
    return radius, u, xi, eta, v, grad


@pytest.mark.parametrize("kind", SPHERES)
def test_sphere_methods_equal_the_numpy_core(kind, sphere_data):
    radius, u, xi, eta, v, grad = sphere_data
    s = kind(COV5, radius)
    U, XI, ETA, V = map(_t, (u, xi, eta, v))
    _close(s.inner(U, XI, ETA), geo.inner_product(u, xi, eta, COV5, radius=radius))
    _close(s.inner(U, XI, keepdim=True), geo.inner_product(u, xi, xi, COV5, radius=radius)[:, None])
    _close(s.norm(U, XI), geo.norm(u, xi, COV5, radius=radius))
    _close(s.dist(U, V), geo.dist(u, v, COV5, radius=radius))
    _close(s.expmap(U, XI), geo.exp(u, xi, COV5))
    _close(s.logmap(U, V), geo.log(u, v, COV5))
    _close(s.transp(U, V, XI), geo.parallel_transport(u, xi, COV5, end_point=v))
    _close(s.egrad2rgrad(U, _t(grad)),
           geo.riemannian_gradient(u, grad, COV5, radius=radius))
    _close(s.proju(U, _t(grad)), geo.to_tangent(u, grad, COV5))
    _close(s.projx(_t(grad)), chart(grad, COV5))
    rows = SigmaSphereRows(COV5, 6, radii=radius)
    _close(s.retr(U, XI), rows.exp(u, xi) if kind is BNSphereExact else rows.retraction(u, xi))
    _close(s.transp(U, V, XI), rows.transport(u, v, xi))
    assert s.inner(U, XI).dtype == F64


def test_product_metric_is_the_sphere_metric_plus_the_line(sphere_data):
    radius, u, xi, eta, v, grad = sphere_data
    m = NeuronManifold(COV5, radius)
    alpha, beta = np.arange(6.0), np.linspace(-1.0, 1.0, 6)
    P, A, B = (_t(np.column_stack([x, y])) for x, y in ((u, alpha), (xi, alpha), (eta, beta)))
    _close(m.inner(P, A, B), geo.inner_product(u, xi, eta, COV5, radius=radius) + alpha * beta)
    _close(m.egrad2rgrad(P, _t(np.column_stack([grad, beta]))),
           np.column_stack([geo.riemannian_gradient(u, grad, COV5, radius=radius), beta]))
    Q = _t(np.column_stack([v, beta]))
    _close(m.dist(P, Q), np.hypot(geo.dist(u, v, COV5, radius=radius), alpha - beta))


# ---------------------------------------------------------------------------
# optimizer steps equal the same steps written with the numpy core


def _problem(width=5):
    ds = data.make_teacher_dataset(64, np.diag(COV), teacher_width=2, rng=0)
    rng = np.random.default_rng(1)
    U = geo.random_point(ds.cov, width, rng=rng)
    a = rng.standard_normal(width)
    return ds, np.column_stack([U, a])


def _torch_loss(ds, P):
    """The vanilla network's loss: mean of (f - y)^2 / 2, f = tanh(X U^T) a / m."""
    X, y = _t(ds.X), _t(ds.y)
    U, a = P[:, :-1], P[:, -1]
    f = torch.tanh(X @ U.T) @ a / P.shape[0]
    return 0.5 * ((f - y) ** 2).mean()


def _numpy_gradient(ds, P):
    g = vanilla_loss_and_gradients(ds.X, ds.y, P[:, :-1], P[:, -1], "tanh", "squared")
    return np.column_stack([g.grad_w, g.grad_a])


class NumpyManifold:
    """bngeom's numpy steps on M^m: pymanopt's ``BNManifold`` (the numpy core), as geoopt steps."""

    def __init__(self, cov, radius, exact, width=5):
        self.manifold = BNManifold(cov, width, radii=radius, validate=False)
        self.radius, self.exact = radius, exact

    def rgrad(self, P, G):
        return np.column_stack(self.manifold.euclidean_to_riemannian_gradient(
            [P[:, :-1], P[:, -1]], [G[:, :-1], G[:, -1]]))

    def component_inner(self, P, V):
        u, xi = P[:, :-1], V[:, :-1]
        g = geo.inner_product(u, xi, xi, self.manifold.cov, radius=self.radius, validate=False)
        return np.column_stack([np.repeat(g[:, None], u.shape[1], axis=1), V[:, -1] ** 2])

    def retr_transp(self, P, V, B):
        point = [P[:, :-1], P[:, -1]]
        step = self.manifold.exp if self.exact else self.manifold.retraction
        new = step(point, [V[:, :-1], V[:, -1]])
        moved = self.manifold.transport(point, new, [B[:, :-1], B[:, -1]])
        return np.column_stack(new), np.column_stack(moved)


def _numpy_sgd(ds, P, steps, lr, momentum, man):
    buf = None
    for _ in range(steps):
        egrad = _numpy_gradient(ds, P)
        rgrad = man.rgrad(P, egrad)
        if momentum == 0:
            P = man.retr_transp(P, -lr * rgrad, rgrad)[0]
            continue
        # geoopt starts the buffer from the Euclidean gradient, then adds the Riemannian one
        buf = (egrad if buf is None else buf) * momentum + rgrad
        P, buf = man.retr_transp(P, -lr * buf, buf)
    return P


def _numpy_adam(ds, P, steps, lr, betas, eps, man):
    exp_avg, exp_avg_sq = np.zeros_like(P), np.zeros_like(P)
    for t in range(1, steps + 1):
        rgrad = man.rgrad(P, _numpy_gradient(ds, P))
        exp_avg = exp_avg * betas[0] + rgrad * (1 - betas[0])
        exp_avg_sq = exp_avg_sq * betas[1] + man.component_inner(P, rgrad) * (1 - betas[1])
        denom = np.sqrt(exp_avg_sq / (1 - betas[1] ** t)) + eps
        direction = exp_avg / (1 - betas[0] ** t) / denom
        P, exp_avg = man.retr_transp(P, -lr * direction, exp_avg)
    return P


def _geoopt_run(ds, P0, manifold, make_optimizer, steps):
    param = geoopt.ManifoldParameter(_t(P0), manifold=manifold)
    optimizer = make_optimizer([param])
    for _ in range(steps):
        optimizer.zero_grad()
        _torch_loss(ds, param).backward()
        optimizer.step()
    return param.detach().numpy()


RADII = [1.0, 1.7, "per-row"]


def _radius(label, width):
    return np.linspace(0.6, 2.0, width) if label == "per-row" else label


@pytest.mark.parametrize("kind", PRODUCTS)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("radius", RADII)
def test_riemannian_sgd_steps_equal_the_numpy_steps(kind, momentum, radius):
    ds, P0 = _problem()
    r = _radius(radius, P0.shape[0])
    got = _geoopt_run(ds, P0, kind(ds.cov, r), lambda p: geoopt.optim.RiemannianSGD(
        p, lr=0.3, momentum=momentum), steps=6)
    want = _numpy_sgd(ds, P0, 6, 0.3, momentum,
                      NumpyManifold(ds.cov, r, kind is NeuronManifoldExact))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(got, P0, atol=1e-3)          # the steps moved the point
    kind(ds.cov, r).assert_check_point_on_manifold(_t(got))


@pytest.mark.parametrize("kind", PRODUCTS)
@pytest.mark.parametrize("radius", RADII)
def test_riemannian_adam_steps_equal_the_numpy_steps(kind, radius):
    ds, P0 = _problem()
    r = _radius(radius, P0.shape[0])
    got = _geoopt_run(ds, P0, kind(ds.cov, r), lambda p: geoopt.optim.RiemannianAdam(
        p, lr=0.05, betas=(0.9, 0.99), eps=1e-8), steps=6)
    want = _numpy_adam(ds, P0, 6, 0.05, (0.9, 0.99), 1e-8,
                       NumpyManifold(ds.cov, r, kind is NeuronManifoldExact))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(got, P0, atol=1e-3)


@pytest.mark.parametrize("kind", PRODUCTS)
def test_stabilize_keeps_the_steps(kind):
    """geoopt's ``stabilize`` re-projects the point (projx) and the buffer (proju): no change."""
    ds, P0 = _problem()
    def run(stabilize):
        return _geoopt_run(ds, P0, kind(ds.cov), lambda p: geoopt.optim.RiemannianSGD(
            p, lr=0.3, momentum=0.5, stabilize=stabilize), steps=4)
    np.testing.assert_allclose(run(1), run(None), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# a torch network on M^m trains, and is the BN network


def test_a_torch_two_layer_network_trains_on_m():
    ds, P0 = _problem(width=8)
    manifold = NeuronManifold(ds.cov)
    param = geoopt.ManifoldParameter(_t(P0), manifold=manifold)
    optimizer = geoopt.optim.RiemannianAdam([param], lr=0.05)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        loss = _torch_loss(ds, param)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], (losses[0], losses[-1])
    manifold.assert_check_point_on_manifold(param)
    # the rows are on N_Sigma: the BN network with any radii computes the same loss
    U, a = (t.detach().numpy() for t in manifold.unpack_tensor(param))
    W = U * np.linspace(0.5, 3.0, 8)[:, None]
    assert np.isclose(bn_loss(ds.X, ds.y, W, a[:, 0], ds.cov),
                      _torch_loss(ds, param).item(), rtol=1e-12)


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("kind", SPHERES + PRODUCTS)
def test_bad_construction_arguments_are_named(kind):
    with pytest.raises(ValueError, match="cov"):
        kind(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="cov"):
        kind(np.eye(1))
    with pytest.raises(ValueError, match="radius"):
        kind(np.eye(2), radius=0.0)
    with pytest.raises(ValueError, match="radius"):
        kind(np.eye(2), radius=[1.0, -1.0])
    with pytest.raises(TypeError, match="validate"):
        kind(np.eye(2), validate="yes")


def test_bad_points_are_refused_by_geoopts_checks_and_validate():
    sphere = BNSphere(COV, radius=[1.0, 2.0])
    with pytest.raises(ValueError, match="last dimension"):
        geoopt.ManifoldParameter(torch.ones(2, 4, dtype=F64), manifold=sphere)
    with pytest.raises(ValueError, match="radius"):
        geoopt.ManifoldParameter(torch.ones(3, 3, dtype=F64), manifold=sphere)
    with pytest.raises(ValueError, match="not lying on"):
        sphere.assert_check_point_on_manifold(torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="not finite"):
        sphere.assert_check_point_on_manifold(torch.full((2, 3), float("nan"), dtype=F64))
    x = sphere.projx(torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="tangent space"):
        sphere.assert_check_vector_on_tangent(x, x)
    with pytest.raises(ValueError, match="x must have finite, non-zero rows"):
        sphere.projx(torch.zeros(2, 3, dtype=F64))
    checked = BNSphere(COV, validate=True)
    with pytest.raises(ValueError, match="base_point"):
        checked.expmap(torch.ones(3, dtype=F64), torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="tangent_vec"):
        checked.inner(x[0], x[0])


# ---------------------------------------------------------------------------
# Theorem 2 in torch: a step of torch.optim.SGD on the BN network is a RiemannianSGD step


def _bn_torch_loss(X, y, W, a, cov):
    """The BN network's loss with population BN: w^T x / |w|_Sigma, as in MATH §1."""
    scale = torch.sqrt(((W @ cov) * W).sum(-1))
    f = torch.tanh(X @ W.T / scale) @ a / W.shape[0]
    return 0.5 * ((f - y) ** 2).mean()


@pytest.mark.parametrize("kind", PRODUCTS)
def test_a_bn_sgd_step_is_a_riemannian_sgd_step_from_the_bn_weights(kind):
    ds, _ = _problem()
    rng = np.random.default_rng(4)
    W0 = rng.standard_normal((5, 3)) * rng.uniform(0.3, 3.0, (5, 1))
    a0 = rng.standard_normal(5)
    X, y, cov = _t(ds.X), _t(ds.y), _t(ds.cov)
    W, a = _t(W0).requires_grad_(), _t(a0).requires_grad_()
    sgd = torch.optim.SGD([W, a], lr=0.4)
    _bn_torch_loss(X, y, W, a, cov).backward()
    sgd.step()
    manifold, start = kind.from_bn_weights(W0, a0, ds.cov)
    np.testing.assert_allclose(manifold.radius, np.linalg.norm(W0, axis=1), rtol=1e-15)
    P = _geoopt_run(ds, start.numpy(), manifold,
                    lambda p: geoopt.optim.RiemannianSGD(p, lr=0.4), steps=1)
    target = np.column_stack([chart(W.detach().numpy(), ds.cov), a.detach().numpy()])
    gap = np.abs(P - target).max()
    if kind is NeuronManifold:       # the retraction: phi of the BN step, exactly
        assert gap < 1e-12, gap
    else:                            # the exponential map: to third order in the step
        assert 1e-8 < gap < 1e-3, gap


def test_from_bn_weights_refuses_bad_weights():
    with pytest.raises(ValueError, match="a must have shape"):
        NeuronManifold.from_bn_weights(np.ones((3, 2)), np.ones(2), np.eye(2))
    with pytest.raises(ValueError, match="W"):
        NeuronManifold.from_bn_weights(np.ones(3), np.ones(3), np.eye(2))
    with pytest.raises(ValueError, match="W must have non-zero rows"):
        NeuronManifold.from_bn_weights(np.zeros((3, 2)), np.ones(3), np.eye(2))


@pytest.mark.parametrize("kind", PRODUCTS)
def test_float32_points_stay_float32_and_train(kind):
    ds, P0 = _problem()
    manifold = kind(ds.cov)
    param = geoopt.ManifoldParameter(torch.tensor(P0, dtype=torch.float32), manifold=manifold)
    optimizer = geoopt.optim.RiemannianAdam([param], lr=0.05)
    X, y = torch.tensor(ds.X, dtype=torch.float32), torch.tensor(ds.y, dtype=torch.float32)
    for _ in range(20):
        optimizer.zero_grad()
        loss = 0.5 * ((torch.tanh(X @ param[:, :-1].T) @ param[:, -1] / 5 - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert param.dtype == torch.float32
    assert manifold.inner(param, param.grad).dtype == torch.float32
    manifold.assert_check_point_on_manifold(param, atol=1e-5)
    want = _geoopt_run(ds, P0, kind(ds.cov), lambda p: geoopt.optim.RiemannianAdam(p, lr=0.05),
                       steps=20)
    np.testing.assert_allclose(param.detach().numpy(), want, atol=1e-4)


@pytest.mark.parametrize("kind", SPHERES + PRODUCTS)
def test_manifold_parameters_and_tensors_go_through_every_method(kind):
    """geoopt hands its ManifoldParameter (a torch.Tensor subclass) to the methods."""
    manifold = kind(COV)
    shape = (4, 3 + (kind in PRODUCTS))
    torch.manual_seed(1)
    p = geoopt.ManifoldParameter(manifold.random(*shape, dtype=F64), manifold=manifold)
    q = manifold.random(*shape, dtype=F64)           # a ManifoldTensor
    v = manifold.proju(p, torch.randn(*shape, dtype=F64))
    with torch.no_grad():
        p.proj_()
        values = [manifold.projx(p), manifold.proju(p, p), manifold.egrad2rgrad(p, p),
                  manifold.expmap(p, v), manifold.retr(p, v), manifold.logmap(p, q),
                  manifold.transp(p, q, v), manifold.inner(p, v), manifold.norm(p, v),
                  manifold.dist(p, q), manifold.component_inner(p, v)]
    assert all(isinstance(t, torch.Tensor) and t.dtype == F64 for t in values)
    np.testing.assert_allclose(values[0].detach().numpy(), p.detach().numpy(), atol=1e-15)
    np.testing.assert_allclose(values[-2].detach().numpy(),
                               manifold.norm(p, manifold.logmap(p, q)).detach().numpy(),
                               rtol=1e-12)


# ---------------------------------------------------------------------------
# torch's autograd differentiates through the methods


@pytest.mark.parametrize("method", ["inner", "norm", "dist", "expmap", "logmap", "retr",
                                    "transp", "egrad2rgrad", "proju", "projx"])
def test_autograd_through_the_methods_agrees_with_finite_differences(method):
    sphere = BNSphere(COV, radius=np.array([0.7, 1.3, 2.0]))
    rng = np.random.default_rng(5)
    u = geo.random_point(COV, 3, rng=rng)
    v = geo.random_point(COV, 3, rng=rng)
    xi = geo.random_tangent_vector(u, COV, rng=rng, scale=0.3)
    args = {"inner": (u, xi, xi), "norm": (u, xi), "dist": (u, v), "expmap": (u, xi),
            "logmap": (u, v), "retr": (u, xi), "transp": (u, v, xi),
            "egrad2rgrad": (u, rng.standard_normal(u.shape)), "proju": (u, xi + u),
            "projx": (u * 1.5,)}[method]
    inputs = tuple(_t(a).requires_grad_() for a in args)
    assert torch.autograd.gradcheck(getattr(sphere, method), inputs, eps=1e-6, atol=1e-7)


def test_a_loss_of_distances_is_differentiated_on_the_parameter():
    """A geodesic loss (e.g. to teacher neurons) backpropagates into a ManifoldParameter."""
    manifold = NeuronManifold(COV)
    torch.manual_seed(2)
    teacher = manifold.random(4, 4, dtype=F64)
    student = geoopt.ManifoldParameter(manifold.random(4, 4, dtype=F64), manifold=manifold)
    optimizer = geoopt.optim.RiemannianSGD([student], lr=0.2)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = manifold.dist2(student, teacher).sum()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert manifold.dist2(student, teacher).sum().item() < 1e-3 * first
