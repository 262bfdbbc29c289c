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

The kernels are generated, one per activation and loss, by :func:`_make_tile`
from the scalar definitions of :mod:`bngeom.nn.functions`
(:attr:`~bngeom.nn.functions.Activation.scalar`,
:attr:`~bngeom.nn.functions.Activation.scalar_derivative`,
:attr:`~bngeom.nn.functions.Loss.scalar_derivative`), which numba compiles and
LLVM inlines into the sweeps. Those definitions are written so that LLVM
vectorizes them: ``tanh`` (and ``sigmoid`` through it) uses its own
``expm1``-based evaluation, accurate to a few units in the last place of
``numpy.tanh``, because the C library's scalar ``tanh`` does not vectorize.
Results equal the reference path to about 1e-15 relative in float64
(tests/nn/test_training_kernels.py checks 1e-12).

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

import functools
import hashlib
import inspect

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload, register_jitable
from numpy.typing import NDArray

from bngeom import _parallel
from bngeom.nn import functions

__all__ = ["ACTIVATION_CODES", "LOSS_CODES", "fused_tile", "loss_and_gradients", "tanh"]

#: Activations and losses the kernels implement (the built-ins of :mod:`bngeom.nn.functions`).
ACTIVATION_CODES = {name: code for code, name in enumerate(functions.ACTIVATIONS)}
LOSS_CODES = {name: code for code, name in enumerate(functions.LOSSES)}
_ACTIVATIONS = tuple(functions.ACTIVATIONS.values())   # indexed by code
_LOSSES = tuple(functions.LOSSES.values())

# Compile options. error_model="numpy" removes Python's ZeroDivisionError checks
# (which stop LLVM from vectorizing); the reductions need "reassoc" to vectorize,
# and the scalar definitions are compiled without it so that their carefully
# ordered operations are kept (LLVM inlines them with their own flags).
_ELEMENTWISE = {"error_model": "numpy"}
_SWEEP = {"error_model": "numpy", "cache": True, "fastmath": {"reassoc", "contract", "nsz"}}



def _revision() -> int:
    """A hash of functions.py, part of every generated kernel's on-disk cache key.

    numba checks only the time stamp of this file, so an edit of a scalar
    definition in functions.py must change the key (0 where the source is not shipped).
    """
    try:
        source = inspect.getsource(functions)
    except OSError:  # pragma: no cover - installs without .py files
        return 0
    return int(hashlib.sha256(source.encode()).hexdigest()[:15], 16)


_REVISION = _revision()


@intrinsic
def _int64_bits_as_float64(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (a free bitcast that vectorizes)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return types.float64(bits), codegen


@overload(functions._exp2_int, jit_options=_ELEMENTWISE)
def _exp2_int_bits(k):
    """Compiled :func:`bngeom.nn.functions._exp2_int`: ``k + 1023`` put into the exponent bits."""
    def impl(k):
        return _int64_bits_as_float64((np.int64(k) + 1023) << 52)
    return impl


def _register_scalars() -> None:
    """Let numba compile every scalar definition of the built-ins where a kernel calls it."""
    defs = [(act.scalar, act.scalar_derivative) for act in functions.ACTIVATIONS.values()]
    defs += [(loss.scalar_derivative,) for loss in functions.LOSSES.values()]
    for fn in {fn for group in defs for fn in group}:
        register_jitable(**_ELEMENTWISE)(fn)


_register_scalars()

#: The scalar tanh of :mod:`bngeom.nn.functions`, compiled (the kernels' tanh).
tanh = njit(cache=True, **_ELEMENTWISE)(functions.ACTIVATIONS["tanh"].scalar)


# ---------------------------------------------------------------------------
# the generated tile kernels


def _make_tile(sigma, dsigma, from_output: bool, dloss, revision: int):
    r"""Compile the tile kernel of one activation (``sigma``, ``dsigma``) and loss (``dloss``).

    Each row of the tile is walked twice (MATH §1 for :math:`\sigma`,
    :math:`\sigma'`, :math:`\ell'`): a forward sweep stores
    :math:`s = \sigma(z)` and sums the output, and, after the residual
    :math:`r = \ell'(f, y)`, a backward sweep accumulates :math:`r s` into the
    ``a`` gradient and overwrites the row with :math:`r\sigma'`. ``dsigma``
    takes :math:`s` if ``from_output`` (then :math:`s` overwrites :math:`z`),
    else :math:`z` (then :math:`s` goes to the scratch row ``s_row``).
    ``revision`` only keys the disk cache.
    """
    @njit(nogil=True, **_SWEEP)
    def tile(z, a, y, f_out, grad_a, s_row):
        revision  # noqa: B018 - a cache key (see _REVISION)
        m = z.shape[1]
        for i in range(z.shape[0]):
            row = z[i]
            acc = 0.0
            for k in range(m):
                s = sigma(row[k])
                if from_output:
                    row[k] = s
                else:
                    s_row[k] = s
                acc += a[k] * s
            f = acc / m
            f_out[i] = f
            r = dloss(f, y[i])
            for k in range(m):
                s = row[k] if from_output else s_row[k]
                grad_a[k] += r * s
                row[k] = r * dsigma(s if from_output else row[k])
    return tile


@functools.cache
def _tile(activation: int, loss: int):
    """The generated kernel for :data:`ACTIVATION_CODES` ``activation`` and ``loss``."""
    act, lo = _ACTIVATIONS[activation], _LOSSES[loss]
    return _make_tile(act.scalar, act.scalar_derivative, act.derivative_from_output,
                      lo.scalar_derivative, _REVISION)


def fused_tile(z, a, y, f_out, grad_a, s_row, activation: int, loss: int) -> None:
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
    s_row : ndarray, shape (m,) if the derivative takes z (softplus), else any
        Scratch row.
    activation, loss : int
        Codes from :data:`ACTIVATION_CODES` and :data:`LOSS_CODES`.
    """
    _tile(activation, loss)(z, a, y, f_out, grad_a, s_row)


def _chunk(xs, y, u_t, a, kernel, keep_z, rows, f):
    """Tiles of one contiguous range of samples, processed by one thread.

    ``kernel`` is the generated tile kernel (:func:`_tile`); ``keep_z`` says it
    needs a scratch row (the activation's derivative takes ``z``).

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
    s_row = np.empty(m if keep_z else 1)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        zb = tile[:stop - start]
        xb = xs[start:stop]
        np.matmul(xb, u_t, out=zb)                       # Z = X_b U^T (BLAS)
        kernel(zb, a, y[start:stop], f[start:stop], grad_a, s_row)    # the fused tile
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
    kernel, keep_z = _tile(act, lo), not _ACTIVATIONS[act].derivative_from_output
    args = [(xs[lo_:hi], y[lo_:hi], u_t, a, kernel, keep_z, rows, f[lo_:hi])
            for lo_, hi in bounds]
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


