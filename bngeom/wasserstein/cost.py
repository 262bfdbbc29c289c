r"""The ground cost of W2 on :math:`M = N_\Sigma\times\mathbb R` (MATH §6, eq. 16).

:math:`d_M((u,a),(v,b))^2 = d_g(u,v)^2 + (a-b)^2`, with :math:`d_g` the geodesic distance
of :func:`bngeom.geometry.dist`: its angle comes from the geometry core's one compiled
definition (:func:`bngeom.geometry._compiled.pair_angle`, inlined here), so every entry
equals ``geometry.dist(u, v)**2 + (a - b)**2`` to a few ulp, with exact zeros for equal
points and full accuracy near 0 and :math:`\pi`.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
>>> pairwise_squared_dist(x, x, np.eye(2)).round(12).tolist()
[[0.0, 6.467401100272], [6.467401100272, 0.0]]
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import check_covariance, check_positive_scalar
from bngeom.geometry._compiled import pair_angle
from bngeom.wasserstein._particles import Particles, cost_scale, particles
from bngeom.wasserstein.options import DEFAULT_MEMORY_BUDGET

# dense_cost, pair_cost and check_dense_budget serve the solvers of this package.
__all__ = ["pairwise_squared_dist"]

_MAX = float(np.finfo(np.float64).max)


@numba.njit(inline="always", cache=True)
def _cost_ij(u, nu, a, i, v, nv, b, j, r2):  # pragma: no cover - compiled
    """d_M^2 = r^2 angle(psi(u_i), psi(v_j))^2 + (a_i - b_j)^2 (MATH §6, eq. 16)."""
    t = pair_angle(u, i, nu[i], v, j, nv[j])
    da = a[i] - b[j]
    return r2 * t * t + da * da


@numba.njit(parallel=True, cache=True)
def _cost_dense(u, nu, a, v, nv, b, r2, out):  # pragma: no cover - compiled
    for i in numba.prange(u.shape[0]):
        for j in range(v.shape[0]):
            out[i, j] = _cost_ij(u, nu, a, i, v, nv, b, j, r2)


@numba.njit(parallel=True, cache=True)
def _cost_pairs(u, nu, a, v, nv, b, r2, rows, cols, out):  # pragma: no cover - compiled
    for k in numba.prange(rows.shape[0]):
        out[k] = _cost_ij(u, nu, a, rows[k], v, nv, b, cols[k], r2)


def dense_cost(p: Particles, q: Particles, radius: float) -> NDArray:
    """The ``(N1, N2)`` matrix of :math:`d_M^2` between checked particles."""
    out = np.empty((p.a.size, q.a.size))
    _cost_dense(p.u, p.norm, p.a, q.u, q.norm, q.a, radius * radius, out)
    return out


def pair_cost(p: Particles, q: Particles, radius: float, rows: NDArray,
              cols: NDArray) -> NDArray:
    """:math:`d_M^2` of the pairs ``(p[rows[k]], q[cols[k]])``."""
    out = np.empty(rows.size)
    _cost_pairs(p.u, p.norm, p.a, q.u, q.norm, q.a, radius * radius, rows, cols, out)
    return out


def check_dense_budget(n1: int, n2: int, memory_budget: float) -> None:
    """Raise ``ValueError`` when an ``n1 x n2`` float64 matrix exceeds ``memory_budget``."""
    budget = check_positive_scalar(memory_budget, "memory_budget")
    need = 8.0 * n1 * n2
    if need > budget:
        raise ValueError(
            f"the dense {n1} x {n2} cost matrix needs {need / 2**20:.0f} MiB, more than "
            f"memory_budget = {budget / 2**20:.0f} MiB; raise memory_budget or use "
            "method='sinkhorn', which works in blocks")


def pairwise_squared_dist(x: ArrayLike, y: ArrayLike, cov: ArrayLike, *,
                          radius: float = 1.0, validate: bool = True,
                          memory_budget: float = DEFAULT_MEMORY_BUDGET) -> NDArray:
    r"""All squared distances :math:`d_M^2 = d_g(u,v)^2 + (a-b)^2` on :math:`M` (MATH §6, eq. 16).

    The ground cost of eq. (16) between two particle sets, shape ``(N1, N2)``:
    :func:`bngeom.geometry.dist` squared, evaluated pairwise by the geometry core's
    compiled angle, plus the squared difference of the output weights.

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

    Returns
    -------
    ndarray, shape (N1, N2)

    Raises
    ------
    ValueError
        Malformed particles, points off :math:`N_\Sigma`, a matrix beyond
        ``memory_budget``, or squared distances beyond the float64 range (output
        weights or ``radius`` of about 1e154 and more; :func:`bngeom.wasserstein2`
        handles those by rescaling).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    >>> pairwise_squared_dist(x, x, np.eye(2), radius=2.0).round(12).tolist()
    [[0.0, 13.869604401089], [13.869604401089, 0.0]]
    """
    cov = check_covariance(cov) if validate else np.asarray(cov, dtype=np.float64)
    r = check_positive_scalar(radius, "radius") if validate else float(radius)
    p = particles(x, cov, "x", None, "", validate)
    q = particles(y, cov, "y", None, "", validate)
    check_dense_budget(p.a.size, q.a.size, memory_budget)
    k = cost_scale(p, q, r)
    if 8.0 * k * k > _MAX:
        raise ValueError("the squared distances may overflow float64: pi * radius and "
                         "the spread of the output weights x[:, -1], y[:, -1] must be below "
                         f"{(_MAX / 8) ** 0.5:.3g}, got {k:.3g} or more; wasserstein2 "
                         "handles such measures by rescaling")
    return dense_cost(p, q, r)
