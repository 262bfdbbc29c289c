r"""Theorem 2 against an independent batch-normalization reference (MATH §2-4).

The reference BN gradient is autograd through a layer that does what a BN layer
does: it computes the mean and the biased variance of each neuron's
pre-activations over the data set and standardizes with them,
``z = (Xw - mean(Xw)) / sqrt(var(Xw))``. It uses neither the closed form
``w^T x / ||w||_Sigma`` nor bngeom's gradient code, nor bngeom's activations
and losses (they are written out again below). The data handed to the
reference are *not* centred (a drawn shift is added), so the reference's
mean subtraction is exercised, while bngeom sees the centred data and their
biased covariance, as Assumption 1 requires.

Tolerance. Each neuron's quantities are compared with relative tolerance 1e-9:
both sides are sums of n <= 160 terms of size O(1) computed in float64, and the
sample covariance has condition number below ~1e4, so their rounding errors
are below 1e-12 relative.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bngeom import charts, data, geometry, model
from bngeom.nn.functions import ACTIVATIONS, LEAKY_SLOPE, LOSSES
from bngeom.testing.strategies import networks

RTOL = 1e-9

REFERENCE_ACTIVATIONS = {
    "tanh": anp.tanh,
    "relu": lambda z: anp.maximum(z, 0.0),
    "leaky_relu": lambda z: anp.where(z > 0, z, LEAKY_SLOPE * z),
    "softplus": lambda z: anp.log1p(anp.exp(z)),
    "sigmoid": lambda z: 1.0 / (1.0 + anp.exp(-z)),
}
REFERENCE_LOSSES = {
    "squared": lambda f, y: 0.5 * (f - y) ** 2,
    "logistic": lambda f, y: anp.log1p(anp.exp(-y * f)),
}
KINKED = {"relu", "leaky_relu"}


def test_reference_covers_every_activation_and_loss():
    assert set(REFERENCE_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(REFERENCE_LOSSES) == set(LOSSES)


def bn_layer(X, W):
    """Batch normalization of the pre-activations X W^T over the data set (biased variance)."""
    z = anp.dot(X, anp.transpose(W))
    mean = anp.mean(z, axis=0)
    var = anp.mean((z - mean) ** 2, axis=0)
    return (z - mean) / anp.sqrt(var)


def reference_bn_loss(W, a, X, y, activation, loss):
    act, lo = REFERENCE_ACTIVATIONS[activation], REFERENCE_LOSSES[loss]
    f = anp.dot(act(bn_layer(X, W)), a) / a.shape[0]
    return anp.mean(lo(f, y))


def reference_vanilla_loss(U, a, X, y, activation, loss):
    act, lo = REFERENCE_ACTIVATIONS[activation], REFERENCE_LOSSES[loss]
    f = anp.dot(act(anp.dot(X, anp.transpose(U))), a) / a.shape[0]
    return anp.mean(lo(f, y))


_bn_grads = (autograd.grad(reference_bn_loss, 0), autograd.grad(reference_bn_loss, 1))
_vanilla_grad_u = autograd.grad(reference_vanilla_loss, 0)


def assert_rows_close(actual, desired, rtol=RTOL):
    """Row-wise relative comparison (neurons of very different radii have very different sizes)."""
    actual, desired = np.atleast_2d(actual), np.atleast_2d(desired)
    err = np.linalg.norm(actual - desired, axis=-1)
    size = np.linalg.norm(desired, axis=-1)
    assert np.all(err <= rtol * size + 1e-300), (err / np.maximum(size, 1e-300)).max()


def _draw_problem(draw_data, activation, loss):
    net = draw_data.draw(networks(activation=activation, loss=loss), label="network")
    shift = draw_data.draw(hnp.arrays(np.float64, (net.X.shape[1],),
                                      elements=st.floats(-5.0, 5.0)), label="shift")
    raw = net.X + shift
    if activation in KINKED:
        # Generic data never hit the kink exactly; stay clearly away from it.
        assume(np.min(np.abs(bn_layer(raw, net.W))) > 1e-7)
    return net, raw


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@given(draw_data=st.data())
def test_theorem2_against_batch_norm_layer(activation, loss, draw_data):
    """bngeom's BN loss and gradients equal the BN layer's, and Theorem 2 holds for them."""
    net, raw = _draw_problem(draw_data, activation, loss)
    ref_loss = reference_bn_loss(net.W, net.a, raw, net.y, activation, loss)
    ref_w, ref_a = (g(net.W, net.a, raw, net.y, activation, loss) for g in _bn_grads)
    # bngeom sees the centred data and their biased covariance (Assumption 1).
    X, cov = data.center(raw), data.covariance(raw)

    # 1. The BN network, its loss and its gradients equal the BN layer's.
    res = model.bn_loss_and_gradients(X, net.y, net.W, net.a, cov, activation, loss)
    assert res.loss == pytest.approx(ref_loss, rel=RTOL)
    assert model.bn_loss(X, net.y, net.W, net.a, cov, activation, loss) == pytest.approx(
        ref_loss, rel=RTOL)
    assert_rows_close(res.grad_w, ref_w)
    assert_rows_close(res.grad_a[None], ref_a[None])
    ref_f = anp.dot(REFERENCE_ACTIVATIONS[activation](bn_layer(raw, net.W)), net.a) / len(net.a)
    np.testing.assert_allclose(model.bn_forward(X, net.W, net.a, cov, activation), ref_f,
                               rtol=RTOL, atol=RTOL * np.max(np.abs(ref_f)) + 1e-300)

    # 2. Theorem 2. The Euclidean BN velocity dw/dt = -grad_w L (BN-layer reference),
    # mapped to N_Sigma by d phi_w, is -G(u) grad_u L~ / r^2 with u = phi(w), r = ||w||.
    velocity_u = charts.sphere_to_manifold_differential(net.W, -ref_w, cov)
    U = charts.normalize_to_manifold(net.W, cov)
    r = charts.neuron_radii(net.W)
    grad_u = _vanilla_grad_u(U, net.a, X, net.y, activation, loss)
    riem = geometry.riemannian_gradient(U, grad_u, cov, radius=r)
    assert_rows_close(velocity_u, -riem)
    cometric = geometry.bn_cometric_matrix(U, cov, radius=r)
    assert_rows_close(velocity_u, -np.einsum("kij,kj->ki", cometric, grad_u))
    # The velocity is tangent to N_Sigma at u.
    normal = U @ cov
    tangent_part = np.abs(np.sum(velocity_u * normal, axis=-1))
    scale = np.linalg.norm(velocity_u, axis=-1) * np.linalg.norm(normal, axis=-1)
    assert np.all(tangent_part <= 1e-10 * scale + 1e-300)
    # bngeom's own gradients (item 1) give the same velocity.
    assert_rows_close(charts.sphere_to_manifold_differential(net.W, -res.grad_w, cov), -riem)
