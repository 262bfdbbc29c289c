"""Mini-batch BN (batch statistics): against autograd, against torch, and on bad input."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from bngeom.nn.batchnorm import (
    BATCH_NORM_EPS,
    batch_bn_forward,
    batch_bn_loss_and_gradients,
    batch_normalize,
    batch_statistics,
)
from bngeom.nn.functions import get_activation, get_loss
from bngeom.nn.model import bn_loss_and_gradients


def _problem(B=24, d=4, m=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, d)) @ np.diag(np.geomspace(2.0, 0.5, d)) + 0.3
    y = np.sin(X[:, 0])
    W = rng.standard_normal((m, d)) * np.exp(rng.uniform(-1, 1, (m, 1)))
    a = rng.standard_normal(m)
    return X, y, W, a


def _autograd_loss(X, y, W, a, act, lo, eps):
    """An independent BN layer: per-neuron batch mean and biased variance, as torch."""
    H = anp.dot(X, anp.transpose(W))
    mu = anp.mean(H, axis=0)
    var = anp.mean((H - mu) ** 2, axis=0)
    Z = (H - mu) / anp.sqrt(var + eps)
    f = anp.dot(act(Z), a) / a.shape[0]
    return anp.mean(lo(f, y))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("eps", [0.0, BATCH_NORM_EPS, 0.3])
def test_gradients_match_autograd(activation, loss, eps):
    X, y, W, a = _problem()
    if loss == "logistic":
        y = np.sign(y) + (y == 0)
    act, lo = get_activation(activation), get_loss(loss)
    res = batch_bn_loss_and_gradients(X, y, W, a, activation, loss, eps=eps)
    gw, ga = autograd.grad(lambda W_, a_: _autograd_loss(X, y, W_, a_, act, lo, eps),
                           argnum=(0, 1))(W, a)
    assert res.loss == pytest.approx(float(_autograd_loss(X, y, W, a, act, lo, eps)),
                                     rel=1e-13)
    assert np.max(np.abs(res.grad_w - gw)) <= 1e-12 * np.max(np.abs(gw))
    assert np.max(np.abs(res.grad_a - ga)) <= 1e-12 * np.max(np.abs(ga))


def test_eps_zero_is_population_model_with_batch_covariance():
    """At eps = 0 the batch network is the population model with Sigma = S_B (MATH §1)."""
    X, y, W, a = _problem(B=40)
    stats = batch_statistics(X)
    res = batch_bn_loss_and_gradients(X, y, W, a, eps=0.0)
    ref = bn_loss_and_gradients(stats.centered, y, W, a, stats.cov, backend="numpy")
    assert res.loss == pytest.approx(ref.loss, rel=1e-14)
    np.testing.assert_allclose(res.grad_w, ref.grad_w, rtol=1e-12, atol=1e-15)
    # scale invariance: w^T grad_w = 0 and the gradient scales like 1/c
    assert np.max(np.abs(np.sum(W * res.grad_w, axis=1))) < 1e-14
    res3 = batch_bn_loss_and_gradients(X, y, 3 * W, a, eps=0.0)
    np.testing.assert_allclose(res3.grad_w, res.grad_w / 3, rtol=1e-12, atol=1e-16)


def test_eps_breaks_scale_invariance_slightly():
    X, y, W, a = _problem()
    res = batch_bn_loss_and_gradients(X, y, 1e-3 * W, a, eps=1e-5)
    assert np.max(np.abs(np.sum(W * res.grad_w, axis=1))) > 1e-6


def test_normalized_batch_has_zero_mean_unit_variance():
    X, _, W, _ = _problem()
    Z = batch_normalize(X, W, eps=0.0)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(Z.var(axis=0), 1.0, rtol=1e-13)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("eps", [BATCH_NORM_EPS, 1e-2])
def test_against_torch_batchnorm1d(backend, eps):
    torch = pytest.importorskip("torch")
    X, y, W, a = _problem(B=64, d=5, m=300, seed=3)
    m = W.shape[0]
    Xt = torch.tensor(X)
    lin = torch.nn.Linear(5, m, bias=False, dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(m, affine=False, eps=eps, dtype=torch.float64)
    bn.train()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
    at = torch.tensor(a, requires_grad=True)
    Z = bn(lin(Xt))
    np.testing.assert_allclose(batch_normalize(X, W, eps=eps), Z.detach().numpy(),
                               rtol=1e-12, atol=1e-13)
    f = torch.tanh(Z) @ at / m
    np.testing.assert_allclose(batch_bn_forward(X, W, a, eps=eps), f.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    L = 0.5 * torch.mean((f - torch.tensor(y)) ** 2)
    L.backward()
    res = batch_bn_loss_and_gradients(X, y, W, a, eps=eps, backend=backend)
    gw, ga = lin.weight.grad.numpy(), at.grad.numpy()
    assert res.loss == pytest.approx(L.item(), rel=1e-12)
    assert np.max(np.abs(res.grad_w - gw)) <= 1e-10 * np.max(np.abs(gw))
    assert np.max(np.abs(res.grad_a - ga)) <= 1e-10 * np.max(np.abs(ga))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"X": np.ones((1, 3))}, ValueError, "at least 2 samples"),
    ({"X": np.ones((4, 3, 1))}, ValueError, "X"),
    ({"W": np.zeros((2, 3))}, ValueError, "non-zero rows"),
    ({"W": np.ones((2, 4))}, ValueError, "W"),
    ({"a": np.ones(3)}, ValueError, "same number of neurons"),
    ({"y": np.ones(5)}, ValueError, "same number of samples"),
    ({"eps": -1.0}, ValueError, "eps must be finite and >= 0"),
    ({"eps": float("nan")}, ValueError, "eps"),
    ({"eps": "1e-5"}, TypeError, "eps must be a real number"),
    ({"X": np.full((4, 3), np.nan)}, ValueError, "X"),
])
def test_bad_input(kwargs, error, match):
    rng = np.random.default_rng(0)
    args = {"X": rng.standard_normal((4, 3)), "y": np.zeros(4), "W": np.ones((2, 3)),
            "a": np.ones(2), "eps": 1e-5}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        batch_bn_loss_and_gradients(args["X"], args["y"], args["W"], args["a"],
                                    eps=args["eps"])


def test_zero_batch_variance_without_eps_is_refused():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])  # no spread along e2
    with pytest.raises(ValueError, match="neuron 0 has zero variance"):
        batch_normalize(X, np.array([[0.0, 1.0]]), eps=0.0)
    Z = batch_normalize(X, np.array([[0.0, 1.0]]))  # eps > 0: torch's output, zeros
    assert np.all(Z == 0.0)
