r"""``bngeom reproduce``: the paper's claims, figures and a report from one command.

Runs every claim on an embedded default (synthetic data generated from ``--seed``;
nothing is downloaded), shows tqdm progress bars, and writes into ``--out``:

* ``report.json`` -- ``{"claims": [...], ...}``, one entry per claim with ``id``,
  ``description``, ``measured``, ``predicted``, ``tolerance``, ``passed`` (and
  ``criterion``, ``details``);
* ``report.md`` -- the same as a human-readable table, with the figures;
* ``figure1_anisotropy.png``, ``figure2_magnitude.png``, ``figure3_first_step.png``
  (Section 4), ``theorem4_width.png`` (the gaps to the mean-field limit against the
  width), ``thm4_propagation_of_chaos.png`` (coupled particles against the width) and
  ``theorem5_convergence.png`` (loss curves with and without the separation
  condition).

Both reports and every figure are written atomically (after every claim), so an
interrupted run keeps everything it had measured. A run holds a lock on ``--out``
for its whole duration: a second run into the same directory is refused at once
(naming the directory and the run holding it) or, with ``--wait``, waits for the
first to finish; ``report.json`` carries the run's ``run_id`` and the SHA-256 of
each figure it wrote (``figure_sha256``), so a report names only its own files.
``--resume`` reuses the claims of an earlier run with the same settings whose figures
still have the recorded hashes. The exit code is 0 when every claim passed and 1 otherwise. A claim
whose computation raises is recorded as failed with the error, and the run goes on.

The claims (MATH §2-8; ``.theorem4`` and ``.theorem5`` are in :mod:`bngeom.experiments`):

============================  ==============================================================
``prop1_positive_definite``   :func:`bngeom.checks.check_proposition1`
``thm2_gradient_equivalence`` :func:`bngeom.checks.check_theorem2`
``energy_identity``           :func:`check_energy_identity`
``norm_invariance``           :func:`check_norm_invariance`
``sec4_1_anisotropic_speed``  :func:`bngeom.experiments.section4.anisotropy_experiment`
``sec4_2_speed_ratio``        :func:`bngeom.experiments.section4.magnitude_experiment`
``sec4_3_first_step``         :func:`bngeom.experiments.section4.first_step_experiment`
``thm4_width_convergence``    :func:`.theorem4.run_theorem4`, :func:`theorem4_claim`
``thm4_propagation_of_chaos`` :func:`.chaos.run_chaos`, :func:`propagation_of_chaos_claim`
``thm5_global_convergence``   :func:`.theorem5.run_theorem5`, :func:`theorem5_claim`
============================  ==============================================================

Training as practitioners run it (docs/math.md §11): ``sgd_reference_equivalence``
(:mod:`bngeom.experiments.sgd_reference`), ``exp_lr_equivalence``
(:mod:`bngeom.experiments.exp_lr`, figure ``exp_lr_equivalence.png``),
``smd_angular_equilibrium`` (:mod:`bngeom.experiments.spherical_motion`, figure
``smd_angular_equilibrium.png``), ``minibatch_bn_bias`` (:mod:`bngeom.experiments.minibatch`,
figure ``minibatch_bn_bias.png``).

Examples
--------
>>> claim = check_norm_invariance(seed=0, quick=True)
>>> claim["id"], claim["passed"]
('norm_invariance', True)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from bngeom import __version__
from bngeom._io import LockedError, atomic_write, exclusive, jsonable
from bngeom._validation import check_seed
from bngeom.experiments._plots import frame, width_ticks
from bngeom.experiments.claims import error_claim, make_claim
from bngeom.geometry.charts import normalize_to_manifold
from bngeom.nn.data import Dataset, make_teacher_dataset
from bngeom.nn.model import bn_forward, bn_loss_and_gradients

if TYPE_CHECKING:
    from bngeom.experiments.chaos import ChaosResult

__all__ = [
    "CLAIM_IDS",
    "REPORT_KEYS",
    "ENERGY_TOLERANCE",
    "NORM_TOLERANCE",
    "THM4_SLOPE_TOLERANCE",
    "THM5_HORIZON",
    "check_energy_identity",
    "check_norm_invariance",
    "theorem4_claim",
    "THM4_CHAOS_TOLERANCE",
    "propagation_of_chaos_claim",
    "theorem5_claim",
    "DATA_CLAIM_IDS",
    "DATA_SKIPPED",
    "add_arguments",
    "add_data_arguments",
    "dataset_from_args",
    "run",
    "run_from_args",
    "write_report",
]

#: Every claim ``bngeom reproduce`` reports, in the order it runs them.
CLAIM_IDS = (
    "prop1_positive_definite",
    "thm2_gradient_equivalence",
    "energy_identity",
    "norm_invariance",
    "sec4_1_anisotropic_speed",
    "sec4_2_speed_ratio",
    "sec4_3_first_step",
    "thm4_width_convergence",
    "thm4_propagation_of_chaos",
    "thm5_global_convergence",
    "sgd_reference_equivalence",
    "exp_lr_equivalence",
    "smd_angular_equilibrium",
    "minibatch_bn_bias",
)
#: Keys every claim of the report carries.
REPORT_KEYS = ("id", "description", "measured", "predicted", "tolerance", "passed")
#: Relative tolerance of the energy identity (an adaptive ODE solve at rtol 1e-10).
ENERGY_TOLERANCE = 1e-6
#: Relative tolerance of the norm-invariance claim (the flow part is an ODE solve).
NORM_TOLERANCE = 1e-6

DEFAULT_OUT = "bngeom-out"


# ---------------------------------------------------------------------------
# the two claims that no other module measures


def _problem(seed: int, quick: bool, dataset: Dataset | None = None):
    rng = np.random.default_rng(seed)
    n, d, m = (128, 3, 8) if quick else (256, 4, 16)
    if dataset is None:
        ds = make_teacher_dataset(n, np.geomspace(3.0, 0.3, d), teacher_width=3, rng=rng,
                                  rotate=True)
    elif isinstance(dataset, Dataset):
        ds, d = dataset, dataset.dim
    else:
        raise TypeError(f"dataset must be a bngeom.Dataset, got {type(dataset).__name__}")
    # Radii spread over a decade each way: every statement must hold at any radius.
    W0 = rng.standard_normal((m, d)) * np.exp(rng.uniform(-1.0, 1.0, (m, 1)))
    a0 = rng.standard_normal(m)
    return ds, W0, a0


def _horizon(quick: bool, dataset: Dataset | None) -> float:
    """Flow horizon of the energy and norm claims: shorter on your own data.

    Real covariances are far more anisotropic than the synthetic one, and a BN neuron
    pointing along a direction of variance lambda moves at speed ~ lambda^(-1/2)
    (Section 4.1), so the flow is stiff; the identities hold at every time.
    """
    if dataset is None:
        return 2.0 if quick else 4.0
    return 0.25 if quick else 0.5


def check_energy_identity(seed: int = 0, *, quick: bool = False,
                          tolerance: float = ENERGY_TOLERANCE,
                          dataset: Dataset | None = None) -> dict[str, Any]:
    r"""The energy identity :math:`dL/dt = -\int\|\tilde V\|_g^2\,d\tilde\rho` (MATH §6).

    Integrates the Riemannian gradient flow on :math:`(M, g)` (eq. 7, radii spread
    over two decades) and the BN flow (eq. 6) of the same network with
    :func:`bngeom.dynamics.simulate`, and compares the loss decrease measured from
    loss values alone with the dissipation computed from the metric
    (:meth:`bngeom.trajectory.Trajectory.energy_identity_error`). ``measured`` is the
    larger relative error of the two runs; the details also give the gap between
    the BN trajectory mapped by :math:`\varphi` and the Riemannian one (Theorem 2
    along a whole trajectory). On synthetic teacher data, or on ``dataset`` (your own
    :class:`bngeom.Dataset`).

    Examples
    --------
    >>> check_energy_identity(seed=0, quick=True)["passed"]
    True
    """
    from bngeom.dynamics.flows import simulate

    ds, W0, a0 = _problem(seed, quick, dataset)
    t_end = _horizon(quick, dataset)
    radius = np.linalg.norm(W0, axis=1)
    # Small neurons move fast (speed 1/r^2): records spaced geometrically from t = 1e-3
    # resolve the initial transient, where dL/dt is measured from loss values alone.
    records = np.concatenate(([0.0], np.geomspace(1e-3, t_end, 25)))
    riem = simulate(ds, normalize_to_manifold(W0, ds.cov), a0, t_end=t_end,
                    record_times=records, chart="riemannian", radius=radius, rtol=1e-10,
                    atol=1e-12)
    bn = simulate(ds, W0, a0, t_end=t_end, record_times=records, rtol=1e-10, atol=1e-12)
    err_riem = riem.energy_identity_error()
    err_bn = bn.energy_identity_error()
    gap = float(np.max(np.abs(bn.U - riem.U)) / np.max(np.abs(riem.U)))
    measured = max(err_riem, err_bn)
    return error_claim(
        "energy_identity",
        "Energy identity dL/dt = -integral of |V~|_g^2 d rho~ along the Riemannian gradient "
        "flow (eq. 7) and the BN flow (eq. 6) (max relative error, dL/dt measured from loss "
        "values only)",
        measured, tolerance,
        details={"riemannian_flow_error": err_riem, "bn_flow_error": err_bn,
         "bn_vs_riemannian_trajectory_gap": gap, "loss_start": float(riem.loss[0]),
         "loss_end": float(riem.loss[-1]), "t_end": t_end, "width": int(W0.shape[0]),
         "dim": int(W0.shape[1]), "radius_range": [float(radius.min()), float(radius.max())]})


def check_norm_invariance(seed: int = 0, *, quick: bool = False,
                          tolerance: float = NORM_TOLERANCE,
                          learning_rate: float = 0.5,
                          dataset: Dataset | None = None) -> dict[str, Any]:
    r"""A neuron's norm never changes the BN function and is conserved by the flow (MATH §2).

    Measures, as relative errors: (1) :math:`f(x; \{c_kw_k\}) = f(x; \{w_k\})` for
    random :math:`c_k > 0` spanning six decades; (2) :math:`w_k^\top\nabla_{w_k}L = 0`;
    (3) a gradient-descent step to :math:`w_k'` gives
    :math:`\|w_k'\|^2 = \|w_k\|^2 + \eta^2\|\nabla_{w_k}L\|^2`; (4) the radii stay constant
    along the BN gradient flow (:func:`bngeom.dynamics.simulate`). ``measured`` is the largest.
    On synthetic teacher data, or on ``dataset`` (your own :class:`bngeom.Dataset`).

    Examples
    --------
    >>> check_norm_invariance(seed=1, quick=True)["measured"] < 1e-6
    True
    """
    from bngeom.dynamics.flows import simulate

    ds, W0, a0 = _problem(seed, quick, dataset)
    rng = np.random.default_rng([seed, 1])
    scales = np.exp(rng.uniform(-3.0, 3.0, W0.shape[0]) * np.log(10.0))
    f0 = bn_forward(ds.X, W0, a0, ds.cov)
    f1 = bn_forward(ds.X, scales[:, None] * W0, a0, ds.cov)
    function_gap = float(np.max(np.abs(f1 - f0)) / np.max(np.abs(f0)))
    grad = bn_loss_and_gradients(ds.X, ds.y, W0, a0, ds.cov).grad_w
    orthogonality = float(np.max(np.abs(np.sum(W0 * grad, axis=1))
                                 / (np.linalg.norm(W0, axis=1) * np.linalg.norm(grad, axis=1))))
    W1 = W0 - learning_rate * grad
    # |w1|^2 against |w0|^2 + eta^2 |grad|^2, relative to |w1|^2 (the difference of the two
    # squared norms would lose the digits of the large neurons to cancellation).
    norm1_sq = np.sum(W1**2, axis=1)
    predicted_sq = np.sum(W0**2, axis=1) + learning_rate**2 * np.sum(grad**2, axis=1)
    growth_error = float(np.max(np.abs(norm1_sq - predicted_sq) / norm1_sq))
    traj = simulate(ds, W0, a0, t_end=_horizon(quick, dataset), n_records=11)
    drift = float(np.max(np.abs(traj.radius / traj.radius[0] - 1.0)))
    measured = max(function_gap, orthogonality, growth_error, drift)
    return error_claim(
        "norm_invariance",
        "Norm invariance: rescaling neurons leaves the BN network unchanged, w^T grad_w L = 0, "
        "a GD step grows |w|^2 by exactly eta^2 |grad_w L|^2, and the BN flow keeps every "
        "radius (max relative error)",
        measured, tolerance,
        details={"function_gap_under_rescaling": function_gap, "w_dot_grad": orthogonality,
         "gd_norm_growth_error": growth_error, "flow_radius_drift": drift,
         "rescaling_range": [float(scales.min()), float(scales.max())],
         "learning_rate": learning_rate})


# ---------------------------------------------------------------------------
# tasks


class _Task:
    """One claim of the report: how to compute it and which figures it draws."""

    def __init__(self, cid: str, label: str,
                 compute: Callable[[Path, bool, int, int | None, bool], tuple[dict, list[str]]]
                 ) -> None:
        self.id, self.label, self.compute = cid, label, compute


def _on(dataset: Dataset | None) -> dict[str, Any]:
    """The keyword that puts an experiment on your own data (none for the synthetic one)."""
    return {} if dataset is None else {"dataset": dataset}


def _section4_task(kind: str, dataset: Dataset | None = None):
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        from bngeom.experiments import section4 as s4

        if kind == "anisotropy" and dataset is not None:  # Section 4.1 on the data's own Sigma
            result = s4.data_anisotropy_run(dataset, quick=quick, seed=seed, progress=progress)
            s4.plot_data_anisotropy(result, out / "figure1_anisotropy.png")
            return s4.data_anisotropy_claim(result), ["figure1_anisotropy.png"]
        experiment, claim, plot, name = {
            "anisotropy": (s4.anisotropy_experiment, s4.anisotropy_claim, s4.plot_anisotropy,
                           "figure1_anisotropy.png"),
            "magnitude": (s4.magnitude_experiment, s4.magnitude_claim, s4.plot_magnitude,
                          "figure2_magnitude.png"),
            "first_step": (s4.first_step_experiment, s4.first_step_claim,
                           s4.plot_first_step, "figure3_first_step.png"),
        }[kind]
        result = experiment(quick=quick, seed=seed, progress=progress, **_on(dataset))
        plot(result, out / name)
        return claim(result), [name]

    return compute


#: Theorem 4: the log-log slope of sup_t W2(rho_m, rho_ref) against m must lie within this
#: distance of the Monte-Carlo rate -1/2. Theorem 4 asserts convergence, not a rate, and
#: the reference's own sampling error and the (log m / m)^(1/2) rate of W2 in dimension 2
#: make the fitted slope shallower (-0.21 to -0.50 over seeds 0-7 of the preset), so any
#: clear decrease slower than 1/m passes: a slope in [-0.95, -0.05].
THM4_SLOPE_TOLERANCE = 0.45


def theorem4_claim(result: dict[str, Any]) -> dict[str, Any]:
    r"""The ``thm4_width_convergence`` claim from :func:`bngeom.experiments.theorem4.run_theorem4`.

    ``measured`` is the fitted log-log slope of the seed mean of
    :math:`\sup_{t\le T}W_2(\rho_m(t), \rho_{ref}(t))` against the width ``m``
    (predicted -1/2, tolerance :data:`THM4_SLOPE_TOLERANCE`). The claim also requires the
    :math:`W_2` gap to shrink at every step of ``m`` and the :math:`L^2(\mu)` distance of the
    network functions to be smaller at the largest width than at the smallest.

    Examples
    --------
    >>> res = {"widths": [10, 40], "mean_sup_w2": [0.4, 0.2], "mean_sup_l2": [0.1, 0.05],
    ...        "w2_slope": -0.5, "l2_slope": -0.5, "ref_width": 160, "config": {}}
    >>> theorem4_claim(res)["passed"]
    True
    """
    w2 = np.asarray(result["mean_sup_w2"], dtype=float)
    l2 = np.asarray(result["mean_sup_l2"], dtype=float)
    measured = float(result["w2_slope"])
    # The L2 gap of the two largest widths is within the reference's own sampling error,
    # so only its overall decrease is required; the W2 gap must decrease at every width.
    shrinking = bool(np.all(np.diff(w2) < 0) and l2[-1] < l2[0])
    passed = bool(np.isfinite(measured) and abs(measured + 0.5) <= THM4_SLOPE_TOLERANCE
                  and shrinking)
    return make_claim(
        "thm4_width_convergence",
        f"Theorem 4: width-m particle flows approach the mean-field limit (a width-"
        f"{result['ref_width']} reference); sup_t W2 and the L2(mu) function gap shrink as m "
        f"grows over m = {', '.join(str(w) for w in result['widths'])} (measured = log-log "
        f"slope of the W2 gap against m)",
        measured, -0.5, THM4_SLOPE_TOLERANCE, passed=passed,
        criterion="|measured - predicted| <= tolerance, the W2 gap decreases at every width, "
                  "the L2 gap is smaller at the largest width than at the smallest",
        details={"widths": result["widths"], "ref_width": result["ref_width"],
         "mean_sup_w2": w2.tolist(), "mean_sup_l2": l2.tolist(),
         "l2_slope": result["l2_slope"], "gaps_shrink_with_width": shrinking,
         "config": result.get("config", {})})


#: Theorem 4 as propagation of chaos: the fitted slope of the coupled distance against the
#: effective width must lie within this distance of -1/2, and so must its confidence
#: interval's half-width (a measurement too noisy to test the rate does not pass).
THM4_CHAOS_TOLERANCE = 0.1


def propagation_of_chaos_claim(result: ChaosResult) -> dict[str, Any]:
    r"""The ``thm4_propagation_of_chaos`` claim from :func:`bngeom.experiments.chaos.run_chaos`.

    ``measured`` is the seed mean of the fitted log-log slopes of
    :math:`D(m) = \sup_t` RMS distance on :math:`M` between coupled particles against the
    effective width :math:`(1/m - 1/M)^{-1}` (MATH §12; predicted -1/2, tolerance
    :data:`THM4_CHAOS_TOLERANCE`). It passes when the slope is within the tolerance, the
    half-width of its confidence interval over seeds is at most the tolerance, and at
    least four widths were measured. ``details["result"]`` is the whole
    :class:`~bngeom.experiments.chaos.ChaosResult` (``ChaosResult.from_dict`` reads it back).

    Examples
    --------
    >>> from bngeom.experiments.chaos import ChaosOptions, run_chaos
    >>> res = run_chaos(options=ChaosOptions(widths=(8, 16), ref_width=64, n_blocks=1,
    ...                 n_seeds=2, n_samples=32, t_end=0.1, n_records=2, w2_records=2))
    >>> claim = propagation_of_chaos_claim(res)
    >>> claim["id"], claim["passed"]  # two widths are too few for the claim
    ('thm4_propagation_of_chaos', False)
    """
    measured = float(result.slope)
    lo, hi = result.slope_ci
    half_width = (hi - lo) / 2
    passed = bool(np.isfinite(measured) and np.isfinite(half_width)
                  and abs(measured + 0.5) <= THM4_CHAOS_TOLERANCE
                  and half_width <= THM4_CHAOS_TOLERANCE and len(result.widths) >= 4)
    opts = result.options
    return make_claim(
        "thm4_propagation_of_chaos",
        f"Theorem 4 as propagation of chaos: width-m networks started from blocks of a "
        f"width-{opts.ref_width} reference's particles (nested coupling) and trained by "
        f"Riemannian GD (step {opts.step:g}, t <= {opts.t_end:g}, d = 2) stay within "
        f"D(m) ~ (1/m - 1/M)^(1/2) of their twins over m = "
        f"{', '.join(str(w) for w in result.widths)} (measured = log-log slope of sup_t RMS "
        f"distance on M against (1/m - 1/M)^-1, mean over {opts.n_seeds} seeds; "
        f"{result.ci_level:.0%} t-interval [{lo:.3f}, {hi:.3f}])",
        measured, -0.5, THM4_CHAOS_TOLERANCE, passed=passed,
        criterion="|measured - predicted| <= tolerance, the confidence interval's "
                  "half-width <= tolerance, at least 4 widths",
        details={"slope_ci": [lo, hi], "ci_level": result.ci_level, "ci_method": result.ci_method,
         "ci_half_width": half_width, "geometric_mean_sup_rms":
             result.geometric_mean_sup.tolist(), "l2_slope": result.l2_slope,
         "slope_vs_width": result.slope_vs_width, "w2_slope": result.w2_slope,
         "result": result.to_dict()})


#: Horizon of the separated Theorem 5 run (the other initializations keep the preset's):
#: the loss decays like a power of t, and at the presets' horizons some seeds are still
#: above the target 1e-3; at these horizons seeds 0-9 are below it with a margin.
THM5_HORIZON = {"quick": {"t_end": 2000.0, "n_records": 81},
                "reproduce": {"t_end": 4000.0, "n_records": 161}}


def theorem5_claim(result: dict[str, Any]) -> dict[str, Any]:
    """The ``thm5_global_convergence`` claim from :func:`bngeom.experiments.theorem5.run_theorem5`.

    ``measured`` is the final loss of the wide network started under the separation
    condition, relative to its initial loss (predicted 0: the limit minimizes the loss of a
    realizable teacher); the claim passes below the experiment's target ratio. The
    initializations that break the hypothesis are reported in the details.

    Examples
    --------
    >>> res = {"loss_ratio": 2e-4, "converged": True, "variant_ratios": {"separated": 2e-4},
    ...        "config": {"target_ratio": 1e-3, "width": 500}, "runs": {}}
    >>> theorem5_claim(res)["passed"]
    True
    """
    target = float(result["config"]["target_ratio"])
    measured = float(result["loss_ratio"])
    passed = bool(np.isfinite(measured) and measured <= target and result["converged"])
    return make_claim(
        "thm5_global_convergence",
        f"Theorem 5: a width-{result['config'].get('width', '?')} network started under the "
        f"separation condition (u uniform on N_Sigma, a ~ Unif[-r0, r0]) and trained by "
        f"Riemannian gradient descent on M (eq. 7, fixed step, mean-field time scale) fits a "
        f"realizable teacher (measured = final / initial loss; details.variant_loss_ratios: "
        f"the same run from initializations that break the separation condition)",
        measured, 0.0, target, passed=passed, criterion="|measured - predicted| <= tolerance",
        details={"variant_loss_ratios": result["variant_ratios"],
         "time_to_target": {v: r.get("time_to_target") for v, r in result["runs"].items()},
         "config": result.get("config", {})})


def _plot_theorem4(result: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.4, 4.0), layout="constrained")
    ax, ax_t = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    widths = np.asarray(result["widths"], dtype=float)
    for key, label, color in (("sup_w2", "sup_t W2(rho_m, rho_ref)", "C0"),
                              ("sup_l2", "sup_t ||f_m - f_ref||_L2(mu)", "C1")):
        per_seed = np.asarray(result[key], dtype=float)
        for seed_values in per_seed.T:
            ax.loglog(widths, seed_values, "o", color=color, alpha=0.35, ms=4)
        mean = per_seed.mean(axis=1)
        ax.loglog(widths, mean, "o-", color=color, label=f"{label} (seed mean)")
        ax.loglog(widths, mean[0] * np.sqrt(widths[0] / widths), ":", color=color, lw=1)
    ax.plot([], [], "k:", lw=1, label="m^(-1/2)")
    width_ticks(ax, widths, widths)
    frame(ax, "width m", "gap to the mean-field reference",
          f"(a) Theorem 4: W2 slope {result['w2_slope']:.2f}, "
          f"L2 slope {result['l2_slope']:.2f}")
    times = np.asarray(result["times"], dtype=float)
    for i, w in enumerate(result["widths"]):
        ax_t.plot(times, result["w2_curves"][i], "o-", ms=3, label=f"m = {w}")
    frame(ax_t, "mean-field time t", "W2(rho_m(t), rho_ref(t)), seed mean",
          f"(b) against a width-{result['ref_width']} reference")
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def _plot_theorem5(result: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.2, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name, run in result["runs"].items():
        loss = np.asarray(run["loss"], dtype=float)
        times = np.asarray(run["times"], dtype=float)
        later = times > 0  # log-log axes: power-law decay is a line, a plateau is flat
        ax.loglog(times[later], loss[later] / loss[0], lw=2.5 if name == "separated" else 1.2,
                  label=name + (" (separation condition)" if name == "separated" else ""))
    ax.axhline(result["config"]["target_ratio"], color="k", ls=":", lw=1, label="target")
    frame(ax, "mean-field time t", "loss / initial loss",
          "Theorem 5: global convergence on a realizable teacher")
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def _theorem_task(number: int):
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        if number == 4:
            from bngeom.experiments.theorem4 import run_theorem4 as experiment
            claim_of, plot, name = theorem4_claim, _plot_theorem4, "theorem4_width.png"
        else:
            from bngeom.experiments.theorem5 import run_theorem5 as experiment
            claim_of, plot, name = theorem5_claim, _plot_theorem5, "theorem5_convergence.png"
        kwargs: dict[str, Any] = {"seed": seed, "progress": progress,
                                  "size": "quick" if quick else "reproduce"}
        if number == 5:
            kwargs.update(THM5_HORIZON["quick" if quick else "reproduce"])
        if n_jobs is not None:
            kwargs["n_jobs"] = n_jobs
        result = experiment(**kwargs)
        plot(result, out / name)
        return claim_of(result), [name]

    return compute


def _chaos_task():
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        from bngeom.experiments.chaos import plot_chaos, run_chaos

        result = run_chaos("quick" if quick else "reproduce", seed=seed, progress=progress,
                           **({} if n_jobs is None else {"n_jobs": n_jobs}))
        name = "thm4_propagation_of_chaos.png"
        plot_chaos(result, out / name)
        return propagation_of_chaos_claim(result), [name]

    return compute


def _check_task(function: str, dataset: Dataset | None = None):
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        from bngeom.experiments import checks

        return getattr(checks, function)(seed=seed, **_on(dataset)), []

    return compute


def _local_task(function: Callable[..., dict], dataset: Dataset | None = None):
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        return function(seed=seed, quick=quick, **_on(dataset)), []

    return compute


def _training_task(module: str, name: str, figure: str | None = None):
    """A docs/math.md §11 claim: ``run_<name>``, ``<name>_claim`` (and ``plot_<name>``)."""
    def compute(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool):
        from importlib import import_module

        mod = import_module(f"bngeom.experiments.{module}")
        result = getattr(mod, f"run_{name}")(seed=seed, size="quick" if quick else "reproduce")
        if figure is None:
            return getattr(mod, f"{name}_claim")(result), []
        getattr(mod, f"plot_{name}")(result, out / figure)
        return getattr(mod, f"{name}_claim")(result), [figure]

    return compute


_TASKS = (
    _Task("prop1_positive_definite", "Proposition 1", _check_task("check_proposition1")),
    _Task("thm2_gradient_equivalence", "Theorem 2", _check_task("check_theorem2")),
    _Task("energy_identity", "energy identity", _local_task(check_energy_identity)),
    _Task("norm_invariance", "norm invariance", _local_task(check_norm_invariance)),
    _Task("sec4_1_anisotropic_speed", "Figure 1 (4.1)", _section4_task("anisotropy")),
    _Task("sec4_2_speed_ratio", "Figure 2 (4.2)", _section4_task("magnitude")),
    _Task("sec4_3_first_step", "Figure 3 (4.3)", _section4_task("first_step")),
    _Task("thm4_width_convergence", "Theorem 4", _theorem_task(4)),
    _Task("thm4_propagation_of_chaos", "Theorem 4 (coupling)", _chaos_task()),
    _Task("thm5_global_convergence", "Theorem 5", _theorem_task(5)),
    _Task("sgd_reference_equivalence", "SGD vs reference",
          _training_task("sgd_reference", "sgd_reference")),
    _Task("exp_lr_equivalence", "exponential LR", _training_task("exp_lr", "exp_lr",
                                                                 "exp_lr_equivalence.png")),
    _Task("smd_angular_equilibrium", "spherical motion",
          _training_task("spherical_motion", "smd_angular_equilibrium",
                         "smd_angular_equilibrium.png")),
    _Task("minibatch_bn_bias", "mini-batch BN", _training_task(
        "minibatch", "minibatch_bn_bias", "minibatch_bn_bias.png")),
)


# ---------------------------------------------------------------------------
# your own data (issue 13): the claims defined for arbitrary data


#: Claims that need the paper's synthetic teacher, skipped with ``--data``, and why.
DATA_SKIPPED = {
    "thm4_width_convergence":
        "Theorem 4 (width-m particle flows approach the mean-field limit) is measured "
        "against a wide reference run from the preset's synthetic teacher, initial law and "
        "time scale; on other data that preset has no reference, so it is not run",
    "thm5_global_convergence":
        "Theorem 5 (global convergence) assumes a realizable target (y is exactly a BN "
        "network's output) and the separation condition; your targets are not realizable "
        "in general, so its loss-to-zero prediction does not apply",
    "thm4_propagation_of_chaos":
        "Theorem 4's propagation of chaos is measured with a wide reference run from the "
        "preset's synthetic teacher and initial law (d = 2); on other data there is no "
        "reference, so it is not run",
    "sgd_reference_equivalence":
        "checks bngeom.train against an independent autograd implementation of the same "
        "SGD rule on the preset's synthetic data; it tests the code, not a property of your "
        "data (run it without --data)",
    "exp_lr_equivalence":
        "the exponential-learning-rate identity (Li & Arora 2019) holds for any data; it is "
        "measured on the preset's synthetic teacher at sizes chosen for its stable regime "
        "(run it without --data)",
    "smd_angular_equilibrium":
        "the spherical-motion equilibrium is measured at width 1000 on the preset's "
        "synthetic data, whose run lengths are chosen to reach it; on other data the "
        "approach time is unknown, so it is not run",
    "minibatch_bn_bias":
        "the mini-batch BN bias and variance laws are measured on the preset's synthetic "
        "data set (n = 1024, batch sizes 16 to 512); it is not run on other data",
}
#: The claims ``bngeom reproduce --data`` measures on your own data, in order.
DATA_CLAIM_IDS = tuple(c for c in CLAIM_IDS if c not in DATA_SKIPPED)


def _data_tasks(ds: Dataset) -> tuple[_Task, ...]:
    """The claims of :data:`DATA_CLAIM_IDS` on ``ds``: its samples, targets and covariance."""
    return (
        _Task("prop1_positive_definite", "Proposition 1", _check_task("check_proposition1", ds)),
        _Task("thm2_gradient_equivalence", "Theorem 2", _check_task("check_theorem2", ds)),
        _Task("energy_identity", "energy identity", _local_task(check_energy_identity, ds)),
        _Task("norm_invariance", "norm invariance", _local_task(check_norm_invariance, ds)),
        _Task("sec4_1_anisotropic_speed", "Figure 1 (4.1)", _section4_task("anisotropy", ds)),
        _Task("sec4_2_speed_ratio", "Figure 2 (4.2)", _section4_task("magnitude", ds)),
        _Task("sec4_3_first_step", "Figure 3 (4.3)", _section4_task("first_step", ds)),
    )


def _data_summary(ds: Dataset, label: str | None) -> dict[str, Any]:
    """What the report says about your data (and the fingerprint ``--resume`` compares)."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(ds.X).tobytes()
                            + np.ascontiguousarray(ds.y).tobytes()).hexdigest()[:16]
    eig = np.linalg.eigvalsh(ds.cov)
    return {"source": label or "a bngeom.Dataset", "n_samples": int(ds.X.shape[0]),
            "n_features": ds.original_dim, "dim": ds.dim, "projected": ds.basis is not None,
            "condition_number": float(eig[-1] / eig[0]), "sha256": digest,
            "feature_names": None if ds.feature_names is None else list(ds.feature_names)}


# ---------------------------------------------------------------------------
# the report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        v = float(value)
        if v == 0 or 1e-3 <= abs(v) < 1e4:
            return f"{v:.4g}"
        return f"{v:.3e}"
    return str(value)


def _markdown(report: dict[str, Any]) -> str:
    claims = report["claims"]
    n_pass = sum(c["passed"] for c in claims)
    state = "complete" if report["complete"] else "INCOMPLETE (still running or interrupted)"
    lines = [
        "# bngeom reproduce",
        "",
        f"Ma & Ying (2021), *A Riemannian Mean Field Formulation for Two-layer Neural "
        f"Networks with Batch Normalization*: {n_pass} of {len(claims)} claims passed "
        f"({state}).",
        "",
        f"- bngeom {report['bngeom_version']}, seed {report['seed']}, "
        f"{'quick' if report['quick'] else 'default'} size, "
        f"{report['elapsed_seconds']:.1f} s wall time",
        f"- started {report['started']}, Python {report['python']}, "
        f"numpy {report['numpy']}, {report['platform']}",
        *_data_lines(report.get("data")),
        "",
        "| claim | result | measured | predicted | tolerance | what was measured |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        desc = c["description"].replace("|", "\\|")
        lines.append(f"| `{c['id']}` | {'pass' if c['passed'] else '**FAIL**'} | "
                     f"{_fmt(c['measured'])} | {_fmt(c['predicted'])} | "
                     f"{_fmt(c['tolerance'])} | {desc} |")
    skipped = report.get("skipped") or []
    if skipped:
        lines += ["", "## Skipped on your own data", ""]
        lines += [f"- `{c['id']}`: {c['reason']}" for c in skipped]
    missing = [cid for cid in report["expected_claims"] if cid not in {c["id"] for c in claims}]
    if missing:
        lines += ["", "Not yet measured: " + ", ".join(f"`{m}`" for m in missing)]
    errors = [c for c in claims if isinstance(c.get("details"), dict)
              and "error" in c["details"]]
    for c in errors:
        lines += ["", f"## `{c['id']}` raised", "", "```", c["details"]["error"].rstrip(), "```"]
    if report["figures"]:
        lines += ["", "## Figures", ""]
        for fig in report["figures"]:
            lines += [f"![{fig}]({fig})", ""]
    lines += ["", "Each claim's criterion and details are in `report.json`.", ""]
    return "\n".join(lines)


def _data_lines(data: dict[str, Any] | None) -> list[str]:
    if not data:
        return ["- data: the embedded synthetic teacher data (nothing downloaded)"]
    shape = (f"projected onto the {data['dim']}-dimensional range of its covariance"
             if data["projected"] else "its own covariance")
    return [f"- data: {data['source']}: {data['n_samples']} samples, {data['n_features']} "
            f"features, {shape} (condition number {data['condition_number']:.3g}; "
            f"sha256 {data['sha256']})"]


def write_report(out: str | os.PathLike, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out`` atomically; return their paths.

    Examples
    --------
    >>> import tempfile, json, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> report = {"claims": [], "figures": [], "complete": True, "seed": 0, "quick": True,
    ...           "bngeom_version": "0", "elapsed_seconds": 0.0, "started": "now",
    ...           "python": "3", "numpy": "2", "platform": "x", "expected_claims": []}
    >>> js, md = write_report(tmp, report)
    >>> json.loads(js.read_text())["claims"]
    []
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean = jsonable(report, strict=False)
    js, md = out / "report.json", out / "report.md"
    atomic_write(js, json.dumps(clean, indent=2, allow_nan=False) + "\n")
    atomic_write(md, _markdown(clean))
    return js, md


def _previous_claims(out: Path, settings: dict[str, Any]) -> dict[str, dict]:
    try:
        old = json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return {}
    if any(old.get(k) != v for k, v in settings.items()):
        return {}
    figures = set(old.get("figures", []))
    hashes = old.get("figure_sha256", {})
    kept = {}
    for c in old.get("claims", []):
        # reuse only complete, well-formed claims; anything else is measured again
        if not (isinstance(c, dict) and c.get("id") in CLAIM_IDS
                and _CLAIM_FIELDS <= set(c) and isinstance(c["passed"], bool)
                and isinstance(c["description"], str)):
            continue
        details = c.get("details", {})
        figs = old.get("claim_figures", {}).get(c["id"], [])
        if (isinstance(details, dict) and "error" not in details and isinstance(figs, list)
                and all(isinstance(f, str) and f in figures and isinstance(hashes, dict)
                        and hashes.get(f) == _sha256(out / f) for f in figs)):
            kept[c["id"]] = (c, figs)
    return kept


def _sha256(path: Path) -> str | None:
    """SHA-256 of a file (None if it cannot be read): binds a report to its figures."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


#: The fields every claim of ``report.json`` has (issue 5).
_CLAIM_FIELDS = frozenset({"id", "description", "measured", "predicted", "tolerance", "passed"})


def _checked_dataset(dataset: Any) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a bngeom.Dataset (bngeom.load_dataset or "
                        f"bngeom.Dataset.from_arrays), got {type(dataset).__name__}")
    return dataset


def _checked_arguments(out: str | os.PathLike, seed: Any, n_jobs: Any,
                       only: Sequence[str] | None) -> tuple[Path, int, list[str]]:
    """``run``'s arguments checked before any work: ``(out, seed, claim ids)``."""
    out = _checked_out(out)
    seed = check_seed(seed)
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    wanted = list(CLAIM_IDS if only is None else only)
    unknown = [c for c in wanted if c not in CLAIM_IDS]
    if unknown:
        raise ValueError(f"only contains unknown claim ids {unknown}; known: {list(CLAIM_IDS)}")
    return out, seed, wanted


def _checked_out(out: Any) -> Path:
    """``out`` as a directory that exists or can be created, and that this user can write."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path, got {type(out).__name__}")
    if not os.fspath(out).strip():
        raise ValueError("out must name a directory, got an empty path (use '.' for the "
                         "working directory)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a directory, but {out} is an existing file")
    existing = out
    while not existing.exists():  # the deepest existing ancestor must be a writable directory
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"out {out} cannot be created: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"out {out} is not writable: no write permission on {existing}")
    return out


def _prepare_out(out: Path) -> None:
    """Create ``out`` and check that a file can be written in it (read-only file systems)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ValueError(f"out {out} is not a writable directory: "
                         f"{exc.strerror or exc}") from None


def run(out: str | os.PathLike = DEFAULT_OUT, *, quick: bool = False, seed: int = 0,
        n_jobs: int | None = None, progress: bool = True, resume: bool = False,
        only: Sequence[str] | None = None, wait: bool = False,
        dataset: Dataset | None = None, data_label: str | None = None) -> dict[str, Any]:
    """Run the claims, write figures and reports into ``out``, return the report.

    Parameters
    ----------
    out : path
        Output directory (created if needed).
    quick : bool
        Small sizes (well under a minute); the default sizes take at most about
        two minutes on two cores.
    seed : int
        Seed of every random draw: the claims' numbers are a function of
        ``(seed, quick)`` and the package version.
    n_jobs : int, optional
        Worker processes for the Theorem 4 and 5 experiments (their default if None).
    progress : bool
        Show tqdm progress bars.
    resume : bool
        Reuse the claims of an earlier run in ``out`` with the same seed, size and
        version (and whose figures exist) instead of recomputing them.
    only : sequence of str, optional
        Run only these claim ids (default: all of :data:`CLAIM_IDS`).
    wait : bool
        If another run holds ``out``, wait for it to finish (default: refuse at once).
    dataset : Dataset, optional
        Your own data (:func:`bngeom.load_dataset`): the claims of :data:`DATA_CLAIM_IDS`
        run on its samples, targets and covariance; those of :data:`DATA_SKIPPED` are
        listed in the report's ``skipped`` with the reason.
    data_label : str, optional
        How the data was given (a file name), for the report.

    Returns
    -------
    dict
        The report written to ``report.json``.

    Raises
    ------
    bngeom._io.LockedError
        If another run is writing into ``out`` and ``wait`` is false.
    """
    out, seed, wanted = _checked_arguments(out, seed, n_jobs, only)
    data = None if dataset is None else _data_summary(_checked_dataset(dataset), data_label)
    skipped = [] if dataset is None else [{"id": c, "reason": DATA_SKIPPED[c]}
                                          for c in wanted if c in DATA_SKIPPED]
    wanted = [c for c in wanted if dataset is None or c not in DATA_SKIPPED]
    _prepare_out(out)
    with exclusive(out, what="output directory", wait=bool(wait),
                   hint="wait for it (--wait) or choose another --out"):
        return _run_locked(out, bool(quick), seed, n_jobs, progress, bool(resume), wanted,
                           dataset, data, skipped)


def _run_locked(out: Path, quick: bool, seed: int, n_jobs: int | None, progress: bool,
                resume: bool, wanted: list[str], dataset: Dataset | None,
                data: dict[str, Any] | None, skipped: list[dict]) -> dict[str, Any]:
    """The body of :func:`run`, while it holds the lock on ``out``."""
    settings = {"seed": seed, "quick": bool(quick), "bngeom_version": __version__,
                "data_sha256": None if data is None else data["sha256"]}
    previous = _previous_claims(out, settings) if resume else {}
    start = time.perf_counter()
    report: dict[str, Any] = {
        **settings, "run_id": uuid.uuid4().hex,
        "command": "bngeom reproduce" + (" --quick" if quick else "") + f" --seed {seed}"
                   + ("" if data is None else f" (data: {data['source']})"),
        "data": data, "skipped": skipped,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__,
        "platform": platform.platform(), "expected_claims": wanted,
        "complete": False, "all_passed": False, "elapsed_seconds": 0.0,
        "claims": [], "figures": [], "claim_figures": {}, "figure_sha256": {}, "timings": {},
    }
    write_report(out, report)
    tasks = [t for t in (_TASKS if dataset is None else _data_tasks(dataset)) if t.id in wanted]
    bar = tqdm(tasks, desc="bngeom reproduce", unit="claim", disable=not progress)
    for task in bar:
        bar.set_postfix_str(task.label)
        t0 = time.perf_counter()
        if task.id in previous:
            claim, figures = previous[task.id]
            claim = dict(claim, reused=True)
        else:
            try:
                claim, figures = task.compute(out, quick, seed, n_jobs, progress)
            except Exception as exc:  # recorded in the report; the run goes on
                claim = {"id": task.id, "description": f"{task.label}: computation failed",
                         "measured": None, "predicted": None, "tolerance": None,
                         "passed": False, "criterion": "the computation must finish",
                         "details": {"error": f"{type(exc).__name__}: {exc}\n"
                                              + traceback.format_exc(limit=6)}}
                figures = []
        report["claims"].append(claim)
        report["figures"].extend(f for f in figures if f not in report["figures"])
        report["claim_figures"][task.id] = figures
        report["figure_sha256"].update({f: _sha256(out / f) for f in figures})
        report["timings"][task.id] = round(time.perf_counter() - t0, 3)
        report["elapsed_seconds"] = time.perf_counter() - start
        write_report(out, report)
        if progress:
            tqdm.write(f"  {'pass' if claim['passed'] else 'FAIL'}  {task.id}: measured "
                       f"{_fmt(claim['measured'])} (predicted {_fmt(claim['predicted'])}, "
                       f"tolerance {_fmt(claim['tolerance'])})")
    report["complete"] = True
    report["all_passed"] = bool(report["claims"]) and all(c["passed"] for c in report["claims"])
    report["elapsed_seconds"] = time.perf_counter() - start
    write_report(out, report)
    return report


# ---------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare the options of ``bngeom reproduce`` on ``parser``.

    Examples
    --------
    >>> import argparse
    >>> args = add_arguments(argparse.ArgumentParser()).parse_args(["--quick"])
    >>> args.out, args.quick, args.seed
    ('bngeom-out', True, 0)
    """
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"output directory for the figures, report.json and report.md "
                             f"(default {DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, well under a minute (default: the full run, at "
                             "most about two minutes on two cores)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of every random draw; the claims' numbers depend only on "
                             "the seed, the size and the version (default 0)")
    parser.add_argument("--n-jobs", type=int, default=None, metavar="N", dest="n_jobs",
                        help="worker processes for the Theorem 4 and 5 experiments "
                             "(default: theirs)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the claims of an earlier run in --out with the same seed, "
                             "size and version")
    parser.add_argument("--only", nargs="+", choices=CLAIM_IDS, metavar="CLAIM",
                        help="run only these claims (ids: " + ", ".join(CLAIM_IDS) + ")")
    parser.add_argument("--wait", action="store_true",
                        help="if another run is writing into --out, wait for it to finish "
                             "(default: refuse at once)")
    parser.add_argument("--no-progress", action="store_false", dest="progress",
                        help="hide the progress bars")
    add_data_arguments(parser)
    return parser


def add_data_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare ``--data``, ``--target`` and ``--singular`` (``bngeom check`` and ``reproduce``).

    Examples
    --------
    >>> import argparse
    >>> args = add_data_arguments(argparse.ArgumentParser()).parse_args(
    ...     ["--data", "my.csv", "--target", "price"])
    >>> args.data, args.target, args.singular
    (['my.csv'], 'price', 'raise')
    """
    parser.add_argument("--data", nargs="+", default=None, metavar="FILE",
                        help="your own data instead of the synthetic default: a .csv/.tsv "
                             "(numbers; optional header), an .npz with arrays X and y, two "
                             ".npy files X.npy y.npy, or a directory holding them "
                             "(bngeom.load_dataset)")
    parser.add_argument("--target", default=None, metavar="COL",
                        help="CSV: the target column, by header name or 0-based index "
                             "(default: the last column); NPZ: the target array (default y)")
    parser.add_argument("--singular", choices=("raise", "project"), default="raise",
                        help="a singular covariance (constant or collinear features): stop "
                             "and name them (raise, the default) or restrict the geometry "
                             "to the range of the covariance, exactly (project; MATH §9)")
    return parser


def dataset_from_args(args: argparse.Namespace) -> tuple[Dataset | None, str | None]:
    """The :class:`Dataset` of ``--data`` (None without it) and its label for reports.

    Raises ``ValueError`` / ``TypeError`` naming the file when it cannot be used.

    Examples
    --------
    >>> import argparse
    >>> dataset_from_args(argparse.Namespace(data=None, target=None, singular="raise"))
    (None, None)
    """
    paths = getattr(args, "data", None)
    if not paths:
        return None, None
    from bngeom.nn.datasets import load_dataset

    if len(paths) > 2:
        raise ValueError(f"--data takes one file, a directory, or two .npy files (X, y), got "
                         f"{len(paths)} paths")
    source = paths[0] if len(paths) == 1 else paths
    target = getattr(args, "target", None)
    try:
        dataset = load_dataset(source, target=target,
                               singular=getattr(args, "singular", "raise"))
    except ValueError as exc:
        if "singular='project'" not in str(exc):
            raise
        raise ValueError(f"{exc}; on the command line: --singular project") from None
    label = " ".join(paths) + ("" if target is None else f" (target {target})")
    return dataset, label


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``bngeom reproduce`` from parsed arguments; return the exit code (0 = all passed).

    Bad arguments (``--seed -3``, ``--out`` naming a file, an ``--out`` another run is
    writing into) print a one-line error and return 2, as argparse does; errors during
    the run keep their traceback.
    """
    try:
        out, _, _ = _checked_arguments(args.out, args.seed, getattr(args, "n_jobs", None),
                                       getattr(args, "only", None))
        dataset, label = dataset_from_args(args)
        _prepare_out(out)
    except (ValueError, TypeError) as exc:
        print(f"bngeom reproduce: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = run(args.out, quick=args.quick, seed=args.seed,
                     n_jobs=getattr(args, "n_jobs", None),
                     progress=getattr(args, "progress", True),
                     resume=getattr(args, "resume", False), only=getattr(args, "only", None),
                     wait=getattr(args, "wait", False), dataset=dataset, data_label=label)
    except LockedError as exc:
        print(f"bngeom reproduce: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    n_pass = sum(c["passed"] for c in report["claims"])
    print(f"{n_pass} of {len(report['claims'])} claims passed in "
          f"{report['elapsed_seconds']:.1f} s; report: {out / 'report.md'}, "
          f"{out / 'report.json'}")
    for c in report["claims"]:
        if not c["passed"]:
            print(f"FAILED: {c['id']}: {c['description']}")
    for c in report.get("skipped", []):
        print(f"skipped: {c['id']}: {c['reason']}")
    return 0 if report["all_passed"] else 1
