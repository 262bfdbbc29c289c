r"""The 2-Wasserstein distance on :math:`M = N_\Sigma \times \mathbb R` between particle measures.

MATH §6, eq. (16): :math:`W_2(\rho_1, \rho_2)^2 = \inf_\pi \int d_M^2\,d\pi` with the
ground cost :math:`d_M((u,a),(v,b))^2 = d_g(u,v)^2 + (a-b)^2`, where :math:`d_g` is the
closed-form geodesic distance of :mod:`bngeom.geometry` (the angle between
:math:`\psi(u)` and :math:`\psi(v)`, times the radius). A particle measure is an array
of rows ``(u, a)``, shape ``(N, d+1)``, with ``u`` on :math:`N_\Sigma`, and optional
weights (uniform by default).

Two solvers:

* ``method="exact"``: the discrete optimal-transport linear program, solved by
  POT's network simplex (:func:`ot.emd2`) on the dense cost matrix.
* ``method="sinkhorn"``: entropic optimal transport with regularization ``reg``
  (in the units of :math:`d_M^2`). It returns :math:`\sqrt{\langle\pi_\varepsilon, C\rangle}`
  for the entropic plan :math:`\pi_\varepsilon`, an upper bound on :math:`W_2` that tends
  to it as ``reg -> 0``. Up to ``dense_limit`` cost entries: log-domain Sinkhorn
  (streaming log-sum-exp, so small ``reg`` never under- or overflows) with
  :math:`\varepsilon`-scaling and over-relaxation. Beyond: multiscale. A random
  subsample of ``coarse_size`` particles per side is solved densely, its potentials
  are extended to every particle by the c-transform, and the full problem is solved
  by stabilized (absorbing) Sinkhorn on the sparse support where the plan exceeds
  ``exp(-1.25 * truncation)`` of its row scale. A screening pass over all ``N1 x N2``
  pairs (in blocks, never the whole matrix) then re-checks the support with the final
  potentials, and the solve is repeated on a new support until no pair outside it
  carries more than ``exp(-truncation)``: the truncation error is certified, not
  assumed. ``solver="pot"`` runs POT's dense log-domain solver
  (:func:`ot.sinkhorn`, ``method="sinkhorn_log"``) instead, for comparison.

Examples
--------
>>> import numpy as np
>>> from bngeom import geometry as geo
>>> cov = np.diag([4.0, 1.0, 0.25])
>>> rng = np.random.default_rng(0)
>>> x = np.column_stack([geo.random_point(cov, 50, rng=1), rng.uniform(-1, 1, 50)])
>>> float(wasserstein2(x, x, cov))
0.0
>>> y = x.copy(); y[:, -1] += 0.5          # shift every output weight by 0.5
>>> round(float(wasserstein2(x, y, cov)), 12)
0.5
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import (
    as_float_array,
    check_covariance,
    check_on_manifold,
    check_positive_int,
    check_positive_scalar,
)
from bngeom.geometry import dist

__all__ = ["WassersteinResult", "pairwise_squared_dist", "wasserstein2", "DEFAULT_MEMORY_BUDGET"]

#: Default memory budget (bytes) for dense cost matrices and screening blocks.
DEFAULT_MEMORY_BUDGET = 512 * 2**20
#: Gram entries with |G| above 1 - _NEAR are recomputed by the core's dist
#: (acos of a rounded Gram entry near +-1 loses half the digits).
_NEAR = 1e-6
#: Tolerance on "weights sum to 1" (they are then renormalized exactly).
_WEIGHT_ATOL = 1e-8


@dataclass(frozen=True)
class WassersteinResult:
    r"""Full output of :func:`wasserstein2` (``full_output=True``).

    Attributes
    ----------
    value : float
        The distance: :math:`W_2`, or :math:`\sqrt{\langle\pi_\varepsilon, C\rangle}`
        for Sinkhorn.
    cost : float
        Its square, the transport cost :math:`\langle\pi, C\rangle`.
    method, solver : str
        ``"exact"`` / ``"sinkhorn"``; ``"emd"``, ``"dense"``, ``"multiscale"`` or ``"pot"``.
    n_iter : int
        Sinkhorn iterations over all stages (0 for the exact solver).
    marginal_error : float
        L1 error of the plan's first marginal (0 for the exact solver).
    nnz : int
        Cost entries the solver worked on (``N1 * N2`` for dense solvers).
    info : dict
        Solver details (stages, screening passes, ...).
    """

    value: float
    cost: float
    method: str
    solver: str
    n_iter: int = 0
    marginal_error: float = 0.0
    nnz: int = 0
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# compiled kernels


@numba.njit(parallel=True, cache=True)
def _cost_from_gram(gram, a, b, r2, out):  # pragma: no cover - compiled
    """out[i, j] = r2 * acos(clip(gram[i, j]))^2 + (a[i] - b[j])^2."""
    n1, n2 = gram.shape
    for i in numba.prange(n1):
        ai = a[i]
        for j in range(n2):
            t = math.acos(min(1.0, max(-1.0, gram[i, j])))
            da = ai - b[j]
            out[i, j] = r2 * t * t + da * da


@numba.njit(inline="always")
def _acos_approx(c):  # pragma: no cover - compiled
    # Abramowitz & Stegun 4.4.46: acos(x) = sqrt(1 - x) * poly(x) on [0, 1], |error| <= 2e-8.
    x = min(abs(c), 1.0)
    p = (1.5707963050 + x * (-0.2145988016 + x * (0.0889789874 + x * (-0.0501743046 + x * (
        0.0308918810 + x * (-0.0170881256 + x * (0.0066700901 + x * -0.0012624911)))))))
    t = math.sqrt(1.0 - x) * p
    return t if c >= 0 else math.pi - t


@numba.njit(parallel=True, cache=True)
def _screen_mask(gram, a, b, f, g, r2, bound, delta, mask):  # pragma: no cover - compiled
    """mask[i, j] = f[i] + g[j] + bound >= a lower bound of cost(i, j).

    ``gram`` may carry an absolute error up to ``delta`` (a float32 product): the
    angle is bounded below through ``acos(gram + delta)``, less the 2e-8 error of
    the polynomial, so no pair whose exact cost passes the test is missed.
    """
    n1, n2 = gram.shape
    for i in numba.prange(n1):
        ai = a[i]
        fi = f[i] + bound
        for j in range(n2):
            t = max(_acos_approx(gram[i, j] + delta) - 2.5e-8, 0.0)
            da = ai - b[j]
            mask[i, j] = fi + g[j] >= r2 * t * t + da * da


@numba.njit(parallel=True, cache=True)
def _pair_dots(x, y, rows, cols, out):  # pragma: no cover - compiled
    """out[k] = x[rows[k]] . y[cols[k]] in float64."""
    d = x.shape[1]
    for k in numba.prange(rows.shape[0]):
        i = rows[k]
        j = cols[k]
        s = 0.0
        for t in range(d):
            s += x[i, t] * y[j, t]
        out[k] = s


@numba.njit(cache=True, inline="always")
def _lse_row(cost, i, logw, other, inv):  # pragma: no cover - compiled
    """log sum_j exp(logw[j] + (other[j] - cost[i, j]) * inv), in one streaming pass.

    A running maximum ``m`` and the sum of ``exp(v - m)``, rescaled whenever the
    maximum grows, so nothing under- or overflows whatever the potentials.
    """
    m = -np.inf
    s = 0.0
    for j in range(cost.shape[1]):
        v = logw[j] + (other[j] - cost[i, j]) * inv
        if v <= m:
            s += math.exp(v - m)
        elif v > -np.inf:
            s = s * math.exp(m - v) + 1.0
            m = v
    return m + math.log(s)


@numba.njit(parallel=True, cache=True)
def _lse_dense_par(cost, logw, other, eps, out):  # pragma: no cover - compiled
    """out[i] = -eps log sum_j exp(logw[j] + (other[j] - cost[i, j])/eps), rows in parallel."""
    inv = 1.0 / eps
    for i in numba.prange(cost.shape[0]):
        out[i] = -eps * _lse_row(cost, i, logw, other, inv)


@numba.njit(cache=True)
def _lse_dense_ser(cost, logw, other, eps, out):  # pragma: no cover - compiled
    """Serial twin of :func:`_lse_dense_par` (small problems: no thread start-up)."""
    inv = 1.0 / eps
    for i in range(cost.shape[0]):
        out[i] = -eps * _lse_row(cost, i, logw, other, inv)


#: Below this many entries per call the serial kernels are faster than thread start-up.
_PARALLEL_MIN = 1 << 18


def _lse_dense(cost, logw, other, eps, out):
    kernel = _lse_dense_par if cost.size >= _PARALLEL_MIN else _lse_dense_ser
    kernel(cost, logw, other, eps, out)


# ---------------------------------------------------------------------------
# input handling


@dataclass(frozen=True)
class _Particles:
    unit: NDArray      # psi(u): unit directions, (N, d)
    u: NDArray         # points on N_Sigma, (N, d)
    a: NDArray         # output weights, (N,)
    w: NDArray         # weights, (N,), summing to 1
    logw: NDArray


def _particles(z: ArrayLike, cov: NDArray, name: str, weights: ArrayLike | None,
               wname: str, validate: bool) -> _Particles:
    d = cov.shape[0]
    if validate:
        z = as_float_array(z, name, min_ndim=2, max_ndim=2)
        if z.shape[1] != d + 1:
            raise ValueError(f"{name} must have shape (N, d + 1) = (N, {d + 1}) with rows (u, a), "
                             f"got shape {z.shape}")
    else:
        z = np.asarray(z)
    z = z.astype(np.float64, copy=False)
    u, a = z[:, :d], np.ascontiguousarray(z[:, d])
    if validate:
        check_on_manifold(u, u @ cov, f"{name}[:, :d]")
    n = z.shape[0]
    if weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = as_float_array(weights, wname, min_ndim=1, max_ndim=1).astype(np.float64)
        if w.shape[0] != n:
            raise ValueError(f"{wname} must have one weight per particle of {name}: "
                             f"got {w.shape[0]} weights for {n} particles")
        if np.any(w < 0):
            raise ValueError(f"{wname} must be nonnegative, its smallest entry is {w.min()}")
        total = float(w.sum())
        if abs(total - 1.0) > _WEIGHT_ATOL:
            raise ValueError(f"{wname} must sum to 1 (within {_WEIGHT_ATOL:.0e}), "
                             f"got sum {total!r}")
        w = w / total
    unit = u / np.linalg.norm(u, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    return _Particles(np.ascontiguousarray(unit), u, a, w, logw)


def _positive(p: _Particles) -> _Particles:
    keep = p.w > 0
    if np.all(keep):
        return p
    return _Particles(p.unit[keep], p.u[keep], p.a[keep], p.w[keep], p.logw[keep])


def _near_fix(cost: NDArray, gram: NDArray, rows: NDArray, cols: NDArray, p: _Particles,
              q: _Particles, cov: NDArray, radius: float) -> None:
    """Recompute entries whose Gram value is within _NEAR of +-1 with the core's dist."""
    sel = np.abs(gram) > 1.0 - _NEAR
    if not np.any(sel):
        return
    i, j = rows[sel], cols[sel]
    dg = dist(p.u[i], q.u[j], cov, radius=radius, validate=False)
    cost[sel] = dg * dg + (p.a[i] - q.a[j]) ** 2


def _dense_cost(p: _Particles, q: _Particles, cov: NDArray, radius: float) -> NDArray:
    gram = p.unit @ q.unit.T
    out = np.empty_like(gram)
    _cost_from_gram(gram, p.a, q.a, radius * radius, out)
    i, j = np.nonzero(np.abs(gram) > 1.0 - _NEAR)
    if i.size:
        vals = out[i, j]
        _near_fix(vals, gram[i, j], i, j, p, q, cov, radius)
        out[i, j] = vals
    return out


# ---------------------------------------------------------------------------
# public: the cost matrix


def pairwise_squared_dist(x: ArrayLike, y: ArrayLike, cov: ArrayLike, *,
                          radius: float = 1.0, validate: bool = True,
                          memory_budget: float = DEFAULT_MEMORY_BUDGET) -> NDArray:
    r"""All squared distances :math:`d_M^2 = d_g(u,v)^2 + (a-b)^2` on :math:`M` (MATH §6, eq. 16).

    The ground cost of eq. (16) between two particle sets, shape ``(N1, N2)``.
    :math:`d_g` is :func:`bngeom.geometry.dist` evaluated pairwise: from the Gram
    matrix of the unit directions :math:`\psi(u)` (one matrix product), with the
    pairs at angle below about 1e-3 from 0 or :math:`\pi` recomputed by
    :func:`bngeom.geometry.dist` itself, so every entry matches it to 1e-12.

    Parameters
    ----------
    x, y : array_like, shapes (N1, d + 1) and (N2, d + 1)
        Particles, rows ``(u, a)`` with ``u`` on :math:`N_\Sigma`.
    cov : array_like, shape (d, d)
    radius : float
        Radius ``r`` of the metric :math:`r^2 g` (one for all particles).
    validate : bool
        Check the inputs (shapes, points on :math:`N_\Sigma`).
    memory_budget : float
        Largest size in bytes of the returned matrix; larger requests raise
        ``ValueError`` (use ``wasserstein2(..., method="sinkhorn")``, which never
        materializes it).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    >>> pairwise_squared_dist(x, x, np.eye(2)).round(12).tolist()
    [[0.0, 6.467401100272], [6.467401100272, 0.0]]
    """
    cov = check_covariance(cov) if validate else np.asarray(cov, dtype=np.float64)
    r = check_positive_scalar(radius, "radius") if validate else float(radius)
    p = _particles(x, cov, "x", None, "", validate)
    q = _particles(y, cov, "y", None, "", validate)
    _check_dense_budget(p.a.size, q.a.size, memory_budget)
    return _dense_cost(p, q, cov, r)


def _check_dense_budget(n1: int, n2: int, memory_budget: float) -> None:
    budget = check_positive_scalar(memory_budget, "memory_budget")
    need = 8.0 * n1 * n2
    if need > budget:
        raise ValueError(
            f"the dense {n1} x {n2} cost matrix needs {need / 2**20:.0f} MiB, more than "
            f"memory_budget = {budget / 2**20:.0f} MiB; raise memory_budget or use "
            "method='sinkhorn', which works in blocks")


# ---------------------------------------------------------------------------
# public: W2


def wasserstein2(x: ArrayLike, y: ArrayLike, cov: ArrayLike, *,
                 weights_x: ArrayLike | None = None, weights_y: ArrayLike | None = None,
                 radius: float = 1.0, method: Literal["exact", "sinkhorn"] = "exact",
                 reg: float = 1e-2, tol: float = 1e-4, max_iter: int = 100_000,
                 solver: Literal["auto", "dense", "multiscale", "pot"] = "auto",
                 eps_scaling: float = 0.5, truncation: float = 30.0,
                 dense_limit: int = 2**21, coarse_size: int = 512,
                 memory_budget: float = DEFAULT_MEMORY_BUDGET, validate: bool = True,
                 full_output: bool = False) -> float | WassersteinResult:
    r"""2-Wasserstein distance between particle measures on M = N_Sigma x R (eq. 16).

    :math:`W_2(\rho_1,\rho_2)^2 = \min_\pi \sum_{ij}\pi_{ij}\,d_M(z_i, z'_j)^2` over
    couplings :math:`\pi` of the weights, with
    :math:`d_M^2 = d_g(u,v)^2 + (a-b)^2` (:func:`pairwise_squared_dist`).

    Parameters
    ----------
    x, y : array_like, shapes (N1, d + 1) and (N2, d + 1)
        Particles ``(u, a)``, ``u`` on :math:`N_\Sigma` (e.g. ``Trajectory.particles(k)``).
    cov : array_like, shape (d, d)
        Data covariance :math:`\Sigma`.
    weights_x, weights_y : array_like or None
        Nonnegative weights summing to 1; uniform when None.
    radius : float
        Radius ``r`` of the metric :math:`r^2 g` on :math:`N_\Sigma`.
    method : {"exact", "sinkhorn"}
        Exact linear program (POT's network simplex) or entropic transport.
    reg : float
        Entropic regularization :math:`\varepsilon` (units of :math:`d_M^2`), Sinkhorn only.
        The result exceeds the exact :math:`W_2^2` by at most about
        :math:`\varepsilon\log(N_1N_2)`.
    tol : float
        Sinkhorn stops when the L1 error of the plan's first marginal is below ``tol``.
    max_iter : int
        Most Sinkhorn iterations in the final stage (``numItermax`` for the exact solver is
        set from the problem size).
    solver : {"auto", "dense", "multiscale", "pot"}
        Sinkhorn solver: ``"auto"`` is ``"dense"`` when ``N1 * N2 <= dense_limit``, else
        ``"multiscale"`` (see the module docstring); ``"pot"`` is :func:`ot.sinkhorn2`
        (``method="sinkhorn_log"``) on the dense cost.
    eps_scaling : float
        Factor in (0, 1) between successive :math:`\varepsilon` of the annealing schedule.
    truncation : float
        The multiscale solver drops pairs whose plan entry is below
        ``exp(-truncation)`` times its row scale (certified by a final screening pass).
    dense_limit, coarse_size : int
        Largest dense problem; particles per side of the coarse multiscale problem.
    memory_budget : float
        Bytes allowed for a dense cost matrix (exact and dense solvers) and for each
        screening block (multiscale).
    validate : bool
        Check the inputs.
    full_output : bool
        Return a :class:`WassersteinResult` instead of a float.

    Returns
    -------
    float or WassersteinResult

    Raises
    ------
    ValueError
        Malformed particles or weights, points off :math:`N_\Sigma`, a dense matrix
        beyond ``memory_budget``, or an unknown method.
    RuntimeError
        If the exact solver stops before optimality.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0])
    >>> x = np.array([[0.5, 0.0, 0.0]]); y = np.array([[0.0, 1.0, 1.0]])
    >>> round(float(wasserstein2(x, y, cov) ** 2), 12)    # (pi/2)^2 + 1^2
    3.467401100272
    >>> z = np.array([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]])
    >>> round(float(wasserstein2(z, z, cov, method="sinkhorn", reg=1e-2)), 6)
    0.0
    """
    if method not in ("exact", "sinkhorn"):
        raise ValueError(f"method must be 'exact' or 'sinkhorn', got {method!r}")
    if solver not in ("auto", "dense", "multiscale", "pot"):
        raise ValueError(f"solver must be 'auto', 'dense', 'multiscale' or 'pot', got {solver!r}")
    cov = check_covariance(cov) if validate else np.asarray(cov, dtype=np.float64)
    r = check_positive_scalar(radius, "radius")
    p = _particles(x, cov, "x", weights_x, "weights_x", validate)
    q = _particles(y, cov, "y", weights_y, "weights_y", validate)
    p, q = _positive(p), _positive(q)      # zero-weight particles change nothing
    n1, n2 = p.a.size, q.a.size
    if method == "exact":
        return _finish(_exact(p, q, cov, r, memory_budget), full_output)
    eps = check_positive_scalar(reg, "reg")
    tol = check_positive_scalar(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    q_scale = check_positive_scalar(eps_scaling, "eps_scaling")
    if q_scale >= 1:
        raise ValueError(f"eps_scaling must be in (0, 1), got {eps_scaling}")
    theta = check_positive_scalar(truncation, "truncation")
    dense_limit = check_positive_int(dense_limit, "dense_limit")
    coarse_size = check_positive_int(coarse_size, "coarse_size")
    if solver == "auto":
        solver = "dense" if n1 * n2 <= dense_limit else "multiscale"
    if solver == "pot":
        res = _pot_sinkhorn(p, q, cov, r, eps, tol, max_iter, memory_budget)
    elif solver == "dense":
        _check_dense_budget(n1, n2, memory_budget)
        cost = _dense_cost(p, q, cov, r)
        res = _sinkhorn_dense(cost, p, q, eps, tol, max_iter, q_scale)
    else:
        res = _sinkhorn_multiscale(p, q, cov, r, eps, tol, max_iter, q_scale, theta,
                                   coarse_size, memory_budget)
    return _finish(res, full_output)


def _finish(res: WassersteinResult, full_output: bool) -> float | WassersteinResult:
    return res if full_output else res.value


_POT_BACKEND_KEYS = ("POT_BACKEND_DISABLE_PYTORCH", "POT_BACKEND_DISABLE_JAX",
                     "POT_BACKEND_DISABLE_TENSORFLOW", "POT_BACKEND_DISABLE_CUPY")


def _import_ot():
    """Import POT; on first import, without its torch/jax/tf/cupy backends.

    POT imports every array library it finds (about 10 s with torch installed) while
    bngeom only hands it numpy arrays. If POT is not imported yet, it is imported
    with those backends disabled (the process environment is restored afterwards).
    Set ``BNGEOM_POT_BACKENDS=1`` to keep them.
    """
    import sys

    if "ot" in sys.modules or os.environ.get("BNGEOM_POT_BACKENDS"):
        import ot

        return ot
    saved = {k: os.environ.get(k) for k in _POT_BACKEND_KEYS}
    try:
        for k in _POT_BACKEND_KEYS:
            os.environ.setdefault(k, "1")
        import ot
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ot


def _exact(p: _Particles, q: _Particles, cov: NDArray, r: float,
           memory_budget: float) -> WassersteinResult:
    ot = _import_ot()

    _check_dense_budget(p.a.size, q.a.size, memory_budget)
    cost = _dense_cost(p, q, cov, r)
    n_iter_max = max(1_000_000, 100 * (p.a.size + q.a.size) ** 2)
    val, log = ot.emd2(p.w, q.w, cost, numItermax=n_iter_max, log=True)
    if log.get("result_code", 1) != 1:
        raise RuntimeError(f"exact optimal transport did not reach optimality: {log['warning']}")
    val = max(float(val), 0.0)
    return WassersteinResult(math.sqrt(val), val, "exact", "emd", 0, 0.0, cost.size,
                             {"warning": log.get("warning")})


def _pot_sinkhorn(p, q, cov, r, eps, tol, max_iter, memory_budget) -> WassersteinResult:
    ot = _import_ot()

    _check_dense_budget(p.a.size, q.a.size, memory_budget)
    cost = _dense_cost(p, q, cov, r)
    plan, log = ot.sinkhorn(p.w, q.w, cost, eps, method="sinkhorn_log", numItermax=max_iter,
                            stopThr=tol, log=True, warn=False)
    val = float(np.sum(plan * cost))
    err = float(np.abs(plan.sum(axis=1) - p.w).sum())
    return WassersteinResult(math.sqrt(max(val, 0.0)), val, "sinkhorn", "pot",
                             int(log.get("niter", 0)), err, cost.size, {})


def _schedule(eps0: float, eps: float, factor: float) -> list[float]:
    out = []
    e = max(eps0, eps)
    while e > eps:
        out.append(e)
        e *= factor
    out.append(eps)
    return out


def _marginal_error(w: NDArray, old: NDArray, new: NDArray, eps: float) -> float:
    """L1 error of the marginal w * exp((old - new)/eps) that the update ``old -> new`` fixes."""
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.exp(np.clip((old - new) / eps, -700, 700))
    err = np.where(w > 0, w * np.abs(ratio - 1.0), 0.0)
    return float(np.sum(err))


def _iterate(row_update, col_update, f, g, p, q, eps, tol, max_iter, relax=True):
    """Alternate the two potential updates until the first marginal is within ``tol``.

    Log-domain Sinkhorn, over-relaxed (Thibault et al., 2017) once the iterates
    contract: the rate ``rho`` of plain iterations is measured over a window and the
    step becomes ``omega = 2 / (1 + sqrt(1 - rho))`` (capped at 1.9); any increase of the
    error resets ``omega`` to 1. The last update is a plain column update, so the
    second marginal is exact and the first is within ``tol`` when this returns.
    """
    fnew, gnew = np.empty_like(f), np.empty_like(g)
    err = np.inf
    relaxation = _OverRelaxation()
    omega = 1.0
    it = 0
    while it < max_iter:
        row_update(g, f, eps, fnew)
        err = _marginal_error(p.w, f, fnew, eps)
        it += 1
        if err <= tol:
            f, fnew = fnew, f
            col_update(f, g, eps, gnew)
            g, gnew = gnew, g
            break
        if omega != 1.0:
            fnew -= f
            fnew *= omega
            fnew += f
        f, fnew = fnew, f
        col_update(f, g, eps, gnew)
        if omega != 1.0:
            gnew -= g
            gnew *= omega
            gnew += g
        g, gnew = gnew, g
        if relax:
            omega = relaxation.update(err)
    return f, g, it, err


_RATE_WINDOW = 10
_RELAX_FROM = 1e-1
_OMEGA_MAX = 1.9
_INTERMEDIATE_TOL = 1e-2
_INTERMEDIATE_ITERS = 20


class _OverRelaxation:
    """The over-relaxation factor of Sinkhorn (Thibault et al., 2017), from the errors seen.

    Plain iterations (``omega = 1``) until ``_RATE_WINDOW`` errors below
    ``_RELAX_FROM`` give the contraction rate ``rho``; then
    ``omega = 2 / (1 + sqrt(1 - rho))``, capped at ``_OMEGA_MAX``. An error more than
    twice the best seen means divergence: back to ``omega = 1`` and a new window.
    """

    def __init__(self) -> None:
        self.omega = 1.0
        self._best = np.inf
        self._history: list[float] = []

    def update(self, err: float) -> float:
        """Record the error of the last iteration; return the factor for the next one."""
        if self.omega != 1.0 and err > 2.0 * self._best:
            self.omega = 1.0
            self._history.clear()
        self._best = min(self._best, err)
        self._history.append(err)
        if self.omega == 1.0 and len(self._history) >= _RATE_WINDOW and err < _RELAX_FROM:
            rho = (self._history[-1] / self._history[-_RATE_WINDOW]) ** (1.0 / (_RATE_WINDOW - 1))
            if 0.0 < rho < 1.0:
                self.omega = min(_OMEGA_MAX, 2.0 / (1.0 + math.sqrt(1.0 - rho)))
        return self.omega


def _anneal(row_update, col_update, f, g, p, q, eps0, eps, tol, max_iter, factor):
    stages = _schedule(eps0, eps, factor)
    total = 0
    err = np.inf
    for k, e in enumerate(stages):
        last = k == len(stages) - 1
        f, g, it, err = _iterate(row_update, col_update, f, g, p, q, e,
                                 tol if last else max(tol, _INTERMEDIATE_TOL),
                                 max_iter if last else _INTERMEDIATE_ITERS)
        total += it
    return f, g, total, err, len(stages)


def _sinkhorn_dense(cost: NDArray, p: _Particles, q: _Particles, eps: float, tol: float,
                    max_iter: int, factor: float) -> WassersteinResult:
    cost_t = np.ascontiguousarray(cost.T)

    def rows(g, f, e, out):
        _lse_dense(cost, q.logw, g, e, out)

    def cols(f, g, e, out):
        _lse_dense(cost_t, p.logw, f, e, out)

    f = np.zeros(p.a.size)
    g = np.zeros(q.a.size)
    f, g, n_iter, err, n_stages = _anneal(rows, cols, f, g, p, q, float(cost.max()) + eps,
                                          eps, tol, max_iter, factor)
    logplan = p.logw[:, None] + q.logw[None, :] + (f[:, None] + g[None, :] - cost) / eps
    plan = np.exp(logplan)
    val = float(np.sum(plan * cost))
    return WassersteinResult(math.sqrt(max(val, 0.0)), val, "sinkhorn", "dense", n_iter, err,
                             cost.size, {"stages": n_stages, "f": f, "g": g})


def _block_rows(n2: int, memory_budget: float) -> int:
    # A block of rows of a float64 cost matrix plus its temporaries (or a float32
    # Gram block, its mask and the flat indices of the survivors).
    return int(max(1, min(1 << 20, memory_budget // (24 * max(n2, 1)))))


def _screen(p: _Particles, q: _Particles, cov: NDArray, r: float, f: NDArray, g: NDArray,
            bound: float, memory_budget: float, pad: float = 1.0):
    """All pairs with f_i + g_j - C_ij >= -pad * bound, as CSR (indptr, cols, exact costs).

    ``keep`` flags the pairs with f_i + g_j - C_ij >= -bound (exact costs).
    """
    n1, n2 = p.a.size, q.a.size
    rows = _block_rows(n2, memory_budget)
    r2 = r * r
    slack = pad * bound
    # Screen with a float32 Gram matrix (half the time of float64), conservatively.
    x32, y32 = p.unit.astype(np.float32), q.unit.astype(np.float32)
    delta = (p.unit.shape[1] + 4) * float(np.finfo(np.float32).eps)
    parts_r, parts_c = [], []
    for i0 in range(0, n1, rows):
        i1 = min(n1, i0 + rows)
        gram = x32[i0:i1] @ y32.T
        mask = np.empty(gram.shape, dtype=np.bool_)
        _screen_mask(gram, p.a[i0:i1], q.a, f[i0:i1], g, r2, slack, delta, mask)
        flat = np.flatnonzero(mask)
        parts_r.append(flat // n2 + i0)
        parts_c.append(flat % n2)
        del gram, mask
    rows_idx = np.concatenate(parts_r)
    cols = np.concatenate(parts_c)
    grams = np.empty(rows_idx.size)
    _pair_dots(p.unit, q.unit, rows_idx, cols, grams)
    indptr = np.zeros(n1 + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows_idx, minlength=n1), out=indptr[1:])
    ang = np.arccos(np.clip(grams, -1.0, 1.0))
    cost = r2 * ang * ang + (p.a[rows_idx] - q.a[cols]) ** 2
    _near_fix(cost, grams, rows_idx, cols, p, q, cov, r)
    keep = f[rows_idx] + g[cols] - cost >= -bound
    return indptr, cols, cost, rows_idx, keep


def _c_transform(p: _Particles, q: _Particles, cov: NDArray, r: float, g: NDArray, eps: float,
                 memory_budget: float) -> NDArray:
    """f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps) for every particle of p (blocks of rows)."""
    out = np.empty(p.a.size)
    rows = _block_rows(q.a.size, memory_budget)
    for i0 in range(0, p.a.size, rows):
        i1 = min(p.a.size, i0 + rows)
        sub = _Particles(p.unit[i0:i1], p.u[i0:i1], p.a[i0:i1], p.w[i0:i1], p.logw[i0:i1])
        cost = _dense_cost(sub, q, cov, r)
        _lse_dense(cost, q.logw, g, eps, out[i0:i1])
    return out


def _subsample(p: _Particles, k: int, rng: np.random.Generator) -> _Particles:
    if k >= p.a.size:
        return p
    positive = np.flatnonzero(p.w > 0)
    idx = np.sort(rng.choice(positive, size=min(k, positive.size), replace=False,
                             p=p.w[positive] / p.w[positive].sum()))
    w = p.w[idx] / p.w[idx].sum()
    return _Particles(p.unit[idx], p.u[idx], p.a[idx], w, np.log(w))


_MAX_SCREENS = 8
#: Marginal tolerance of the coarse problem (a warm start only).
_COARSE_TOL = 1e-2
#: The support is built with this multiple of the certified bound, so that the
#: potentials can move a little before a pair outside it starts to matter.
_SUPPORT_PAD = 1.25


def _iterate_scaling(csr, csr_t, f0, g0, p, q, eps, tol, max_iter):
    """Stabilized Sinkhorn on a sparse support (Schmitzer, 2019), over-relaxed as in _iterate.

    The kernel ``K_ij = exp((f0_i + g0_j - C_ij)/eps)`` is stored on the support and
    the potentials are ``f = f0 + eps log u``, ``g = g0 + eps log v``; an iteration is
    two sparse products. Scalings leaving ``[e^-100, e^100]`` are absorbed into
    ``f0, g0`` and the kernel recomputed, so nothing under- or overflows.
    """
    from scipy import sparse

    ptr_r, idx_r, cost_r = csr.indptr, csr.indices, csr.data
    ptr_t, idx_t, cost_t = csr_t.indptr, csr_t.indices, csr_t.data
    rows_r = np.repeat(np.arange(csr.shape[0]), np.diff(ptr_r))
    rows_t = np.repeat(np.arange(csr_t.shape[0]), np.diff(ptr_t))
    # Kernel matrices on the support, rewritten in place on absorption.
    mat_r = sparse.csr_matrix((np.empty_like(cost_r), idx_r, ptr_r), shape=csr.shape)
    mat_t = sparse.csr_matrix((np.empty_like(cost_t), idx_t, ptr_t), shape=csr_t.shape)

    def kernel(f0, g0):
        np.exp((f0[rows_r] + g0[idx_r] - cost_r) / eps, out=mat_r.data)
        np.exp((g0[rows_t] + f0[idx_t] - cost_t) / eps, out=mat_t.data)

    def rows(v):
        return 1.0 / (mat_r @ (q.w * v))

    def cols(u):
        return 1.0 / (mat_t @ (p.w * u))

    kernel(f0, g0)
    u, v = np.ones(csr.shape[0]), np.ones(csr.shape[1])
    relaxation = _OverRelaxation()
    omega = 1.0
    err = np.inf
    it = 0
    while it < max_iter:
        u_new = rows(v)
        err = float(np.sum(p.w * np.abs(u / u_new - 1.0)))
        it += 1
        if err <= tol:
            u = u_new
            v = cols(u)
            break
        u = u_new if omega == 1.0 else u ** (1.0 - omega) * u_new ** omega
        v_new = cols(u)
        v = v_new if omega == 1.0 else v ** (1.0 - omega) * v_new ** omega
        omega = relaxation.update(err)
        lu, lv = np.log(u), np.log(v)
        if max(np.abs(lu).max(), np.abs(lv).max()) > _ABSORB:
            f0, g0 = f0 + eps * lu, g0 + eps * lv
            kernel(f0, g0)
            u[:], v[:] = 1.0, 1.0
    return f0 + eps * np.log(u), g0 + eps * np.log(v), it, err


_ABSORB = 100.0


def _subset(keys: NDArray, sorted_keys: NDArray) -> bool:
    """Whether every entry of ``keys`` occurs in the sorted array ``sorted_keys``."""
    if keys.size == 0:
        return True
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, sorted_keys.size - 1)
    return bool(np.all(sorted_keys[pos] == keys))


def _sinkhorn_multiscale(p: _Particles, q: _Particles, cov: NDArray, r: float, eps: float,
                         tol: float, max_iter: int, factor: float, theta: float,
                         coarse_size: int, memory_budget: float) -> WassersteinResult:
    from scipy import sparse

    rng = np.random.default_rng(0)
    pc, qc = _subsample(p, coarse_size, rng), _subsample(q, coarse_size, rng)
    clock = time.perf_counter()
    times = {}
    coarse = _sinkhorn_dense(_dense_cost(pc, qc, cov, r), pc, qc, eps, max(tol, _COARSE_TOL),
                             max_iter, factor)
    # Extend the coarse potentials to every particle by the c-transform (both sides).
    f = _c_transform(p, qc, cov, r, coarse.info["g"], eps, memory_budget)
    g = _c_transform(q, pc, cov, r, coarse.info["f"], eps, memory_budget)
    times["coarse"] = time.perf_counter() - clock
    times["screen"] = times["iterate"] = 0.0
    n_iter = coarse.n_iter
    bound = theta * eps
    screens = 0
    support_keys = None
    csr = None
    err = np.inf
    n2 = q.a.size
    while True:
        clock = time.perf_counter()
        _, cols, cost, rows_idx, keep = _screen(p, q, cov, r, f, g, bound, memory_budget,
                                                _SUPPORT_PAD)
        times["screen"] += time.perf_counter() - clock
        screens += 1
        keys = rows_idx * n2 + cols
        if support_keys is not None and _subset(keys[keep], support_keys):
            break          # certified: every pair that matters is inside the support
        if screens > _MAX_SCREENS:
            raise RuntimeError("multiscale Sinkhorn: the sparse support did not stabilize "
                               f"after {_MAX_SCREENS} screening passes; increase reg")
        indptr = np.zeros(p.a.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows_idx, minlength=p.a.size), out=indptr[1:])
        if np.any(np.diff(indptr) == 0) or np.any(np.bincount(cols, minlength=n2) == 0):
            # Potentials too far off for this support: widen it and screen again.
            bound *= 2.0
            support_keys = None
            continue
        support_keys = keys
        csr = sparse.csr_matrix((cost, cols, indptr), shape=(p.a.size, n2))
        csr_t = csr.T.tocsr()
        clock = time.perf_counter()
        f, g, it, err = _iterate_scaling(csr, csr_t, f, g, p, q, eps, tol, max_iter)
        times["iterate"] += time.perf_counter() - clock
        n_iter += it
    rows_idx = np.repeat(np.arange(p.a.size), np.diff(csr.indptr))
    plan = np.exp(p.logw[rows_idx] + q.logw[csr.indices]
                  + (f[rows_idx] + g[csr.indices] - csr.data) / eps)
    val = float(np.sum(plan * csr.data))
    mass = np.bincount(rows_idx, weights=plan, minlength=p.a.size)
    return WassersteinResult(math.sqrt(max(val, 0.0)), val, "sinkhorn", "multiscale", n_iter,
                             float(np.abs(mass - p.w).sum()), int(csr.nnz),
                             {"screens": screens, "coarse_size": pc.a.size,
                              "coarse_iterations": coarse.n_iter, "bound": bound,
                              "seconds": times})
