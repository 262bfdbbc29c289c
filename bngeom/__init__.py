"""bngeom: the Riemannian geometry of two-layer neural networks with batch normalization.

Gradient descent on a BN network is gradient descent on a network without BN, on
the manifold ``M = S^{d-1}_Sigma x R`` with the metric built from the
pseudo-inverse ``G(u)^+`` (Ma & Ying, 2021). This package computes that geometry
exactly and in closed form:

* :mod:`bngeom.geometry` -- the batched metric core on ``N_Sigma`` and the charts
  ``phi`` (BN -> N_Sigma) and ``psi`` (N_Sigma -> sphere) (:mod:`bngeom.geometry.charts`);
* :mod:`bngeom.nn` -- the BN network, its vanilla twin, losses and exact gradients
  (:mod:`bngeom.nn.model`), activations and losses, data and teachers, and
  ``bngeom.load_dataset`` for your own data (:mod:`bngeom.nn.datasets`);
* :mod:`bngeom.adapters` -- ``bngeom.BNSpace`` / ``bngeom.BNMetric`` for geomstats,
  ``bngeom.BNManifold`` / ``bngeom.make_problem`` for pymanopt;
* :mod:`bngeom.dynamics` -- ``bngeom.simulate`` / ``bngeom.Trajectory``, the three dynamics
  and their trajectories; ``bngeom.train``, mini-batch SGD as ``torch.optim.SGD`` runs it;
* :mod:`bngeom.wasserstein` -- ``bngeom.wasserstein2``, the 2-Wasserstein distance on ``M``;
* :mod:`bngeom.experiments` -- the paper's claims, ``bngeom reproduce``, and
  ``bngeom.run_sweep`` (width x seed grids through joblib or Dask);
* :mod:`bngeom.testing` -- hypothesis strategies for downstream tests.

Imports flow one way: geometry -> nn and adapters -> dynamics and wasserstein ->
experiments -> the CLI. The 0.1 module paths (``bngeom.charts``, ``bngeom.model``,
``bngeom.data``, ``bngeom.functions``, ``bngeom.geomstats_space``, ...) still import: each
is the moved module itself.

The adapters are imported lazily, so ``import bngeom`` does not import
geomstats or pymanopt until they are used.
"""

from importlib import import_module
from typing import Any

from bngeom import geometry
from bngeom.geometry import charts
from bngeom.geometry.charts import (
    covariance_norm,
    manifold_to_sphere_differential,
    neuron_radii,
    normalize_to_manifold,
    normalize_to_sphere,
    sphere_to_manifold_differential,
)
from bngeom.nn import data, functions, model
from bngeom.nn.data import Dataset, anisotropic_gaussian, center, covariance, make_teacher_dataset
from bngeom.nn.functions import get_activation, get_loss
from bngeom.nn.model import (
    bn_forward,
    bn_loss,
    bn_loss_and_gradients,
    vanilla_forward,
    vanilla_loss,
    vanilla_loss_and_gradients,
)

#: The package version: the one place it is written (pyproject.toml reads it from here).
__version__ = "0.1.0"

# name -> module holding it; loaded on first access (PEP 562).
_LAZY = {
    "BNSpace": "bngeom.adapters.geomstats",
    "BNMetric": "bngeom.adapters.geomstats",
    "BNManifold": "bngeom.adapters.pymanopt",
    "make_problem": "bngeom.adapters.pymanopt",
    "wasserstein2": "bngeom.wasserstein",
    "pairwise_squared_dist": "bngeom.wasserstein",
    "WassersteinResult": "bngeom.wasserstein",
    "simulate": "bngeom.dynamics",
    "velocity": "bngeom.dynamics",
    "mean_field_step": "bngeom.dynamics",
    "train": "bngeom.dynamics",
    "TrainOptions": "bngeom.dynamics",
    "Trajectory": "bngeom.dynamics.trajectory",
    "run_sweep": "bngeom.experiments.sweeps",
    "make_grid": "bngeom.experiments.sweeps",
    "SweepError": "bngeom.experiments.sweeps",
    "load_dataset": "bngeom.nn.datasets",
}
# Subpackages and the 0.1 module paths, imported on first attribute access.
_LAZY_MODULES = ("adapters", "dynamics", "wasserstein", "experiments", "testing", "trajectory",
                 "sweeps", "geomstats_space", "pymanopt_manifold", "checks", "reproduce",
                 "strategies")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _LAZY_MODULES:
        return import_module(f"bngeom.{name}")
    raise AttributeError(f"module 'bngeom' has no attribute {name!r}")


__all__ = [
    "charts",
    "data",
    "functions",
    "geometry",
    "model",
    "covariance_norm",
    "manifold_to_sphere_differential",
    "neuron_radii",
    "normalize_to_manifold",
    "normalize_to_sphere",
    "sphere_to_manifold_differential",
    "Dataset",
    "anisotropic_gaussian",
    "center",
    "covariance",
    "make_teacher_dataset",
    "get_activation",
    "get_loss",
    "bn_forward",
    "bn_loss",
    "bn_loss_and_gradients",
    "vanilla_forward",
    "vanilla_loss",
    "vanilla_loss_and_gradients",
    *_LAZY,
    "__version__",
]
