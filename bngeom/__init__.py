"""bngeom: the Riemannian geometry of two-layer neural networks with batch normalization.

Gradient descent on a BN network is gradient descent on a network without BN, on
the manifold ``M = S^{d-1}_Sigma x R`` with the metric built from the
pseudo-inverse ``G(u)^+`` (Ma & Ying, 2021). This package computes that geometry
exactly and in closed form:

* :mod:`bngeom.geometry` -- the batched metric core on ``N_Sigma``;
* :mod:`bngeom.charts` -- the charts ``phi`` (BN -> N_Sigma) and ``psi`` (N_Sigma -> sphere);
* :mod:`bngeom.model` -- the BN network, its vanilla twin, losses and exact gradients;
* :mod:`bngeom.data` -- centring, covariance, anisotropic data, teachers;
* :mod:`bngeom.functions` -- activations and losses;
* ``bngeom.BNSpace`` / ``bngeom.BNMetric`` -- the geomstats adapter;
* ``bngeom.BNManifold`` -- the pymanopt adapter;
* ``bngeom.simulate`` / ``bngeom.Trajectory`` -- the three dynamics and their trajectories;
* ``bngeom.wasserstein2`` -- the 2-Wasserstein distance on ``M``;
* ``bngeom.run_sweep`` -- width x seed grids through joblib or Dask.

The adapters are imported lazily, so ``import bngeom`` does not import
geomstats or pymanopt until they are used.
"""

from importlib import import_module
from typing import Any

from bngeom import charts, data, functions, geometry, model
from bngeom.charts import (
    covariance_norm,
    manifold_to_sphere_differential,
    neuron_radii,
    normalize_to_manifold,
    normalize_to_sphere,
    sphere_to_manifold_differential,
)
from bngeom.data import Dataset, anisotropic_gaussian, center, covariance, make_teacher_dataset
from bngeom.functions import get_activation, get_loss
from bngeom.model import (
    bn_forward,
    bn_loss,
    bn_loss_and_gradients,
    vanilla_forward,
    vanilla_loss,
    vanilla_loss_and_gradients,
)

__version__ = "0.1.0"

# name -> module holding it; loaded on first access (PEP 562).
_LAZY = {
    "BNSpace": "bngeom.geomstats_space",
    "BNMetric": "bngeom.geomstats_space",
    "BNManifold": "bngeom.pymanopt_manifold",
    "make_problem": "bngeom.pymanopt_manifold",
    "wasserstein2": "bngeom.wasserstein",
    "pairwise_squared_dist": "bngeom.wasserstein",
    "WassersteinResult": "bngeom.wasserstein",
    "simulate": "bngeom.dynamics",
    "velocity": "bngeom.dynamics",
    "mean_field_step": "bngeom.dynamics",
    "Trajectory": "bngeom.trajectory",
    "run_sweep": "bngeom.sweeps",
    "make_grid": "bngeom.sweeps",
    "SweepError": "bngeom.sweeps",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in ("dynamics", "trajectory", "wasserstein", "sweeps", "geomstats_space",
                "pymanopt_manifold", "experiments"):
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
