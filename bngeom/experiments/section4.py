r"""Section 4 of the paper as measured experiments: what BN does to the speed of neurons.

Three effects (MATH §8, eqs. 21-22), each an experiment that returns a dictionary of
plain numbers and arrays, a function turning that dictionary into a claim of the
``bngeom reproduce`` report, and a separate plotting function writing a PNG:

* **4.1 data anisotropy** (:func:`anisotropy_experiment`, Figure 1). The BN velocity of
  ``w`` carries :math:`1/\|w\|_\Sigma`: a neuron pointing where the data are small moves
  fast, so BN neurons leave insignificant directions and gather on the significant one
  sooner than vanilla neurons started from the same directions.
* **4.2 magnitude** (:func:`magnitude_experiment`, Figure 2). For neurons ``w`` and
  ``c w`` with the same output weight, BN gives :math:`\nabla_{cw}L = \nabla_wL/c`:
  Euclidean speed ratio :math:`1/c`, angular speed ratio :math:`1/c^2`; without BN and
  with ReLU the Euclidean speeds are equal. The radii act as an ensemble of learning
  rates: a neuron of radius ``r`` moves like one of radius 1 with step :math:`\eta/r^2`.
* **4.3 first-step amplification** (:func:`first_step_experiment`, Figure 3). A GD step
  is orthogonal to ``w``, so :math:`\|w_1\|^2 = \|w_0\|^2 + \eta^2K^2/\|w_0\|^2` with
  :math:`K` the gradient norm at unit radius, and :math:`\|w_1\|\ge\sqrt{2\eta K}`.

Every gradient is computed by :mod:`bngeom.model`; gradient descent is written out here
(one line per step) because Sections 4.1 and 4.3 need per-neuron control that a
whole-network simulation does not give (4.1 trains each neuron as its own width-one
student; 4.3 takes a single step). Learning rates are plain GD learning rates on the
loss ``L`` of the network at hand. Everything is deterministic given ``seed``.

The three experiments share these keyword parameters:

* ``quick``, ``size``: the preset of the experiment's ``*_PRESETS`` (``size``; default
  ``"quick"`` with ``quick``, else ``"full"``);
* ``seed`` (int): every random draw of the run;
* ``progress`` (bool): show tqdm progress bars;
* ``dataset`` (:class:`bngeom.Dataset`, optional; 4.2 and 4.3): your own data, whose
  samples, targets and covariance replace the teacher data set (``dim`` and
  ``n_samples`` are then the data set's);
* ``**overrides``: settings of the preset to change (its keys); ``None`` keeps the
  preset's value.

Examples
--------
>>> res = first_step_experiment(quick=True, seed=0)
>>> claim = first_step_claim(res)
>>> claim["id"], claim["passed"]
('sec4_3_first_step', True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from bngeom._io import atomic_write
from bngeom._validation import (
    as_float_array,
    as_generator,
    check_positive_int,
    check_positive_scalar,
    check_seed,
)
from bngeom.experiments._plots import frame
from bngeom.experiments._presets import resolve_preset
from bngeom.experiments.claims import make_claim
from bngeom.geometry.charts import covariance_norm, neuron_radii, normalize_to_manifold
from bngeom.nn.data import (
    Dataset,
    anisotropic_gaussian,
    center,
    covariance,
    make_teacher_dataset,
    teacher_targets,
)
from bngeom.nn.functions import get_activation
from bngeom.nn.model import bn_loss_and_gradients, vanilla_loss_and_gradients

__all__ = [
    "ANISOTROPY_PRESETS",
    "MAGNITUDE_PRESETS",
    "FIRST_STEP_PRESETS",
    "anisotropy_run",
    "anisotropy_experiment",
    "anisotropy_claim",
    "plot_anisotropy",
    "DATA_ANGLE_DEG",
    "data_anisotropy_run",
    "data_anisotropy_claim",
    "plot_data_anisotropy",
    "magnitude_experiment",
    "magnitude_claim",
    "plot_magnitude",
    "first_step_experiment",
    "first_step_claim",
    "plot_first_step",
]

#: Relative tolerance of the exact identities of Sections 4.2 and 4.3 (float64).
IDENTITY_TOLERANCE = 1e-9


def _angle_to(W: NDArray, direction: NDArray, cov: NDArray | None = None) -> NDArray:
    """Angle in degrees between each row of ``W`` and the unit vector ``direction``.

    With ``cov``, the angle of the Sigma inner product: the angle whose cosine is the
    correlation of the pre-activations :math:`w^\top x` and ``direction``:math:`^\top x`.
    """
    if cov is None:
        cos = (W @ direction) / np.linalg.norm(W, axis=-1)
    else:
        cos = (W @ (cov @ direction)) / (covariance_norm(W, cov)
                                         * covariance_norm(direction, cov))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _tangential_norm(W: NDArray, V: NDArray) -> NDArray:
    """Norm of the component of each row of ``V`` orthogonal to the row of ``W``."""
    unit = W / np.linalg.norm(W, axis=-1, keepdims=True)
    return np.linalg.norm(V - unit * np.sum(unit * V, axis=-1, keepdims=True), axis=-1)


def _loglog_slope(x: NDArray, y: NDArray) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _figure(rows: int, cols: int, width: float = 4.6, height: float = 3.7):
    # matplotlib.figure.Figure renders with the Agg canvas and leaves pyplot's
    # global state (and backend) alone.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    return fig, [fig.add_subplot(rows, cols, i + 1) for i in range(rows * cols)]


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # atomically: a reader never sees half a figure, an interrupted run leaves the old one
    atomic_write(path, lambda fh: fig.savefig(fh, format=path.suffix.lstrip(".") or "png",
                                              dpi=110))
    return path


# ---------------------------------------------------------------------------
# 4.1 data anisotropy


def anisotropy_run(spectrum: ArrayLike, *, n_neurons: int = 12, n_samples: int = 256,
                   learning_rate: float = 0.2, t_end: float = 100.0, fraction: float = 0.9,
                   angle_deg: float = 10.0, activation: str = "tanh",
                   seed: int | np.random.Generator | None = 0,
                   progress: bool = False) -> dict[str, Any]:
    r"""BN against vanilla neurons on anisotropic data: time to gather on the significant axis.

    Data: centred Gaussian samples whose covariance has eigenvalues ``spectrum`` along
    the coordinate axes, rescaled so that the first (significant) eigenvalue is 1; the
    target is one BN neuron along the significant axis :math:`e_1`,
    :math:`y = \sigma(e_1^\top x/\|e_1\|_\Sigma)`. Each of ``n_neurons`` neurons is
    trained as its own width-one student with the teacher's output weight ``a = 1``
    fixed, so that its only way to lower its loss is to turn to :math:`e_1` (the
    unique minimizer, :math:`w\propto e_1` with BN and :math:`u = \varphi(e_1)`
    without). BN students follow gradient descent on ``w`` (eq. 21), vanilla
    students on ``u`` (eq. 22), both from the same initial directions and the same
    function (:math:`u_0 = \varphi(w_0)`, :math:`\|w_0\| = 1`), with the same
    learning rate; time is ``step * learning_rate``.

    Why the rescaling: BN does not see the scale of the data, the vanilla network
    does. With unit variance on :math:`e_1` the two are the same dynamics near the
    minimizer (there :math:`u = w` and the angular rates coincide), so a difference
    in gathering time comes from the speed away from it -- the effect of Section 4.1.

    Initial directions: in 2-D, angles evenly spaced in :math:`(-90°, 90°)` from
    :math:`e_1`; in higher dimension, Gaussian directions reflected into
    :math:`w_1 > 0`.

    Parameters
    ----------
    spectrum : array_like, shape (d,) or (N, d)
        Covariance eigenvalues, the first one the largest (d >= 2); or your own data,
        ``N`` samples of dimension ``d`` (a 2-D array): then ``n_samples`` of its rows (all
        if fewer), centred, in the principal axes of their covariance (largest first, so
        :math:`e_1` is the most significant direction) and rescaled to unit variance along
        it, with their own spectrum. Angles are then measured in the :math:`\Sigma` inner
        product (the angle whose cosine is the correlation of the neuron's and the
        teacher's pre-activations): on strongly anisotropic data the Euclidean angle is
        dominated by directions the network hardly sees.
    n_neurons : int
        Number of neurons (students).
    n_samples : int
        Number of data points.
    learning_rate : float
        GD learning rate of every student.
    t_end : float
        Time horizon (``round(t_end / learning_rate)`` steps).
    fraction : float
        The gathering criterion: a fraction in (0, 1] of the neurons ...
    angle_deg : float
        ... within this angle (degrees) of :math:`e_1`.
    activation : str
        Activation of teacher and students.
    seed : int or Generator
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``times`` (T,), ``angles_bn`` / ``angles_vanilla`` (T, m) in degrees,
        ``fraction_bn`` / ``fraction_vanilla`` (T,), ``t_gather_bn`` /
        ``t_gather_vanilla`` (first time the criterion holds, ``None`` if never),
        ``speedup`` (``t_gather_vanilla / t_gather_bn``; a lower bound
        ``t_end / t_gather_bn`` flagged by ``speedup_is_lower_bound`` when the
        vanilla students never gather), ``initial_angle`` (m,),
        ``initial_speed_bn`` / ``initial_speed_vanilla`` (angular speeds at t = 0),
        ``sigma_norm_sq`` (:math:`\hat w^\top\Sigma\hat w` of each initial
        direction), ``final_loss_bn`` / ``final_loss_vanilla`` (mean over
        students), and the settings.

    Examples
    --------
    >>> res = anisotropy_run([1.0, 0.3], n_neurons=4, n_samples=64, t_end=20.0)
    >>> res["angles_bn"].shape
    (101, 4)
    >>> bool(res["angles_bn"][-1].max() < res["angles_bn"][0].max())
    True
    """
    data = None
    if np.ndim(spectrum) == 2:
        data, spectrum = _principal_axes(spectrum, n_samples, seed)
    spec = _check_spectrum(spectrum)
    m = check_positive_int(n_neurons, "n_neurons")
    n = check_positive_int(n_samples, "n_samples")
    h = check_positive_scalar(learning_rate, "learning_rate")
    t_end = check_positive_scalar(t_end, "t_end")
    frac = check_positive_scalar(fraction, "fraction")
    if frac > 1:
        raise ValueError(f"fraction must be in (0, 1], got {frac}")
    angle = check_positive_scalar(angle_deg, "angle_deg")
    act = get_activation(activation)
    n_steps = max(1, round(t_end / h))
    gen = as_generator(seed)
    d = spec.shape[0]
    spec = spec / spec[0]
    if data is None:
        X, cov = anisotropic_gaussian(n, spec, gen)
    else:
        X = data / np.sqrt(spectrum[0])
        n, cov = X.shape[0], covariance(X, centered=True)
    e1 = np.zeros(d)
    e1[0] = 1.0
    y = teacher_targets(X, e1[None, :], np.ones(1), cov, act)
    W0 = _initial_directions(d, m, gen)
    students = _train_students((X, y, cov, act), W0, e1, h, n_steps, progress,
                               None if data is None else cov)
    times = h * np.arange(n_steps + 1)
    frac_bn = np.mean(students.angles_bn <= angle, axis=1)
    frac_v = np.mean(students.angles_vanilla <= angle, axis=1)
    t_bn, t_v = _first_time(times, frac_bn, frac), _first_time(times, frac_v, frac)
    lower = t_v is None
    speedup = None if t_bn is None else (times[-1] if lower else t_v) / max(t_bn, h)
    return {
        "dim": d, "spectrum": spec.tolist(), "n_neurons": m, "n_samples": n,
        "learning_rate": h, "t_end": float(times[-1]), "fraction": frac, "angle_deg": angle,
        "activation": act.name, "sigma_angle": data is not None,
        "data": "gaussian" if data is None else "given",
        "times": times, "angles_bn": students.angles_bn,
        "angles_vanilla": students.angles_vanilla,
        "fraction_bn": frac_bn, "fraction_vanilla": frac_v,
        "t_gather_bn": t_bn, "t_gather_vanilla": t_v,
        "speedup": None if speedup is None else float(speedup),
        "speedup_is_lower_bound": bool(lower and t_bn is not None),
        "initial_angle": students.angles_bn[0].copy(),
        "initial_speed_bn": students.speed_bn, "initial_speed_vanilla": students.speed_vanilla,
        "sigma_norm_sq": covariance_norm(W0, cov) ** 2, "cov": cov,
        "final_loss_bn": float(np.mean(students.loss_bn)),
        "final_loss_vanilla": float(np.mean(students.loss_vanilla)),
    }


def _check_spectrum(spectrum: ArrayLike) -> NDArray:
    spec = as_float_array(spectrum, "spectrum", min_ndim=1, max_ndim=1)
    if spec.shape[0] < 2:
        raise ValueError(f"spectrum must have at least 2 eigenvalues, got {spec.shape[0]}")
    if np.any(spec <= 0):
        raise ValueError(f"spectrum must be > 0, its smallest entry is {spec.min()}")
    if spec[0] < spec.max():
        raise ValueError("spectrum[0] must be the largest eigenvalue (the significant "
                         f"direction), got {spec[0]} < {spec.max()}")
    return spec


def _initial_directions(d: int, m: int, gen: np.random.Generator) -> NDArray:
    """Unit directions: evenly spaced angles in (-90, 90) degrees from e_1 in 2-D, else
    Gaussian directions reflected into w_1 > 0."""
    if d == 2:
        theta = np.linspace(-0.5 * np.pi, 0.5 * np.pi, m + 2)[1:-1]
        return np.column_stack((np.cos(theta), np.sin(theta)))
    W = gen.standard_normal((m, d))
    W[:, 0] = np.abs(W[:, 0])
    return W / np.linalg.norm(W, axis=1, keepdims=True)


@dataclass(frozen=True)
class _Students:
    """Angles to e_1 over the steps, final losses and initial angular speeds, BN and vanilla."""

    angles_bn: NDArray
    angles_vanilla: NDArray
    loss_bn: NDArray
    loss_vanilla: NDArray
    speed_bn: NDArray
    speed_vanilla: NDArray


def _train_students(problem: tuple, W0: NDArray, e1: NDArray, h: float, n_steps: int,
                    progress: bool, angle_cov: NDArray | None) -> _Students:
    """GD of every neuron as its own width-one student (output weight 1), BN (eq. 21) from
    ``W0`` and vanilla (eq. 22) from ``phi(W0)``: the same initial functions. Angles to
    ``e1`` in the ``angle_cov`` inner product (Euclidean if None)."""
    X, y, cov, act = problem
    m = W0.shape[0]
    W, U, one = W0.copy(), normalize_to_manifold(W0, cov), np.ones(1)
    angles_bn, angles_v = np.empty((n_steps + 1, m)), np.empty((n_steps + 1, m))
    loss_bn, loss_v, speed_bn, speed_v = (np.empty(m) for _ in range(4))
    for step in tqdm(range(n_steps + 1), desc=f"4.1 anisotropy d={W0.shape[1]}",
                     disable=not progress, leave=False):
        angles_bn[step] = _angle_to(W, e1, angle_cov)
        angles_v[step] = _angle_to(U, e1, angle_cov)
        if step == n_steps:
            break
        for k in range(m):
            bn = bn_loss_and_gradients(X, y, W[k:k + 1], one, cov, act, validate=False)
            van = vanilla_loss_and_gradients(X, y, U[k:k + 1], one, act, validate=False)
            if step == 0:
                speed_bn[k] = _tangential_norm(W[k:k + 1], bn.grad_w)[0] / np.linalg.norm(W[k])
                speed_v[k] = _tangential_norm(U[k:k + 1], van.grad_w)[0] / np.linalg.norm(U[k])
            loss_bn[k], loss_v[k] = bn.loss, van.loss
            W[k] -= h * bn.grad_w[0]
            U[k] -= h * van.grad_w[0]
    return _Students(angles_bn, angles_v, loss_bn, loss_v, speed_bn, speed_v)


def _first_time(times: NDArray, fractions: NDArray, fraction: float) -> float | None:
    """The first time at which ``fractions`` reaches ``fraction`` (None if never)."""
    ok = np.flatnonzero(fractions >= fraction - 1e-12)
    return float(times[ok[0]]) if ok.size else None


def _principal_axes(data: ArrayLike, n_samples: int, seed: Any) -> tuple[NDArray, NDArray]:
    """Up to ``n_samples`` rows of ``data``, centred, in their principal axes; their spectrum.

    A subsample (fixed by ``seed``) whose covariance is singular although that of all
    of ``data`` is not (a rare feature that no sampled row has) is replaced by all rows.
    """
    full = as_float_array(data, "data", min_ndim=2, max_ndim=2)
    n = check_positive_int(n_samples, "n_samples")
    X = full
    if full.shape[0] > n:
        pick = np.random.default_rng(as_generator(seed).integers(2**63 - 1)).choice(
            full.shape[0], n, replace=False)
        X = full[np.sort(pick)]
    try:
        cov = covariance(X)
    except ValueError:
        if X is full:
            raise
        X, cov = full, covariance(full)
    eig, vec = np.linalg.eigh(cov)
    return center(X) @ vec[:, ::-1], eig[::-1].copy()


#: Sizes of :func:`anisotropy_experiment` (the student settings go to :func:`anisotropy_run`).
ANISOTROPY_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"planar_spectrum": (1.0, 0.1), "dim": 6, "minor_variance": 0.25,
              "n_neurons": 6, "n_samples": 128, "learning_rate": 0.2, "t_end": 100.0,
              "fraction": 0.9, "angle_deg": 10.0},
    "full": {"planar_spectrum": (1.0, 0.1), "dim": 8, "minor_variance": 0.25,
             "n_neurons": 12, "n_samples": 256, "learning_rate": 0.2, "t_end": 100.0,
             "fraction": 0.9, "angle_deg": 10.0},
}


def anisotropy_experiment(*, quick: bool = False, seed: int = 0, progress: bool = False,
                          size: str | None = None, **overrides: Any) -> dict[str, Any]:
    r"""Figure 1: :func:`anisotropy_run` on 2-D data and on a d-dimensional variant.

    The d-dimensional variant has covariance eigenvalues
    ``(1, minor_variance, ..., minor_variance)``: one significant direction, every other
    direction insignificant, and random initial directions, which in dimension ``d``
    start almost orthogonal to the significant one.

    The parameters are those of every Section 4 experiment (module docstring), with the
    presets :data:`ANISOTROPY_PRESETS` (``dim`` >= 3, ``minor_variance`` < 1, and the
    students' settings of :func:`anisotropy_run`).

    Returns
    -------
    dict
        ``{"planar": ..., "high_dim": ..., "speedup": min of the two speed-ups}``.

    Examples
    --------
    >>> res = anisotropy_experiment(quick=True, n_neurons=3, t_end=10.0)
    >>> sorted(res)
    ['high_dim', 'planar', 'speedup']
    """
    config = _settings(ANISOTROPY_PRESETS, size, quick, overrides, "anisotropy_experiment")
    dim = check_positive_int(config.pop("dim"), "dim")
    if dim < 3:
        raise ValueError(f"dim must be >= 3 (the 2-D case is the planar run), got {dim}")
    minor = check_positive_scalar(config.pop("minor_variance"), "minor_variance")
    if minor >= 1:
        raise ValueError(f"minor_variance must be < 1 (the significant variance), got {minor}")
    planar_spectrum = config.pop("planar_spectrum")
    gen = np.random.default_rng(check_seed(seed))
    seeds = gen.integers(0, 2**63 - 1, size=2)
    planar = anisotropy_run(planar_spectrum, seed=int(seeds[0]), progress=progress, **config)
    high = anisotropy_run([1.0] + [minor] * (dim - 1), seed=int(seeds[1]), progress=progress,
                          **config)
    ups = [r["speedup"] for r in (planar, high)]
    return {"planar": planar, "high_dim": high,
            "speedup": None if any(u is None for u in ups) else float(min(ups))}


def anisotropy_claim(result: dict[str, Any]) -> dict[str, Any]:
    """The ``sec4_1_anisotropic_speed`` claim from :func:`anisotropy_experiment`.

    Passes when, in both the planar and the d-dimensional run, the BN neurons meet the
    gathering criterion and do so strictly sooner than the vanilla neurons
    (speed-up ``t_vanilla / t_BN > 1``). The paper predicts the direction of the
    effect, not its size, so ``predicted`` is the no-effect value 1.

    Examples
    --------
    >>> res = anisotropy_experiment(quick=True, n_neurons=3, t_end=10.0)
    >>> anisotropy_claim(res)["id"]
    'sec4_1_anisotropic_speed'
    """
    details = {}
    for key in ("planar", "high_dim"):
        r = result[key]
        details[key] = {k: r[k] for k in (
            "dim", "spectrum", "n_neurons", "learning_rate", "t_end", "fraction", "angle_deg",
            "t_gather_bn", "t_gather_vanilla", "speedup", "speedup_is_lower_bound",
            "final_loss_bn", "final_loss_vanilla")}
    ups = [details[k]["speedup"] for k in ("planar", "high_dim")]
    measured = result["speedup"]
    passed = all(u is not None and u > 1.0 for u in ups)
    fr, ang = result["planar"]["fraction"], result["planar"]["angle_deg"]
    return make_claim(
        "sec4_1_anisotropic_speed",
        f"Section 4.1: BN neurons gather on the significant direction sooner than vanilla "
        f"neurons from the same initial directions (time until {fr:.0%} of the neurons lie "
        f"within {ang:g} degrees; measured = smaller speed-up t_vanilla/t_BN of the 2-D and "
        f"{result['high_dim']['dim']}-D runs)",
        measured, 1.0, 0.0, passed=passed,
        criterion="measured > predicted (BN strictly faster)", details=details)


def plot_anisotropy(result: dict[str, Any], path: str | os.PathLike) -> Path:
    """Figure 1: neuron directions over time with and without BN; write a PNG to ``path``.

    Panels: (a) angle to the significant direction of every BN neuron (2-D data),
    (b) the same for the vanilla neurons, (c) the fraction of neurons within the
    angle over time for the 2-D and d-dimensional runs, gathering times marked,
    (d) the initial angular speed ratio BN / vanilla of each neuron against its
    direction, with :math:`1/\\hat w^\\top\\Sigma\\hat w` (the factor of eq. 21).
    """
    fig, (ax_bn, ax_v, ax_fr, ax_sp) = _figure(2, 2)
    planar, high = result["planar"], result["high_dim"]
    t, ang = planar["times"], planar["angle_deg"]
    for ax, key, name, color in ((ax_bn, "angles_bn", "with BN", "C0"),
                                 (ax_v, "angles_vanilla", "without BN", "C1")):
        ax.plot(t, planar[key], color=color, lw=1.0, alpha=0.85)
        ax.axhline(ang, color="k", ls=":", lw=1)
        gather = planar["t_gather_bn" if key == "angles_bn" else "t_gather_vanilla"]
        if gather is not None:
            ax.axvline(gather, color="k", ls="--", lw=1,
                       label=f"{planar['fraction']:.0%} within {ang:g}° at t = {gather:.1f}")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(f"({'a' if key == 'angles_bn' else 'b'}) 2-D data, {name}: "
                     f"spectrum {planar['spectrum'][0]:g}, {planar['spectrum'][1]:g}")
        ax.set_xlabel("time (steps x learning rate)")
        ax.set_ylabel("angle to significant direction (deg)")
        ax.set_ylim(0, 90)
    for run, ls in ((planar, "-"), (high, "--")):
        label = f"d = {run['dim']}"
        ax_fr.plot(run["times"], run["fraction_bn"], color="C0", ls=ls, label=f"BN, {label}")
        ax_fr.plot(run["times"], run["fraction_vanilla"], color="C1", ls=ls,
                   label=f"vanilla, {label}")
    ax_fr.axhline(planar["fraction"], color="k", ls=":", lw=1)
    ax_fr.set_title(f"(c) fraction of neurons within {ang:g}°; speed-ups "
                    f"{_fmt(planar['speedup'])} (2-D), {_fmt(high['speedup'])} "
                    f"({high['dim']}-D)", fontsize=9)
    ax_fr.set_xlabel("time")
    ax_fr.set_ylabel("fraction")
    ax_fr.legend(fontsize=8, loc="lower right")
    signed = _signed_initial_angle(planar)
    ratio = planar["initial_speed_bn"] / planar["initial_speed_vanilla"]
    ax_sp.semilogy(signed, ratio, "o", color="C2",
                   label="measured BN / vanilla angular speed, t = 0")
    fine = np.radians(np.linspace(-89.0, 89.0, 200))
    units = np.column_stack((np.cos(fine), np.sin(fine)))
    ax_sp.semilogy(np.degrees(fine), 1.0 / covariance_norm(units, planar["cov"]) ** 2, "-",
                   color="k", lw=1, label=r"$1/\hat w^\top\Sigma\hat w$ (factor of eq. 21)")
    from matplotlib.ticker import ScalarFormatter

    ax_sp.yaxis.set_major_formatter(ScalarFormatter())
    ax_sp.yaxis.set_minor_formatter(ScalarFormatter())
    ax_sp.axhline(1.0, color="gray", ls=":", lw=1)
    ax_sp.set_title("(d) BN speeds up neurons in insignificant directions", fontsize=9)
    ax_sp.set_xlabel("initial angle to significant direction (deg)")
    ax_sp.set_ylabel("speed ratio")
    ax_sp.legend(fontsize=8)
    return _save(fig, path)


#: Gathering angle (degrees, Sigma inner product) of :func:`data_anisotropy_claim` runs.
DATA_ANGLE_DEG = 5.0


def data_anisotropy_run(dataset: Dataset, *, quick: bool = False, seed: int = 0,
                        progress: bool = False, t_end: float | None = None) -> dict[str, Any]:
    r"""Section 4.1 on your own data: :func:`anisotropy_run` on its own samples and Sigma.

    The teacher is one BN neuron along the data's first principal axis; BN and vanilla
    students start from the same random directions; angles are measured in the
    :math:`\Sigma` inner product and a neuron has gathered within
    :data:`DATA_ANGLE_DEG` degrees (90% of them for the criterion). 12 neurons on up to
    256 samples for ``t_end = 100`` (6 on 128 for ``t_end = 50`` with ``quick``).

    Examples
    --------
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(64, [4.0, 1.0, 0.01], rng=0)
    >>> run = data_anisotropy_run(ds, quick=True, t_end=5.0)
    >>> run["angles_bn"].shape
    (26, 6)
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a bngeom.Dataset, got {type(dataset).__name__}")
    if dataset.dim < 2:
        raise ValueError(f"Section 4.1 needs at least 2 features, the data set has "
                         f"{dataset.dim}")
    if t_end is None:
        t_end = 50.0 if quick else 100.0
    return anisotropy_run(dataset.X, angle_deg=DATA_ANGLE_DEG,
                          n_neurons=6 if quick else 12, n_samples=128 if quick else 256,
                          t_end=t_end, seed=check_seed(seed), progress=progress)


def data_anisotropy_claim(run: dict[str, Any]) -> dict[str, Any]:
    """The ``sec4_1_anisotropic_speed`` claim on your own data (:func:`data_anisotropy_run`).

    Passes when the BN students gather (90% within :data:`DATA_ANGLE_DEG` degrees of the
    first principal axis, Sigma angle) strictly sooner than the vanilla students; when
    the vanilla students never gather, ``measured`` is the lower bound ``t_end / t_BN``.
    If the students start gathered already (one direction dominates Sigma), the effect
    cannot be measured and the claim fails saying so.

    Examples
    --------
    >>> run = {"speedup": 3.0, "t_gather_bn": 1.0, "t_gather_vanilla": 3.0,
    ...        "speedup_is_lower_bound": False, "fraction_bn": [0.0], "fraction": 0.9,
    ...        "angle_deg": 2.0, "dim": 4, "spectrum": [1.0, 0.1], "t_end": 10.0,
    ...        "n_neurons": 6, "n_samples": 64}
    >>> data_anisotropy_claim(run)["passed"]
    True
    """
    speedup, at_start = run["speedup"], run["fraction_bn"][0] >= run["fraction"]
    passed = bool(speedup is not None and speedup > 1.0 and not at_start)
    bound = " (a lower bound: the vanilla students never gathered)" if run[
        "speedup_is_lower_bound"] else ""
    return make_claim(
        "sec4_1_anisotropic_speed",
        f"Section 4.1 on the data's own covariance (d = {run['dim']}, condition number "
        f"{run['spectrum'][0] / run['spectrum'][-1]:.3g}): BN students reach the first "
        f"principal axis sooner than vanilla students from the same directions (time until "
        f"{run['fraction']:.0%} lie within {run['angle_deg']:g} degrees, Sigma angle; "
        f"measured = t_vanilla / t_BN{bound})"
        + ("; NOT MEASURABLE: the students start gathered" if at_start else ""),
        speedup, 1.0, 0.0, passed=passed,
        criterion="measured > predicted (BN strictly faster)",
        details={k: run[k] for k in ("dim", "n_neurons", "n_samples", "t_end", "t_gather_bn",
                             "t_gather_vanilla", "speedup_is_lower_bound", "angle_deg")})


def plot_data_anisotropy(run: dict[str, Any], path: str | os.PathLike) -> Path:
    """Section 4.1 on your own data: Sigma angles over time with and without BN, and the spectrum.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> run = data_anisotropy_run(make_teacher_dataset(64, [4.0, 1.0], rng=0), quick=True,
    ...                           t_end=2.0)
    >>> plot_data_anisotropy(run, pathlib.Path(tempfile.mkdtemp()) / "f.png").exists()
    True
    """
    fig, (ax_bn, ax_v, ax_fr, ax_sp) = _figure(2, 2)
    t, ang = run["times"], run["angle_deg"]
    for ax, key, name, color in ((ax_bn, "angles_bn", "with BN", "C0"),
                                 (ax_v, "angles_vanilla", "without BN", "C1")):
        ax.semilogy(t, np.maximum(run[key], 1e-3), color=color, lw=1.0, alpha=0.85)
        ax.axhline(ang, color="k", ls=":", lw=1)
        ax.set_title(f"{name}: Sigma angle to the first principal axis", fontsize=9)
        ax.set_xlabel("time (steps x learning rate)")
        ax.set_ylabel("angle (deg)")
    ax_fr.plot(t, run["fraction_bn"], color="C0", label="BN")
    ax_fr.plot(t, run["fraction_vanilla"], color="C1", label="vanilla")
    bound = ">= " if run["speedup_is_lower_bound"] else ""
    ax_fr.set_title(f"fraction within {ang:g} deg; speed-up {bound}{_fmt(run['speedup'])}",
                    fontsize=9)
    ax_fr.set_xlabel("time")
    ax_fr.legend(fontsize=8)
    ax_sp.semilogy(np.arange(1, run["dim"] + 1), run["spectrum"], "o-", ms=3, color="C2")
    ax_sp.set_title("covariance spectrum (largest = 1)", fontsize=9)
    ax_sp.set_xlabel("principal axis")
    return _save(fig, path)


def _signed_initial_angle(run: dict[str, Any]) -> NDArray:
    m = run["n_neurons"]
    return np.degrees(np.linspace(-0.5 * np.pi, 0.5 * np.pi, m + 2)[1:-1])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


# ---------------------------------------------------------------------------
# 4.2 magnitude


#: (network, activation, predicted Euclidean exponent, predicted angular exponent):
#: speed ratio of neuron c*w to neuron w is c**exponent; None = no prediction.
MAGNITUDE_CASES = (
    ("bn", "tanh", -1.0, -2.0),
    ("bn", "relu", -1.0, -2.0),
    ("vanilla", "relu", 0.0, -1.0),
    ("vanilla", "tanh", None, None),
)


def _train_first_layer(ds, W0: NDArray, a: NDArray, learning_rate: float,
                       n_steps: int) -> NDArray:
    """Loss curve of GD on the first layer of a BN network (output weights fixed)."""
    W = W0.copy()
    losses = np.empty(n_steps + 1)
    for step in range(n_steps + 1):
        res = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov, "tanh", validate=False)
        losses[step] = res.loss
        W -= learning_rate * res.grad_w
    return losses


def _settings(presets: dict[str, dict[str, Any]], size: str | None, quick: bool,
              overrides: dict[str, Any], label: str) -> dict[str, Any]:
    """The settings of the chosen preset with the ``overrides`` that are not None."""
    return resolve_preset(presets, size, quick,
                          {k: v for k, v in overrides.items() if v is not None}, label)[1]


def _own_or_teacher(dataset: Dataset | None, settings: dict[str, Any], seed: int
                    ) -> tuple[Dataset, np.random.Generator]:
    """The run's generator and the given data set, or Section 4's teacher data set.

    The teacher data set has ``settings["n_samples"]`` samples in ``settings["dim"]``
    dimensions, spectrum 2 to 0.5.
    """
    gen = np.random.default_rng(check_seed(seed))
    dim = check_positive_int(settings["dim"], "dim")
    if dataset is None:
        return make_teacher_dataset(settings["n_samples"], np.geomspace(2.0, 0.5, dim),
                                    teacher_width=3, rng=gen), gen
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a bngeom.Dataset, got {type(dataset).__name__}")
    return dataset, gen


#: Sizes of :func:`magnitude_experiment`.
MAGNITUDE_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"c_values": np.geomspace(0.1, 10.0, 7), "radii": np.geomspace(0.1, 10.0, 9),
              "dim": 4, "width": 6, "n_samples": 128, "learning_rate": 0.01,
              "ensemble_radii": (0.5, 1.0, 2.0), "ensemble_learning_rate": 2.0,
              "ensemble_steps": 60},
    "full": {"c_values": np.geomspace(0.1, 10.0, 13), "radii": np.geomspace(0.1, 10.0, 17),
             "dim": 4, "width": 6, "n_samples": 512, "learning_rate": 0.01,
             "ensemble_radii": (0.5, 1.0, 2.0), "ensemble_learning_rate": 2.0,
             "ensemble_steps": 150},
}


def _positive_values(values: ArrayLike, name: str) -> NDArray:
    arr = as_float_array(values, name, min_ndim=1, max_ndim=1)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, the smallest is {arr.min()}")
    return arr


def magnitude_experiment(*, quick: bool = False, seed: int = 0, progress: bool = False,
                         size: str | None = None, dataset: Dataset | None = None,
                         **overrides: Any) -> dict[str, Any]:
    r"""Figure 2: speed against magnitude, with and without BN (Section 4.2).

    Three measurements on a teacher data set with anisotropic covariance:

    1. *Speed ratios.* A network holds ``width`` random neurons plus a neuron
       ``w`` and its copies ``c w`` for every ``c`` in ``c_values``, all with the
       same output weight. From the exact gradients of :mod:`bngeom.model`, the
       ratio of Euclidean speeds :math:`\|\nabla_{cw}L\|/\|\nabla_wL\|` and of
       angular speeds (tangential speed divided by the radius), for the cases of
       :data:`MAGNITUDE_CASES` (BN with tanh and ReLU, vanilla with ReLU, and
       vanilla with tanh for contrast, where no simple law holds).
    2. *Effective step per radius.* A BN network whose neurons have radii ``radii``
       takes one GD step with ``learning_rate``; the angle each neuron turns,
       divided by ``learning_rate * K`` (``K`` its gradient norm at unit radius),
       is its effective step size, predicted :math:`1/r^2` (exactly
       :math:`\arctan(\eta K/r^2)/(\eta K)` for one step).
    3. *Radii as learning rates.* The same BN network scaled to each radius in
       ``ensemble_radii`` (the same function) is trained for ``ensemble_steps``
       steps with ``ensemble_learning_rate``, and compared with radius 1 trained with
       ``ensemble_learning_rate / r**2``.

    The parameters are those of every Section 4 experiment (module docstring), with the
    presets :data:`MAGNITUDE_PRESETS`.

    Returns
    -------
    dict
        ``c_values``; ``cases``: per case ``ratio_euclidean``, ``ratio_angular``,
        the fitted log-log slopes and, where predicted, the maximum relative error
        against :math:`c^{p}`; ``radii``, ``effective_step``,
        ``effective_step_exact`` (one-step prediction), ``effective_step_slope``;
        ``ensemble``: loss curves per radius and the largest relative gap to the
        radius-1 run with learning rate :math:`\eta/r^2`.

    Examples
    --------
    >>> res = magnitude_experiment(quick=True)
    >>> round(res["cases"]["bn/tanh"]["slope_euclidean"], 6)
    -1.0
    >>> round(res["cases"]["vanilla/relu"]["slope_euclidean"], 6) + 0.0
    0.0
    """
    c = _settings(MAGNITUDE_PRESETS, size, quick, overrides, "magnitude_experiment")
    cs = _positive_values(c["c_values"], "c_values")
    rs = _positive_values(c["radii"], "radii")
    ens_r = _positive_values(c["ensemble_radii"], "ensemble_radii")
    width = c["width"]  # checked by resolve_preset
    eta = check_positive_scalar(c["learning_rate"], "learning_rate")
    eta_ens = check_positive_scalar(c["ensemble_learning_rate"], "ensemble_learning_rate")
    n_ens = check_positive_int(c["ensemble_steps"], "ensemble_steps")
    ds, gen = _own_or_teacher(dataset, c, seed)
    dim, n = ds.dim, ds.X.shape[0]
    cases = _speed_ratios(ds, cs, width, gen, progress)
    steps = _effective_steps(ds, rs, eta, gen)
    ensemble = _radius_ensemble(ds, ens_r, eta_ens, n_ens, width, gen, progress)
    return {"dim": dim, "width": width, "n_samples": n, "c_values": cs, "cases": cases,
            **steps, "ensemble": ensemble}


def _speed_ratios(ds, cs: NDArray, width: int, gen: np.random.Generator,
                  progress: bool) -> dict[str, dict[str, Any]]:
    """Speed ratios of c*w to w in one network, for each case of MAGNITUDE_CASES."""
    dim = ds.X.shape[1]
    base_W = gen.standard_normal((width, dim))
    base_a = gen.standard_normal(width)
    w = gen.standard_normal(dim)
    a_w = 1.0 + abs(gen.standard_normal())
    W = np.vstack((base_W, w, cs[:, None] * w))
    a = np.concatenate((base_a, np.full(1 + cs.shape[0], a_w)))
    i0 = width
    cases = {}
    for network, act, p_euc, p_ang in tqdm(MAGNITUDE_CASES, desc="4.2 speed ratios",
                                           disable=not progress, leave=False):
        if network == "bn":
            grad = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov, act).grad_w
        else:
            grad = vanilla_loss_and_gradients(ds.X, ds.y, W, a, act).grad_w
        euc = np.linalg.norm(grad, axis=1)
        ang = _tangential_norm(W, grad) / np.linalg.norm(W, axis=1)
        r_euc = euc[i0 + 1:] / euc[i0]
        r_ang = ang[i0 + 1:] / ang[i0]
        entry = {"network": network, "activation": act, "ratio_euclidean": r_euc,
                 "ratio_angular": r_ang, "slope_euclidean": _loglog_slope(cs, r_euc),
                 "slope_angular": _loglog_slope(cs, r_ang),
                 "predicted_exponent_euclidean": p_euc, "predicted_exponent_angular": p_ang}
        if p_euc is not None:
            entry["max_rel_error_euclidean"] = float(np.max(np.abs(r_euc / cs**p_euc - 1.0)))
            entry["max_rel_error_angular"] = float(np.max(np.abs(r_ang / cs**p_ang - 1.0)))
        cases[f"{network}/{act}"] = entry
    return cases


def _effective_steps(ds, rs: NDArray, eta: float, gen: np.random.Generator) -> dict[str, Any]:
    """The angle each radius turns in one GD step, per unit of ``eta * K`` (predicted 1/r^2)."""
    dirs = gen.standard_normal((rs.shape[0], ds.X.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    a_r = gen.standard_normal(rs.shape[0])
    Wr = rs[:, None] * dirs
    grad = bn_loss_and_gradients(ds.X, ds.y, Wr, a_r, ds.cov, "tanh").grad_w
    K = rs * np.linalg.norm(grad, axis=1)
    W1 = Wr - eta * grad
    turned = np.arctan2(_tangential_norm(dirs, W1), np.sum(W1 * dirs, axis=1))
    eff = turned / (eta * K)
    exact = np.arctan(eta * K / rs**2) / (eta * K)
    return {"radii": rs, "learning_rate": eta, "unit_radius_gradient": K,
            "effective_step": eff, "effective_step_exact": exact,
            "effective_step_slope": _loglog_slope(rs, eff),
            "effective_step_max_rel_error": float(np.max(np.abs(eff / exact - 1.0)))}


def _radius_ensemble(ds, radii: NDArray, eta: float, n_steps: int, width: int,
                     gen: np.random.Generator, progress: bool) -> dict[str, Any]:
    """Radii as learning rates: radius r with eta against radius 1 with eta / r^2."""
    Wn = gen.standard_normal((width, ds.X.shape[1]))
    Wn /= np.linalg.norm(Wn, axis=1, keepdims=True)
    an = gen.standard_normal(width)
    curves, reference, gaps = [], [], []
    for r in tqdm(radii, desc="4.2 radii as learning rates", disable=not progress,
                  leave=False):
        curves.append(_train_first_layer(ds, r * Wn, an, eta, n_steps))
        reference.append(_train_first_layer(ds, Wn, an, eta / r**2, n_steps))
        gaps.append(float(np.max(np.abs(curves[-1] - reference[-1]) / reference[-1])))
    return {"radii": radii, "learning_rate": eta, "steps": n_steps, "loss": np.array(curves),
            "loss_radius1_scaled_rate": np.array(reference), "max_rel_gap": float(max(gaps))}


def magnitude_claim(result: dict[str, Any], tolerance: float = IDENTITY_TOLERANCE
                    ) -> dict[str, Any]:
    """The ``sec4_2_speed_ratio`` claim from :func:`magnitude_experiment`.

    ``measured`` is the fitted log-log slope of the BN Euclidean speed ratio
    against ``c`` (predicted -1). The claim passes when every predicted ratio
    (BN: :math:`1/c` and :math:`1/c^2`, ReLU without BN: 1 and :math:`1/c`) holds to
    relative ``tolerance`` at every ``c``, the one-step effective step sizes match
    :math:`\\arctan(\\eta K/r^2)/(\\eta K)` to ``tolerance``, and radius ``r`` with
    learning rate :math:`\\eta` trains exactly like radius 1 with :math:`\\eta/r^2`.

    Examples
    --------
    >>> magnitude_claim(magnitude_experiment(quick=True))["passed"]
    True
    """
    cases = result["cases"]
    errors = {f"{k}/{kind}": v[f"max_rel_error_{kind}"] for k, v in cases.items()
              if v["predicted_exponent_euclidean"] is not None
              for kind in ("euclidean", "angular")}
    ens_gap = result["ensemble"]["max_rel_gap"]
    eff_err = result["effective_step_max_rel_error"]
    measured = cases["bn/tanh"]["slope_euclidean"]
    passed = (abs(measured + 1.0) <= tolerance and all(e <= tolerance for e in errors.values())
              and eff_err <= tolerance and ens_gap <= tolerance)
    details = {
        "slopes": {k: {"euclidean": v["slope_euclidean"], "angular": v["slope_angular"],
                       "predicted_euclidean": v["predicted_exponent_euclidean"],
                       "predicted_angular": v["predicted_exponent_angular"]}
                   for k, v in cases.items()},
        "max_rel_errors": errors,
        "c_range": [float(result["c_values"].min()), float(result["c_values"].max())],
        "effective_step_slope": result["effective_step_slope"],
        "effective_step_max_rel_error": eff_err,
        "radius_as_learning_rate_max_rel_gap": ens_gap,
    }
    return make_claim(
        "sec4_2_speed_ratio",
        "Section 4.2: for neurons w and c*w, BN speed ratios are 1/c (Euclidean) and 1/c^2 "
        "(angular); without BN, with ReLU, Euclidean speeds are equal; radius r with "
        "learning rate eta trains like radius 1 with eta/r^2 (measured = log-log slope of "
        "the BN Euclidean speed ratio)",
        measured, -1.0, tolerance, passed=passed,
        criterion="|measured - predicted| <= tolerance and every listed relative error "
                  "<= tolerance",
        details=details)


def plot_magnitude(result: dict[str, Any], path: str | os.PathLike) -> Path:
    """Figure 2: speed against magnitude; write a PNG to ``path``.

    Panels: (a) Euclidean speed ratio of ``c w`` to ``w`` against ``c`` (log-log),
    (b) angular speed ratio, (c) effective step size per radius after one GD step
    with the :math:`1/r^2` law, (d) loss curves of the same BN network at several
    radii with one learning rate (an ensemble of learning rates), each overlaid with
    radius 1 trained with learning rate :math:`\\eta/r^2`.
    """
    fig, (ax_e, ax_a, ax_r, ax_l) = _figure(2, 2)
    cs = result["c_values"]
    styles = {"bn/tanh": ("o", "C0", 10), "bn/relu": ("s", "C2", 5),
              "vanilla/relu": ("^", "C1", 7), "vanilla/tanh": ("x", "C3", 7)}
    for key, v in result["cases"].items():
        marker, color, size = styles.get(key, ("o", "k", 6))
        name = ("BN" if v["network"] == "bn" else "no BN") + f", {v['activation']}"
        for ax, kind in ((ax_e, "ratio_euclidean"), (ax_a, "ratio_angular")):
            ax.loglog(cs, v[kind], marker, color=color, ls="none", label=name, ms=size,
                      mfc="none" if key == "bn/tanh" else color)
    grid = np.geomspace(cs.min(), cs.max(), 50)
    ax_e.loglog(grid, 1 / grid, "k-", lw=1, label="1/c (BN)")
    ax_e.loglog(grid, np.ones_like(grid), "k--", lw=1, label="1 (no BN, ReLU)")
    ax_a.loglog(grid, 1 / grid**2, "k-", lw=1, label="1/c² (BN)")
    ax_a.loglog(grid, 1 / grid, "k--", lw=1, label="1/c (no BN, ReLU)")
    for ax, kind in ((ax_e, "Euclidean"), (ax_a, "angular")):
        ax.set_xlabel("c  (neuron c·w against neuron w)")
        ax.set_ylabel(f"{kind} speed ratio")
        ax.legend(fontsize=8)
    ax_e.set_title("(a) Euclidean speed ratio")
    ax_a.set_title("(b) angular speed ratio")
    rs = result["radii"]
    ax_r.loglog(rs, result["effective_step"], "o", color="C0",
                label="measured: angle turned / (η K)")
    ax_r.loglog(rs, result["effective_step_exact"], "k-", lw=1,
                label="arctan(ηK/r²)/(ηK)")
    ax_r.loglog(rs, 1 / rs**2, "k:", lw=1, label="1/r²")
    frame(ax_r, "neuron radius r = ||w||", "effective step size / η",
          f"(c) radii as learning rates (slope {result['effective_step_slope']:.3f})",
          title_size=None)
    ens = result["ensemble"]
    steps = np.arange(ens["steps"] + 1)
    for i, r in enumerate(ens["radii"]):
        line = ax_l.semilogy(steps, ens["loss"][i], lw=2, alpha=0.6,
                             label=f"radius {r:g}, rate η = {ens['learning_rate']:g}")
        ax_l.semilogy(steps, ens["loss_radius1_scaled_rate"][i], "--", lw=1,
                      color=line[0].get_color(),
                      label=f"radius 1, rate η/r² = {ens['learning_rate'] / r**2:g}")
    ax_l.set_xlabel("gradient-descent step")
    ax_l.set_ylabel("loss (BN network, first layer trained)")
    ax_l.set_title("(d) one function, three radii, one learning rate")
    ax_l.legend(fontsize=7)
    return _save(fig, path)


# ---------------------------------------------------------------------------
# 4.3 first-step amplification


#: Sizes of :func:`first_step_experiment`.
FIRST_STEP_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"norms": np.geomspace(1e-4, 10.0, 21), "learning_rate": 1.0, "dim": 4,
              "width": 8, "n_samples": 128, "n_steps": 8,
              "trajectory_norms": (1e-4, 1e-2, 1.0, 10.0)},
    "full": {"norms": np.geomspace(1e-4, 10.0, 51), "learning_rate": 1.0, "dim": 4,
             "width": 8, "n_samples": 512, "n_steps": 8,
             "trajectory_norms": (1e-4, 1e-2, 1.0, 10.0)},
}


def first_step_experiment(*, quick: bool = False, seed: int = 0, progress: bool = False,
                          size: str | None = None, dataset: Dataset | None = None,
                          **overrides: Any) -> dict[str, Any]:
    r"""Figure 3: the norm after one GD step against the initial norm (Section 4.3).

    A BN network of ``width`` neurons on a teacher data set is scaled so that every
    neuron has radius :math:`\|w_0\| = s` (the function does not change) for each
    ``s`` in ``norms``; one GD step with ``learning_rate`` :math:`\eta` gives
    :math:`w_1`. Prediction: :math:`\|w_1\| = \sqrt{s^2 + \eta^2K^2/s^2}` with
    :math:`K` the neuron's gradient norm at unit radius, minimized at
    :math:`s = \sqrt{\eta K}` where it equals the floor :math:`\sqrt{2\eta K}`. Then
    ``n_steps`` further steps from the radii in ``trajectory_norms`` show that after
    the first step every neuron is large enough for stable dynamics. The parameters are
    those of every Section 4 experiment (module docstring), with the presets
    :data:`FIRST_STEP_PRESETS`.

    Returns
    -------
    dict
        ``norms`` (S,), ``K`` (m,), ``w1_norm`` (S, m) measured, ``predicted`` (S, m),
        ``floor`` (m,), ``max_rel_error``, ``min_ratio_to_floor``,
        ``decreasing_below_minimizer`` (the smaller :math:`\|w_0\|`, the larger
        :math:`\|w_1\|`, checked on the grid below each neuron's minimizer), and
        ``trajectories``: per initial radius the mean neuron radius (n_steps+1,)
        and the loss.

    Examples
    --------
    >>> res = first_step_experiment(quick=True)
    >>> bool(res["max_rel_error"] < 1e-9 and res["min_ratio_to_floor"] >= 1 - 1e-12)
    True
    """
    c = _settings(FIRST_STEP_PRESETS, size, quick, overrides, "first_step_experiment")
    ss = np.sort(_positive_values(c["norms"], "norms"))
    eta = check_positive_scalar(c["learning_rate"], "learning_rate")
    width = c["width"]  # checked by resolve_preset
    n_steps = check_positive_int(c["n_steps"], "n_steps")
    traj_s = _positive_values(c["trajectory_norms"], "trajectory_norms")
    ds, gen = _own_or_teacher(dataset, c, seed)
    dim, n = ds.dim, ds.X.shape[0]
    dirs = gen.standard_normal((width, dim))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    a = gen.standard_normal(width)
    K = np.linalg.norm(bn_loss_and_gradients(ds.X, ds.y, dirs, a, ds.cov).grad_w, axis=1)
    w1 = np.empty((ss.shape[0], width))
    for i, s in enumerate(tqdm(ss, desc="4.3 first step", disable=not progress, leave=False)):
        W0 = s * dirs
        grad = bn_loss_and_gradients(ds.X, ds.y, W0, a, ds.cov, validate=False).grad_w
        w1[i] = neuron_radii(W0 - eta * grad)
    predicted = np.sqrt(ss[:, None] ** 2 + (eta * K) ** 2 / ss[:, None] ** 2)
    floor = np.sqrt(2 * eta * K)
    below = ss[:, None] < np.sqrt(eta * K)
    decreasing = all(bool(np.all(np.diff(w1[below[:, k], k]) < 0)) for k in range(width))
    trajectories = []
    for s in traj_s:
        W = s * dirs
        radius, loss = np.empty(n_steps + 1), np.empty(n_steps + 1)
        for step in range(n_steps + 1):
            res = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov, validate=False)
            radius[step], loss[step] = np.mean(neuron_radii(W)), res.loss
            W = W - eta * res.grad_w
        trajectories.append({"initial_norm": float(s), "mean_radius": radius, "loss": loss})
    return {
        "dim": dim, "width": width, "n_samples": n, "learning_rate": eta, "norms": ss,
        "K": K, "w1_norm": w1, "predicted": predicted, "floor": floor,
        "max_rel_error": float(np.max(np.abs(w1 / predicted - 1.0))),
        "min_ratio_to_floor": float(np.min(w1 / floor)),
        "decreasing_below_minimizer": decreasing, "trajectories": trajectories,
    }


def first_step_claim(result: dict[str, Any], tolerance: float = IDENTITY_TOLERANCE
                     ) -> dict[str, Any]:
    """The ``sec4_3_first_step`` claim from :func:`first_step_experiment`.

    ``measured`` is the largest relative error between the measured
    :math:`\\|w_1\\|` and :math:`\\sqrt{\\|w_0\\|^2 + \\eta^2K^2/\\|w_0\\|^2}` over the
    grid of initial norms and all neurons (predicted 0). The claim also requires
    :math:`\\|w_1\\| \\ge \\sqrt{2\\eta K}` (to relative ``tolerance``) everywhere and
    :math:`\\|w_1\\|` decreasing in :math:`\\|w_0\\|` below the minimizer.

    Examples
    --------
    >>> first_step_claim(first_step_experiment(quick=True))["passed"]
    True
    """
    measured = result["max_rel_error"]
    passed = (measured <= tolerance and result["min_ratio_to_floor"] >= 1.0 - tolerance
              and result["decreasing_below_minimizer"])
    ss = result["norms"]
    return make_claim(
        "sec4_3_first_step",
        f"Section 4.3: after one GD step ||w1||^2 = ||w0||^2 + eta^2 K^2/||w0||^2 >= 2 eta K "
        f"for ||w0|| from {ss.min():.0e} to {ss.max():.0e} (measured = max relative error "
        f"of ||w1||)",
        measured, 0.0, tolerance, passed=passed,
        criterion="measured <= tolerance, min ||w1||/sqrt(2 eta K) >= 1 - tolerance, ||w1|| "
                  "decreasing in ||w0|| below sqrt(eta K)",
        details={"learning_rate": result["learning_rate"], "K": result["K"].tolist(),
         "floor_sqrt_2_eta_K": result["floor"].tolist(),
         "min_ratio_to_floor": result["min_ratio_to_floor"],
         "decreasing_below_minimizer": result["decreasing_below_minimizer"],
         "norm_range": [float(ss.min()), float(ss.max())], "n_norms": int(ss.shape[0])})


def plot_first_step(result: dict[str, Any], path: str | os.PathLike,
                    n_neurons: int = 3) -> Path:
    """Figure 3: :math:`\\|w_1\\|` against :math:`\\|w_0\\|` (log-log); write a PNG to ``path``.

    Panel (a): measurements for the neurons with the smallest, median and largest
    ``K`` (markers), the prediction :math:`\\sqrt{\\|w_0\\|^2 + \\eta^2K^2/\\|w_0\\|^2}`
    (lines), the floors :math:`\\sqrt{2\\eta K}` (dashed) and the diagonal
    :math:`\\|w_1\\| = \\|w_0\\|`. Panel (b): the mean neuron radius over the first GD
    steps from several initial radii.
    """
    fig, (ax, ax_t) = _figure(1, 2, width=5.2, height=4.2)
    ss, K = result["norms"], result["K"]
    order = np.argsort(K)
    pick = order[np.unique(np.linspace(0, K.shape[0] - 1, min(n_neurons, K.shape[0]))
                           .round().astype(int))]
    grid = np.geomspace(ss.min(), ss.max(), 300)
    eta = result["learning_rate"]
    for j, k in enumerate(pick):
        color = f"C{j}"
        ax.loglog(ss, result["w1_norm"][:, k], "o", ms=5, color=color, mfc="none",
                  label=f"measured, K = {K[k]:.3g}")
        ax.loglog(grid, np.sqrt(grid**2 + (eta * K[k]) ** 2 / grid**2), "-", lw=1, color=color)
        ax.axhline(result["floor"][k], ls="--", lw=1, color=color)
    ax.loglog(grid, grid, ":", color="gray", lw=1, label="||w1|| = ||w0||")
    ax.plot([], [], "k-", lw=1, label="sqrt(||w0||² + η²K²/||w0||²)")
    ax.plot([], [], "k--", lw=1, label="floor sqrt(2ηK)")
    frame(ax, "||w0|| (initial neuron norm)", "||w1|| (after one GD step)",
          f"(a) first-step amplification, η = {eta:g}", title_size=None)
    for j, tr in enumerate(result["trajectories"]):
        ax_t.semilogy(np.arange(tr["mean_radius"].shape[0]), tr["mean_radius"], "o-", ms=3,
                      color=f"C{j}", label=f"||w0|| = {tr['initial_norm']:g}")
    ax_t.axhline(float(np.mean(result["floor"])), ls="--", color="k", lw=1,
                 label="mean floor sqrt(2ηK)")
    frame(ax_t, "gradient-descent step", "mean neuron norm",
          "(b) after the first step every neuron is large", title_size=None)
    return _save(fig, path)
