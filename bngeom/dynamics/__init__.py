"""Training dynamics in the three charts, and their trajectories (MATH §2-3, §6).

:mod:`bngeom.dynamics.flows` integrates the BN, vanilla and Riemannian flows (gradient
descent or an ODE solver, with checkpoints and resume); :mod:`bngeom.dynamics.trajectory`
holds the :class:`~bngeom.dynamics.trajectory.Trajectory` container and its files;
:mod:`bngeom.dynamics.training` trains the BN network by mini-batch SGD as torch does. The
public names of all three are available here.

Examples
--------
The BN gradient flow and torch's mini-batch SGD from one start:

>>> import numpy as np
>>> from bngeom.nn.data import make_teacher_dataset
>>> ds = make_teacher_dataset(64, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
>>> rng = np.random.default_rng(1)
>>> W0, a0 = rng.standard_normal((6, 3)), rng.standard_normal(6)
>>> traj = simulate(ds, W0, a0, t_end=1.0, n_records=5)
>>> traj.loss.shape, traj.W.shape
((5,), (5, 6, 3))
>>> bool(traj.loss[-1] < traj.loss[0])
True
>>> bool(np.allclose(traj.radius, np.linalg.norm(W0, axis=1)))  # radii are invariant
True
>>> traj.energy_identity_error() < 1e-5
True
>>> sgd = train(ds, W0, a0, lr=0.5, steps=20, momentum=0.9, weight_decay=1e-3,
...             batch_size=16, batch_norm="batch", rng=0)
>>> sgd.W.shape, float(sgd.times[-1])
((21, 6, 3), 20.0)
>>> bool(sgd.loss[-1] < sgd.loss[0])
True
"""

from bngeom.dynamics.flows import *  # noqa: F403
from bngeom.dynamics.flows import __all__ as _flows_all
from bngeom.dynamics.training import *  # noqa: F403
from bngeom.dynamics.training import __all__ as _training_all

__all__ = list(_flows_all) + list(_training_all)
