r"""Fused numba kernels for the training step of the two-layer network (the fast path).

The training step needs, for every sample :math:`i` and neuron :math:`k`,
:math:`z_{ik} = u_k^\top x_i`, :math:`s_{ik} = \sigma(z_{ik})`, the output
:math:`f_i = \frac1m\sum_k a_k s_{ik}`, the residual :math:`r_i = \ell'(f_i, y_i)`,
then :math:`\sum_i r_i s_{ik}` (the ``a`` gradient) and the matrix
:math:`T_{ik} = r_i\sigma'(z_{ik})` whose product :math:`T^\top X` is the ``u``
gradient. :func:`bngeom.model.vanilla_loss_and_gradients` (the reference, pure
numpy) spends most of its time in separate elementwise passes over the
``n x m`` matrix. Here the two matrix products stay in BLAS and everything
between them is one kernel that walks a tile of :math:`Z` row by row: a first
sweep over the row computes :math:`\sigma` and the output, a second sweep
(while the row is still in L1/L2 cache) accumulates the ``a`` gradient and
overwrites the row with :math:`T`. The tile itself is a block of samples small
enough to stay in cache between the BLAS calls and the kernel.

The activation functions are written so that LLVM vectorizes them: ``tanh``
(and ``sigmoid`` through it) uses its own ``expm1``-based evaluation, accurate
to a few units in the last place of ``numpy.tanh``, because the C library's
scalar ``tanh`` does not vectorize. Results equal the reference path to about
1e-15 relative in float64 (tests/test_kernels.py checks 1e-12).

The samples are split into one contiguous range per worker thread; each worker
runs its own tiles end to end (single-threaded BLAS product, kernel,
single-threaded BLAS product), so the only synchronization is at the end of the
call, where the partial sums are added in a fixed order: results are
bit-for-bit reproducible for a given thread count.

This module imports numba; :mod:`bngeom.nn.model` imports it on first use of the
numba backend, and the kernels are compiled once and cached on disk
(``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

from bngeom import _parallel

__all__ = ["ACTIVATION_CODES", "LOSS_CODES", "fused_tile", "loss_and_gradients", "tanh"]

#: Activations and losses the kernels implement (the built-ins of :mod:`bngeom.functions`).
ACTIVATION_CODES = {"tanh": 0, "relu": 1, "leaky_relu": 2, "softplus": 3, "sigmoid": 4}
LOSS_CODES = {"squared": 0, "logistic": 1}

_LEAKY_SLOPE = 0.01  # must equal bngeom.functions.LEAKY_SLOPE (checked in the tests)

# Compile options. error_model="numpy" removes Python's ZeroDivisionError checks
# (which stop LLVM from vectorizing); the reductions need "reassoc" to vectorize,
# and the elementwise functions are compiled without it so that their carefully
# ordered operations are kept (LLVM inlines them with their own flags).
_ELEMENTWISE = {"error_model": "numpy", "cache": True}
_SWEEP = {"error_model": "numpy", "cache": True, "fastmath": {"reassoc", "contract", "nsz"}}

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of log(2): hi has 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
# Taylor coefficients 1/j! of expm1 on |r| <= log(2)/2 (truncation error < 2e-17 relative).
(_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13) = (
    1.0 / math.factorial(j) for j in range(2, 14))


@intrinsic
def _int64_bits_as_float64(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (a free bitcast that vectorizes)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return types.float64(bits), codegen


@njit(**_ELEMENTWISE)
def tanh(z: float) -> float:
    r"""Hyperbolic tangent that LLVM vectorizes: :math:`\operatorname{sign}(z)\,(-e)/(2 + e)`.

    Here :math:`e = \mathrm{expm1}(-2|z|)`, computed by Cody-Waite reduction
    :math:`x = k\log 2 + r` and a Taylor polynomial, with :math:`2^k` built from
    its bits. Agrees with ``numpy.tanh`` to 4.5e-16 relative (about 2 ulp)
    everywhere, including subnormal inputs, signed zeros and infinities.

    Examples
    --------
    >>> import math
    >>> abs(tanh(0.3) - math.tanh(0.3)) < 1e-16
    True
    """
    x = max(-2.0 * abs(z), -40.0)           # tanh(|z|) rounds to 1 beyond |z| = 19.1
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = r * (1.0 + r * (_C2 + r * (_C3 + r * (_C4 + r * (_C5 + r * (_C6 + r * (
        _C7 + r * (_C8 + r * (_C9 + r * (_C10 + r * (_C11 + r * (_C12 + r * _C13))))))))))))
    two_k = _int64_bits_as_float64((np.int64(k) + 1023) << 52)
    em1 = two_k * p + (two_k - 1.0)          # expm1(x), no cancellation: x <= 0
    return math.copysign(-em1 / (2.0 + em1), z)


@njit(**_ELEMENTWISE)
def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + tanh(0.5 * z))       # the formula of bngeom.functions


@njit(**_ELEMENTWISE)
def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))   # numpy's logaddexp(0, z)


# ---------------------------------------------------------------------------
# row sweeps: forward (sigma, output) and backward (a-gradient, T = r sigma')


@njit(**_SWEEP)
def _forward_tanh(z, a):
    acc = 0.0
    for k in range(z.shape[0]):
        s = tanh(z[k])
        z[k] = s
        acc += a[k] * s
    return acc


@njit(**_SWEEP)
def _backward_tanh(z, r, grad_a):
    for k in range(z.shape[0]):
        s = z[k]
        grad_a[k] += r * s
        z[k] = r * (1.0 - s * s)


@njit(**_SWEEP)
def _forward_sigmoid(z, a):
    acc = 0.0
    for k in range(z.shape[0]):
        s = _sigmoid(z[k])
        z[k] = s
        acc += a[k] * s
    return acc


@njit(**_SWEEP)
def _backward_sigmoid(z, r, grad_a):
    for k in range(z.shape[0]):
        s = z[k]
        grad_a[k] += r * s
        z[k] = r * (s * (1.0 - s))


@njit(**_SWEEP)
def _forward_relu(z, a):
    acc = 0.0
    for k in range(z.shape[0]):
        s = max(z[k], 0.0)
        z[k] = s
        acc += a[k] * s
    return acc


@njit(**_SWEEP)
def _backward_relu(z, r, grad_a):
    for k in range(z.shape[0]):
        s = z[k]
        grad_a[k] += r * s
        z[k] = r if s > 0.0 else 0.0 * r       # sigma'(z) = [z > 0]; s > 0 iff z > 0


@njit(**_SWEEP)
def _forward_leaky(z, a):
    acc = 0.0
    for k in range(z.shape[0]):
        v = z[k]
        s = v if v > 0.0 else _LEAKY_SLOPE * v
        z[k] = s
        acc += a[k] * s
    return acc


@njit(**_SWEEP)
def _backward_leaky(z, r, grad_a):
    for k in range(z.shape[0]):
        s = z[k]
        grad_a[k] += r * s
        z[k] = r * (1.0 if s > 0.0 else _LEAKY_SLOPE)   # s > 0 iff z > 0


@njit(**_SWEEP)
def _forward_softplus(z, a, s_row):
    acc = 0.0
    for k in range(z.shape[0]):
        s = _softplus(z[k])
        s_row[k] = s                          # z is kept: sigma' = sigmoid(z) needs it
        acc += a[k] * s
    return acc


@njit(**_SWEEP)
def _backward_softplus(z, s_row, r, grad_a):
    for k in range(z.shape[0]):
        grad_a[k] += r * s_row[k]
        z[k] = r * _sigmoid(z[k])


@njit(**_ELEMENTWISE)
def _loss_derivative(loss: int, f: float, y: float) -> float:
    if loss == 0:                             # squared: (f - y)^2 / 2
        return f - y
    return -y * (0.5 * (1.0 + math.tanh(-0.5 * y * f)))   # logistic: -y sigmoid(-y f)


@njit(nogil=True, **_ELEMENTWISE)
def fused_tile(z, a, y, f_out, grad_a, s_row, activation, loss):
    r"""Everything between the two matrix products, for one tile of samples, in place.

    Parameters
    ----------
    z : ndarray, shape (rows, m), C-contiguous
        On entry the pre-activations :math:`Z = X_b U^\top`; on exit
        :math:`T_{ik} = \ell'(f_i, y_i)\,\sigma'(z_{ik})`.
    a : ndarray, shape (m,)
    y : ndarray, shape (rows,)
    f_out : ndarray, shape (rows,)
        Receives the network outputs :math:`f_i = \frac1m\sum_k a_k\sigma(z_{ik})`.
    grad_a : ndarray, shape (m,)
        Accumulates :math:`\sum_i \ell'(f_i, y_i)\,\sigma(z_{ik})`.
    s_row : ndarray, shape (m,) for softplus, else any
        Scratch row.
    activation, loss : int
        Codes from :data:`ACTIVATION_CODES` and :data:`LOSS_CODES`.
    """
    m = z.shape[1]
    for i in range(z.shape[0]):
        row = z[i]
        if activation == 0:
            total = _forward_tanh(row, a)
        elif activation == 1:
            total = _forward_relu(row, a)
        elif activation == 2:
            total = _forward_leaky(row, a)
        elif activation == 3:
            total = _forward_softplus(row, a, s_row)
        else:
            total = _forward_sigmoid(row, a)
        f = total / m
        f_out[i] = f
        r = _loss_derivative(loss, f, y[i])
        if activation == 0:
            _backward_tanh(row, r, grad_a)
        elif activation == 1:
            _backward_relu(row, r, grad_a)
        elif activation == 2:
            _backward_leaky(row, r, grad_a)
        elif activation == 3:
            _backward_softplus(row, s_row, r, grad_a)
        else:
            _backward_sigmoid(row, r, grad_a)


def _chunk(xs, y, u_t, a, activation, loss, rows, f):
    """Tiles of one contiguous range of samples, processed by one thread.

    The BLAS products go through numpy, which releases the GIL during BLAS
    calls, so that the workers really run in parallel (scipy's f2py BLAS
    wrappers hold it).
    """
    n, d = xs.shape
    m = u_t.shape[1]
    tile = np.empty((min(rows, n), m), dtype=xs.dtype)
    prod = np.empty((m, d), dtype=xs.dtype)
    grad_u = np.zeros((m, d))
    grad_a = np.zeros(m)
    s_row = np.empty(m if activation == ACTIVATION_CODES["softplus"] else 1)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        zb = tile[:stop - start]
        xb = xs[start:stop]
        np.matmul(xb, u_t, out=zb)                       # Z = X_b U^T (BLAS)
        fused_tile(zb, a, y[start:stop], f[start:stop], grad_a, s_row, activation, loss)
        np.matmul(zb.T, xb, out=prod)                    # T^T X_b (BLAS)
        np.add(grad_u, prod, out=grad_u)                 # summed in float64
    return grad_u, grad_a



def loss_and_gradients(X: NDArray, y: NDArray, U: NDArray, a: NDArray, activation: str,
                       loss: str, rows: int, threads: int = 1, dtype: type = np.float64
                       ) -> tuple[NDArray, NDArray, NDArray]:
    r"""Outputs and unscaled gradient sums of the vanilla network, tile by tile.

    Returns ``(f, S_u, S_a)`` with :math:`f_i` the outputs,
    :math:`S_u = T^\top X` (shape ``(m, d)``) and :math:`S_a = \sum_i \ell'_i\sigma(z_{i\cdot})`
    (shape ``(m,)``), both in float64; the caller scales them (:mod:`bngeom.model`).

    The samples are split into ``threads`` contiguous ranges, one per worker
    thread; each worker walks its range in tiles of ``rows`` samples: BLAS
    product, :func:`fused_tile`, BLAS product, with BLAS limited to one thread
    meanwhile. The partial sums are added in a fixed order, so the result is
    deterministic for a given ``rows`` and ``threads``. ``dtype`` is the
    precision of the matrix products and of the tile (float64, or float32 for
    speed); the elementwise work and all sums are float64.
    """
    act, lo = ACTIVATION_CODES[activation], LOSS_CODES[loss]
    n = X.shape[0]
    rows = int(max(1, min(rows, n)))
    threads = int(max(1, min(threads, n)))
    xs = np.ascontiguousarray(X, dtype=dtype)
    u_t = np.ascontiguousarray(U, dtype=dtype).T
    a = np.ascontiguousarray(a, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    f = np.empty(n)
    bounds = [(t * n // threads, (t + 1) * n // threads) for t in range(threads)]
    args = [(xs[lo_:hi], y[lo_:hi], u_t, a, act, lo, rows, f[lo_:hi]) for lo_, hi in bounds]
    with _parallel.LOCK, _parallel.blas().limit(limits=1):
        if threads == 1:
            parts = [_chunk(*args[0])]
        else:
            pool = _parallel.executor(threads)
            parts = [future.result() for future in [pool.submit(_chunk, *x) for x in args]]
    grad_u, grad_a = parts[0]
    for gu, ga in parts[1:]:
        grad_u += gu
        grad_a += ga
    return f, grad_u, grad_a


