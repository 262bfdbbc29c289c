r"""Theorem 4 as an experiment: the width-m particle flow approaches its mean-field limit.

MATH §7. Particles :math:`(u_k, a_k)` drawn i.i.d. from a bounded
:math:`\rho_0` (``u`` uniform on :math:`N_\Sigma`, ``a ~ Unif[-a_max, a_max]``) are moved by
the Riemannian gradient flow of eq. (7) (unit radii, mean-field time, integrated with
error control), and compared at every recorded time with a reference run of a much
larger width, an independent sample of the same :math:`\rho_0` standing in for the
limit :math:`\rho_t` of eq. (15). For each width ``m`` and seed the experiment reports

* :math:`\sup_{t\le T} W_2(\rho_m(t), \rho_{ref}(t))` on :math:`M` (exact optimal
  transport, :func:`bngeom.wasserstein2`);
* :math:`\sup_{t\le T}\|f_{\rho_m(t)} - f_{\rho_{ref}(t)}\|_{L^2(\mu)}`, with :math:`\mu` the
  empirical data distribution;

and the slopes of their seed means against ``m`` on log-log axes. Monte-Carlo theory
gives :math:`m^{-1/2}` for the function gap; for :math:`W_2` between an ``m``-sample and
its law on the two-dimensional :math:`M` used here (``d = 2``) the rate is
:math:`(\log m/m)^{1/2}`, a fitted slope a little above -1/2; both are blurred by the
reference's own sampling error at the largest widths.

``run_theorem4(quick=True)`` is the CI smoke run, ``size="reproduce"`` the
``bngeom reproduce`` preset, and the default the full run (several minutes).

The :math:`W_2` gap at :math:`t = 0` is the sampling noise of :math:`\rho_0`; the rate of
the dynamics itself is measured by coupling the two widths, in
:mod:`bngeom.experiments.chaos` (MATH §12).
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
from bngeom.nn.data import Dataset, make_teacher_dataset
from bngeom.nn.model import vanilla_forward
from bngeom.wasserstein import wasserstein2

__all__ = ["PRESETS", "run_theorem4", "sample_initial_particles"]

#: Sizes of the three presets: CI smoke run, ``bngeom reproduce``, and the full run.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(widths=(25, 100, 400), ref_width=1600, n_seeds=2, n_samples=128,
                  t_end=1.0, n_records=3),
    "reproduce": dict(widths=(50, 200, 800), ref_width=3200, n_seeds=3, n_samples=192,
                      t_end=1.5, n_records=4),
    "full": dict(widths=(50, 200, 800, 3200), ref_width=12800, n_seeds=4, n_samples=512,
                 t_end=2.0, n_records=6),
}
#: Shared settings: 2-D anisotropic data (so M is two-dimensional), a width-3 teacher.
SETTINGS: dict[str, Any] = dict(spectrum=(4.0, 0.25), teacher_width=3, a_max=1.0,
                                activation="tanh", loss="squared", rtol=1e-6, atol=1e-9)


def sample_initial_particles(cov: NDArray, m: int, a_max: float,
                             rng: int | np.random.Generator | None) -> tuple[NDArray, NDArray]:
    r"""``m`` i.i.d. particles of :math:`\rho_0`: ``u`` uniform on :math:`N_\Sigma`, ``a`` uniform.

    Examples
    --------
    >>> import numpy as np
    >>> U, a = sample_initial_particles(np.eye(2), 4, 1.0, rng=0)
    >>> U.shape, bool(np.all(np.abs(a) <= 1.0))
    ((4, 2), True)
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    U = geometry.random_point(cov, m, rng=gen)
    a = gen.uniform(-a_max, a_max, m)
    return U, a


def _dataset(seed: int, n_samples: int) -> Dataset:
    return make_teacher_dataset(n_samples, SETTINGS["spectrum"],
                                teacher_width=SETTINGS["teacher_width"],
                                activation=SETTINGS["activation"], rng=[seed, 4])


def _run(dataset: Dataset, m: int, rng_key: list[int], t_end: float, n_records: int):
    from bngeom.dynamics.flows import simulate

    U0, a0 = sample_initial_particles(dataset.cov, m, SETTINGS["a_max"],
                                      np.random.default_rng(rng_key))
    return simulate(dataset, U0, a0, t_end=t_end, chart="riemannian", method="flow",
                    n_records=n_records, activation=SETTINGS["activation"],
                    loss=SETTINGS["loss"], rtol=SETTINGS["rtol"], atol=SETTINGS["atol"])


def _width_point(width: int, rep: int, *, seed: int, n_samples: int, t_end: float,
                 n_records: int, ref_particles: NDArray, ref_outputs: NDArray) -> dict:
    """One grid point: a width-``width`` run against the reference (picklable for sweeps)."""
    dataset = _dataset(seed, n_samples)
    traj = _run(dataset, width, [seed, 1, width, rep], t_end, n_records)
    w2, l2 = [], []
    for k in range(traj.n_records):
        w2.append(float(wasserstein2(traj.particles(k), ref_particles[k], dataset.cov,
                                     method="exact", memory_budget=2**31)))
        f = vanilla_forward(dataset.X, traj.U[k], traj.a[k], SETTINGS["activation"])
        l2.append(float(np.sqrt(np.mean((f - ref_outputs[k]) ** 2))))
    return {"w2": w2, "l2": l2, "loss": traj.loss.tolist()}


def _slope(widths: NDArray, values: NDArray) -> float:
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def run_theorem4(quick: bool = False, seed: int = 0, n_jobs: int = 1, progress: bool = False,
                 *, size: str | None = None, backend: str = "joblib",
                 **overrides: Any) -> dict[str, Any]:
    r"""Run the Theorem 4 experiment and return its numbers (JSON-serializable).

    Parameters
    ----------
    quick : bool
        Shorthand for ``size="quick"`` (CI smoke run, a few seconds).
    seed : int
        Seed of the data, the reference run and every student run.
    n_jobs : int
        Parallel workers of the width x seed sweep (:func:`bngeom.sweeps.run_sweep`).
    progress : bool
        Progress bar over the sweep.
    size : {"quick", "reproduce", "full"}, optional
        Preset from :data:`PRESETS` (default ``"full"``, or ``"quick"`` with ``quick``).
    backend : {"joblib", "dask"}
        Sweep backend.
    **overrides
        Replace preset entries (``widths``, ``ref_width``, ``n_seeds``, ``n_samples``,
        ``t_end``, ``n_records``).

    Returns
    -------
    dict
        ``widths``, ``ref_width``, ``times``; ``sup_w2`` and ``sup_l2`` (per width, per
        seed), their seed means ``mean_sup_w2``/``mean_sup_l2``, the fitted log-log
        slopes ``w2_slope``/``l2_slope``, ``w2_curves`` (seed-mean W2 at each time, per
        width), the reference loss curve, ``config`` and ``seconds``.

    Examples
    --------
    >>> res = run_theorem4(size="quick", widths=(10, 40), ref_width=160, n_seeds=1,
    ...                    n_samples=32, t_end=0.2, n_records=2)
    >>> len(res["sup_w2"]), len(res["sup_w2"][0])
    (2, 1)
    """
    start = time.perf_counter()
    seed = check_seed(seed)
    name, config = resolve_preset(PRESETS, size, quick, overrides, "Theorem 4")
    widths = list(config["widths"])
    dataset = _dataset(seed, config["n_samples"])
    ref = _run(dataset, int(config["ref_width"]), [seed, 0], config["t_end"],
               config["n_records"])
    ref_particles = np.stack([ref.particles(k) for k in range(ref.n_records)])
    ref_outputs = np.stack([vanilla_forward(dataset.X, ref.U[k], ref.a[k],
                                            SETTINGS["activation"])
                            for k in range(ref.n_records)])
    grid = make_grid(width=widths, rep=range(int(config["n_seeds"])))
    fixed = dict(seed=seed, n_samples=config["n_samples"], t_end=config["t_end"],
                 n_records=config["n_records"], ref_particles=ref_particles,
                 ref_outputs=ref_outputs)
    results = run_sweep(_width_point, grid, n_jobs=n_jobs, backend=backend, fixed=fixed,
                        progress=progress)
    n_seeds = int(config["n_seeds"])
    w2 = np.array([r["w2"] for r in results]).reshape(len(widths), n_seeds, -1)
    l2 = np.array([r["l2"] for r in results]).reshape(len(widths), n_seeds, -1)
    sup_w2, sup_l2 = w2.max(axis=2), l2.max(axis=2)
    mean_w2, mean_l2 = sup_w2.mean(axis=1), sup_l2.mean(axis=1)
    w = np.array(widths, dtype=float)
    return {
        "widths": widths,
        "ref_width": int(config["ref_width"]),
        "times": ref.times.tolist(),
        "sup_w2": sup_w2.tolist(),
        "sup_l2": sup_l2.tolist(),
        "mean_sup_w2": mean_w2.tolist(),
        "mean_sup_l2": mean_l2.tolist(),
        "w2_slope": _slope(w, mean_w2),
        "l2_slope": _slope(w, mean_l2),
        "w2_curves": w2.mean(axis=1).tolist(),
        "reference_loss": ref.loss.tolist(),
        "config": {"size": name, "seed": seed, **{k: (list(v) if isinstance(v, tuple) else v)
                                                  for k, v in {**config, **SETTINGS}.items()}},
        "seconds": time.perf_counter() - start,
    }
