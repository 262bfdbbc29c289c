r"""Batch normalization with the statistics of the mini-batch (MATH §10, docs/math.md §11).

In training mode ``torch.nn.BatchNorm1d(affine=False)`` normalizes each pre-activation
:math:`h = w^\top x` by the mean and the *biased* variance of the mini-batch
:math:`x_1, \dots, x_B`, with an offset :math:`\epsilon` in the variance:

.. math:: \mathrm{BN}_B(w^\top x_i) = \frac{w^\top x_i - \overline{w^\top x}}
          {\sqrt{\mathrm{Var}_B(w^\top x) + \epsilon}}
          = \frac{w^\top \bar x_i}{\sqrt{w^\top S_B w + \epsilon}},

with the centred batch :math:`\bar x_i = x_i - \bar x` and its biased covariance
:math:`S_B = \frac1B\sum_i \bar x_i\bar x_i^\top`. On one batch the BN network is therefore
the vanilla network (eq. 8) on the centred batch at :math:`u_k = w_k/s(w_k)`,
:math:`s(w) = (w^\top S_B w + \epsilon)^{1/2}`: the population model of
:mod:`bngeom.nn.model` with :math:`\Sigma = S_B` (exactly so for :math:`\epsilon = 0`).
Its loss and gradients are computed by :func:`bngeom.nn.model.vanilla_loss_and_gradients`
and :func:`bngeom.nn.model.bn_gradient_from_vanilla` (with ``eps``): no formula is written
twice. For :math:`\epsilon > 0` the network is scale invariant only approximately
(up to :math:`\epsilon/(w^\top S_B w)`), so :math:`w^\top\nabla_w L \ne 0` in general.

The default ``eps`` is torch's, :data:`BATCH_NORM_EPS` ``= 1e-5``; with the same ``eps``
the float64 outputs and gradients agree with torch's to about 1e-15 relative.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, W = rng.standard_normal((32, 3)), rng.standard_normal((4, 3))
>>> Z = batch_normalize(X, W, eps=0.0)
>>> bool(np.allclose(Z.mean(axis=0), 0.0)), bool(np.allclose(Z.var(axis=0), 1.0))
(True, True)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import as_float_array, rowdot
from bngeom.nn.functions import Activation, Loss, get_activation, get_loss
from bngeom.nn.model import (
    ComputeOptions,
    LossAndGradients,
    _check_eps,
    _check_params,
    _check_weights,
    bn_gradient_from_vanilla,
    compute_options,
    vanilla_forward,
    vanilla_loss_and_gradients,
)

__all__ = [
    "BATCH_NORM_EPS",
    "BatchStatistics",
    "batch_statistics",
    "batch_normalize",
    "batch_bn_forward",
    "batch_bn_loss_and_gradients",
]

#: torch.nn.BatchNorm1d's default offset added to the batch variance.
BATCH_NORM_EPS = 1e-5


class BatchStatistics(NamedTuple):
    """A mini-batch's mean ``(d,)``, centred samples ``(B, d)`` and biased covariance ``(d, d)``."""

    mean: NDArray
    centered: NDArray
    cov: NDArray


def _check_batch(X: ArrayLike, name: str = "X") -> NDArray:
    X = as_float_array(X, name, min_ndim=2, max_ndim=2)
    if X.shape[0] < 2:
        raise ValueError(f"{name} must hold at least 2 samples: batch statistics of one sample "
                         f"are undefined (torch raises too), got {X.shape[0]}")
    return np.asarray(X, dtype=np.float64)


def batch_statistics(X: ArrayLike) -> BatchStatistics:
    r"""Mean, centred samples and biased covariance :math:`S_B = \bar X^\top\bar X/B` of a batch.

    Parameters
    ----------
    X : array_like, shape (B, d)
        The mini-batch, ``B >= 2``.

    Returns
    -------
    BatchStatistics
        ``(mean, centered, cov)``; ``cov`` is singular when ``B <= d``.

    Examples
    --------
    >>> batch_statistics([[1.0, 0.0], [-1.0, 2.0]]).cov.tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    return _statistics(_check_batch(X))


def _statistics(X: NDArray) -> BatchStatistics:
    mean = X.mean(axis=0)
    centered = X - mean
    cov = centered.T @ centered / X.shape[0]
    return BatchStatistics(mean, centered, 0.5 * (cov + cov.T))


def _normalized(stats: BatchStatistics, W: NDArray, eps: float) -> NDArray:
    r""":math:`u_k = w_k/(w_k^\top S_B w_k + \epsilon)^{1/2}`, refusing a zero normalizer."""
    scale_sq = rowdot(W @ stats.cov, W) + eps
    bad = np.flatnonzero(~(scale_sq > 0.0))
    if bad.size:
        raise ValueError(f"W: neuron {int(bad[0])} has zero variance on this batch "
                         f"(w^T S_B w + eps = 0); pass eps > 0 or a batch that spans w")
    return W / np.sqrt(scale_sq)[:, None]


def _resolve(X: ArrayLike, W: ArrayLike, eps: float, validate: bool
             ) -> tuple[BatchStatistics, NDArray, NDArray, float]:
    """Checked batch statistics, weights, normalized weights and eps."""
    if validate:
        X = _check_batch(X)
        W = _check_weights(W, X.shape[1], "W")
        eps = _check_eps(eps)
    else:
        X, W = np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64)
    stats = _statistics(X)
    return stats, W, _normalized(stats, W, eps), eps


def batch_normalize(X: ArrayLike, W: ArrayLike, *, eps: float = BATCH_NORM_EPS) -> NDArray:
    r"""``BatchNorm1d(affine=False)`` in training mode applied to the pre-activations ``X W^T``.

    Parameters
    ----------
    X : array_like, shape (B, d)
        The mini-batch (``B >= 2``).
    W : array_like, shape (m, d)
        First-layer weights (non-zero rows).
    eps : float
        Offset added to the biased batch variance (>= 0; torch's default 1e-5).

    Returns
    -------
    ndarray, shape (B, m)
        :math:`(w_k^\top x_i - \overline{w_k^\top x})/\sqrt{\mathrm{Var}_B(w_k^\top x)+\epsilon}`.

    Raises
    ------
    ValueError
        If ``B < 2``, shapes disagree, or a neuron has zero batch variance with ``eps = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> batch_normalize(np.array([[1.0], [3.0]]), np.array([[2.0]]), eps=0.0).tolist()
    [[-1.0], [1.0]]
    """
    stats, _, U, _ = _resolve(X, W, eps, True)
    return stats.centered @ U.T


def batch_bn_forward(X: ArrayLike, W: ArrayLike, a: ArrayLike,
                     activation: str | Activation = "tanh", *,
                     eps: float = BATCH_NORM_EPS) -> NDArray:
    r"""The BN network with batch statistics on the batch ``X``.

    :math:`f(x_i) = \frac1m\sum_k a_k\sigma(\mathrm{BN}_B(w_k^\top x_i))`.
    Every output depends on the whole batch ``X`` (shape (B, d), ``B >= 2``).

    Examples
    --------
    >>> import numpy as np
    >>> batch_bn_forward(np.array([[1.0], [3.0]]), np.array([[5.0]]), np.array([2.0]),
    ...                  "relu", eps=0.0).tolist()
    [0.0, 2.0]
    """
    stats, W, U, _ = _resolve(X, W, eps, True)
    _check_params(W, a, stats.cov.shape[0], "W")
    return vanilla_forward(stats.centered, U, a, activation)


def batch_bn_loss_and_gradients(X: ArrayLike, y: ArrayLike, W: ArrayLike, a: ArrayLike,
                                activation: str | Activation = "tanh",
                                loss: str | Loss = "squared", *,
                                eps: float = BATCH_NORM_EPS, validate: bool = True,
                                options: ComputeOptions | None = None,
                                **keywords: Any) -> LossAndGradients:
    r"""Loss and exact gradients of the batch-statistics BN network on one batch.

    The loss is :math:`\frac1B\sum_i\ell(f(x_i), y_i)` with :func:`batch_bn_forward`'s ``f``.

    The vanilla gradient on the centred batch at :math:`u_k = w_k/s(w_k)` pulled back
    through :math:`w\mapsto u` (:func:`bngeom.nn.model.bn_gradient_from_vanilla` with
    :math:`\Sigma = S_B` and ``eps``). The gradient includes the dependence of the batch
    mean and variance on :math:`w`, as autograd through ``BatchNorm1d`` does.

    Parameters
    ----------
    X, y : array_like, shapes (B, d) and (B,)
        The mini-batch and its targets, ``B >= 2``.
    W, a : array_like, shapes (m, d) and (m,)
        First-layer weights and output weights.
    activation, loss : str or Activation / Loss
        See :mod:`bngeom.nn.functions`.
    eps : float, keyword-only
        Variance offset (>= 0), torch's 1e-5 by default.
    validate : bool, keyword-only
        Check the inputs (pass False in hot loops on known-good input).
    options : ComputeOptions, keyword-only
        Backend, precision and memory budget (:class:`bngeom.nn.model.ComputeOptions`).
    **keywords
        ``backend``, ``precision``, ``memory_budget``: fields of ``options`` to replace
        (``backend=`` is bngeom 0.1's keyword).

    Returns
    -------
    LossAndGradients
        ``(loss, grad_w, grad_a)``, ``grad_w`` the gradient in ``W``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((16, 3)), rng.standard_normal(16)
    >>> W, a = rng.standard_normal((5, 3)), rng.standard_normal(5)
    >>> res = batch_bn_loss_and_gradients(X, y, W, a, eps=0.0)
    >>> bool(np.allclose(np.sum(W * res.grad_w, axis=1), 0.0))   # scale invariant at eps = 0
    True
    """
    act, lo = get_activation(activation), get_loss(loss)
    options = compute_options(options, keywords, "batch_bn_loss_and_gradients")
    stats, W, U, eps = _resolve(X, W, eps, validate)
    if validate:
        W, a = _check_params(W, a, stats.cov.shape[0], "W")
        y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
        if y.shape[0] != stats.centered.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got "
                             f"{stats.centered.shape[0]} and {y.shape[0]}")
    res = vanilla_loss_and_gradients(stats.centered, y, U, a, act, lo, validate=False,
                                     options=options)
    grad_w = bn_gradient_from_vanilla(W, res.grad_w, stats.cov, validate=False, eps=eps)
    return LossAndGradients(res.loss, grad_w, res.grad_a)
