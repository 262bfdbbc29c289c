r"""The 2-Wasserstein distance on :math:`M = N_\Sigma \times \mathbb R` between particle measures.

MATH §6, eq. (16): :math:`W_2(\rho_1, \rho_2)^2 = \inf_\pi \int d_M^2\,d\pi` with the
ground cost :math:`d_M((u,a),(v,b))^2 = d_g(u,v)^2 + (a-b)^2`, where :math:`d_g` is the
closed-form geodesic distance of :mod:`bngeom.geometry`. A particle measure is an array
of rows ``(u, a)``, shape ``(N, d+1)``, with ``u`` on :math:`N_\Sigma`, and optional
weights (uniform by default).

Modules, one job each:

* :mod:`~bngeom.wasserstein.options` -- :class:`SinkhornOptions`,
  :class:`MultiscaleOptions`, :class:`MemoryOptions`, :class:`WassersteinOptions`;
* :mod:`~bngeom.wasserstein._particles` -- checked particles and the cost scale (private);
* :mod:`~bngeom.wasserstein.cost` -- the ground cost, :func:`pairwise_squared_dist`;
* :mod:`~bngeom.wasserstein.dense` -- POT: exact (:func:`ot.emd2`) and log-domain
  Sinkhorn (:func:`ot.sinkhorn`, ``method="sinkhorn_log"``, ``solver="pot"``);
* :mod:`~bngeom.wasserstein.logsinkhorn` -- the annealed, over-relaxed dense
  log-domain Sinkhorn (``solver="dense"``; faster than POT's on B4, see
  ``docs/performance.md``);
* :mod:`~bngeom.wasserstein.multiscale` -- the certified sparse solver for measures
  beyond ``dense_limit`` cost entries, which POT lacks.

Every solver works on the cost divided by :math:`k^2`, ``k`` the power of two with
:math:`s/k \in [1, 2)` for :math:`s = \max(\pi r, \max a - \min a)` over both measures
(radius and output weights divided by ``k``, exactly; :math:`d_M \le \sqrt 2\, s`), so
output weights of 1e154 or 1e-200 give the right distance.

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
>>> round(float(wasserstein2(x * [1, 1, 1, 1e154], y * [1, 1, 1, 1e154], cov) / 1e154), 12)
0.5
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from bngeom._validation import check_covariance, check_positive_scalar
from bngeom.wasserstein._particles import Particles, cost_scale, particles, positive
from bngeom.wasserstein.cost import check_dense_budget, dense_cost, pairwise_squared_dist
from bngeom.wasserstein.dense import exact, pot_sinkhorn
from bngeom.wasserstein.logsinkhorn import sinkhorn_log_dense
from bngeom.wasserstein.multiscale import sinkhorn_multiscale
from bngeom.wasserstein.options import (
    DEFAULT_MEMORY_BUDGET,
    MemoryOptions,
    MultiscaleOptions,
    SinkhornOptions,
    WassersteinOptions,
    resolve_options,
)
from bngeom.wasserstein.result import WassersteinResult

__all__ = ["DEFAULT_MEMORY_BUDGET", "MemoryOptions", "MultiscaleOptions", "SinkhornOptions",
           "WassersteinOptions", "WassersteinResult", "pairwise_squared_dist", "wasserstein2"]

_Options = WassersteinOptions | SinkhornOptions | MultiscaleOptions | MemoryOptions


def wasserstein2(x: ArrayLike, y: ArrayLike, cov: ArrayLike, *,
                 weights_x: ArrayLike | None = None, weights_y: ArrayLike | None = None,
                 radius: float = 1.0, method: Literal["exact", "sinkhorn"] = "exact",
                 options: _Options | None = None, full_output: bool = False,
                 **legacy: Any) -> float | WassersteinResult:
    r"""2-Wasserstein distance between particle measures on M = N_Sigma x R (eq. 16).

    :math:`W_2(\rho_1,\rho_2)^2 = \min_\pi \sum_{ij}\pi_{ij}\,d_M(z_i, z'_j)^2` over
    couplings :math:`\pi` of the weights, with
    :math:`d_M^2 = d_g(u,v)^2 + (a-b)^2` (:func:`pairwise_squared_dist`).

    Parameters
    ----------
    x, y : array_like, shapes (N1, d + 1) and (N2, d + 1)
        Particles ``(u, a)``, ``u`` on :math:`N_\Sigma` (e.g. ``Trajectory.particles(k)``),
        output weights :math:`|a| \le 2^{1021}` (about 4.5e307).
    cov : array_like, shape (d, d)
        Data covariance :math:`\Sigma`.
    weights_x, weights_y : array_like or None
        Nonnegative weights summing to 1; uniform when None.
    radius : float
        Radius ``r`` of the metric :math:`r^2 g` on :math:`N_\Sigma`.
    method : {"exact", "sinkhorn"}
        Exact linear program (POT's network simplex) or entropic transport.
    options : WassersteinOptions, SinkhornOptions, MultiscaleOptions or MemoryOptions
        Solver options (:mod:`bngeom.wasserstein.options`); defaults when None. The
        0.1 keywords ``reg``, ``tol``, ``max_iter``, ``solver``, ``eps_scaling``
        (:class:`SinkhornOptions`), ``truncation``, ``dense_limit``, ``coarse_size``
        (:class:`MultiscaleOptions`) and ``memory_budget`` (:class:`MemoryOptions`)
        are still accepted and replace the matching field.
    full_output : bool
        Return a :class:`WassersteinResult` instead of a float.
    **legacy
        ``validate=`` (bool, default True: check the inputs; it sets
        ``WassersteinOptions.validate``) and the 0.1 keywords listed under ``options``.

    Returns
    -------
    float or WassersteinResult

    Raises
    ------
    ValueError
        Malformed particles or weights, points off :math:`N_\Sigma`, output weights or
        radius beyond the float64 range, a dense matrix beyond the memory budget, a bad
        option, or an unknown method.
    TypeError
        An unknown keyword or an option of the wrong type.
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
    >>> round(float(wasserstein2(z, z, cov, method="sinkhorn",
    ...                          options=SinkhornOptions(reg=1e-2))), 6)
    0.0
    >>> round(float(wasserstein2(z, z, cov, method="sinkhorn", reg=1e-2)), 6)  # 0.1 keyword
    0.0
    """
    if not isinstance(method, str) or method not in ("exact", "sinkhorn"):
        raise ValueError(f"method must be 'exact' or 'sinkhorn', got {method!r}")
    opts = resolve_options(options, legacy)
    validate = opts.validate
    cov = check_covariance(cov) if validate else np.asarray(cov, dtype=np.float64)
    r = check_positive_scalar(radius, "radius")
    p = positive(particles(x, cov, "x", weights_x, "weights_x", validate))
    q = positive(particles(y, cov, "y", weights_y, "weights_y", validate))
    k = cost_scale(p, q, r)           # zero-weight particles change nothing (dropped above)
    res = _solve(p.scaled(k), q.scaled(k), r / k, method, opts, k)
    res = _unscale(res, k)
    return res if full_output else res.value


def _solve(p: Particles, q: Particles, r: float, method: str, opts: WassersteinOptions,
           k: float) -> WassersteinResult:
    """Run the solver ``method``/``opts`` on particles whose costs are of order one."""
    budget = opts.memory.budget
    if method == "exact":
        check_dense_budget(p.a.size, q.a.size, budget)
        return exact(dense_cost(p, q, r), p.w, q.w)
    sk, ms = opts.sinkhorn, opts.multiscale
    eps = sk.reg / k / k              # reg in the units of the rescaled cost
    if not np.finfo(np.float64).tiny <= eps < np.inf:
        raise ValueError(f"reg = {sk.reg!r} is out of range for the costs (of order "
                         f"{k:.3g}^2, from radius and output weights): reg / {k:.3g}^2 = "
                         f"{eps:.3g} must be a normal positive float")
    solver = sk.solver
    if solver == "auto":
        solver = "dense" if p.a.size * q.a.size <= ms.dense_limit else "multiscale"
    if solver == "multiscale":
        return sinkhorn_multiscale(p, q, r, eps, sk.tol, sk.max_iter, sk.eps_scaling,
                                   ms.truncation, ms.coarse_size, budget)
    check_dense_budget(p.a.size, q.a.size, budget)
    cost = dense_cost(p, q, r)
    if solver == "pot":
        return pot_sinkhorn(cost, p.w, q.w, eps, sk.tol, sk.max_iter)
    return sinkhorn_log_dense(cost, p.w, q.w, eps, sk.tol, sk.max_iter, sk.eps_scaling)


def _unscale(res: WassersteinResult, k: float) -> WassersteinResult:
    """Back to the units of :math:`d_M`: value times ``k``, cost times ``k^2``.

    The cost overflows to ``inf`` only when :math:`W_2^2` itself exceeds the float64
    range; the value stays exact. Solver details (potentials, bounds) stay in the
    units of the rescaled cost, ``info["scale"]`` = ``k``.
    """
    return replace(res, value=res.value * k, cost=res.cost * (k * k),
                   info={**res.info, "scale": k})
