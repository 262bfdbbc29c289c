r"""Theorem 4 measured as propagation of chaos: coupled particles of two widths (MATH §12).

:mod:`bngeom.experiments.theorem4` compares a width-``m`` flow with an *independent*
sample of a wide reference; its :math:`W_2` at :math:`t = 0` is the sampling noise of
:math:`\rho_0`, not the dynamics. Here the two systems are **coupled**: a reference of
width ``M`` is drawn once, i.i.d. from :math:`\rho_0`, and a width-``m`` network starts
from a block of ``m`` of its particles (the first block is the first ``m`` particles,
the nested coupling; further disjoint blocks are copies of the same coupling). Both
networks are trained by Riemannian gradient descent on :math:`M = N_\Sigma\times\mathbb
R` (eq. 7, :func:`bngeom.dynamics.simulate`, ``chart="riemannian"``, ``method="gd"``,
mean-field step ``step``), and particle ``k`` of the small network is compared with
its twin in the reference at every record, with the distance of :math:`M`
(:func:`coupled_squared_distance`). At :math:`t = 0` the distance is exactly 0.

The measured quantity is

.. math:: D(m) = \sup_{t\le T}\Big(\frac1{Bm}\sum_{\text{blocks}}\sum_{k=1}^m
          d_M\big(\theta_k^{(m)}(t), \theta_k^{(M)}(t)\big)^2\Big)^{1/2},

and Sznitman's propagation-of-chaos argument predicts
:math:`D(m)\propto(1/m - 1/M)^{1/2}`: the mean-field velocities of the two systems
differ by the empirical-mean error of the block against the whole reference, whose
variance is :math:`(1/m - 1/M)` times that of one particle. The rate is fitted
against the effective width :math:`m_{\rm eff} = (1/m - 1/M)^{-1}`
(:func:`effective_width`), so the claimed slope is -1/2 for any ``M > m``.

Every seed draws its own reference; the slope of each seed is fitted, and the
result carries their mean with a Student-t confidence interval over seeds
(:data:`CI_METHOD`). The :math:`W_2` gap (first seed, a few records) and the
:math:`L^2(\mu)` function gap are kept as details.

Examples
--------
>>> res = run_chaos("quick", options=ChaosOptions(widths=(10, 20), ref_width=160,
...                 n_blocks=2, n_seeds=2, n_samples=32, t_end=0.2, n_records=3,
...                 w2_records=2))
>>> len(res.sup_rms), len(res.sup_rms[0]), res.slope < 0
(2, 2, True)
>>> ChaosResult.from_dict(res.to_dict()) == res
True
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from bngeom import geometry
from bngeom._validation import check_positive_int, check_positive_scalar, check_seed
from bngeom.dynamics.flows import simulate
from bngeom.dynamics.trajectory import Trajectory
from bngeom.experiments._plots import frame, width_ticks
from bngeom.experiments.sweeps import make_grid, run_sweep
from bngeom.experiments.theorem4 import SETTINGS, _dataset, sample_initial_particles
from bngeom.nn.data import Dataset
from bngeom.nn.model import vanilla_forward
from bngeom.wasserstein import wasserstein2

__all__ = [
    "CI_LEVEL",
    "CI_METHOD",
    "ChaosOptions",
    "ChaosResult",
    "Coupling",
    "PRESETS",
    "couple",
    "coupled_squared_distance",
    "effective_width",
    "plot_chaos",
    "run_chaos",
]

#: Confidence level of the interval on the slope.
CI_LEVEL = 0.95
#: How the interval is computed.
CI_METHOD = ("Student-t interval over seeds of the per-seed least-squares slopes of "
             "log D(m) against log m_eff")


@dataclass(frozen=True)
class ChaosOptions:
    """Sizes of the coupled experiment (validated on construction).

    Attributes
    ----------
    widths : tuple of int
        Strictly increasing widths ``m`` of the small networks, each ``< ref_width``.
    ref_width : int
        Width ``M`` of the reference network of each seed.
    n_blocks : int
        At most this many disjoint blocks of ``m`` reference particles are coupled to
        their own width-``m`` network (``min(n_blocks, M // m)``).
    n_seeds : int
        Independent references (>= 2: the confidence interval needs two).
    n_samples : int
        Samples of the data set (``d = 2``, the teacher of :mod:`.theorem4`).
    t_end, step : float
        Horizon and mean-field step of gradient descent (a whole number of steps).
    n_records : int
        Records, equally spaced in ``[0, t_end]``, over which the sup is taken.
    w2_records : int
        Records (of the first seed) at which the :math:`W_2` detail is computed.

    Examples
    --------
    >>> ChaosOptions(widths=(10, 20), ref_width=80).widths
    (10, 20)
    """

    widths: tuple[int, ...] = (12, 25, 50, 100, 200)
    ref_width: int = 3200
    n_blocks: int = 16
    n_seeds: int = 8
    n_samples: int = 64
    t_end: float = 1.5
    step: float = 0.01
    n_records: int = 16
    w2_records: int = 4

    def __post_init__(self) -> None:
        for name in ("ref_width", "n_blocks", "n_seeds", "n_samples", "n_records",
                     "w2_records"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        for name in ("t_end", "step"):
            object.__setattr__(self, name, check_positive_scalar(getattr(self, name), name))
        object.__setattr__(self, "widths", _check_widths(self.widths, self.ref_width))
        if self.n_seeds < 2:
            raise ValueError(f"n_seeds must be >= 2 (a confidence interval over seeds needs "
                             f"two), got {self.n_seeds}")
        if self.n_records < 2 or not 2 <= self.w2_records <= self.n_records:
            raise ValueError(f"need 2 <= w2_records <= n_records, got w2_records="
                             f"{self.w2_records}, n_records={self.n_records}")
        n_steps = self.t_end / self.step
        if abs(n_steps - round(n_steps)) > 1e-9 * max(1.0, n_steps):
            raise ValueError(f"t_end must be a whole number of steps, got t_end={self.t_end}, "
                             f"step={self.step}")


def _check_widths(widths: Any, ref_width: int) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
        raise TypeError(f"widths must be a sequence of integers, got {type(widths).__name__}")
    out = tuple(check_positive_int(w, "widths") for w in widths)
    if len(out) < 2 or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"widths must hold at least two strictly increasing widths (a rate "
                         f"needs two), got {list(out)}")
    if out[-1] >= ref_width:
        raise ValueError(f"widths must be smaller than ref_width={ref_width} (the coupled "
                         f"reference is the larger system), got {list(out)}")
    return out


#: ``bngeom reproduce --quick`` and the tests (about 15 s of CPU), the default
#: ``bngeom reproduce`` (about 20 s) and the full run (about two minutes): MATH §12.
PRESETS: dict[str, ChaosOptions] = {
    "quick": ChaosOptions(),
    "reproduce": ChaosOptions(n_seeds=10),
    "full": ChaosOptions(widths=(25, 50, 100, 200, 400, 800), ref_width=12800, n_seeds=16,
                         n_samples=256),
}


def effective_width(width: ArrayLike, ref_width: int) -> NDArray:
    r"""The effective width :math:`m_{\rm eff} = (1/m - 1/M)^{-1}` of the nested coupling.

    The empirical mean over a block of ``m`` of ``M`` i.i.d. particles minus the mean over
    all ``M`` has variance :math:`(1/m - 1/M)\,\mathrm{Var}` (MATH §12), the variance of an
    independent ``m_eff``-sample mean; ``inf`` at ``m = M``.

    Examples
    --------
    >>> effective_width([50, 100], 200).tolist()
    [66.66666666666667, 200.0]
    """
    try:
        m = np.asarray(width, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"width must be an integer or an array of integers, got "
                        f"{width!r}") from None
    M = float(check_positive_int(ref_width, "ref_width"))
    if np.any(m < 1) or np.any(m > M) or np.any(m != np.round(m)):
        raise ValueError(f"width must hold integers in [1, ref_width={int(M)}], got {width!r}")
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 / m - 1.0 / M)


def coupled_squared_distance(trajectory: Trajectory, reference: Trajectory, cov: ArrayLike,
                             *, offset: int = 0) -> NDArray:
    r"""Squared distances on :math:`M` between coupled particles, shape ``(T, m)``.

    Entry ``[t, k]`` is :math:`d_M^2 = d_g(u_k, v_{o+k})^2 + (a_k - b_{o+k})^2` between
    particle ``k`` of ``trajectory`` and particle ``offset + k`` of ``reference`` at record
    ``t`` (MATH §5: the distance of :math:`N_\Sigma` from :func:`bngeom.geometry.squared_dist`,
    unit radius, times the line of the output weight).

    Parameters
    ----------
    trajectory, reference : Trajectory
        Runs with the same record times; ``reference`` holds at least ``offset + m``
        particles.
    cov : array_like, shape (d, d)
        The covariance :math:`\Sigma` of the data.
    offset : int
        Index of the reference particle coupled to particle 0.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.dynamics import simulate
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(16, [2.0, 0.5], teacher_width=1, rng=0)
    >>> U0, a0 = geometry.random_point(ds.cov, 4, rng=1), np.ones(4)
    >>> ref = simulate(ds, U0, a0, t_end=0.1, chart="riemannian", n_records=2)
    >>> coupled_squared_distance(ref, ref, ds.cov, offset=0).tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    for name, value in (("trajectory", trajectory), ("reference", reference)):
        if not isinstance(value, Trajectory):
            raise TypeError(f"{name} must be a bngeom Trajectory, got {type(value).__name__}")
    if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"offset must be an integer, got {type(offset).__name__}")
    m = trajectory.width
    if offset < 0 or offset + m > reference.width:
        raise ValueError(f"offset must satisfy 0 <= offset and offset + {m} <= "
                         f"{reference.width} (the reference's width), got offset={offset}")
    if trajectory.dim != reference.dim or not np.array_equal(trajectory.times, reference.times):
        raise ValueError("trajectory and reference must have the same dimension and the same "
                         "record times")
    block = slice(offset, offset + m)
    d_u = geometry.squared_dist(trajectory.U, reference.U[:, block], cov)
    return d_u + (trajectory.a - reference.a[:, block]) ** 2


@dataclass(frozen=True)
class Coupling:
    """Coupled runs of one reference (:func:`couple`).

    Attributes
    ----------
    times : ndarray, shape (T,)
    widths, n_blocks : tuple of int
        The widths and how many blocks of each were coupled.
    msd : ndarray, shape (n_widths, T)
        Mean over blocks and particles of the squared distance on :math:`M`.
    function_gap : ndarray, shape (n_widths, T)
        Root mean square over blocks of :math:`\\|f_{block} - f_{ref}\\|_{L^2(\\mu)}`.
    reference : Trajectory
        The width-``M`` run.
    first_blocks : tuple of Trajectory
        For every width, the run started from the reference's first ``m`` particles.
    """

    times: NDArray
    widths: tuple[int, ...]
    n_blocks: tuple[int, ...]
    msd: NDArray
    function_gap: NDArray
    reference: Trajectory
    first_blocks: tuple[Trajectory, ...]


def _train(dataset: Dataset, U0: NDArray, a0: NDArray, *, step: float, t_end: float,
           n_records: int, activation: str, loss: str) -> Trajectory:
    return simulate(dataset, U0, a0, t_end=t_end, chart="riemannian", method="gd", step=step,
                    n_records=n_records, activation=activation, loss=loss)


def couple(dataset: Dataset, U0: ArrayLike, a0: ArrayLike, widths: Sequence[int], *,
           n_blocks: int = 1, step: float = 0.01, t_end: float = 1.5, n_records: int = 16,
           activation: str = "tanh", loss: str = "squared") -> Coupling:
    r"""Train a reference on all particles and width-``m`` networks on blocks of them.

    The reference is the width-``M`` network started at ``(U0, a0)``; for each ``m`` in
    ``widths`` the blocks ``[jm, (j+1)m)``, ``j < min(n_blocks, M // m)``, start their own
    width-``m`` network. All runs are Riemannian gradient descent on :math:`M` (eq. 7,
    :func:`bngeom.dynamics.simulate` with mean-field ``step``). At ``m = M`` the block's
    run repeats the reference's computation, and every distance is exactly 0.

    Parameters
    ----------
    dataset : Dataset
    U0 : array_like, shape (M, d)
        Initial points of :math:`N_\Sigma`.
    a0 : array_like, shape (M,)
        Initial output weights.
    widths : sequence of int
        Widths ``m <= M``.
    n_blocks : int
        Largest number of disjoint blocks per width.
    step, t_end, n_records, activation, loss
        Passed to :func:`bngeom.dynamics.simulate`.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(32, [2.0, 0.5], teacher_width=2, rng=0)
    >>> U0, a0 = geometry.random_point(ds.cov, 8, rng=1), np.linspace(-1, 1, 8)
    >>> c = couple(ds, U0, a0, [4, 8], n_blocks=2, t_end=0.1, n_records=3)
    >>> c.n_blocks, float(c.msd[1].max()), bool(c.msd[0, -1] > 0)
    ((2, 1), 0.0, True)
    """
    kw = dict(step=step, t_end=t_end, n_records=n_records, activation=activation, loss=loss)
    reference = _train(dataset, U0, a0, **kw)
    U0, a0 = np.asarray(U0, dtype=np.float64), np.asarray(a0, dtype=np.float64)
    M = reference.width
    widths = tuple(check_positive_int(w, "widths") for w in widths)
    n_blocks = check_positive_int(n_blocks, "n_blocks")
    if not widths or max(widths) > M:
        raise ValueError(f"widths must be a non-empty sequence of widths <= {M} (the number of "
                         f"particles), got {list(widths)}")
    X = np.asarray(dataset.X, dtype=np.float64)
    f_ref = np.stack([vanilla_forward(X, reference.U[k], reference.a[k], activation)
                      for k in range(reference.n_records)])
    msd, gap, blocks, firsts = [], [], [], []
    for m in widths:
        n_b = min(n_blocks, M // m)
        sq, g2 = np.zeros(reference.n_records), np.zeros(reference.n_records)
        for j in range(n_b):
            run = _train(dataset, U0[j * m:(j + 1) * m], a0[j * m:(j + 1) * m], **kw)
            sq += coupled_squared_distance(run, reference, dataset.cov, offset=j * m).mean(1)
            f = np.stack([vanilla_forward(X, run.U[k], run.a[k], activation)
                          for k in range(run.n_records)])
            g2 += np.mean((f - f_ref) ** 2, axis=1)
            firsts += [run] if j == 0 else []
        msd.append(sq / n_b)
        gap.append(np.sqrt(g2 / n_b))
        blocks.append(n_b)
    return Coupling(reference.times.copy(), widths, tuple(blocks), np.array(msd),
                    np.array(gap), reference, tuple(firsts))


# ---------------------------------------------------------------------------
# the experiment over seeds


def _w2_curves(coupling: Coupling, cov: NDArray, n_points: int) -> tuple[NDArray, NDArray]:
    """W2 between each first block and the reference at ``n_points`` records (a detail)."""
    idx = np.unique(np.round(np.linspace(0, coupling.times.size - 1, n_points)).astype(int))
    ref = coupling.reference
    w2 = [[float(wasserstein2(run.particles(k), ref.particles(k), cov, method="exact",
                              memory_budget=2**31)) for k in idx]
          for run in coupling.first_blocks]
    return coupling.times[idx], np.array(w2)


def _seed_point(rep: int, *, seed: int, options: ChaosOptions) -> dict[str, Any]:
    """One seed: a reference and its coupled blocks (picklable for :func:`run_sweep`)."""
    dataset = _dataset(seed, options.n_samples)
    U0, a0 = sample_initial_particles(dataset.cov, options.ref_width, SETTINGS["a_max"],
                                      np.random.default_rng([seed, 5, rep]))
    c = couple(dataset, U0, a0, options.widths, n_blocks=options.n_blocks, step=options.step,
               t_end=options.t_end, n_records=options.n_records,
               activation=SETTINGS["activation"], loss=SETTINGS["loss"])
    out = {"times": c.times, "msd": c.msd, "gap": c.function_gap, "n_blocks": c.n_blocks,
           "loss": c.reference.loss}
    if rep == 0:
        out["w2_times"], out["w2"] = _w2_curves(c, dataset.cov, options.w2_records)
    return out


def _slope_interval(x: NDArray, Y: NDArray) -> tuple[NDArray, float, float, float, float]:
    """Per-row log-log slopes of ``Y`` (seeds x widths) on ``x``; mean, t-interval, intercept."""
    fits = np.array([np.polyfit(np.log(x), np.log(y), 1) for y in Y])
    slopes = fits[:, 0]
    half = (stats.t.ppf(0.5 + CI_LEVEL / 2, slopes.size - 1) * slopes.std(ddof=1)
            / np.sqrt(slopes.size))
    mean = float(slopes.mean())
    return slopes, mean, mean - float(half), mean + float(half), float(fits[:, 1].mean())


def _log_slope(x: ArrayLike, y: ArrayLike) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _tuples(value: Any) -> Any:
    """Arrays and lists as (nested) tuples of Python scalars (exact JSON round trip)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class ChaosResult:
    r"""What :func:`run_chaos` measured. Nested tuples index ``[width][seed]`` or ``[width][t]``.

    Attributes
    ----------
    options : ChaosOptions
    seed : int
    times : tuple of float
        Record times of every run.
    widths, n_blocks : tuple of int
    effective_widths : tuple of float
        :math:`m_{\rm eff} = (1/m - 1/M)^{-1}` (:func:`effective_width`).
    sup_rms : tuple of tuple of float
        :math:`D(m)` of every width and seed: sup over records of the RMS distance on
        :math:`M` between coupled particles.
    rms_curves : tuple of tuple of float
        The RMS distance at every record, root mean square over seeds.
    seed_slopes : tuple of float
        Least-squares slope of :math:`\log D` against :math:`\log m_{\rm eff}` of each seed.
    slope, slope_ci, intercept : float, (float, float), float
        Their mean, its :data:`CI_LEVEL` Student-t interval, and the mean intercept:
        the line :math:`\log D = \text{intercept} + \text{slope}\,\log m_{\rm eff}` is the
        least-squares fit to the seed mean of :math:`\log D`.
    slope_vs_width : float
        The same fit against ``m`` instead of :math:`m_{\rm eff}` (steeper when ``M`` is
        not much larger than the widths; equal to ``slope`` as :math:`M\to\infty`).
    sup_l2, l2_curves, l2_slope
        Detail: :math:`\sup_t\|f_m - f_M\|_{L^2(\mu)}` (RMS over blocks) per width and seed,
        the gap at every record (RMS over seeds), and the log-log slope of the seed mean of
        the sup against :math:`m_{\rm eff}`.
    w2_times, w2_curves, w2_slope
        Detail (first seed, first block): :math:`W_2(\rho_m(t), \rho_M(t))` on :math:`M` at a
        few records, and the slope of its sup against ``m`` (it contains the sampling
        noise of :math:`\rho_0` at :math:`t = 0`).
    reference_loss : tuple of float
        Loss of the first seed's reference at every record.
    ci_level, ci_method
    seconds : float
        Wall time (not compared by ``==``).
    """

    options: ChaosOptions
    seed: int
    times: tuple[float, ...]
    widths: tuple[int, ...]
    effective_widths: tuple[float, ...]
    n_blocks: tuple[int, ...]
    sup_rms: tuple[tuple[float, ...], ...]
    rms_curves: tuple[tuple[float, ...], ...]
    seed_slopes: tuple[float, ...]
    slope: float
    slope_ci: tuple[float, float]
    intercept: float
    slope_vs_width: float
    sup_l2: tuple[tuple[float, ...], ...]
    l2_curves: tuple[tuple[float, ...], ...]
    l2_slope: float
    w2_times: tuple[float, ...]
    w2_curves: tuple[tuple[float, ...], ...]
    w2_slope: float
    reference_loss: tuple[float, ...]
    ci_level: float = CI_LEVEL
    ci_method: str = CI_METHOD
    seconds: float = field(default=0.0, compare=False)

    @property
    def geometric_mean_sup(self) -> NDArray:
        """Seed geometric mean of :math:`D(m)` per width (the points the slope fits)."""
        return np.exp(np.log(np.asarray(self.sup_rms)).mean(axis=1))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; :meth:`from_dict` inverts it exactly."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChaosResult:
        """The result from :meth:`to_dict`'s output (also after a JSON round trip).

        Examples
        --------
        >>> ChaosResult.from_dict({"seed": 0})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: data is missing the ChaosResult fields: options, times, widths, ...
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data and n not in
                   ("ci_level", "ci_method", "seconds")]
        if missing:
            raise ValueError(f"data is missing the ChaosResult fields: {', '.join(missing)}")
        opts = data["options"]
        if not isinstance(opts, Mapping):
            raise TypeError(f"data['options'] must be a mapping, got {type(opts).__name__}")
        values = {n: _tuples(data[n]) for n in names if n in data and n != "options"}
        return cls(options=ChaosOptions(**{k: _tuples(v) for k, v in opts.items()}), **values)


def _assemble(points: list[dict[str, Any]], options: ChaosOptions, seed: int,
              seconds: float) -> ChaosResult:
    msd = np.stack([p["msd"] for p in points], axis=1)           # width x seed x time
    sup = np.sqrt(msd.max(axis=2))
    m_eff = effective_width(options.widths, options.ref_width)
    slopes, slope, lo, hi, intercept = _slope_interval(m_eff, sup.T)
    gap = np.stack([p["gap"] for p in points], axis=1)            # width x seed x time
    sup_l2 = gap.max(axis=2)
    first = points[0]
    w2_sup = np.asarray(first["w2"]).max(axis=1)
    return ChaosResult(
        options=options, seed=seed, times=_tuples(first["times"]), widths=options.widths,
        effective_widths=_tuples(m_eff), n_blocks=_tuples(first["n_blocks"]),
        sup_rms=_tuples(sup), rms_curves=_tuples(np.sqrt(msd.mean(axis=1))),
        seed_slopes=_tuples(slopes), slope=slope, slope_ci=(lo, hi), intercept=intercept,
        slope_vs_width=_log_slope(options.widths, np.exp(np.log(sup).mean(axis=1))),
        sup_l2=_tuples(sup_l2), l2_curves=_tuples(np.sqrt((gap**2).mean(axis=1))),
        l2_slope=_log_slope(m_eff, sup_l2.mean(axis=1)),
        w2_times=_tuples(first["w2_times"]), w2_curves=_tuples(first["w2"]),
        w2_slope=_log_slope(options.widths, w2_sup), reference_loss=_tuples(first["loss"]),
        seconds=seconds)


def run_chaos(size: str = "full", *, options: ChaosOptions | None = None, seed: int = 0,
              n_jobs: int = 1, progress: bool = False, backend: str = "joblib") -> ChaosResult:
    r"""Measure the propagation-of-chaos rate of Theorem 4 (MATH §12).

    For each of ``n_seeds`` references of width ``M`` (particles i.i.d. from
    :math:`\rho_0` of :mod:`.theorem4`: ``u`` uniform on :math:`N_\Sigma`, ``a`` uniform on
    ``[-1, 1]``; 2-D teacher data fixed by ``seed``), :func:`couple` trains the reference
    and width-``m`` networks on blocks of its particles; the slope of
    :math:`\log D(m)` against :math:`\log m_{\rm eff}` is fitted per seed.

    Parameters
    ----------
    size : {"quick", "reproduce", "full"}
        Preset of :data:`PRESETS` (ignored when ``options`` is given).
    options : ChaosOptions, optional
        Explicit sizes.
    seed : int
        Seed of the data and of every reference.
    n_jobs, backend, progress
        Parallel workers over seeds, sweep backend and progress bar
        (:func:`bngeom.experiments.sweeps.run_sweep`).

    Returns
    -------
    ChaosResult

    Examples
    --------
    >>> res = run_chaos(options=ChaosOptions(widths=(8, 16), ref_width=64, n_blocks=2,
    ...                 n_seeds=2, n_samples=32, t_end=0.1, n_records=2, w2_records=2))
    >>> res.widths, res.n_blocks, res.slope_ci[0] <= res.slope <= res.slope_ci[1]
    ((8, 16), (2, 2), True)
    """
    start = time.perf_counter()
    seed = check_seed(seed)
    if options is None:
        if not isinstance(size, str) or size not in PRESETS:
            raise ValueError(f"size must be one of {sorted(PRESETS)}, got {size!r}")
        options = PRESETS[size]
    elif not isinstance(options, ChaosOptions):
        raise TypeError(f"options must be a ChaosOptions, got {type(options).__name__}")
    points = run_sweep(_seed_point, make_grid(rep=range(options.n_seeds)), n_jobs=n_jobs,
                       backend=backend, fixed={"seed": seed, "options": options},
                       progress=progress)
    return _assemble(points, options, seed, time.perf_counter() - start)


def plot_chaos(result: ChaosResult, path: str | os.PathLike) -> Path:
    r"""The propagation-of-chaos figure; write a PNG to ``path`` and return its path.

    Panels: (a) :math:`D(m)` against :math:`m_{\rm eff}` on log-log axes (every seed, their
    geometric mean, the fitted line, its confidence band and the rate -1/2); (b) the RMS
    distance between coupled particles over time, per width; (c) the details: the
    :math:`L^2(\mu)` function gap and :math:`W_2` against ``m``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> res = run_chaos(options=ChaosOptions(widths=(8, 16), ref_width=64, n_blocks=1,
    ...                 n_seeds=2, n_samples=32, t_end=0.1, n_records=2, w2_records=2))
    >>> plot_chaos(res, pathlib.Path(tempfile.mkdtemp()) / "c.png").stat().st_size > 10_000
    True
    """
    from matplotlib.figure import Figure

    if not isinstance(result, ChaosResult):
        raise TypeError(f"result must be a ChaosResult, got {type(result).__name__}")
    fig = Figure(figsize=(14.0, 4.2), layout="constrained")
    ax, ax_t, ax_d = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
    x = np.asarray(result.effective_widths)
    sup = np.asarray(result.sup_rms)
    for seed_values in sup.T:
        ax.loglog(x, seed_values, "o", color="C0", alpha=0.25, ms=3.5)
    ax.loglog(x, result.geometric_mean_sup, "o", color="C0", ms=7, label="D(m), seed geo. mean")
    grid = np.geomspace(x[0], x[-1], 50)
    centre = (np.log(x).mean(), result.intercept + result.slope * np.log(x).mean())
    lo, hi = (np.exp(centre[1] + s * (np.log(grid) - centre[0])) for s in result.slope_ci)
    ax.fill_between(grid, lo, hi, color="C0", alpha=0.2,
                    label=f"{result.ci_level:.0%} t-interval of the slope")
    ax.loglog(grid, np.exp(result.intercept) * grid ** result.slope, "-", color="C0",
              label=f"fit: slope {result.slope:.3f}")
    ax.loglog(grid, np.exp(centre[1]) * (grid / np.exp(centre[0])) ** -0.5, "k:", lw=1,
              label="rate -1/2")
    width_ticks(ax, x, result.widths)
    frame(ax, "width m, placed at m_eff = (1/m - 1/M)^-1", "sup_t RMS d_M(coupled particles)",
          f"(a) slope {result.slope:.3f} [{result.slope_ci[0]:.3f}, "
          f"{result.slope_ci[1]:.3f}], {len(result.seed_slopes)} seeds")
    for i, w in enumerate(result.widths):
        ax_t.plot(result.times, result.rms_curves[i], "o-", ms=2.5, label=f"m = {w}")
    frame(ax_t, "mean-field time t", "RMS distance on M (RMS over seeds)",
          f"(b) coupled to a width-{result.options.ref_width} reference")
    widths = np.asarray(result.widths, dtype=float)
    ax_d.loglog(widths, np.asarray(result.sup_l2).mean(axis=1), "o-", color="C1",
                label=f"sup_t ||f_m - f_M||_L2(mu) (slope {result.l2_slope:.2f})")
    ax_d.loglog(widths, np.asarray(result.w2_curves).max(axis=1), "s-", color="C2",
                label=f"sup_t W2(rho_m, rho_M), first seed (slope {result.w2_slope:.2f})")
    ax_d.loglog(widths, np.asarray(result.w2_curves)[:, 0], "s--", color="C2", alpha=0.5,
                label="W2 at t = 0 (sampling noise of rho_0)")
    width_ticks(ax_d, widths, result.widths)
    frame(ax_d, "width m", f"gap to the width-{result.options.ref_width} reference",
          "(c) details: function gap and W2")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
