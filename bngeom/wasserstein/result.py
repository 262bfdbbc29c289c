"""The result type of :func:`bngeom.wasserstein2` (``full_output=True``).

Examples
--------
>>> WassersteinResult(0.5, 0.25, "exact", "emd").value
0.5
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["WassersteinResult"]


@dataclass(frozen=True)
class WassersteinResult:
    r"""Full output of :func:`bngeom.wasserstein2` (``full_output=True``).

    Attributes
    ----------
    value : float
        The distance: :math:`W_2`, or :math:`\sqrt{\langle\pi_\varepsilon, C\rangle}`
        for Sinkhorn.
    cost : float
        Its square, the transport cost :math:`\langle\pi, C\rangle`; ``inf`` when it
        exceeds the float64 range (``value`` above about 1.3e154, which stays exact).
    method, solver : str
        ``"exact"`` / ``"sinkhorn"``; ``"emd"``, ``"dense"``, ``"multiscale"`` or ``"pot"``.
    n_iter : int
        Sinkhorn iterations over all stages (0 for the exact solver).
    marginal_error : float
        L1 error of the plan's marginals, the larger of the two (every Sinkhorn solver
        ends on an update that makes one of them exact; 0 for the exact solver).
    nnz : int
        Cost entries the solver worked on (``N1 * N2`` for dense solvers).
    info : dict
        Solver details: ``scale``, the power of two ``k`` by which radius and output
        weights were divided (every solver works on the cost over ``k**2``), and in
        those units the potentials ``f``, ``g``, stages, screening passes, ...
    """

    value: float
    cost: float
    method: str
    solver: str
    n_iter: int = 0
    marginal_error: float = 0.0
    nnz: int = 0
    info: dict = field(default_factory=dict)
