r"""Property tests of the BN model, its vanilla twin and their gradients (MATH §1-3).

The vanilla gradients are checked against autograd of :func:`bngeom.model.vanilla_loss`;
the BN gradients against an independent BN layer in ``test_theorem2.py``. Here:
blocking over samples changes nothing, and the invariants of MATH §2-3 hold.
"""

from __future__ import annotations

import autograd
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bngeom import charts, model
from bngeom.nn.functions import ACTIVATIONS, LOSSES, get_activation, get_loss
from bngeom.testing.strategies import activation_names, loss_names, networks, radii

KINKED = {"relu", "leaky_relu"}


def assert_rows_close(actual, desired, rtol, atol=0.0):
    actual, desired = np.atleast_2d(actual), np.atleast_2d(desired)
    err = np.linalg.norm(actual - desired, axis=-1)
    size = np.linalg.norm(desired, axis=-1)
    assert np.all(err <= rtol * size + atol + 1e-300), (err / np.maximum(size, 1e-300)).max()


def _away_from_kinks(net, U=None):
    if net.activation in KINKED:
        U = charts.normalize_to_manifold(net.W, net.cov) if U is None else U
        assume(np.min(np.abs(net.X @ U.T)) > 1e-7)


_vanilla_grads = (autograd.grad(model.vanilla_loss, 2), autograd.grad(model.vanilla_loss, 3))


# ---------------------------------------------------------------------------
# gradients


@given(networks(), st.data())
def test_vanilla_gradients_match_autograd(net, data):
    # Vanilla parameters need not lie on N_Sigma: use W itself as U.
    U = net.W
    _away_from_kinks(net, U)
    res = model.vanilla_loss_and_gradients(net.X, net.y, U, net.a, net.activation, net.loss)
    ref_u, ref_a = (g(net.X, net.y, U, net.a, net.activation, net.loss) for g in _vanilla_grads)
    assert res.loss == pytest.approx(
        float(model.vanilla_loss(net.X, net.y, U, net.a, net.activation, net.loss)), rel=1e-12)
    assert_rows_close(res.grad_w, ref_u, 1e-10)
    assert_rows_close(res.grad_a[None], ref_a[None], 1e-10)


@given(networks(), st.integers(1, 40))
def test_blocked_gradients_equal_unblocked(net, rows):
    m = net.W.shape[0]
    budget = rows * 3 * m * 8           # exactly `rows` samples per block
    assert model.block_rows(len(net.X), m, budget) == min(rows, len(net.X))
    for fn, args in ((model.bn_loss_and_gradients, (net.W, net.a, net.cov)),
                     (model.vanilla_loss_and_gradients, (net.W, net.a))):
        whole = fn(net.X, net.y, *args, net.activation, net.loss)
        atol_w, atol_a = _summation_floor(net, fn is model.bn_loss_and_gradients)
        for b in (1.0, budget):        # 1 byte: one sample per block
            part = fn(net.X, net.y, *args, net.activation, net.loss, memory_budget=b)
            assert part.loss == pytest.approx(whole.loss, rel=1e-12)
            assert_rows_close(part.grad_w, whole.grad_w, 1e-12, atol_w)
            assert_rows_close(part.grad_a[None], whole.grad_a[None], 1e-12, atol_a)


def _summation_floor(net, bn):
    """Rounding floor of a sum over samples taken in another order: 1e-13 of the sum of |terms|.

    Near a minimum the gradients are sums of cancelling terms; their relative error is then
    relative to the terms, not to the (small) result.
    """
    U = charts.normalize_to_manifold(net.W, net.cov) if bn else net.W
    z = net.X @ U.T
    act, lo = get_activation(net.activation), get_loss(net.loss)
    m = U.shape[0]
    resid = np.abs(lo.derivative(model.vanilla_forward(net.X, U, net.a, act), net.y))
    terms_a = resid @ np.abs(act.function(z)) / (len(net.X) * m)
    terms_w = (np.abs(net.a) / (len(net.X) * m)) * (
        (resid[:, None] * np.abs(act.derivative(z))).T @ np.abs(net.X)).sum(axis=1)
    if bn:
        terms_w = terms_w * (1 + np.linalg.norm(net.cov)) / charts.covariance_norm(net.W, net.cov)
    return 1e-13 * np.linalg.norm(terms_w), 1e-13 * np.linalg.norm(terms_a)


@given(networks())
def test_bn_gradient_from_vanilla_is_the_chain_rule(net):
    U = charts.normalize_to_manifold(net.W, net.cov)
    van = model.vanilla_loss_and_gradients(net.X, net.y, U, net.a, net.activation, net.loss)
    bn = model.bn_loss_and_gradients(net.X, net.y, net.W, net.a, net.cov, net.activation,
                                     net.loss)
    assert bn.loss == pytest.approx(van.loss, rel=1e-12)
    assert_rows_close(bn.grad_a[None], van.grad_a[None], 1e-12)
    assert_rows_close(model.bn_gradient_from_vanilla(net.W, van.grad_w, net.cov), bn.grad_w,
                      1e-12)
    # Chain rule through phi, written with its Jacobian: grad_w = (d phi_w)^T grad_u.
    d = net.W.shape[1]
    jac = np.stack([charts.sphere_to_manifold_differential(net.W, np.broadcast_to(e, net.W.shape),
                                                           net.cov) for e in np.eye(d)], axis=-1)
    assert_rows_close(np.einsum("kij,ki->kj", jac, van.grad_w), bn.grad_w, 1e-10)


# ---------------------------------------------------------------------------
# invariants (MATH §2-3)


@given(networks())
def test_bn_gradient_is_orthogonal_to_w(net):
    res = model.bn_loss_and_gradients(net.X, net.y, net.W, net.a, net.cov, net.activation,
                                      net.loss)
    dots = np.abs(np.sum(net.W * res.grad_w, axis=1))
    scale = np.linalg.norm(net.W, axis=1) * np.linalg.norm(res.grad_w, axis=1)
    assert np.all(dots <= 1e-12 * scale + 1e-300)


@given(networks())
def test_vanilla_network_on_phi_is_the_bn_network(net):
    U = charts.normalize_to_manifold(net.W, net.cov)
    f_bn = model.bn_forward(net.X, net.W, net.a, net.cov, net.activation)
    f_v = model.vanilla_forward(net.X, U, net.a, net.activation)
    np.testing.assert_allclose(f_v, f_bn, rtol=1e-13, atol=1e-13 * np.max(np.abs(f_bn)) + 1e-300)
    assert model.bn_loss(net.X, net.y, net.W, net.a, net.cov, net.activation, net.loss) == \
        pytest.approx(float(model.vanilla_loss(net.X, net.y, U, net.a, net.activation,
                                               net.loss)), rel=1e-13)


@given(networks(), st.data())
def test_scaling_w_keeps_function_and_gradient_direction(net, data):
    m = net.W.shape[0]
    c = data.draw(radii(m, min_value=0.01, max_value=100.0), label="c")
    scaled = net.W * c[:, None]
    f = model.bn_forward(net.X, net.W, net.a, net.cov, net.activation)
    np.testing.assert_allclose(model.bn_forward(net.X, scaled, net.a, net.cov, net.activation),
                               f, rtol=1e-12, atol=1e-12 * np.max(np.abs(f)) + 1e-300)
    res = model.bn_loss_and_gradients(net.X, net.y, net.W, net.a, net.cov, net.activation,
                                      net.loss)
    res_c = model.bn_loss_and_gradients(net.X, net.y, scaled, net.a, net.cov, net.activation,
                                        net.loss)
    assert res_c.loss == pytest.approx(res.loss, rel=1e-12)
    # grad(c w) = grad(w) / c: same direction, norm divided by c.
    assert_rows_close(res_c.grad_w * c[:, None], res.grad_w, 1e-10)
    np.testing.assert_allclose(np.linalg.norm(res_c.grad_w, axis=1),
                               np.linalg.norm(res.grad_w, axis=1) / c, rtol=1e-10, atol=1e-300)
    assert_rows_close(res_c.grad_a[None], res.grad_a[None], 1e-12)


# ---------------------------------------------------------------------------
# activations and losses


def _away_from_zero(z):
    return np.where(np.abs(z) < 1e-3, 0.5, z)


# The second derivative of relu is constant, which autograd warns about.
@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@given(activation_names(), hnp.arrays(np.float64, (16,), elements=st.floats(-20, 20)))
def test_activation_derivatives_match_autograd(name, z):
    act = get_activation(name)
    if name in KINKED:
        z = _away_from_zero(z)
    d1 = autograd.elementwise_grad(act.function)(z)
    d2 = autograd.elementwise_grad(autograd.elementwise_grad(act.function))(z)
    np.testing.assert_allclose(act.derivative(z), d1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.second_derivative(z), d2, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(act(z), act.function(z))
    # Positive homogeneity sigma(c z) = c sigma(z) exactly when the flag says so.
    c = 3.0
    homogeneous = np.allclose(act.function(c * z), c * act.function(z), rtol=1e-12, atol=0)
    if act.positively_homogeneous:
        assert homogeneous
    elif np.any(np.abs(z) > 0.1):
        assert not homogeneous


@given(loss_names(), hnp.arrays(np.float64, (16,), elements=st.floats(-20, 20)),
       st.data())
def test_loss_derivatives_match_autograd(name, f, data):
    lo = get_loss(name)
    if name == "logistic":
        y = data.draw(hnp.arrays(np.float64, f.shape, elements=st.sampled_from([-1.0, 1.0])))
    else:
        y = data.draw(hnp.arrays(np.float64, f.shape, elements=st.floats(-5, 5)))
    d1 = autograd.elementwise_grad(lo.function, 0)(f, y)
    d2 = autograd.elementwise_grad(autograd.elementwise_grad(lo.function, 0), 0)(f, y)
    np.testing.assert_allclose(lo.derivative(f, y), d1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lo.second_derivative(f, y), d2, rtol=1e-10, atol=1e-14)
    # The definitions of MATH §1.
    expected = 0.5 * (f - y) ** 2 if name == "squared" else np.log1p(np.exp(-y * f))
    np.testing.assert_allclose(lo(f, y), expected, rtol=1e-12, atol=1e-300)


def test_names_and_lookup_errors():
    assert set(ACTIVATIONS) == {"tanh", "relu", "leaky_relu", "softplus", "sigmoid"}
    assert set(LOSSES) == {"squared", "logistic"}
    with pytest.raises(ValueError, match="unknown"):
        get_activation("swish")
    with pytest.raises(ValueError, match="unknown"):
        get_loss("hinge")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)


# ---------------------------------------------------------------------------
# bad input


def test_bad_input_raises():
    X = np.random.default_rng(0).standard_normal((10, 3))
    X -= X.mean(axis=0)
    cov = X.T @ X / 10
    W, a, y = np.ones((2, 3)), np.ones(2), np.zeros(10)
    with pytest.raises(ValueError, match="same number of neurons"):
        model.bn_loss_and_gradients(X, y, W, np.ones(3), cov)
    with pytest.raises(ValueError, match="same number of samples"):
        model.bn_loss_and_gradients(X, np.zeros(9), W, a, cov)
    with pytest.raises(ValueError, match="non-zero rows"):
        model.bn_forward(X, np.zeros((2, 3)), a, cov)
    with pytest.raises(ValueError, match="last dimension"):
        model.bn_forward(X, np.ones((2, 4)), a, cov)
    with pytest.raises(ValueError, match="finite"):
        model.bn_loss(np.where(X > 1, np.nan, X), y, W, a, cov)
    with pytest.raises(ValueError, match="memory_budget"):
        model.vanilla_loss_and_gradients(X, y, W, a, memory_budget=0)
    with pytest.raises(ValueError, match="positive definite"):
        model.bn_forward(X, W, a, np.zeros((3, 3)))


# ---------------------------------------------------------------------------
# options


def _small_problem():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 4))
    X -= X.mean(axis=0)
    cov = X.T @ X / 300
    return X, np.sin(X[:, 0]), rng.standard_normal((70, 4)), rng.standard_normal(70), cov


@pytest.mark.parametrize("fields", [{"backend": "numpy"}, {"backend": "numba"},
                                    {"precision": "float32", "memory_budget": 4096},
                                    {"backend": "numba", "precision": "float32"}])
def test_options_and_keywords_give_the_same_bits(fields):
    X, y, W, a, cov = _small_problem()
    opts = model.ComputeOptions(**fields)
    for fn, args in ((model.bn_loss_and_gradients, (X, y, W, a, cov)),
                     (model.vanilla_loss_and_gradients, (X, y, W, a))):
        by_keywords, by_options = fn(*args, **fields), fn(*args, options=opts)
        assert by_keywords.loss == by_options.loss
        assert np.array_equal(by_keywords.grad_w, by_options.grad_w)
        assert np.array_equal(by_keywords.grad_a, by_options.grad_a)
    # a keyword replaces the field of options
    mixed = model.bn_loss_and_gradients(X, y, W, a, cov, options=opts, backend="numpy")
    ref = model.bn_loss_and_gradients(X, y, W, a, cov, **dict(fields, backend="numpy"))
    assert np.array_equal(mixed.grad_w, ref.grad_w)


def test_options_refuse_unknown_keywords_and_types():
    X, y, W, a, cov = _small_problem()
    with pytest.raises(TypeError, match=r"bn_loss_and_gradients\(\) got an unexpected "
                                        r"keyword argument 'budget'"):
        model.bn_loss_and_gradients(X, y, W, a, cov, budget=1)
    with pytest.raises(TypeError, match="options must be a bngeom.nn.model.ComputeOptions"):
        model.vanilla_loss_and_gradients(X, y, W, a, options={"backend": "numpy"})
    with pytest.raises(ValueError, match="memory_budget must be > 0"):
        model.ComputeOptions(memory_budget=0)
    with pytest.raises(ValueError, match="precision"):
        model.ComputeOptions(precision="float16")
