"""Training dynamics in the three charts, and their trajectories (MATH §2-3, §6).

:mod:`bngeom.dynamics.flows` integrates the BN, vanilla and Riemannian flows (gradient
descent or an ODE solver, with checkpoints and resume); :mod:`bngeom.dynamics.trajectory`
holds the :class:`~bngeom.dynamics.trajectory.Trajectory` container and its files;
:mod:`bngeom.dynamics.training` trains the BN network by mini-batch SGD as torch does. The
public names of all three are available here.
"""

from bngeom.dynamics.flows import *  # noqa: F403
from bngeom.dynamics.flows import __all__ as _flows_all
from bngeom.dynamics.training import *  # noqa: F403
from bngeom.dynamics.training import __all__ as _training_all

__all__ = list(_flows_all) + list(_training_all)
