r"""Fused, threaded numba kernels for the metric core on large (N, d) float64 batches.

:mod:`bngeom.geometry` runs these for batches of at least
``FUSED_MIN_POINTS`` points; each kernel walks the rows of C-contiguous (N, d)
float64 arrays in [lo, hi),
computing, per point, exactly the closed form of the numpy function of
bngeom.geometry named in its docstring, with the same order of operations
(so that the results agree to a few ulp). The row stays in L1 cache, so every
operation reads its inputs once and writes its output once.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from bngeom import _parallel

__all__ = ["METRIC_POINTS_PER_THREAD", "dist", "exp", "inner_product", "log",
           "riemannian_gradient"]

_SWEEP = {"error_model": "numpy", "cache": True, "fastmath": {"reassoc", "contract", "nsz"}}


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
def _exp_rows(u, xi, cov, out, lo, hi, retract=False):
    """geometry.exp: phi(cos|z| u/|u| + sin|z| z/|z|), z = d psi_u(xi), phi(w) = w/|w|_Sigma.

    With ``retract``, the retraction phi(u/|u| + z) instead (MATH §5; the sphere's
    projective retraction conjugated by psi, ``BNManifold.retraction``).
    """
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
        if retract:
            c, s = 1.0, 1.0
        else:
            c = math.cos(t)
            s = math.sin(t) / t if t != 0.0 else 1.0      # numpy.sinc(t / pi)
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


@njit(inline="always", **_SWEEP)
def _row_norms(u, v, i):  # pragma: no cover - compiled
    """Euclidean norms |u[i]|, |v[i]| (psi's denominators) of one pair of rows."""
    uu = 0.0
    vv = 0.0
    for k in range(u.shape[1]):
        uu += u[i, k] * u[i, k]
        vv += v[i, k] * v[i, k]
    return math.sqrt(uu), math.sqrt(vv)


@njit(nogil=True, **_SWEEP)
def _log_rows(u, cov, v, out, lo, hi):
    """geometry.log: d phi at u/|u| of the sphere's Log(u/|u|, v/|v|), deterministic at -u."""
    d = u.shape[1]
    cu = np.empty(d)
    row = np.empty(d)
    for i in range(lo, hi):
        n, nv = _row_norms(u, v, i)
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


@njit(inline="always", **_SWEEP)
def pair_angle(u, i, nu, v, j, nv):  # pragma: no cover - compiled
    """geometry.dist's angle between rows: 2 atan2(|x - y|, |x + y|), x = u[i]/nu, y = v[j]/nv.

    The one compiled form of the sphere angle (MATH §5), accurate over [0, pi] and exactly
    0 for equal rows; :func:`_dist_rows` and the W2 ground cost
    (:mod:`bngeom.wasserstein.cost`) inline it.
    """
    dm = 0.0
    dp = 0.0
    for k in range(u.shape[1]):
        x = u[i, k] / nu
        y = v[j, k] / nv
        dm += (x - y) * (x - y)
        dp += (x + y) * (x + y)
    return 2.0 * math.atan2(math.sqrt(dm), math.sqrt(dp))


@njit(nogil=True, **_SWEEP)
def _dist_rows(u, v, radius, out, lo, hi):
    """geometry.dist: r * 2 atan2(|x - y|, |x + y|) with x = u/|u|, y = v/|v|."""
    per_point = radius.shape[0] > 1
    for i in range(lo, hi):
        n, nv = _row_norms(u, v, i)
        out[i] = radius[i if per_point else 0] * pair_angle(u, i, n, v, i, nv)


#: Points per worker thread below which the metric kernels run on one thread.
METRIC_POINTS_PER_THREAD = 4096


def _rows_threaded(kernel, args: tuple, out: NDArray, threads: int | None) -> NDArray:
    """Run ``kernel(*args, out, lo, hi)`` over row ranges, one per worker thread."""
    n = out.shape[0]
    if threads is None:
        threads = _parallel.default_threads()
    threads = int(max(1, min(threads, n // METRIC_POINTS_PER_THREAD)))
    if threads == 1:
        kernel(*args, out, 0, n)
        return out
    bounds = [(t * n // threads, (t + 1) * n // threads) for t in range(threads)]
    with _parallel.LOCK:
        pool = _parallel.executor(threads)
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

