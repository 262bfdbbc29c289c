r"""Checks and closed form in one compiled call, for the adapters' per-call path (row B6).

Optimizers and geomstats' learning loops call ``inner_product``, ``exp``, ``log``, ``dist``
and ``retraction`` once per iteration on a few points. Checked the general way (about twenty
small numpy calls: dtypes, shapes, finiteness, :math:`u^\top\Sigma u = 1`,
:math:`\xi^\top\Sigma u = 0`), such a call costs ten times the math. Here one numba call
checks the rows and computes the result with the fused row kernels of
:mod:`bngeom.geometry._compiled` (the same closed forms, to a few ulp).

The checks are the core's (MATH §8; :mod:`bngeom._validation`) at half its tolerances, so
that what passes here passes there. Every kernel returns a status first: ``True`` when the
input passed and the result is finite, ``False`` otherwise; the caller then runs its general
path, which raises the precise error (or computes a row that needs rescaling, MATH §8
"Scale"). So the error messages have one home, and this path never accepts what the general
path refuses.

Neurons are given as blocks: the rows ``u`` (shape (N, d), on :math:`N_\Sigma`) and the output
weights ``a`` (shape (N,)) of the product :math:`M = N_\Sigma\times\mathbb R` (MATH §4). The
``space_*`` kernels take geomstats' layout, rows ``(u, a)`` of length ``d + 1`` (``BNSpace``);
the ``rows_*`` kernels take pymanopt's, ``U`` and ``a`` apart (``BNManifold``), with one radius
per neuron.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bngeom._validation import MANIFOLD_RTOL, TANGENT_ATOL, TANGENT_RTOL, TANGENT_TINY
from bngeom.geometry._compiled import (
    _SWEEP,
    _dist_rows,
    _exp_rows,
    _inner_product_rows,
    _log_rows,
    _matvec,
)

__all__ = ["plain_float64", "rows_dist", "rows_inner_product", "rows_log", "rows_step",
           "space_dist", "space_exp", "space_inner_product", "space_log"]

# Half the core's tolerances: a row that passes here passes the core's checks too.
_POINT_TOL = 0.5 * MANIFOLD_RTOL
_TANGENT_RTOL = 0.5 * TANGENT_RTOL
_TANGENT_ATOL = 0.5 * TANGENT_ATOL
# The core's bound on tangent entries (geometry._MAX_ENTRY): squares stay far from overflow.
_MAX_ENTRY = 1e150


# ---------------------------------------------------------------------------
# checks (MATH §8)


@njit(**_SWEEP)
def _points_ok(u, cov, cu):  # pragma: no cover - compiled
    """Rows of ``u`` on N_Sigma (|u^T Sigma u - 1| small); fills ``cu`` with Sigma u.

    A NaN or inf entry makes the quadratic form NaN or inf and fails the test.
    """
    row = np.empty(u.shape[1])
    for i in range(u.shape[0]):
        _matvec(cov, u, i, row, cu[i])
        q = 0.0
        for k in range(u.shape[1]):
            q += u[i, k] * cu[i, k]
        if not abs(q - 1.0) <= _POINT_TOL:
            return False
    return True


@njit(**_SWEEP)
def _tangent_ok(xi, cu):  # pragma: no cover - compiled
    """Rows of ``xi`` finite, of entries in [TANGENT_TINY, _MAX_ENTRY] or zero, tangent at u.

    Tangent: |xi^T Sigma u| <= rtol |xi| |Sigma u| + atol (``check_tangent``). Rows of tiny
    entries, which the core rescales before the test, go to the general path.
    """
    for i in range(xi.shape[0]):
        big = 0.0
        xx = 0.0
        xc = 0.0
        cc = 0.0
        for k in range(xi.shape[1]):
            e = xi[i, k]
            if not math.isfinite(e):
                return False
            big = max(big, abs(e))
            xx += e * e
            xc += e * cu[i, k]
            cc += cu[i, k] * cu[i, k]
        if big > _MAX_ENTRY or 0.0 < big < TANGENT_TINY:
            return False
        if abs(xc) > _TANGENT_RTOL * math.sqrt(xx * cc) + _TANGENT_ATOL:
            return False
    return True


@njit(**_SWEEP)
def _finite(x):  # pragma: no cover - compiled
    """All entries finite."""
    return np.all(np.isfinite(x))


# ---------------------------------------------------------------------------
# bodies, on blocks (u, a)


@njit(**_SWEEP)
def _inner_product(u, a, xi, alpha, eta, beta, cov, radius_sq, check):  # pragma: no cover
    """(ok, r^2 g_u(xi, eta) + alpha beta per neuron) (geometry.inner_product; MATH §4)."""
    out = np.empty(u.shape[0])
    if check:
        cu = np.empty(u.shape)
        if not (_points_ok(u, cov, cu) and _tangent_ok(xi, cu) and _tangent_ok(eta, cu)
                and _finite(a) and _finite(alpha) and _finite(beta)):
            return False, out
    _inner_product_rows(u, xi, eta, radius_sq, out, 0, u.shape[0])
    for i in range(u.shape[0]):
        out[i] += alpha[i] * beta[i]
    return _finite(out), out


@njit(**_SWEEP)
def _step(u, a, xi, alpha, cov, retract, check):  # pragma: no cover - compiled
    """(ok, exp_u xi or R_u xi, a + alpha) (geometry.exp; the retraction of MATH §5)."""
    out_u = np.empty(u.shape)
    out_a = a + alpha
    if check:
        cu = np.empty(u.shape)
        if not (_points_ok(u, cov, cu) and _tangent_ok(xi, cu) and _finite(out_a)):
            return False, out_u, out_a
    _exp_rows(u, xi, cov, out_u, 0, u.shape[0], retract)
    return _finite(out_u) and _finite(out_a), out_u, out_a


@njit(**_SWEEP)
def _log(u, a, v, b, cov, check):  # pragma: no cover - compiled
    """(ok, log_u v, b - a) (geometry.log, deterministic at the cut locus)."""
    out_u = np.empty(u.shape)
    out_a = b - a
    if check:
        cu = np.empty(u.shape)
        if not (_points_ok(u, cov, cu) and _points_ok(v, cov, cu) and _finite(out_a)):
            return False, out_u, out_a
    _log_rows(u, cov, v, out_u, 0, u.shape[0])
    return _finite(out_u) and _finite(out_a), out_u, out_a


@njit(**_SWEEP)
def _dist(u, a, v, b, cov, radius, check):  # pragma: no cover - compiled
    """(ok, sqrt(d_g(u, v)^2 + (a - b)^2) per neuron) (geometry.dist; MATH §5)."""
    out = np.empty(u.shape[0])
    if check:
        cu = np.empty(u.shape)
        if not (_points_ok(u, cov, cu) and _points_ok(v, cov, cu) and _finite(a)
                and _finite(b)):
            return False, out
    _dist_rows(u, v, radius, out, 0, u.shape[0])
    for i in range(u.shape[0]):
        out[i] = math.hypot(out[i], a[i] - b[i])
    return _finite(out), out


# ---------------------------------------------------------------------------
# geomstats' layout: rows (u, a) of length d + 1


@njit(**_SWEEP)
def _block(x, d):  # pragma: no cover - compiled
    """The ``u`` block ``x[:, :d]`` as a C-contiguous copy: the row loops then vectorize."""
    return np.ascontiguousarray(x[:, :d])


@njit(**_SWEEP)
def _join(u, a):  # pragma: no cover - compiled
    """Rows ``(u, a)`` of length d + 1."""
    out = np.empty((u.shape[0], u.shape[1] + 1))
    out[:, :-1] = u
    out[:, -1] = a
    return out


@njit(**_SWEEP)
def space_inner_product(x, v, w, cov, radius, check):  # pragma: no cover - compiled
    """(ok, <v, w>_x) for rows x, v, w of shape (N, d + 1) and a float radius."""
    d = cov.shape[0]
    return _inner_product(_block(x, d), x[:, d], _block(v, d), v[:, d], _block(w, d),
                          w[:, d], cov, np.full(1, radius * radius), check)


@njit(**_SWEEP)
def space_exp(x, v, cov, check):  # pragma: no cover - compiled
    """(ok, Exp_x v) for rows of shape (N, d + 1)."""
    d = cov.shape[0]
    ok, u, a = _step(_block(x, d), x[:, d], _block(v, d), v[:, d], cov, False, check)
    return ok, _join(u, a)


@njit(**_SWEEP)
def space_log(y, x, cov, check):  # pragma: no cover - compiled
    """(ok, Log_x y) for rows of shape (N, d + 1)."""
    d = cov.shape[0]
    ok, u, a = _log(_block(x, d), x[:, d], _block(y, d), y[:, d], cov, check)
    return ok, _join(u, a)


@njit(**_SWEEP)
def space_dist(x, y, cov, radius, check):  # pragma: no cover - compiled
    """(ok, d_M(x, y)) for rows of shape (N, d + 1) and a float radius."""
    d = cov.shape[0]
    return _dist(_block(x, d), x[:, d], _block(y, d), y[:, d], cov, np.full(1, radius), check)


# ---------------------------------------------------------------------------
# pymanopt's layout: U (m, d) and a (m,) apart, one radius per neuron; sums over neurons

#: (ok, exp_U xi or R_U xi, a + alpha) from ``rows_step(U, a, xi, alpha, cov, retract, check)``.
rows_step = _step
#: (ok, log_U V, b - a) from ``rows_log(U, a, V, b, cov, check)``.
rows_log = _log


@njit(**_SWEEP)
def rows_inner_product(U, a, xi, alpha, eta, beta, cov, radius_sq, check):  # pragma: no cover
    """(ok, sum_k r_k^2 g(xi_k, eta_k) + alpha_k beta_k)."""
    ok, out = _inner_product(U, a, xi, alpha, eta, beta, cov, radius_sq, check)
    return ok, out.sum()


@njit(**_SWEEP)
def rows_dist(U, a, V, b, cov, radius, check):  # pragma: no cover - compiled
    """(ok, sqrt(sum_k r_k^2 angle_k^2 + (a_k - b_k)^2))."""
    ok, out = _dist(U, a, V, b, cov, radius, check)
    return ok, math.sqrt((out * out).sum())


# ---------------------------------------------------------------------------
# the guard the callers run first (Python)

_FLOAT64 = np.dtype(np.float64)


def plain_float64(arrays: tuple, shape: tuple[int, ...]) -> bool:
    """Whether every array is a plain float64 ``numpy.ndarray`` (not a subclass) of ``shape``.

    Anything else (lists, other dtypes, masked arrays, autograd's traced arrays, torch
    tensors, broadcasting shapes) takes the caller's general path.

    Examples
    --------
    >>> import numpy as np
    >>> plain_float64((np.zeros(3), np.ones(3)), (3,))
    True
    >>> plain_float64((np.zeros(3), [1.0, 1.0, 1.0]), (3,))
    False
    """
    for x in arrays:
        if type(x) is not np.ndarray or x.shape != shape or x.dtype != _FLOAT64:
            return False
    return True
