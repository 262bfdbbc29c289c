r"""Activations :math:`\sigma` and losses :math:`\ell` of the two-layer network (MATH §1).

Each activation carries its derivative and second derivative; each loss its
derivative :math:`\partial\ell/\partial f` and second derivative. The functions
are written with ``autograd.numpy`` so that autograd can differentiate through
them (pymanopt's autograd backend, the independent Theorem 2 oracle); on plain
arrays they behave as numpy.

Examples
--------
>>> import numpy as np
>>> act = get_activation("tanh")
>>> float(act.derivative(np.array(0.0)))
1.0
>>> loss = get_loss("squared")
>>> float(loss(np.array(3.0), np.array(1.0)))
2.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp

__all__ = ["Activation", "Loss", "ACTIVATIONS", "LOSSES", "get_activation", "get_loss"]

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation function with its first two derivatives.

    ``positively_homogeneous`` marks activations with sigma(c z) = c sigma(z)
    for c > 0 (relu, leaky_relu), the case of Section 4.2 in which vanilla
    neurons w and c w move at equal Euclidean speeds.
    """

    name: str
    function: Callable
    derivative: Callable
    second_derivative: Callable
    positively_homogeneous: bool = False

    def __call__(self, z):
        return self.function(z)


@dataclass(frozen=True)
class Loss:
    r"""A loss :math:`\ell(f, y)` with its first two derivatives in ``f``."""

    name: str
    function: Callable
    derivative: Callable
    second_derivative: Callable
    convex: bool = True

    def __call__(self, f, y):
        return self.function(f, y)


def _sigmoid(z):
    # 0.5 (1 + tanh(z/2)) never overflows, unlike 1 / (1 + exp(-z)).
    return 0.5 * (1.0 + anp.tanh(0.5 * z))


def _softplus(z):
    return anp.logaddexp(0.0, z)


def _tanh_d(z):
    return 1.0 - anp.tanh(z) ** 2


def _tanh_dd(z):
    t = anp.tanh(z)
    return -2.0 * t * (1.0 - t**2)


def _sigmoid_d(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _sigmoid_dd(z):
    s = _sigmoid(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", anp.tanh, _tanh_d, _tanh_dd),
    "relu": Activation(
        "relu",
        lambda z: anp.maximum(z, 0.0),
        lambda z: anp.where(z > 0, 1.0, 0.0),
        lambda z: anp.zeros_like(z),
        positively_homogeneous=True,
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: anp.where(z > 0, z, LEAKY_SLOPE * z),
        lambda z: anp.where(z > 0, 1.0, LEAKY_SLOPE),
        lambda z: anp.zeros_like(z),
        positively_homogeneous=True,
    ),
    "softplus": Activation("softplus", _softplus, _sigmoid, _sigmoid_d),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_d, _sigmoid_dd),
}


def _logistic(f, y):
    return anp.logaddexp(0.0, -y * f)


def _logistic_d(f, y):
    return -y * _sigmoid(-y * f)


def _logistic_dd(f, y):
    return y**2 * _sigmoid_d(-y * f)


LOSSES: dict[str, Loss] = {
    "squared": Loss(
        "squared",
        lambda f, y: 0.5 * (f - y) ** 2,
        lambda f, y: f - y,
        lambda f, y: anp.ones_like(f),
    ),
    # Labels y in {-1, +1}: l(f, y) = log(1 + exp(-y f)).
    "logistic": Loss("logistic", _logistic, _logistic_d, _logistic_dd),
}


def get_activation(activation: str | Activation) -> Activation:
    """Look up an activation: ``tanh``, ``relu``, ``leaky_relu``, ``softplus`` or ``sigmoid``.

    Examples
    --------
    >>> get_activation("relu").positively_homogeneous
    True
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or an Activation, got "
                        f"{type(activation).__name__}")
    try:
        return ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"activation {activation!r} is unknown; choose one of "
                         f"{sorted(ACTIVATIONS)}") from None


def get_loss(loss: str | Loss) -> Loss:
    """Look up a loss by name (``squared``: (f-y)^2/2; ``logistic``: log(1+exp(-y f))).

    Examples
    --------
    >>> get_loss("logistic").name
    'logistic'
    """
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    try:
        return LOSSES[loss]
    except KeyError:
        raise ValueError(f"loss {loss!r} is unknown; choose one of {sorted(LOSSES)}") from None

