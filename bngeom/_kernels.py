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

This module imports numba; :mod:`bngeom.model` imports it on first use of the
numba backend, and the kernels are compiled once and cached on disk
(``cache=True``).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import ThreadpoolController

__all__ = ["ACTIVATION_CODES", "LOSS_CODES", "METRIC_POINTS_PER_THREAD", "default_threads",
           "dist", "exp", "fused_tile", "inner_product", "log", "loss_and_gradients",
           "riemannian_gradient", "single_threaded_blas", "tanh"]

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


_STATE: dict = {}
# Serializes the calls that change BLAS's thread count and use the worker pool
# (reentrant: single_threaded_blas() wraps loss_and_gradients()).
_LOCK = threading.RLock()


def _after_fork_in_child() -> None:
    """A forked child has no worker threads and may inherit a held lock: start afresh."""
    global _LOCK
    _LOCK = threading.RLock()
    _STATE.pop("pool", None)
    _STATE.pop("pool_key", None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _blas() -> ThreadpoolController:
    if "blas" not in _STATE:
        _STATE["blas"] = ThreadpoolController().select(user_api="blas")
    return _STATE["blas"]


def _executor(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` workers, recreated after a fork or a change of size."""
    key = (os.getpid(), threads)
    if _STATE.get("pool_key") != key:
        _STATE["pool"] = ThreadPoolExecutor(threads, thread_name_prefix="bngeom-kernel")
        _STATE["pool_key"] = key
    return _STATE["pool"]


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS at one thread (restored on exit), serialized with the fast path.

    Used around the small products that surround a fast-path call: a
    multithreaded BLAS call just before the workers start leaves OpenBLAS's own
    threads spinning for a while, competing with the workers for the cores.

    Examples
    --------
    >>> with single_threaded_blas():
    ...     default_threads()
    1
    """
    with _LOCK, _blas().limit(limits=1):
        yield


def default_threads() -> int:
    """Threads the fast path uses: the number BLAS is currently allowed (threadpoolctl).

    Limit it like any BLAS computation, e.g. with
    ``threadpoolctl.threadpool_limits(1)``.

    Examples
    --------
    >>> default_threads() >= 1
    True
    """
    counts = [lib.num_threads for lib in _blas().lib_controllers]
    return max(1, min(counts + [os.cpu_count() or 1]))


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
    with _LOCK, _blas().limit(limits=1):
        if threads == 1:
            parts = [_chunk(*args[0])]
        else:
            pool = _executor(threads)
            parts = [future.result() for future in [pool.submit(_chunk, *x) for x in args]]
    grad_u, grad_a = parts[0]
    for gu, ga in parts[1:]:
        grad_u += gu
        grad_a += ga
    return f, grad_u, grad_a


# ---------------------------------------------------------------------------
# metric operations of the core (bngeom.geometry), fused and threaded
#
# Each kernel walks the rows of C-contiguous (N, d) float64 arrays in [lo, hi),
# computing, per point, exactly the closed form of the numpy function of
# bngeom.geometry named in its docstring, with the same order of operations
# (so that the results agree to a few ulp). The row stays in L1 cache, so every
# operation reads its inputs once and writes its output once.


@njit(nogil=True, **_SWEEP)
def _inner_product_rows(u, xi, eta, radius_sq, out, lo, hi):
    """geometry.inner_product: ((xi.eta) - (u.xi)(u.eta)/|u|^2) / |u|^2 * r^2."""
    per_point = radius_sq.shape[0] > 1
    for i in range(lo, hi):
        uu = 0.0
        xe = 0.0
        ux = 0.0
        ue = 0.0
        for k in range(u.shape[1]):
            a, b, c = u[i, k], xi[i, k], eta[i, k]
            uu += a * a
            xe += b * c
            ux += a * b
            ue += a * c
        out[i] = (xe - ux * ue / uu) / uu * radius_sq[i if per_point else 0]


@njit(nogil=True, **_SWEEP)
def _matvec(cov, u, i, row, out):
    """out = Sigma u_i (Sigma symmetric: row j of Sigma dotted with u_i).

    u_i is first copied into the contiguous scratch ``row``: for strided ``u``
    (the ``u`` block of ``(u, a)`` rows) the O(d^2) loop then still vectorizes
    (without the copy it ran 5x slower).
    """
    d = u.shape[1]
    for k in range(d):
        row[k] = u[i, k]
    for j in range(d):
        acc = 0.0
        for k in range(d):
            acc += cov[j, k] * row[k]
        out[j] = acc


@njit(nogil=True, **_SWEEP)
def _riemannian_gradient_rows(u, cov, grad, inv_radius_sq, out, lo, hi):
    """geometry.riemannian_gradient: |u|^2 P_u P_u^T grad / r^2 with P_u = I - u (Sigma u)^T."""
    d = u.shape[1]
    cu = np.empty(d)
    row = np.empty(d)
    per_point = inv_radius_sq.shape[0] > 1
    for i in range(lo, hi):
        _matvec(cov, u, i, row, cu)
        scale = inv_radius_sq[i if per_point else 0]
        uu = 0.0
        ug = 0.0
        for k in range(d):
            uu += u[i, k] * u[i, k]
            ug += u[i, k] * grad[i, k]
        cy = 0.0
        for k in range(d):
            cy += cu[k] * (grad[i, k] - cu[k] * ug)
        for k in range(d):
            out[i, k] = uu * ((grad[i, k] - cu[k] * ug) - u[i, k] * cy) * scale


@njit(nogil=True, **_SWEEP)
def _exp_rows(u, xi, cov, out, lo, hi):
    """geometry.exp: phi(cos|z| u/|u| + sin|z| z/|z|), z = d psi_u(xi), phi(w) = w/|w|_Sigma."""
    d = u.shape[1]
    for i in range(lo, hi):
        uu = 0.0
        for k in range(d):
            uu += u[i, k] * u[i, k]
        n = math.sqrt(uu)
        dot = 0.0
        for k in range(d):
            dot += (u[i, k] / n) * xi[i, k]
        tt = 0.0
        for k in range(d):
            z = (xi[i, k] - (u[i, k] / n) * dot) / n
            out[i, k] = z
            tt += z * z
        t = math.sqrt(tt)
        c = math.cos(t)
        s = math.sin(t) / t if t != 0.0 else 1.0          # numpy.sinc(t / pi)
        for k in range(d):
            out[i, k] = c * (u[i, k] / n) + s * out[i, k]
        q = 0.0                                           # w^T Sigma w
        for j in range(d):
            row = 0.0
            for k in range(d):
                row += cov[j, k] * out[i, k]
            q += out[i, j] * row
        scale = math.sqrt(q)
        for k in range(d):
            out[i, k] = out[i, k] / scale


@njit(nogil=True, **_SWEEP)
def _log_rows(u, cov, v, out, lo, hi):
    """geometry.log: d phi at u/|u| of the sphere's Log(u/|u|, v/|v|), deterministic at -u."""
    d = u.shape[1]
    cu = np.empty(d)
    row = np.empty(d)
    for i in range(lo, hi):
        uu = 0.0
        vv = 0.0
        for k in range(d):
            uu += u[i, k] * u[i, k]
            vv += v[i, k] * v[i, k]
        n = math.sqrt(uu)
        nv = math.sqrt(vv)
        c = 0.0
        for k in range(d):
            c += (u[i, k] / n) * (v[i, k] / nv)
        ss = 0.0
        for k in range(d):
            p = v[i, k] / nv - c * (u[i, k] / n)
            out[i, k] = p
            ss += p * p
        s = math.sqrt(ss)
        if s > 1e-15:                                     # geometry._PARALLEL_SIN
            coef = math.atan2(s, c) / s
            for k in range(d):
                out[i, k] = coef * out[i, k]
        elif c >= 0:                                      # v = u: an exact zero
            for k in range(d):
                out[i, k] = 0.0
        else:                                             # cut locus: geometry's direction
            j = 0
            best = abs(u[i, 0] / n)
            for k in range(1, d):
                if abs(u[i, k] / n) < best:
                    best = abs(u[i, k] / n)
                    j = k
            xj = u[i, j] / n
            tn = 0.0
            for k in range(d):
                e = (1.0 if k == j else 0.0) - (u[i, k] / n) * xj
                out[i, k] = e
                tn += e * e
            tn = math.sqrt(tn)
            for k in range(d):
                out[i, k] = math.pi * (out[i, k] / tn)
        _matvec(cov, u, i, row, cu)
        cz = 0.0
        for k in range(d):
            cz += cu[k] * out[i, k]
        for k in range(d):
            out[i, k] = n * (out[i, k] - u[i, k] * cz)


@njit(nogil=True, **_SWEEP)
def _dist_rows(u, v, radius, out, lo, hi):
    """geometry.dist: r * 2 atan2(|x - y|, |x + y|) with x = u/|u|, y = v/|v|."""
    d = u.shape[1]
    per_point = radius.shape[0] > 1
    for i in range(lo, hi):
        uu = 0.0
        vv = 0.0
        for k in range(d):
            uu += u[i, k] * u[i, k]
            vv += v[i, k] * v[i, k]
        n = math.sqrt(uu)
        nv = math.sqrt(vv)
        dm = 0.0
        dp = 0.0
        for k in range(d):
            x = u[i, k] / n
            y = v[i, k] / nv
            dm += (x - y) * (x - y)
            dp += (x + y) * (x + y)
        out[i] = radius[i if per_point else 0] * (2.0 * math.atan2(math.sqrt(dm),
                                                                   math.sqrt(dp)))


#: Points per worker thread below which the metric kernels run on one thread.
METRIC_POINTS_PER_THREAD = 4096


def _rows_threaded(kernel, args: tuple, out: NDArray, threads: int | None) -> NDArray:
    """Run ``kernel(*args, out, lo, hi)`` over row ranges, one per worker thread."""
    n = out.shape[0]
    if threads is None:
        threads = default_threads()
    threads = int(max(1, min(threads, n // METRIC_POINTS_PER_THREAD)))
    if threads == 1:
        kernel(*args, out, 0, n)
        return out
    bounds = [(t * n // threads, (t + 1) * n // threads) for t in range(threads)]
    with _LOCK:
        pool = _executor(threads)
        for future in [pool.submit(kernel, *args, out, lo_, hi) for lo_, hi in bounds]:
            future.result()
    return out


def _rows2(x: NDArray) -> NDArray:
    """float64 rows; strided views (e.g. the ``u`` block of ``(u, a)`` rows) are not copied."""
    return np.asarray(x, dtype=np.float64)


def _per_point(values: ArrayLike, n: int, name: str) -> NDArray:
    """A scalar as shape (1,), or one value per point, shape (n,)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return arr.reshape(1)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr)


def inner_product(u: NDArray, xi: NDArray, eta: NDArray, radius: ArrayLike = 1.0, *,
                  threads: int | None = None) -> NDArray:
    """:func:`bngeom.geometry.inner_product` for (N, d) arrays, fused (radius: scalar or (N,)).

    Examples
    --------
    >>> import numpy as np
    >>> inner_product(np.array([[0.5, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]))
    array([4.])
    """
    u, xi, eta = _rows2(u), _rows2(xi), _rows2(eta)
    out = np.empty(u.shape[0])
    r2 = np.square(_per_point(radius, u.shape[0], "radius"))
    return _rows_threaded(_inner_product_rows, (u, xi, eta, r2), out, threads)


def riemannian_gradient(u: NDArray, grad: NDArray, cov: NDArray, radius: ArrayLike = 1.0, *,
                        threads: int | None = None) -> NDArray:
    """:func:`bngeom.geometry.riemannian_gradient` for (N, d) arrays, fused (radius: scalar, (N,)).

    Examples
    --------
    >>> import numpy as np
    >>> riemannian_gradient(np.array([[1.0, 0.0]]), np.array([[1.0, 2.0]]), np.eye(2))
    array([[0., 2.]])
    """
    u, grad = _rows2(u), _rows2(grad)
    out = np.empty_like(u)
    inv_r2 = 1.0 / np.square(_per_point(radius, u.shape[0], "radius"))
    return _rows_threaded(_riemannian_gradient_rows, (u, np.ascontiguousarray(cov), grad, inv_r2),
                          out, threads)


def exp(u: NDArray, xi: NDArray, cov: NDArray, *, threads: int | None = None) -> NDArray:
    """:func:`bngeom.geometry.exp` for (N, d) arrays, fused.

    Examples
    --------
    >>> import numpy as np
    >>> exp(np.array([[1.0, 0.0]]), np.array([[0.0, np.pi / 2]]), np.eye(2)).round(12)
    array([[0., 1.]])
    """
    u, xi = _rows2(u), _rows2(xi)
    out = np.empty_like(u)
    return _rows_threaded(_exp_rows, (u, xi, np.ascontiguousarray(cov)), out, threads)


def log(u: NDArray, v: NDArray, cov: NDArray, *, threads: int | None = None) -> NDArray:
    """:func:`bngeom.geometry.log` for (N, d) arrays, fused (same choice at the cut locus).

    Examples
    --------
    >>> import numpy as np
    >>> log(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.eye(2)).round(12)
    array([[0.        , 1.57079633]])
    """
    u, v = _rows2(u), _rows2(v)
    out = np.empty_like(u)
    return _rows_threaded(_log_rows, (u, np.ascontiguousarray(cov), v), out, threads)


def dist(u: NDArray, v: NDArray, radius: ArrayLike = 1.0, *,
         threads: int | None = None) -> NDArray:
    """:func:`bngeom.geometry.dist` for (N, d) arrays, fused (radius: scalar or (N,)).

    Examples
    --------
    >>> import numpy as np
    >>> dist(np.array([[1.0, 0.0]]), np.array([[0.0, 0.5]])).round(12)
    array([1.57079633])
    """
    u, v = _rows2(u), _rows2(v)
    out = np.empty(u.shape[0])
    return _rows_threaded(_dist_rows, (u, v, _per_point(radius, u.shape[0], "radius")), out,
                          threads)
