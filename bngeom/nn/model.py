r"""The two-layer BN network, its vanilla twin, their losses and exact gradients (MATH §1-3).

With population batch normalization :math:`\mathrm{BN}(w^\top x) = w^\top x/\|w\|_\Sigma`
(for centred data), the BN network of width :math:`m` is

.. math:: f(x;\Theta) = \frac1m\sum_k a_k\,\sigma(w_k^\top x/\|w_k\|_\Sigma),

and its vanilla twin :math:`f_v(x;\Theta') = \frac1m\sum_k a_k\sigma(u_k^\top x)` with
:math:`u_k = \varphi(w_k)` computes the same function. Parameters are arrays
``W`` / ``U`` of shape ``(m, d)`` and ``a`` of shape ``(m,)``; data ``X`` of shape
``(n, d)`` and targets ``y`` of shape ``(n,)``. The loss is the data average
:math:`L = \frac1n\sum_i \ell(f(x_i), y_i)`.

Everything is vectorized over neurons and samples. The ``n x m``
pre-activation matrix is processed in blocks of samples whenever it would
exceed ``memory_budget`` bytes, so peak memory stays bounded at any width.

The training step (loss and all gradients) has two backends: ``"numpy"``, the
reference, and ``"numba"``, a fused fast path (:mod:`bngeom.nn._kernels`: cache-sized
tiles of samples, BLAS for the two matrix products and one compiled pass for
all elementwise work in between, one thread per range of samples). They agree
to about 1e-15 relative in float64; ``backend="auto"`` (the default) takes the
fast path for built-in activations and losses once ``n * m`` reaches
:data:`AUTO_MIN_SIZE`. ``precision="float32"`` runs the matrix products in
single precision (1.5 to 2 times faster; gradients within about 1e-6 relative,
typically 1e-7).

Examples
--------
>>> import numpy as np
>>> from bngeom.nn import data
>>> X, cov = data.anisotropic_gaussian(200, [3.0, 1.0, 0.5], rng=0)
>>> W = np.random.default_rng(1).standard_normal((10, 3)); a = np.ones(10)
>>> y = np.sin(X[:, 0])
>>> res = bn_loss_and_gradients(X, y, W, a, cov, "tanh", "squared")
>>> bool(np.allclose(np.sum(W * res.grad_w, axis=1), 0.0))   # w^T grad_w L = 0
True
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd.tracer import Box
from numpy.typing import ArrayLike, NDArray

from bngeom import _parallel
from bngeom._covariance import checked_covariance
from bngeom._validation import (
    as_float_array,
    check_centered,
    check_dimension,
    check_positive_scalar,
    check_rows,
    check_signed_labels,
)
from bngeom.geometry.charts import chart, normalize_to_manifold, scaled_norm
from bngeom.nn.functions import ACTIVATIONS, LOSSES, Activation, Loss, get_activation, get_loss

__all__ = [
    "AUTO_MIN_SIZE",
    "BACKENDS",
    "DEFAULT_MEMORY_BUDGET",
    "PRECISIONS",
    "ComputeOptions",
    "compute_options",
    "LossAndGradients",
    "bn_forward",
    "vanilla_forward",
    "bn_loss",
    "vanilla_loss",
    "bn_loss_and_gradients",
    "vanilla_loss_and_gradients",
    "bn_gradient_from_vanilla",
    "block_rows",
    "vanilla_hessian_vector_product",
]

#: Default memory budget (bytes) for the n x m intermediate matrices.
DEFAULT_MEMORY_BUDGET = 256 * 2**20
# Number of n x m temporaries alive at once in the gradient pass (numpy backend).
_TEMPORARIES = 3

#: Training-step backends: ``"numpy"`` (reference), ``"numba"`` (fused), ``"auto"``.
BACKENDS = ("auto", "numpy", "numba")
#: Precisions of the n x m work: float64 (default) or float32 (faster, less accurate).
PRECISIONS = ("float64", "float32")
#: ``backend="auto"`` uses numba from this many pre-activations ``n * m`` on.
AUTO_MIN_SIZE = 2**14
# Fast path tiles: about this many bytes per worker thread (cache-sized), and at
# least this many samples so that the BLAS products stay efficient.
_FAST_TILE_BYTES = 4 * 2**20
_FAST_MIN_ROWS = 128
# Below this many pre-activations per thread, more threads cost more than they save.
_FAST_WORK_PER_THREAD = 2**15


@dataclass(frozen=True)
class ComputeOptions:
    """How the training step is computed: backend, precision and memory budget.

    The options of :func:`vanilla_loss_and_gradients`, :func:`bn_loss_and_gradients` and
    :func:`bngeom.nn.batchnorm.batch_bn_loss_and_gradients`, checked when built. They
    pass as ``options=``; the keywords of bngeom 0.1 (``backend=``, ``precision=``,
    ``memory_budget=``) are still accepted by those functions and replace the matching
    field (:func:`compute_options`).

    Attributes
    ----------
    backend : {"auto", "numpy", "numba"}
        ``"numpy"`` is the reference; ``"numba"`` the fused fast path (built-in
        activations and losses only; as many threads as BLAS may use, see
        :func:`threadpoolctl.threadpool_limits`); ``"auto"`` takes the fast path
        when it applies and ``n * m >= AUTO_MIN_SIZE``.
    precision : {"float64", "float32"}
        Precision of the ``n x m`` work (the two matrix products and the
        tiles). Sums over blocks, and the fast path's elementwise work, stay in
        float64. float32 makes the fast path 1.5 to 2 times faster; gradients
        then agree with float64 to about 1e-6 relative (typically 1e-7).
    memory_budget : float
        Bytes allowed for the ``n x m`` temporaries (> 0).

    Examples
    --------
    >>> ComputeOptions(precision="float32").backend
    'auto'
    >>> ComputeOptions(backend="torch")
    Traceback (most recent call last):
        ...
    ValueError: backend must be one of ('auto', 'numpy', 'numba'), got 'torch'
    """

    backend: str = "auto"
    precision: str = "float64"
    memory_budget: float = DEFAULT_MEMORY_BUDGET

    def __post_init__(self) -> None:
        for name, choices in (("backend", BACKENDS), ("precision", PRECISIONS)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        object.__setattr__(self, "memory_budget",
                           check_positive_scalar(self.memory_budget, "memory_budget"))

    @property
    def dtype(self) -> type:
        """The numpy type of :attr:`precision`."""
        return np.float64 if self.precision == "float64" else np.float32


_DEFAULT_OPTIONS = ComputeOptions()


def compute_options(options: ComputeOptions | None, keywords: dict[str, Any],
                    function: str) -> ComputeOptions:
    """``options`` (default :class:`ComputeOptions`) with the 0.1 keywords applied.

    ``keywords`` may hold ``backend``, ``precision`` and ``memory_budget``; any other
    raises ``TypeError`` naming ``function``, as Python does.

    Examples
    --------
    >>> compute_options(None, {"memory_budget": 2**20}, "f").memory_budget
    1048576.0
    >>> compute_options(None, {"budget": 1}, "f")
    Traceback (most recent call last):
        ...
    TypeError: f() got an unexpected keyword argument 'budget'
    """
    if options is None:
        options = _DEFAULT_OPTIONS
    elif not isinstance(options, ComputeOptions):
        raise TypeError(f"options must be a bngeom.nn.model.ComputeOptions, got "
                        f"{type(options).__name__}")
    if not keywords:
        return options
    unknown = sorted(set(keywords) - {f.name for f in dataclasses.fields(ComputeOptions)})
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}")
    return dataclasses.replace(options, **keywords)


class LossAndGradients(NamedTuple):
    """Loss value and its Euclidean gradients.

    ``grad_w`` is the gradient in the first-layer parameters of the chart used
    (``W`` for the BN network, ``U`` for the vanilla one), shape ``(m, d)``;
    ``grad_a`` the gradient in the output weights, shape ``(m,)``.
    """

    loss: float
    grad_w: NDArray
    grad_a: NDArray


# ---------------------------------------------------------------------------
# validation


def _check_data(X: ArrayLike, y: ArrayLike | None, d: int | None = None
                ) -> tuple[NDArray, NDArray | None]:
    X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
    if d is not None:
        check_dimension(X, d, "X")
    if y is None:
        return X, None
    y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} "
                         f"and {y.shape[0]}")
    return X, y


def _check_labels(y: NDArray, lo: Loss) -> None:
    """The built-in logistic loss takes labels -1 and +1 only (not scikit-learn's 0/1)."""
    if lo is LOSSES["logistic"]:
        check_signed_labels(y)


def _check_weights(W: ArrayLike, d: int, name_w: str) -> NDArray:
    """First-layer weights: a finite real (m, d) array without zero rows."""
    W = as_float_array(W, name_w, min_ndim=2, max_ndim=2)
    check_dimension(W, d, name_w)
    check_rows(W, name_w)  # zero or subnormal rows; any normal scale is fine (MATH §8)
    return W


def _check_params(W: ArrayLike, a: ArrayLike, d: int, name_w: str) -> tuple[NDArray, NDArray]:
    W = _check_weights(W, d, name_w)
    a = as_float_array(a, "a", min_ndim=1, max_ndim=1)
    if a.shape[0] != W.shape[0]:
        raise ValueError(f"{name_w} and a must describe the same number of neurons (width), "
                         f"got {W.shape[0]} rows and {a.shape[0]} output weights")
    return W, a


def _check_eps(eps: Any) -> float:
    """Batch normalization's variance offset: a finite real number >= 0."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    eps = float(eps)
    if not (np.isfinite(eps) and eps >= 0.0):
        raise ValueError(f"eps must be finite and >= 0, got {eps!r}")
    return eps


def block_rows(n: int, m: int, memory_budget: float, itemsize: int = 8, *,
               temporaries: int = _TEMPORARIES) -> int:
    """Number of samples per block so that the n x m temporaries fit ``memory_budget``.

    ``temporaries`` blocks of ``rows x m`` items of ``itemsize`` bytes are alive
    at once (3 in the numpy backend; one per worker thread in the fast path).

    Examples
    --------
    >>> block_rows(10_000, 100_000, 256 * 2**20)
    111
    """
    budget = check_positive_scalar(memory_budget, "memory_budget")
    return int(max(1, min(n, budget // (temporaries * m * itemsize))))


def _fast_rows(n: int, m: int, memory_budget: float, itemsize: int, threads: int) -> int:
    """Samples per fast-path tile: cache-sized, and within the memory budget."""
    per_thread = -(-n // threads)
    cache_rows = max(_FAST_MIN_ROWS, _FAST_TILE_BYTES // (m * itemsize))
    return min(cache_rows, block_rows(per_thread, m, memory_budget, itemsize,
                                      temporaries=threads))


_FAST: dict = {}


def _kernels_module():
    """The fast path's module, or None when numba cannot be imported."""
    if "kernels" not in _FAST:
        try:
            from bngeom.nn import _kernels
        except ImportError:  # pragma: no cover - numba is a dependency
            _kernels = None
        _FAST["kernels"] = _kernels
    return _FAST["kernels"]


def _choose_backend(backend: str, act: Activation, lo: Loss, size: int) -> str:
    """Resolve a checked ``backend`` for this activation, loss and problem size ``n * m``."""
    builtin = ACTIVATIONS.get(act.name) is act and LOSSES.get(lo.name) is lo
    if backend == "numba":
        if not builtin:
            raise ValueError("backend='numba' implements the built-in activations and losses "
                             "only; use backend='numpy' for a custom Activation or Loss")
        if _kernels_module() is None:  # pragma: no cover - numba is a dependency
            raise ValueError("backend='numba' needs numba, which cannot be imported")
        return "numba"
    if backend == "auto":
        fast = builtin and size >= AUTO_MIN_SIZE and _kernels_module() is not None
        return "numba" if fast else "numpy"
    return backend


# ---------------------------------------------------------------------------
# forward passes and losses (autograd-differentiable)


def _traced(*values: object) -> bool:
    """Whether autograd is differentiating through one of ``values``."""
    return any(isinstance(v, Box) for v in values)


def _forward_blocked(X: NDArray, U: NDArray, a: NDArray, act: Activation,
                     memory_budget: float) -> NDArray:
    """:math:`f_v` on every sample, over blocks of samples that fit ``memory_budget``."""
    n, m = X.shape[0], U.shape[0]
    rows = block_rows(n, m, memory_budget, np.dtype(X.dtype).itemsize)
    out = np.empty(n, dtype=np.result_type(X, U, a))
    for start in range(0, n, rows):
        out[start:start + rows] = act(X[start:start + rows] @ U.T) @ a / m
    return out


def vanilla_forward(X: ArrayLike, U: ArrayLike, a: ArrayLike,
                    activation: str | Activation = "tanh", *,
                    memory_budget: float = DEFAULT_MEMORY_BUDGET) -> NDArray:
    r"""The vanilla network :math:`f_v(x) = \frac1m\sum_k a_k\sigma(u_k^\top x)` (eq. 8's model).

    Inputs are checked (``X`` of shape (n, d), ``U`` of shape (m, d) with
    non-zero rows, ``a`` of shape (m,), all finite and real) and the ``n x m``
    pre-activations are formed in blocks of samples within ``memory_budget``
    bytes. When autograd differentiates through the arguments (pymanopt's
    autograd backend) the formula is evaluated unchecked and unblocked, so
    that it can be traced.

    Examples
    --------
    >>> import numpy as np
    >>> vanilla_forward(np.eye(2), np.eye(2), np.array([2.0, 4.0]), "relu").tolist()
    [1.0, 2.0]
    """
    act = get_activation(activation)
    if _traced(X, U, a):
        return anp.dot(act(anp.dot(X, anp.transpose(U))), a) / anp.shape(a)[0]
    X, _ = _check_data(X, None)
    U, a = _check_params(U, a, X.shape[1], "U")
    return _forward_blocked(X, U, a, act, check_positive_scalar(memory_budget, "memory_budget"))


def bn_forward(X: ArrayLike, W: ArrayLike, a: ArrayLike, cov: ArrayLike,
               activation: str | Activation = "tanh", *,
               memory_budget: float = DEFAULT_MEMORY_BUDGET,
               mean: ArrayLike | None = None) -> NDArray:
    r"""The BN network :math:`f(x) = \frac1m\sum_k a_k\sigma(w_k^\top x/\|w_k\|_\Sigma)` (eqs. 1-4).

    Blocked over samples within ``memory_budget`` bytes, like :func:`vanilla_forward`.
    Without ``mean``, ``X`` is the centred data set the network normalizes over and
    must be centred (:func:`bngeom._validation.check_centered`: uncentred data raises
    ``ValueError``). To evaluate the network at other points (a test set, one
    sample), pass the training data's ``mean``, shape ``(d,)``: the network then
    computes :math:`w^\top(x - \bar x)/\|w\|_\Sigma`, a BN layer with the
    population statistics :math:`(\bar x, \Sigma)`; ``mean=np.zeros(d)`` takes the
    points as already centred.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> bn_forward(X, 3 * np.eye(2), np.array([2.0, 4.0]), np.eye(2), "relu").tolist()
    [1.0, 0.0, 2.0, 0.0]
    >>> bn_forward(np.eye(2), 3 * np.eye(2), np.array([2.0, 4.0]), np.eye(2), "relu",
    ...            mean=np.zeros(2)).tolist()
    [1.0, 2.0]
    """
    act = get_activation(activation)
    cov = checked_covariance(cov)
    X, _ = _check_data(X, None, cov.shape[0])
    if mean is None:
        check_centered(X)
    else:
        mean = as_float_array(mean, "mean", min_ndim=1, max_ndim=1)
        check_dimension(mean, cov.shape[0], "mean")
        X = X - mean
    W, a = _check_params(W, a, cov.shape[0], "W")
    return _forward_blocked(X, normalize_to_manifold(W, cov), a, act,
                            check_positive_scalar(memory_budget, "memory_budget"))


def vanilla_loss(X: ArrayLike, y: ArrayLike, U: ArrayLike, a: ArrayLike,
                 activation: str | Activation = "tanh", loss: str | Loss = "squared", *,
                 memory_budget: float = DEFAULT_MEMORY_BUDGET) -> Any:
    r"""The vanilla loss :math:`\tilde L(U, a) = \frac1n\sum_i\ell(f_v(x_i), y_i)`.

    Checked and blocked like :func:`vanilla_forward`; written with
    ``autograd.numpy`` so that autograd (and pymanopt's autograd backend) can
    differentiate it, in which case it runs unchecked and unblocked. Returns a
    float, or autograd's traced scalar while autograd differentiates it.

    Examples
    --------
    >>> import numpy as np
    >>> float(vanilla_loss(np.eye(2), np.zeros(2), np.eye(2), np.array([2.0, 2.0]), "relu"))
    0.5
    """
    lo = get_loss(loss)
    if _traced(X, y, U, a):
        return anp.mean(lo(vanilla_forward(X, U, a, activation), y))
    X, y = _check_data(X, y)
    _check_labels(y, lo)
    return float(np.mean(lo(vanilla_forward(X, U, a, activation, memory_budget=memory_budget),
                            y)))


def bn_loss(X: ArrayLike, y: ArrayLike, W: ArrayLike, a: ArrayLike, cov: ArrayLike,
            activation: str | Activation = "tanh", loss: str | Loss = "squared") -> float:
    r"""The BN loss :math:`L(W, a) = \tilde L(\varphi(W), a)` (MATH §1).

    ``X`` must be centred (``ValueError`` otherwise, see :func:`bn_forward`) and, for
    the logistic loss, ``y`` must hold labels -1 and +1.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> float(bn_loss(X, np.zeros(4), 5 * np.eye(2), np.array([2.0, 2.0]), np.eye(2), "relu"))
    0.25
    """
    cov = checked_covariance(cov)
    X, y = _check_data(X, y, cov.shape[0])
    check_centered(X)
    _check_labels(y, get_loss(loss))
    W, a = _check_params(W, a, cov.shape[0], "W")
    return vanilla_loss(X, y, normalize_to_manifold(W, cov), a, activation, loss)


# ---------------------------------------------------------------------------
# exact gradients, blocked over samples


def vanilla_loss_and_gradients(X: ArrayLike, y: ArrayLike, U: ArrayLike, a: ArrayLike,
                               activation: str | Activation = "tanh",
                               loss: str | Loss = "squared", *,
                               options: ComputeOptions | None = None, validate: bool = True,
                               **keywords: Any) -> LossAndGradients:
    r"""Loss and exact Euclidean gradients of the vanilla network (eq. 8).

    .. math:: \nabla_{u_k}\tilde L = \frac{a_k}{m}\,\mathbb E[\ell'\sigma'(u_k^\top x)\,x],
              \qquad \nabla_{a_k}\tilde L = \frac1m\,\mathbb E[\ell'\sigma(u_k^\top x)].

    The expectation is the average over the data set, taken in blocks of
    samples that keep the ``n x m`` temporaries within ``memory_budget`` bytes.

    Parameters
    ----------
    X, y : ndarray, shapes (n, d) and (n,)
        Data and targets.
    U, a : ndarray, shapes (m, d) and (m,)
        First-layer weights and output weights.
    activation, loss : str or Activation / Loss
        See :mod:`bngeom.functions`.
    options : ComputeOptions, keyword-only
        Backend, precision and memory budget (default: ``ComputeOptions()``).
    validate : bool, keyword-only
        Check shapes and values (pass False in hot loops with known-good input).
    **keywords
        The keywords of bngeom 0.1, ``backend``, ``precision`` and ``memory_budget``:
        fields of :class:`ComputeOptions` that replace those of ``options``.

    Returns
    -------
    LossAndGradients
        ``(loss, grad_w, grad_a)`` in float64, ``grad_w`` the gradient in ``U``.

    Examples
    --------
    >>> import numpy as np
    >>> res = vanilla_loss_and_gradients(np.eye(2), np.zeros(2), np.eye(2),
    ...                                  np.array([2.0, 2.0]), "relu")
    >>> res.grad_a.tolist()
    [0.25, 0.25]
    >>> vanilla_loss_and_gradients(np.eye(2), np.zeros(2), np.eye(2), np.array([2.0, 2.0]),
    ...                            "relu", options=ComputeOptions(backend="numpy")).loss
    0.5
    """
    act, lo = get_activation(activation), get_loss(loss)
    o = compute_options(options, keywords, "vanilla_loss_and_gradients")
    if validate:
        X, y = _check_data(X, y)
        U, a = _check_params(U, a, X.shape[1], "U")
        _check_labels(y, lo)
    backend = _choose_backend(o.backend, act, lo, X.shape[0] * U.shape[0])
    threads = _parallel.default_threads() if backend == "numba" else 1
    with _quiet(validate):
        res = _vanilla(X, y, U, a, act, lo, o.memory_budget, backend, o.dtype, threads)
    return _representable(res, U, a, y, "U") if validate else res


def _quiet(validate: bool):
    """Overflow warnings off while validated results are checked by :func:`_representable`."""
    return np.errstate(over="ignore", invalid="ignore") if validate else contextlib.nullcontext()


def _representable(res: LossAndGradients, W: NDArray, a: NDArray, y: NDArray,
                   name_w: str) -> LossAndGradients:
    """``res`` if its loss and gradients are finite; else a ValueError naming the cause.

    With finite inputs only an overflow makes them non-finite (MATH §8, "Scale"):
    output weights or targets so large that the loss is beyond float64, or (BN)
    weights so small that the gradient, which scales as 1/|w|, is.
    """
    if np.isfinite(res.loss) and np.all(np.isfinite(res.grad_a)):
        if np.all(np.isfinite(res.grad_w)):
            return res
        smallest = float(np.min(np.max(np.abs(W), axis=-1)))
        raise ValueError(f"the gradient in {name_w} overflows float64: it scales as 1/|w| and "
                         f"the smallest row of {name_w} has entries of at most {smallest:.3e}; "
                         f"rescale {name_w} (the BN network does not depend on its rows' scale)")
    raise ValueError(f"the loss overflows float64 (loss {res.loss}): the output weights a "
                     f"(max |a| = {float(np.max(np.abs(a))):.3e}) or the targets y (max |y| = "
                     f"{float(np.max(np.abs(y))):.3e}) are too large; rescale them")


def _vanilla(X, y, U, a, act: Activation, lo: Loss, memory_budget: float, backend: str,
             dtype: type, threads: int) -> LossAndGradients:
    """:func:`vanilla_loss_and_gradients` once the arguments are resolved."""
    n, m = X.shape[0], U.shape[0]
    if backend == "numba":
        threads = max(1, min(threads, (n * m) // _FAST_WORK_PER_THREAD))
        rows = _fast_rows(n, m, memory_budget, np.dtype(dtype).itemsize, threads)
        f, grad_u, grad_a = _kernels_module().loss_and_gradients(
            X, y, U, a, act.name, lo.name, rows, threads, dtype)
        total = float(np.sum(lo.function(f, np.asarray(y, dtype=np.float64))))
    else:
        total, grad_u, grad_a = _numpy_sums(X, y, U, a, act, lo, memory_budget, dtype)
    scale = 1.0 / (n * m)
    return LossAndGradients(total / n, grad_u * (np.asarray(a, dtype=np.float64) * scale)[:, None],
                            grad_a * scale)


def _numpy_sums(X, y, U, a, act: Activation, lo: Loss, memory_budget: float, dtype: type
                ) -> tuple[float, NDArray, NDArray]:
    r"""The reference path: the loss sum and the two unscaled gradient sums.

    :math:`\sum_i \ell'_i\sigma'(z_i) x_i^\top` and :math:`\sum_i \ell'_i\sigma(z_i)`,
    over blocks of samples that fit ``memory_budget``.
    """
    if dtype is np.float32:
        X, U, a = (np.asarray(v, dtype=np.float32) for v in (X, U, a))
    n, m = X.shape[0], U.shape[0]
    rows = block_rows(n, m, memory_budget, np.dtype(X.dtype).itemsize)
    total = 0.0
    grad_a = np.zeros(m, dtype=np.result_type(X, U, a, np.float64))
    grad_u = np.zeros_like(U, dtype=grad_a.dtype)
    for start in range(0, n, rows):
        xb, yb = X[start:start + rows], y[start:start + rows]
        z = xb @ U.T
        s = act.function(z)
        f = s @ a / m
        resid = lo.derivative(f, yb)
        total += float(np.sum(lo.function(f, yb)))
        grad_a += resid @ s
        del s
        z = act.derivative(z)
        z *= resid[:, None]
        grad_u += z.T @ xb
    return total, grad_u, grad_a


def bn_gradient_from_vanilla(W: ArrayLike, grad_u: ArrayLike, cov: ArrayLike, *,
                             validate: bool = True, eps: float = 0.0) -> NDArray:
    r"""BN gradient from the vanilla one: :math:`\nabla_w L=P_u^\top\nabla_u\tilde L/\|w\|_\Sigma`.

    The chain rule through :math:`\varphi` (MATH §2): with :math:`u = \varphi(w)`,
    :math:`\nabla_w L = (I - \Sigma u u^\top)\nabla_u\tilde L/\|w\|_\Sigma`, which is
    the paper's eq. (6) gradient and satisfies :math:`w^\top\nabla_w L = 0`.

    ``eps >= 0`` is batch normalization's variance offset: the map is then
    :math:`u = w/s(w)` with :math:`s(w) = (w^\top\Sigma w + \epsilon)^{1/2}` (as
    ``torch.nn.BatchNorm1d``, :mod:`bngeom.nn.batchnorm`) and the same formula holds with
    :math:`s(w)` in place of :math:`\|w\|_\Sigma`; for ``eps > 0`` it is no longer
    orthogonal to :math:`w`.

    Examples
    --------
    >>> import numpy as np
    >>> bn_gradient_from_vanilla(np.array([[2.0, 0.0]]), np.array([[1.0, 1.0]]), np.eye(2)).tolist()
    [[0.0, 0.5]]
    """
    if validate:
        cov = checked_covariance(cov)
        W = _check_weights(W, cov.shape[0], "W")
        grad_u = as_float_array(grad_u, "grad_u", min_ndim=2, max_ndim=2)
        if grad_u.shape != W.shape:
            raise ValueError(f"grad_u must have the shape of W {W.shape}, got {grad_u.shape}")
        eps = _check_eps(eps)
    W = np.asarray(W)
    grad_u = np.asarray(grad_u)
    if eps:  # batch statistics (bngeom.nn.batchnorm): ||w||_S^2 + eps, not scale invariant
        cov_w = W @ cov
        norm_w = np.sqrt(np.sum(W * cov_w, axis=-1, keepdims=True) + eps)
        u = W / norm_w
        return (grad_u - (cov_w / norm_w) * np.sum(u * grad_u, axis=-1, keepdims=True)) / norm_w
    # scale-safe (MATH §8): u = phi(w) from the rescaled rows, ||w||_Sigma = s ||w/s||_Sigma
    u = chart(W, cov)
    norm_w = scaled_norm(W, cov)
    return (grad_u - (u @ cov) * np.sum(u * grad_u, axis=-1, keepdims=True)) / norm_w


def bn_loss_and_gradients(X: ArrayLike, y: ArrayLike, W: ArrayLike, a: ArrayLike,
                          cov: ArrayLike, activation: str | Activation = "tanh",
                          loss: str | Loss = "squared", *,
                          options: ComputeOptions | None = None, validate: bool = True,
                          **keywords: Any) -> LossAndGradients:
    r"""Loss and exact Euclidean gradients of the BN network in ``(W, a)`` (eq. 6).

    .. math:: \nabla_{w_k}L = \frac{a_k}{m\|w_k\|_\Sigma}
              \Big(I - \frac{\Sigma w_k w_k^\top}{\|w_k\|_\Sigma^2}\Big)
              \mathbb E[\ell'\sigma'(z_k)\,x],\qquad z_k = w_k^\top x/\|w_k\|_\Sigma.

    Computed as the vanilla gradient at :math:`u_k = \varphi(w_k)` followed by
    :func:`bn_gradient_from_vanilla`; ``options`` (a :class:`ComputeOptions`),
    ``validate`` and the 0.1 keywords ``backend``, ``precision``, ``memory_budget`` are
    those of :func:`vanilla_loss_and_gradients`.

    With ``validate``, ``X`` must be centred (``ValueError`` otherwise, see
    :func:`bn_forward`) and, for the logistic loss, ``y`` must hold labels -1 and +1.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> res = bn_loss_and_gradients(X, np.zeros(4), 2 * np.eye(2),
    ...                             np.array([2.0, 2.0]), np.eye(2), "relu")
    >>> res.grad_w.tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    act, lo = get_activation(activation), get_loss(loss)
    o = compute_options(options, keywords, "bn_loss_and_gradients")
    if validate:
        cov = checked_covariance(cov)
        X, y = _check_data(X, y, cov.shape[0])
        W, a = _check_params(W, a, cov.shape[0], "W")
        check_centered(X)
        _check_labels(y, lo)
    backend = _choose_backend(o.backend, act, lo, np.shape(X)[0] * np.shape(W)[0])
    threads, single = 1, contextlib.nullcontext()
    if backend == "numba":
        # Keep BLAS single-threaded around the workers, the small O(m d^2) products
        # included (see bngeom._parallel.single_threaded_blas).
        threads, single = _parallel.default_threads(), _parallel.single_threaded_blas()
    with single, _quiet(validate):
        U = chart(W, cov)
        res = _vanilla(X, y, U, a, act, lo, o.memory_budget, backend, o.dtype, threads)
        grad_w = bn_gradient_from_vanilla(W, res.grad_w, cov, validate=False)
    res = LossAndGradients(res.loss, grad_w, res.grad_a)
    return _representable(res, W, a, y, "W") if validate else res


def vanilla_hessian_vector_product(X: ArrayLike, y: ArrayLike, U: ArrayLike, a: ArrayLike,
                                   V: ArrayLike, b: ArrayLike,
                                   activation: str | Activation = "tanh",
                                   loss: str | Loss = "squared", *,
                                   memory_budget: float = DEFAULT_MEMORY_BUDGET
                                   ) -> tuple[NDArray, NDArray]:
    r"""The Euclidean Hessian of the vanilla loss applied to ``(V, b)``, in closed form.

    With :math:`z_{ik} = u_k^\top x_i`, :math:`q_{ik} = v_k^\top x_i` and the
    directional derivative of the output
    :math:`\dot f_i = \frac1m\sum_k (b_k\sigma(z_{ik}) + a_k\sigma'(z_{ik}) q_{ik})`,
    differentiating the gradients of :func:`vanilla_loss_and_gradients` gives

    .. math:: (HV)_{u_k} = \frac1{m}\,\mathbb E[(\ell''\dot f a_k\sigma'(z_k)
              + \ell'(b_k\sigma'(z_k) + a_k\sigma''(z_k) q_k))\,x],\qquad
              (HV)_{a_k} = \frac1m\,\mathbb E[\ell''\dot f\sigma(z_k)
              + \ell'\sigma'(z_k) q_k],

    the expectation over the data set, in blocks of samples within ``memory_budget``.

    Parameters
    ----------
    X, y : array_like, shapes (n, d) and (n,)
        Data and targets.
    U, a : array_like, shapes (m, d) and (m,)
        The point: first-layer weights and output weights.
    V, b : array_like, shapes (m, d) and (m,)
        The direction.
    activation, loss : str or Activation / Loss
        See :mod:`bngeom.nn.functions` (their second derivatives are used).
    memory_budget : float, keyword-only
        Bytes allowed for the ``n x m`` temporaries.

    Returns
    -------
    (ndarray, ndarray)
        The blocks in ``U`` (shape (m, d)) and in ``a`` (shape (m,)).

    Raises
    ------
    ValueError, TypeError
        If an input is not finite and real, or shapes do not match.

    Examples
    --------
    >>> import numpy as np
    >>> hU, ha = vanilla_hessian_vector_product(np.eye(2), np.zeros(2), np.eye(2),
    ...     np.zeros(2), np.zeros((2, 2)), np.array([1.0, 0.0]), "relu")
    >>> ha.tolist()                       # squared loss: E[s s^T] b / m^2
    [0.125, 0.0]
    """
    act, lo = get_activation(activation), get_loss(loss)
    X, y = _check_data(X, y)
    U, a = _check_params(U, a, X.shape[1], "U")
    V = as_float_array(V, "V", min_ndim=2, max_ndim=2)
    b = as_float_array(b, "b", min_ndim=1, max_ndim=1)
    if V.shape != U.shape or b.shape != a.shape:
        raise ValueError(f"V and b must have the shapes of U and a, {U.shape} and {a.shape}, "
                         f"got {V.shape} and {b.shape}")
    n, m = X.shape[0], U.shape[0]
    rows = block_rows(n, m, check_positive_scalar(memory_budget, "memory_budget"))
    hess_u, hess_a = np.zeros(U.shape), np.zeros(m)
    for start in range(0, n, rows):
        xb, yb = X[start:start + rows], y[start:start + rows]
        z, q = xb @ U.T, xb @ V.T
        s, s1 = act.function(z), act.derivative(z)
        f = s @ a / m
        l1, l2 = lo.derivative(f, yb)[:, None], lo.second_derivative(f, yb)[:, None]
        fdot = (s @ b + (s1 * q) @ a)[:, None] / m
        hess_a += np.sum(l2 * fdot * s + l1 * s1 * q, axis=0)
        hess_u += (l2 * fdot * s1 * a + l1 * (s1 * b + act.second_derivative(z) * q * a)).T @ xb
    return hess_u / (n * m), hess_a / (n * m)
