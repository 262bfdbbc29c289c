r"""Theorem 5 as an experiment: a wide network started under separation fits a teacher.

MATH §7. Data: anisotropic Gaussian inputs labelled by a BN teacher of width 3-5 (so
the problem is realizable and the minimum of :math:`\tilde L` is 0). Student: width
:math:`m \ge 500`, initialized under the separation condition -- ``u`` uniform on
:math:`N_\Sigma` (:func:`bngeom.geometry.random_point`) and ``a ~ Unif[-r0, r0]``
independently, so :math:`\operatorname{supp}\rho_0 = N_\Sigma\times[-r_0, r_0]` meets every
curve joining :math:`\{-r_0\}\times N_\Sigma` to :math:`\{r_0\}\times N_\Sigma` -- and trained
by Riemannian gradient descent on :math:`(M, g)` (eq. 7 with unit radii, the exponential
map of :math:`N_\Sigma`, mean-field time step). The loss must fall below 1e-3 of its
initial value.

The same student is also trained from initializations that break the hypothesis:

* ``"dirac"``: all particles at one point :math:`(u_0, 0)`; the support is a single
  point, which separates nothing, and the particles can never split (they share one
  velocity), so the network stays a width-1 network and the loss stalls;
* ``"cap"``: ``u`` in a small cap of :math:`N_\Sigma` (angle ``cap_angle``) with
  ``a ~ Unif[-r0, r0]``: the support no longer separates, since a curve can go round
  the cap;
* ``"equal_a"``: all ``a`` equal to ``r0 / 10`` and ``u`` uniform, the example often quoted as
  "without separation". Strictly, ``N_Sigma x {c}`` still separates the levels
  :math:`\pm r_0` for :math:`|c| < r_0`, so Theorem 5 still applies; the run shows it.

``run_theorem5`` returns every loss curve and the final ratios.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bngeom import geometry
from bngeom._validation import check_seed
from bngeom.experiments._presets import resolve_preset
from bngeom.experiments.sweeps import make_grid, run_sweep
from bngeom.nn.data import Dataset, anisotropic_gaussian, teacher_network, teacher_targets

__all__ = ["PRESETS", "VARIANTS", "run_theorem5", "initial_particles"]

#: Sizes of the three presets: CI smoke run, ``bngeom reproduce``, and the full run.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(width=500, n_samples=128, t_end=600.0, step=0.5, n_records=31,
                  variant_t_end=600.0),
    "reproduce": dict(width=500, n_samples=256, t_end=500.0, step=0.5, n_records=51,
                      variant_t_end=500.0),
    "full": dict(width=1000, n_samples=512, t_end=2000.0, step=0.5, n_records=101,
                 variant_t_end=2000.0),
}
#: Shared settings: 3-D anisotropic data, a width-4 BN teacher, a ~ Unif[-r0, r0].
SETTINGS: dict[str, Any] = dict(spectrum=(4.0, 1.0, 0.25), teacher_width=4,
                                teacher_scale=0.25, r0=1.0, cap_angle=0.2,
                                activation="tanh", loss="squared", target_ratio=1e-3)
#: Initializations: the separation condition and three departures from it.
VARIANTS = ("separated", "dirac", "cap", "equal_a")


def initial_particles(variant: str, cov: NDArray, m: int, r0: float,
                      rng: int | np.random.Generator | None, *,
                      cap_angle: float = 0.2) -> tuple[NDArray, NDArray]:
    """Initial particles ``(U, a)`` of one of :data:`VARIANTS` (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> U, a = initial_particles("separated", np.eye(3), 5, 1.0, rng=0)
    >>> U.shape, a.shape
    ((5, 3), (5,))
    >>> U, a = initial_particles("dirac", np.eye(3), 5, 1.0, rng=0)
    >>> bool(np.all(U == U[0])), bool(np.all(a == 0))
    (True, True)
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if variant == "separated":
        return geometry.random_point(cov, m, rng=gen), gen.uniform(-r0, r0, m)
    if variant == "dirac":
        u0 = geometry.random_point(cov, rng=gen)
        return np.tile(u0, (m, 1)), np.zeros(m)
    if variant == "cap":
        center = geometry.random_point(cov, rng=gen)
        xi = geometry.random_tangent_vector(np.tile(center, (m, 1)), cov, rng=gen)
        lengths = geometry.norm(np.tile(center, (m, 1)), xi, cov)
        # Directions uniform, geodesic distances to the centre uniform in [0, cap_angle].
        xi *= (cap_angle * gen.uniform(0.0, 1.0, m) / lengths)[:, None]
        return geometry.exp(np.tile(center, (m, 1)), xi, cov), gen.uniform(-r0, r0, m)
    if variant == "equal_a":
        return geometry.random_point(cov, m, rng=gen), np.full(m, r0 / 10.0)
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def _dataset(seed: int, n_samples: int) -> Dataset:
    gen = np.random.default_rng([seed, 5])
    X, cov = anisotropic_gaussian(n_samples, SETTINGS["spectrum"], gen, rotate=True)
    W, a = teacher_network(X.shape[1], SETTINGS["teacher_width"], gen,
                           output_scale=SETTINGS["teacher_scale"])
    return Dataset(X, teacher_targets(X, W, a, cov, SETTINGS["activation"]), cov)


def _variant_point(variant: str, *, seed: int, width: int, n_samples: int, t_end: float,
                   step: float, n_records: int, progress: bool = False) -> dict:
    """Train one student from one initialization (picklable for sweeps)."""
    from bngeom.dynamics.flows import simulate

    dataset = _dataset(seed, n_samples)
    U0, a0 = initial_particles(variant, dataset.cov, width, SETTINGS["r0"],
                               np.random.default_rng([seed, 6]),
                               cap_angle=SETTINGS["cap_angle"])
    traj = simulate(dataset, U0, a0, t_end=t_end, chart="riemannian", method="gd", step=step,
                    n_records=n_records, activation=SETTINGS["activation"],
                    loss=SETTINGS["loss"], progress=progress)
    ratio = traj.loss / traj.loss[0]
    below = np.flatnonzero(ratio < SETTINGS["target_ratio"])
    return {
        "times": traj.times.tolist(),
        "loss": traj.loss.tolist(),
        "initial_loss": float(traj.loss[0]),
        "final_loss": float(traj.loss[-1]),
        "loss_ratio": float(ratio[-1]),
        "time_to_target": float(traj.times[below[0]]) if below.size else None,
        "distinct_particles": int(np.unique(np.round(traj.particles(-1), 12), axis=0).shape[0]),
        "final_a_range": [float(traj.a[-1].min()), float(traj.a[-1].max())],
        "mean_speed_u": traj.speed_u.mean(axis=1).tolist(),
    }


def run_theorem5(quick: bool = False, seed: int = 0, progress: bool = False, *,
                 size: str | None = None, n_jobs: int = 1, backend: str = "joblib",
                 variants: tuple[str, ...] = VARIANTS, **overrides: Any) -> dict[str, Any]:
    r"""Run the Theorem 5 experiment and return its numbers (JSON-serializable).

    Parameters
    ----------
    quick : bool
        Shorthand for ``size="quick"`` (CI smoke run).
    seed : int
        Seed of the data, the teacher and the initializations.
    progress : bool
        Progress bars.
    size : {"quick", "reproduce", "full"}, optional
        Preset from :data:`PRESETS` (default ``"full"``, or ``"quick"`` with ``quick``).
    n_jobs, backend
        Workers and backend of the sweep over initializations.
    variants : tuple of str
        Initializations to run (``"separated"`` is always run first).
    **overrides
        Replace preset entries (``width``, ``n_samples``, ``t_end``, ``step``,
        ``n_records``, ``variant_t_end``).

    Returns
    -------
    dict
        ``runs`` (per variant: times, loss curve, ``loss_ratio`` = final/initial loss,
        ``time_to_target``, ...), ``loss_ratio`` and ``converged`` of the separated run
        (ratio below ``target_ratio`` = 1e-3), ``config``, ``seconds``.

    Examples
    --------
    >>> res = run_theorem5(size="quick", width=50, n_samples=32, t_end=2.0, step=0.5,
    ...                    n_records=3, variant_t_end=1.0, variants=("separated", "dirac"))
    >>> res["runs"]["dirac"]["distinct_particles"]
    1
    """
    start = time.perf_counter()
    seed = check_seed(seed)
    name, config = resolve_preset(PRESETS, size, quick, overrides, "Theorem 5")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be among {VARIANTS}, got {bad}")
    order = ["separated"] + [v for v in variants if v != "separated"]
    points = []
    for v in order:
        t_end = config["t_end"] if v == "separated" else config["variant_t_end"]
        n_records = max(2, int(round(config["n_records"] * t_end / config["t_end"])))
        points.append(dict(variant=v, t_end=float(t_end), n_records=n_records))
    grid = make_grid(point=range(len(points)))
    fixed = dict(seed=seed, width=int(config["width"]), n_samples=int(config["n_samples"]),
                 step=float(config["step"]))
    results = run_sweep(_point_by_index, grid, n_jobs=n_jobs, backend=backend,
                        fixed={**fixed, "points": points}, progress=progress)
    runs = {p["variant"]: r for p, r in zip(points, results, strict=True)}
    main = runs["separated"]
    return {
        "runs": runs,
        "loss_ratio": main["loss_ratio"],
        "converged": main["loss_ratio"] < SETTINGS["target_ratio"],
        "variant_ratios": {v: r["loss_ratio"] for v, r in runs.items()},
        "config": {"size": name, "seed": seed, **{k: (list(v) if isinstance(v, tuple) else v)
                                                  for k, v in {**config, **SETTINGS}.items()}},
        "seconds": time.perf_counter() - start,
    }


def _point_by_index(point: int, *, points: list[dict], **fixed: Any) -> dict:
    return _variant_point(**points[point], **fixed)
