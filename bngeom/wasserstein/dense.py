r"""Dense solvers through POT: exact transport and POT's log-domain Sinkhorn.

Both take the full cost matrix :math:`C_{ij} = d_M^2` (:mod:`bngeom.wasserstein.cost`)
and the weights; the exact solver is POT's network simplex (:func:`ot.emd2`), the
entropic one :func:`ot.sinkhorn` with ``method="sinkhorn_log"``. The hand-written
log-domain solver that ``solver="dense"`` runs (faster on B4, see
``docs/performance.md``) lives in :mod:`bngeom.wasserstein.logsinkhorn`.

Examples
--------
>>> import numpy as np
>>> w = np.array([0.5, 0.5])
>>> exact(np.array([[0.0, 1.0], [1.0, 0.0]]), w, w).cost
0.0
"""

from __future__ import annotations

import math
import os
import sys
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from bngeom.wasserstein.result import WassersteinResult

__all__ = ["exact", "pot_sinkhorn"]

_POT_BACKEND_KEYS = ("POT_BACKEND_DISABLE_PYTORCH", "POT_BACKEND_DISABLE_JAX",
                     "POT_BACKEND_DISABLE_TENSORFLOW", "POT_BACKEND_DISABLE_CUPY")


def import_ot() -> ModuleType:
    """Import POT; on first import, without its torch/jax/tf/cupy backends.

    POT imports every array library it finds (about 10 s with torch installed) while
    bngeom only hands it numpy arrays. If POT is not imported yet, it is imported
    with those backends disabled (the process environment is restored afterwards).
    Set ``BNGEOM_POT_BACKENDS=1`` to keep them.
    """
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


def exact(cost: NDArray, wx: NDArray, wy: NDArray) -> WassersteinResult:
    """Exact optimal transport (POT's network simplex) on the dense cost (eq. 16).

    Parameters
    ----------
    cost : ndarray, shape (N1, N2)
        Ground cost, e.g. :func:`bngeom.wasserstein.pairwise_squared_dist`.
    wx, wy : ndarray, shapes (N1,) and (N2,)
        Weights, each summing to 1.

    Returns
    -------
    WassersteinResult
        ``solver="emd"``; raises ``RuntimeError`` if POT stops before optimality.

    Examples
    --------
    >>> import numpy as np
    >>> res = exact(np.array([[1.0, 4.0], [4.0, 1.0]]), np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    >>> res.cost, res.value
    (1.0, 1.0)
    """
    ot = import_ot()
    n_iter_max = max(1_000_000, 100 * (wx.size + wy.size) ** 2)
    val, log = ot.emd2(wx, wy, cost, numItermax=n_iter_max, log=True)
    if log.get("result_code", 1) != 1:
        raise RuntimeError(f"exact optimal transport did not reach optimality: {log['warning']}")
    val = max(float(val), 0.0)
    return WassersteinResult(math.sqrt(val), val, "exact", "emd", 0, 0.0, cost.size,
                             {"warning": log.get("warning")})


def pot_sinkhorn(cost: NDArray, wx: NDArray, wy: NDArray, eps: float, tol: float,
                 max_iter: int) -> WassersteinResult:
    """Entropic transport by POT's log-domain Sinkhorn (``ot.sinkhorn``, ``sinkhorn_log``).

    Parameters
    ----------
    cost : ndarray, shape (N1, N2)
        Ground cost.
    wx, wy : ndarray
        Weights, each summing to 1.
    eps, tol, max_iter : float, float, int
        Regularization (units of ``cost``), L1 tolerance on the marginals (POT's
        ``stopThr`` is ``tol / sqrt(N2)``: it tests an L2 norm), POT's ``numItermax``.

    Returns
    -------
    WassersteinResult
        ``solver="pot"``, with the larger L1 error of the plan's two marginals.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([0.5, 0.5])
    >>> res = pot_sinkhorn(np.array([[0.0, 1.0], [1.0, 0.0]]), w, w, 1e-2, 1e-9, 1000)
    >>> round(res.cost, 12), res.solver
    (0.0, 'pot')
    """
    ot = import_ot()
    # POT stops on the L2 norm of the second marginal's error; L1 <= sqrt(N2) * L2, so
    # this threshold gives the documented L1 error <= tol.
    plan, log = ot.sinkhorn(wx, wy, cost, eps, method="sinkhorn_log", numItermax=max_iter,
                            stopThr=tol / math.sqrt(wy.size), log=True, warn=False)
    val = float(np.sum(plan * cost))
    err = max(float(np.abs(plan.sum(axis=1) - wx).sum()),
              float(np.abs(plan.sum(axis=0) - wy).sum()))
    return WassersteinResult(math.sqrt(max(val, 0.0)), val, "sinkhorn", "pot",
                             int(log.get("niter", 0)), err, cost.size, {})
