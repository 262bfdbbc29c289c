r"""Activations :math:`\sigma` and losses :math:`\ell` of the two-layer network (MATH §1).

Each activation carries its derivative and second derivative; each loss its
derivative :math:`\partial\ell/\partial f` and second derivative. The functions
are written with ``autograd.numpy`` so that autograd can differentiate through
them (pymanopt's autograd backend, the independent Theorem 2 oracle); on plain
arrays they behave as numpy.

Each built-in also carries its *scalar* definitions, the one source of the
compiled fast path: :attr:`Activation.scalar` (:math:`z \mapsto \sigma(z)`),
:attr:`Activation.scalar_derivative` (:math:`\sigma'`, taking the stored output
:math:`s = \sigma(z)` when :attr:`Activation.derivative_from_output` is true, else
:math:`z`) and :attr:`Loss.scalar_derivative` (:math:`\partial\ell/\partial f`).
They are plain Python functions on floats, written with :mod:`math` and numpy
scalars only, that numba compiles: :mod:`bngeom.nn._kernels` generates its
training kernels from them. A scalar definition may call only :mod:`math`,
numpy scalar functions, other scalar definitions of this module and
:func:`_exp2_int` (an exact power of two, compiled there as a bit cast).

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

import math
from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np

__all__ = ["Activation", "Loss", "ACTIVATIONS", "LOSSES", "get_activation", "get_loss"]

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    r"""An activation function with its first two derivatives.

    ``positively_homogeneous`` marks activations with sigma(c z) = c sigma(z)
    for c > 0 (relu, leaky_relu), the case of Section 4.2 in which vanilla
    neurons w and c w move at equal Euclidean speeds.

    ``scalar`` and ``scalar_derivative`` are the float-to-float definitions the
    compiled kernels are generated from (MATH §1); ``scalar_derivative`` takes
    the output :math:`s = \sigma(z)` if ``derivative_from_output``, else
    :math:`z`. They are ``None`` for a custom activation, which then runs on the
    numpy path only.
    """

    name: str
    function: Callable
    derivative: Callable
    second_derivative: Callable
    positively_homogeneous: bool = False
    scalar: Callable[[float], float] | None = None
    scalar_derivative: Callable[[float], float] | None = None
    derivative_from_output: bool = False

    def __call__(self, z):
        return self.function(z)


@dataclass(frozen=True)
class Loss:
    r"""A loss :math:`\ell(f, y)` with its first two derivatives in ``f``.

    ``scalar_derivative(f, y)`` is the float definition of
    :math:`\partial\ell/\partial f` the compiled kernels are generated from
    (MATH §1); ``None`` for a custom loss.
    """

    name: str
    function: Callable
    derivative: Callable
    second_derivative: Callable
    convex: bool = True
    scalar_derivative: Callable[[float, float], float] | None = None

    def __call__(self, f, y):
        return self.function(f, y)


# ---------------------------------------------------------------------------
# scalar definitions: the compiled kernels (bngeom.nn._kernels) are generated from these

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of log(2): hi has 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
# Taylor coefficients 1/j! of expm1 on |r| <= log(2)/2 (truncation error < 2e-17 relative).
(_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13) = (
    1.0 / math.factorial(j) for j in range(2, 14))


def _exp2_int(k: float) -> float:
    """The power of two :math:`2^k` of an integer-valued float ``k`` in [-1022, 1023], exactly.

    NaN gives NaN. :mod:`bngeom.nn._kernels` compiles it as a bit cast of
    ``k + 1023`` into the exponent field (which LLVM vectorizes, unlike ``ldexp``).
    """
    return math.ldexp(1.0, int(k)) if k == k else k


def _tanh_scalar(z: float) -> float:
    r"""Hyperbolic tangent (MATH §1) as :math:`\operatorname{sign}(z)\,(-e)/(2 + e)`.

    Here :math:`e = \mathrm{expm1}(-2|z|)`, computed by Cody-Waite reduction
    :math:`x = k\log 2 + r` and a Taylor polynomial, with :math:`2^k` from
    :func:`_exp2_int`: only arithmetic and selects, so that LLVM vectorizes the
    compiled kernels (the C library's scalar ``tanh`` does not vectorize).
    Agrees with ``numpy.tanh`` to 4.5e-16 relative (at most 3 ulp, checked in
    tests/nn/test_training_kernels.py) everywhere, including subnormal inputs,
    signed zeros and infinities; NaN gives NaN.

    Examples
    --------
    >>> import math
    >>> abs(_tanh_scalar(0.3) - math.tanh(0.3)) < 1e-16
    True
    """
    x = max(-2.0 * abs(z), -40.0)           # tanh(|z|) rounds to 1 beyond |z| = 19.1
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = r * (1.0 + r * (_C2 + r * (_C3 + r * (_C4 + r * (_C5 + r * (_C6 + r * (
        _C7 + r * (_C8 + r * (_C9 + r * (_C10 + r * (_C11 + r * (_C12 + r * _C13))))))))))))
    two_k = _exp2_int(k)
    em1 = two_k * p + (two_k - 1.0)          # expm1(x), no cancellation: x <= 0
    return math.copysign(-em1 / (2.0 + em1), z)


def _tanh_scalar_d(s: float) -> float:
    """tanh' from the output s = tanh(z): 1 - s^2 (MATH §1)."""
    return 1.0 - s * s


def _sigmoid_scalar(z: float) -> float:
    """Logistic sigmoid 0.5 (1 + tanh(z/2)) (MATH §1), the formula of the array path."""
    return 0.5 * (1.0 + _tanh_scalar(0.5 * z))


def _sigmoid_scalar_d(s: float) -> float:
    """sigmoid' from the output s = sigmoid(z): s (1 - s) (MATH §1)."""
    return s * (1.0 - s)


def _relu_scalar(z: float) -> float:
    """max(z, 0) (MATH §1)."""
    return max(z, 0.0)


def _relu_scalar_d(s: float) -> float:
    """relu' = [z > 0] from the output s = relu(z) (s > 0 iff z > 0) (MATH §1)."""
    return 1.0 if s > 0.0 else 0.0


def _leaky_scalar(z: float) -> float:
    """z for z > 0, else LEAKY_SLOPE z (MATH §1)."""
    return z if z > 0.0 else LEAKY_SLOPE * z


def _leaky_scalar_d(s: float) -> float:
    """leaky_relu' from the output s (s > 0 iff z > 0) (MATH §1)."""
    return 1.0 if s > 0.0 else LEAKY_SLOPE


def _softplus_scalar(z: float) -> float:
    """log(1 + e^z) as max(z, 0) + log1p(e^-|z|), numpy's logaddexp(0, z) (MATH §1)."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _squared_scalar_d(f: float, y: float) -> float:
    """d/df of (f - y)^2 / 2 (MATH §1)."""
    return f - y


def _logistic_scalar_d(f: float, y: float) -> float:
    """d/df of log(1 + exp(-y f)): -y sigmoid(-y f) (MATH §1)."""
    return -y * _sigmoid_scalar(-y * f)


# ---------------------------------------------------------------------------
# array definitions (autograd.numpy)


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
    "tanh": Activation("tanh", anp.tanh, _tanh_d, _tanh_dd, scalar=_tanh_scalar,
                       scalar_derivative=_tanh_scalar_d, derivative_from_output=True),
    "relu": Activation(
        "relu",
        lambda z: anp.maximum(z, 0.0),
        lambda z: anp.where(z > 0, 1.0, 0.0),
        lambda z: anp.zeros_like(z),
        positively_homogeneous=True,
        scalar=_relu_scalar, scalar_derivative=_relu_scalar_d, derivative_from_output=True,
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: anp.where(z > 0, z, LEAKY_SLOPE * z),
        lambda z: anp.where(z > 0, 1.0, LEAKY_SLOPE),
        lambda z: anp.zeros_like(z),
        positively_homogeneous=True,
        scalar=_leaky_scalar, scalar_derivative=_leaky_scalar_d, derivative_from_output=True,
    ),
    # softplus' = sigmoid needs z itself: the kernels keep z and store s = softplus(z) aside
    "softplus": Activation("softplus", _softplus, _sigmoid, _sigmoid_d, scalar=_softplus_scalar,
                           scalar_derivative=_sigmoid_scalar),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_d, _sigmoid_dd, scalar=_sigmoid_scalar,
                          scalar_derivative=_sigmoid_scalar_d, derivative_from_output=True),
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
        scalar_derivative=_squared_scalar_d,
    ),
    # Labels y in {-1, +1}: l(f, y) = log(1 + exp(-y f)).
    "logistic": Loss("logistic", _logistic, _logistic_d, _logistic_dd,
                     scalar_derivative=_logistic_scalar_d),
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

