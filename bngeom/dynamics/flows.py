r"""Training dynamics of one width-m network in three charts (MATH §2-3, §6).

* ``chart="bn"``: the Euclidean gradient flow of the BN network in :math:`(W, a)` (eq. 6);
  :math:`w_k^\top\nabla_{w_k}L = 0`, so each radius :math:`r_k = \|w_k\|` is constant along
  the flow and grows by exactly :math:`\eta^2\|\nabla_{w_k}L\|^2` per gradient-descent step.
* ``chart="vanilla"``: the Euclidean gradient flow of the network without BN in
  :math:`(U, a)` (eq. 8), a flow in :math:`\mathbb R^d` that leaves :math:`N_\Sigma`.
* ``chart="riemannian"``: the Riemannian gradient flow on :math:`(M, g)` with each neuron
  carrying :math:`r_k^2 g` (eq. 7, Theorem 2),
  :math:`\dot u_k = -m\,G(u_k)\nabla_{u_k}\tilde L/r_k^2`.
  The BN flow mapped through :math:`\varphi` *is* this flow with :math:`r_k = \|w_k\|`.

Time is mean-field time (MATH §6, eq. 10): every particle moves with
:math:`\dot\theta_k = -m\nabla_{\theta_k}L`, so gradient descent with learning rate
:math:`\eta` on the width-m network is ``method="gd"`` with ``step = eta / m``
(:func:`mean_field_step`). ``method="flow"`` integrates the ODE with
:func:`scipy.integrate.solve_ivp` under error control (``rtol``, ``atol``). The example of
:mod:`bngeom.dynamics` runs this flow and :func:`bngeom.dynamics.train` on one problem.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from tqdm.auto import tqdm

from bngeom import geometry
from bngeom._covariance import checked_covariance
from bngeom._validation import (
    as_float_array,
    check_dimension,
    check_max_entry,
    check_memory,
    check_on_manifold,
    check_positive_int,
    check_positive_scalar,
    check_radius,
    check_rows,
    check_signed_labels,
)
from bngeom.dynamics.options import (
    INTEGRATORS,
    METHODS,
    Checkpointing,
    Model,
    Recording,
    Solver,
    check_choice,
    options_from_keywords,
)
from bngeom.dynamics.trajectory import (
    Checkpoint,
    Trajectory,
    _fornberg_first_derivative,
    checkpoint_lock,
    load_checkpoint,
    save_checkpoint,
)
from bngeom.geometry.charts import (
    normalize_to_manifold,
    scaled_norm,
    sphere_to_manifold_differential,
)
from bngeom.nn.data import Dataset
from bngeom.nn.functions import LOSSES, Activation, Loss, get_activation, get_loss
from bngeom.nn.model import (
    DEFAULT_MEMORY_BUDGET,
    bn_loss_and_gradients,
    vanilla_loss_and_gradients,
)

__all__ = [
    "CHARTS",
    "METHODS",
    "INTEGRATORS",
    "DEFAULT_MEMORY_BUDGET",
    "Trajectory",
    "mean_field_step",
    "velocity",
    "simulate",
    "Model",
    "Solver",
    "Recording",
    "Checkpointing",
]

#: The three descriptions of the dynamics.
CHARTS = ("bn", "vanilla", "riemannian")

# Stencil of the one-sided finite difference measuring dL/dt at a record (flow).
_PROBE_POINTS = 7
# Tolerance for "t_end is a whole number of gradient-descent steps".
_STEP_RTOL = 1e-9


def mean_field_step(learning_rate: float, width: int) -> float:
    r"""The mean-field time step :math:`\eta/m` of gradient descent with learning rate ``eta``.

    Gradient descent :math:`\theta_k \leftarrow \theta_k - \eta\nabla_{\theta_k}L` on a
    width-m network is the forward-Euler scheme of the particle flow
    :math:`\dot\theta_k = -m\nabla_{\theta_k}L` with time step :math:`\eta/m` (MATH §6).

    Examples
    --------
    >>> mean_field_step(0.5, 100)
    0.005
    """
    return check_positive_scalar(learning_rate, "learning_rate") / check_positive_int(
        width, "width")


# ---------------------------------------------------------------------------
# validation


def _check_dataset(dataset: Any) -> tuple[NDArray, NDArray, NDArray]:
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a bngeom.data.Dataset, got {type(dataset).__name__}")
    cov = checked_covariance(dataset.cov, "dataset.cov")
    X = as_float_array(dataset.X, "dataset.X", min_ndim=2, max_ndim=2)
    check_dimension(X, cov.shape[0], "dataset.X")
    y = as_float_array(dataset.y, "dataset.y", min_ndim=1, max_ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"dataset.X and dataset.y must have the same number of samples, "
                         f"got {X.shape[0]} and {y.shape[0]}")
    return (np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
            np.asarray(cov, dtype=np.float64))


def _check_labels(y: NDArray, loss: str | Loss) -> None:
    """The built-in logistic loss needs labels -1/+1 (0/1 labels would silently add log 2)."""
    if get_loss(loss) is LOSSES["logistic"]:
        check_signed_labels(y, "dataset.y")


def _check_params(W: ArrayLike, a: ArrayLike, cov: NDArray, chart: str, name_w: str,
                  name_a: str) -> tuple[NDArray, NDArray]:
    W = as_float_array(W, name_w, min_ndim=2, max_ndim=2)
    check_dimension(W, cov.shape[0], name_w)
    a = as_float_array(a, name_a, min_ndim=1, max_ndim=1)
    if a.shape[0] != W.shape[0]:
        raise ValueError(f"{name_w} and {name_a} must describe the same number of neurons, "
                         f"got {name_w} of shape {W.shape} and {name_a} of shape {a.shape}")
    check_rows(W, name_w)  # zero or subnormal rows; any normal scale is fine (MATH §8)
    check_max_entry(a, name_a)
    if chart == "riemannian":
        check_on_manifold(W, W @ cov, name_w)
    return (np.array(W, dtype=np.float64, order="C"), np.array(a, dtype=np.float64))


def _check_radius(radius: ArrayLike | None, chart: str, m: int) -> NDArray | None:
    if chart != "riemannian":
        if radius is not None:
            raise ValueError(f"radius applies to chart='riemannian' only; the {chart!r} chart's "
                             f"radii are the norms of the rows of W, got radius={radius!r}")
        return None
    if radius is None:
        return np.ones(m)
    r = check_radius(radius, "radius")
    r = np.asarray(r, dtype=np.float64)
    if r.ndim == 0:
        return np.full(m, float(r))
    if r.shape != (m,):
        raise ValueError(f"radius must be a scalar or have shape ({m},) (one per neuron), "
                         f"got shape {r.shape}")
    return r.copy()


# ---------------------------------------------------------------------------
# the vector fields


@dataclass(frozen=True)
class _System:
    """The data and settings of one simulation; evaluates the vector field of a chart."""

    X: NDArray
    y: NDArray
    cov: NDArray
    activation: Activation
    loss: Loss
    chart: str
    radius: NDArray | None
    memory_budget: float

    def _on_manifold(self, U: NDArray) -> NDArray:
        # phi: the Riemannian chart's states drift off N_Sigma by the integrator's error only;
        # the vector field is evaluated at phi(u), which keeps u^T Sigma u a first integral.
        return normalize_to_manifold(U, self.cov)

    def rates(self, W: NDArray, a: NDArray) -> tuple[NDArray, NDArray, float, NDArray | None]:
        """Mean-field velocity (dW, da), the loss, and grad_u (riemannian chart)."""
        m = W.shape[0]
        if self.chart == "bn":
            res = bn_loss_and_gradients(self.X, self.y, W, a, self.cov, self.activation,
                                        self.loss, memory_budget=self.memory_budget,
                                        validate=False)
            return -m * res.grad_w, -m * res.grad_a, res.loss, None
        U = self._on_manifold(W) if self.chart == "riemannian" else W
        res = vanilla_loss_and_gradients(self.X, self.y, U, a, self.activation, self.loss,
                                         memory_budget=self.memory_budget, validate=False)
        if self.chart == "vanilla":
            return -m * res.grad_w, -m * res.grad_a, res.loss, None
        dU = -m * geometry.riemannian_gradient(U, res.grad_w, self.cov,
                                               radius=self.radius, validate=False)
        return dU, -m * res.grad_a, res.loss, U

    def loss_value(self, W: NDArray, a: NDArray) -> float:
        return self.rates(W, a)[2]

    def gd_step(self, W: NDArray, a: NDArray, dW: NDArray, da: NDArray, step: float
                ) -> tuple[NDArray, NDArray]:
        """Forward Euler in (W, a); on N_Sigma the exponential map (a retraction)."""
        if self.chart == "riemannian":
            return geometry.exp(W, step * dW, self.cov, validate=False), a + step * da
        return W + step * dW, a + step * da

    def observables(self, W: NDArray, dW: NDArray, da: NDArray
                    ) -> tuple[NDArray, NDArray, NDArray, NDArray, float]:
        """U = phi(W), radii, speed_u, speed_a and the dissipation at one record."""
        m = W.shape[0]
        U = normalize_to_manifold(W, self.cov)
        if self.chart == "vanilla":
            radius = scaled_norm(W)[:, 0]
            speed_u = np.linalg.norm(dW, axis=1)  # a Euclidean flow in R^d
        else:
            if self.chart == "bn":
                radius = scaled_norm(W)[:, 0]
                dU = sphere_to_manifold_differential(W, dW, self.cov)  # d phi_w(dw)
            else:
                radius, dU = self.radius, dW
            speed_u = geometry.norm(U, dU, self.cov, radius=radius, validate=False)
        speed_a = np.abs(da)
        dissipation = float(np.sum(speed_u**2 + speed_a**2) / m)
        return U, radius, speed_u, speed_a, dissipation


def velocity(dataset: Dataset, W: ArrayLike, a: ArrayLike, *, chart: str = "bn",
             activation: str | Activation = "tanh", loss: str | Loss = "squared",
             memory_budget: float = DEFAULT_MEMORY_BUDGET, radius: ArrayLike | None = None,
             validate: bool = True) -> tuple[NDArray, NDArray, float]:
    r"""Mean-field particle velocity (MATH §6, eq. 10) in one of the three charts.

    Every particle moves with :math:`\dot\theta_k = -m\nabla_{\theta_k}L`:

    * ``chart="bn"``: ``W`` are BN weights of any radii; :math:`\dot w_k = -m\nabla_{w_k}L` (eq. 6);
    * ``chart="vanilla"``: ``W`` are vanilla weights :math:`u_k`;
      :math:`\dot u_k = -m\nabla_{u_k}\tilde L` (eq. 8);
    * ``chart="riemannian"``: ``W`` are points of :math:`N_\Sigma`;
      :math:`\dot u_k = -m\,G(u_k)\nabla_{u_k}\tilde L/r_k^2` (eq. 7) with radii ``radius``
      (scalar or one per neuron, default 1; only for this chart);

    and :math:`\dot a_k = -m\,\partial_{a_k}L` in all three.

    Parameters
    ----------
    dataset : Dataset
    W : array_like, shape (m, d)
    a : array_like, shape (m,)
    chart, activation, loss : str
    memory_budget : float
        Bytes allowed for the ``n x m`` intermediates (passed to :mod:`bngeom.model`).
    radius : float or array_like of shape (m,), optional
    validate : bool
        Check the inputs (pass ``False`` in hot loops on known-good input).

    Returns
    -------
    dW : ndarray, shape (m, d)
    da : ndarray, shape (m,)
    loss : float
        The loss at ``(W, a)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> from bngeom.geometry.charts import normalize_to_manifold, sphere_to_manifold_differential
    >>> ds = make_teacher_dataset(50, [2.0, 1.0], teacher_width=2, rng=0)
    >>> W = np.array([[2.0, 1.0], [0.0, -3.0]]); a = np.array([1.0, -1.0])
    >>> dW, da, L = velocity(ds, W, a)
    >>> bool(np.allclose(np.sum(W * dW, axis=1), 0.0))          # radii are invariant
    True
    >>> U = normalize_to_manifold(W, ds.cov)
    >>> dU, _, _ = velocity(ds, U, a, chart="riemannian", radius=np.linalg.norm(W, axis=1))
    >>> bool(np.allclose(dU, sphere_to_manifold_differential(W, dW, ds.cov)))  # Theorem 2
    True
    """
    if validate:
        chart = check_choice(chart, "chart", CHARTS)
        X, y, cov = _check_dataset(dataset)
        _check_labels(y, loss)
        W, a = _check_params(W, a, cov, chart, "W", "a")
        r = _check_radius(radius, chart, W.shape[0])
        budget = check_positive_scalar(memory_budget, "memory_budget")
    else:
        X, y, cov = dataset.X, dataset.y, dataset.cov
        W, a = np.asarray(W), np.asarray(a)
        r = None if chart != "riemannian" else (
            np.ones(W.shape[0]) if radius is None else
            np.broadcast_to(np.asarray(radius, dtype=float), (W.shape[0],)))
        budget = memory_budget
    system = _System(X, y, cov, get_activation(activation), get_loss(loss), chart, r, budget)
    dW, da, value, _ = system.rates(W, a)
    return dW, da, float(value)


# ---------------------------------------------------------------------------
# simulation


class _Recorder:
    """Records accumulated in lists, convertible to a Trajectory at any time."""

    def __init__(self, m: int, d: int, previous: Trajectory | None = None) -> None:
        self.m, self.d = m, d
        self.rows: dict[str, list] = {k: [] for k in (
            "times", "loss", "W", "U", "a", "radius", "speed_u", "speed_a", "dissipation",
            "dloss_dt")}
        if previous is not None and previous.n_records:
            for key in self.rows:
                values = previous.dloss_dt if key == "dloss_dt" else getattr(previous, key)
                self.rows[key] = list(values)

    def __len__(self) -> int:
        return len(self.rows["times"])

    def add(self, t: float, loss: float, W: NDArray, a: NDArray, obs: tuple,
            dloss_dt: float = np.nan) -> None:
        U, radius, speed_u, speed_a, dissipation = obs
        if not (np.isfinite(loss) and np.isfinite(dissipation)):
            raise FloatingPointError(f"the run diverged near t = {t}: the loss ({loss}) or the "
                                     f"dissipation ({dissipation}) overflows float64; reduce "
                                     "step (or the output weights)")
        for key, value in (("times", t), ("loss", loss), ("W", W), ("U", U), ("a", a),
                           ("radius", radius), ("speed_u", speed_u), ("speed_a", speed_a),
                           ("dissipation", dissipation), ("dloss_dt", dloss_dt)):
            self.rows[key].append(np.array(value, dtype=np.float64, copy=True))

    def set_rate(self, index: int, value: float) -> None:
        self.rows["dloss_dt"][index] = np.array(value, dtype=np.float64)

    def trajectory(self, meta: dict) -> Trajectory:
        T, m, d = len(self), self.m, self.d
        shapes = {"times": (), "loss": (), "dissipation": (), "dloss_dt": (), "W": (m, d),
                  "U": (m, d), "a": (m,), "radius": (m,), "speed_u": (m,), "speed_a": (m,)}
        arrays = {k: (np.stack(v) if v else np.zeros((T, *shapes[k])))
                  for k, v in self.rows.items()}
        return Trajectory(**arrays, meta=dict(meta))


def _run_bytes(n_records: int, m: int, d: int, memory_budget: float) -> float:
    """Peak memory of a run: the records (held, stacked into a Trajectory and checksummed
    into a checkpoint: three copies), the ODE solver's stages (about 20 states) and the
    blocked n x m temporaries of the gradient (``memory_budget``)."""
    per_record = m * (2 * d + 4) + 4
    return 8.0 * (3 * n_records * per_record + 20 * m * (d + 1)) + memory_budget


def _fingerprint(X: NDArray, y: NDArray, cov: NDArray, W0: NDArray, a0: NDArray,
                 radius: NDArray | None, settings: dict) -> str:
    h = hashlib.sha256()
    for arr in (X, y, cov, W0, a0, np.zeros(0) if radius is None else radius):
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def _probe_rate(system: _System, sol, t0: float, t1: float, at_end: bool, ndim_w: int,
                shape_w: tuple[int, int]) -> float:
    """dL/dt at t1 (at_end) or t0, from loss values on the dense output of one segment.

    A one-sided 7-point finite difference (exact for degree-6 polynomials) of the loss
    along the integrator's interpolant; it uses loss values only, so it measures the
    rate of change of the loss independently of the recorded dissipation.
    """
    # The stencil spans a quarter of the solver step next to the probed end (or of the
    # segment): short enough for a truncation error far below the integrator's where the
    # solution changes fastest (the first steps), long enough for rounding.
    local = (sol.t[-1] - sol.t[-2]) if at_end else (sol.t[1] - sol.t[0])
    h = min(t1 - t0, float(local)) / (4 * (_PROBE_POINTS - 1))
    offsets = np.arange(_PROBE_POINTS) * h
    nodes = t1 - offsets if at_end else t0 + offsets
    states = sol.sol(nodes)
    values = np.empty(_PROBE_POINTS)
    for i in range(_PROBE_POINTS):
        y = states[:, i]
        values[i] = system.loss_value(y[:ndim_w].reshape(shape_w), y[ndim_w:])
    weights = _fornberg_first_derivative(nodes - nodes[0], 0.0)
    return float(weights @ values)


def simulate(dataset: Dataset, W0: ArrayLike, a0: ArrayLike, *, t_end: float,
             chart: str = "bn", model: Model | None = None, solver: Solver | None = None,
             recording: Recording | None = None, checkpointing: Checkpointing | None = None,
             **keywords: Any) -> Trajectory:
    r"""Integrate the mean-field dynamics of one width-m network up to time ``t_end``.

    Time is mean-field time, :math:`\dot\theta_k = -m\nabla_{\theta_k}L` (:func:`velocity`);
    gradient descent with learning rate :math:`\eta` is ``method="gd"`` with
    ``step = eta / m`` (:func:`mean_field_step`). The run is set up (and every argument
    checked) first, then resumed from its checkpoint or started, then recorded.

    Parameters
    ----------
    dataset : Dataset
        Data, targets and covariance :math:`\Sigma`.
    W0 : array_like, shape (m, d)
        Initial first-layer parameters in the chart: BN weights (``"bn"``), vanilla
        weights (``"vanilla"``), or points of :math:`N_\Sigma` (``"riemannian"``).
    a0 : array_like, shape (m,)
        Initial output weights.
    t_end : float
        Final (mean-field) time, > 0; for ``"gd"`` a whole number of steps.
    chart : {"bn", "vanilla", "riemannian"}
        Eq. (6), eq. (8) or eq. (7). In the Riemannian chart the flow's vector field is
        evaluated at :math:`\varphi(u)` (which makes :math:`u^\top\Sigma u` a first
        integral) and the state is put back on :math:`N_\Sigma` at every record.
    model : Model, optional
        Activation, loss, the Riemannian chart's radii :math:`r_k` and the memory budget
        (default: tanh, squared, radii 1).
    solver : Solver, optional
        ``"flow"`` (solve_ivp with error control, the default) or ``"gd"`` with a step.
    recording : Recording, optional
        Record times (default 21 equally spaced), progress bar, metadata.
    checkpointing : Checkpointing, optional
        Checkpoint file, interval and resume (default: none).
    **keywords
        The keywords of bngeom 0.1, each a field of one of the options above:
        ``activation``, ``loss``, ``radius``, ``memory_budget`` (:class:`Model`); ``method``,
        ``step``, ``rtol``, ``atol``, ``integrator`` (:class:`Solver`); ``record_times``,
        ``n_records``, ``progress``, ``meta`` (:class:`Recording`); ``checkpoint``,
        ``checkpoint_every``, ``resume`` (:class:`Checkpointing`). They override the
        options objects' fields.

    Returns
    -------
    Trajectory
        With ``meta["energy_identity_error"]``: the relative error of the energy
        identity measured at every record from loss values only (``dloss_dt``).
        For ``"flow"``, ``dloss_dt`` is a one-sided 7-point finite difference of the
        loss along the integrator's dense output; for ``"gd"``, the per-step rate
        :math:`(L_{k+1} - L_k)/\text{step}`.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(64, [2.0, 1.0], teacher_width=2, rng=0)
    >>> W0 = np.random.default_rng(1).standard_normal((4, 2)); a0 = np.ones(4)
    >>> gd = simulate(ds, W0, a0, t_end=0.5, solver=Solver("gd", step=mean_field_step(0.2, 4)))
    >>> float(gd.times[-1]), gd.meta["n_steps"]
    (0.5, 10)
    >>> r2 = np.linalg.norm(gd.W, axis=2) ** 2   # radii grow by exactly (step |dW|)^2
    >>> bool(np.all(r2[-1] > r2[0]))
    True
    >>> same = simulate(ds, W0, a0, t_end=0.5, method="gd", step=0.05)  # 0.1 keywords
    >>> bool(np.array_equal(same.W, gd.W))
    True
    """
    opts = options_from_keywords({Model: model, Solver: solver, Recording: recording,
                                  Checkpointing: checkpointing}, keywords)
    plan, W0, a0 = _plan(dataset, W0, a0, t_end, chart, opts[Model], opts[Solver],
                         opts[Recording])
    ckpt = opts[Checkpointing]
    # the lock is held for the whole run: a second run on this checkpoint is refused
    with checkpoint_lock(ckpt.path):
        previous = _resume(plan, ckpt)
        if previous is not None and previous.complete:
            traj = previous.trajectory
            traj.meta.update(plan.meta)
            traj.meta["energy_identity_error"] = traj.energy_identity_error()
            return traj
        return _execute(plan, W0, a0, previous, ckpt, opts[Recording].progress)


@dataclass(frozen=True)
class _Plan:
    """A checked run: the vector field, when to record, and the run's identity."""

    system: _System
    solver: Solver
    grid: NDArray
    n_steps: int | None  # gd
    record_steps: NDArray | None  # gd
    boundaries: NDArray | None  # flow: records and t_end
    fingerprint: str
    meta: dict


def _gd_schedule(t_end: float, grid: NDArray, step: float, explicit: bool
                 ) -> tuple[int, NDArray]:
    """The number of steps to ``t_end`` and the steps at which to record."""
    n_steps = int(round(t_end / step))
    if n_steps < 1 or abs(n_steps * step - t_end) > _STEP_RTOL * t_end:
        raise ValueError(f"t_end must be a whole number of steps: t_end / step = "
                         f"{t_end / step!r} (t_end={t_end}, step={step})")
    record_steps = np.rint(grid / step).astype(np.int64)
    if not explicit:  # fewer steps than default records: record every step
        record_steps = np.unique(record_steps)
    elif np.any(np.diff(record_steps) <= 0):
        raise ValueError(f"record_times must be at least one step ({step}) apart")
    return n_steps, record_steps


def _plan(dataset: Dataset, W0: ArrayLike, a0: ArrayLike, t_end: float, chart: str,
          model: Model, solver: Solver, recording: Recording) -> tuple[_Plan, NDArray, NDArray]:
    """Check the data and the initial state once, and fix the schedule and the identity."""
    chart = check_choice(chart, "chart", CHARTS)
    X, y, cov = _check_dataset(dataset)
    check_max_entry(y, "dataset.y")
    W0, a0 = _check_params(W0, a0, cov, chart, "W0", "a0")
    m, d = W0.shape
    t_end = check_positive_scalar(t_end, "t_end")
    _check_labels(y, model.loss_fn)
    r = _check_radius(model.radius, chart, m)
    grid = recording.grid(t_end)
    check_memory(_run_bytes(len(grid), m, d, model.memory_budget),
                 f"W0 (width {m}) with {len(grid)} records", "the records and the solver state")
    n_steps = record_steps = boundaries = None
    if solver.method == "gd":
        n_steps, record_steps = _gd_schedule(t_end, grid, solver.step,
                                             recording.times is not None)
    else:
        boundaries = np.union1d(grid, [0.0, t_end])
    act, lo = model.activation_fn, model.loss_fn
    flow = solver.method == "flow"
    settings = {"chart": chart, "method": solver.method, "t_end": t_end, "step": solver.step,
                "records": grid.tolist(), "activation": act.name, "loss": lo.name,
                "memory_budget": model.memory_budget}
    if flow:
        settings.update(rtol=solver.rtol, atol=solver.atol, integrator=solver.integrator)
    meta = {"chart": chart, "method": solver.method, "activation": act.name, "loss": lo.name,
            "m": m, "d": d, "n_samples": int(X.shape[0]), "t_end": t_end, "step": solver.step,
            "n_steps": n_steps, "learning_rate": None if solver.step is None else solver.step * m,
            "rtol": solver.rtol if flow else None, "atol": solver.atol if flow else None,
            "integrator": solver.integrator if flow else None,
            "speed_norm": "euclidean" if chart == "vanilla" else "g", **(recording.meta or {})}
    system = _System(X, y, cov, act, lo, chart, r, model.memory_budget)
    plan = _Plan(system, solver, grid, n_steps, record_steps, boundaries,
                 _fingerprint(X, y, cov, W0, a0, r, settings), meta)
    return plan, W0, a0


def _resume(plan: _Plan, ckpt: Checkpointing) -> Checkpoint | None:
    """The checkpoint to continue from, if there is one of this very run."""
    if ckpt.path is None or not ckpt.resume or not ckpt.path.exists():
        return None
    previous = load_checkpoint(ckpt.path)
    if previous.fingerprint != plan.fingerprint:
        raise ValueError(f"checkpoint {ckpt.path} belongs to a different run (other data, "
                         "initialization or settings); delete it or pass resume=False")
    return previous


def _execute(plan: _Plan, W0: NDArray, a0: NDArray, previous: Checkpoint | None,
             ckpt: Checkpointing, progress: bool) -> Trajectory:
    """Run from the start or from ``previous``, saving checkpoints; the trajectory."""
    m, d = W0.shape
    if previous is None:
        _check_start(plan.system, W0, a0)
    rec = _Recorder(m, d, None if previous is None else previous.trajectory)
    W, a = (W0, a0) if previous is None else (previous.W.copy(), previous.a.copy())
    position = 0 if previous is None else previous.position

    def save(pos: int, W: NDArray, a: NDArray, complete: bool = False) -> None:
        if ckpt.path is not None:
            save_checkpoint(ckpt.path, Checkpoint(rec.trajectory(plan.meta), W, a, pos,
                                                  plan.fingerprint, complete))

    solver = plan.solver
    if solver.method == "gd":
        W, a = _run_gd(plan.system, W, a, position, plan.n_steps, solver.step,
                       plan.record_steps, rec, save, ckpt.every, progress)
        end = plan.n_steps
    else:
        W, a = _run_flow(plan.system, W, a, position, plan.boundaries, plan.grid, rec, save,
                         ckpt.every, solver, progress)
        end = len(plan.boundaries) - 1
    traj = rec.trajectory(plan.meta)
    traj.meta["energy_identity_error"] = traj.energy_identity_error()
    save(end, W, a, complete=True)
    return traj


def _check_start(system: _System, W0: NDArray, a0: NDArray) -> None:
    """The loss and velocity at the initial state must be finite (MATH §8, "Scale")."""
    with np.errstate(over="ignore", invalid="ignore"):
        dW, da, L, _ = system.rates(W0, a0)
    if not (np.isfinite(L) and np.all(np.isfinite(da))):
        raise ValueError(f"the loss at the initial state overflows float64 (loss {L}): the "
                         f"output weights a0 or the targets dataset.y are too large; rescale them")
    with np.errstate(over="ignore", invalid="ignore"):
        turn = scaled_norm(dW) / scaled_norm(W0)  # the direction's speed, 1/|w|^2 in BN
    if not (np.all(np.isfinite(dW)) and np.all(np.isfinite(turn))):
        raise ValueError("the velocity of W0 overflows float64 at the initial state: the "
                         "speed of a neuron's direction scales as 1/|w|^2 and some rows of W0 "
                         "are too small; rescale them (the BN network does not depend on "
                         "their scale)")


def _run_gd(system: _System, W: NDArray, a: NDArray, k: int, n_steps: int, step: float,
            record_steps: NDArray, rec: _Recorder, save, every: int | None,
            progress: bool) -> tuple[NDArray, NDArray]:
    """Forward Euler (or exp-map) steps from step k to n_steps, recording on the way."""
    to_record = set(record_steps.tolist())
    # A record whose rate (L_{k+1} - L_k)/step still waits for the next loss value.
    pending = len(rec) > 0 and not np.isfinite(rec.rows["dloss_dt"][-1])
    with tqdm(total=n_steps, initial=k, disable=not progress,
              desc=f"gd/{system.chart}") as bar:
        while True:
            dW, da, L, _ = system.rates(W, a)
            if not np.isfinite(L):
                raise FloatingPointError(f"gradient descent diverged at step {k} (loss {L}); "
                                         "reduce step")
            if pending:
                rec.set_rate(-1, (L - float(rec.rows["loss"][-1])) / step)
                pending = False
            recorded = k in to_record
            if recorded:
                rec.add(k * step, L, W, a, system.observables(W, dW, da))
                pending = True
            if k == n_steps:
                if pending:  # one more step measures the rate at the last record
                    W1, a1 = system.gd_step(W, a, dW, da, step)
                    rec.set_rate(-1, (system.loss_value(W1, a1) - L) / step)
                return W, a
            W, a = system.gd_step(W, a, dW, da, step)
            k += 1
            bar.update(1)
            if (every is None and recorded) or (every is not None and k % every == 0):
                save(k, W, a)


def _run_flow(system: _System, W: NDArray, a: NDArray, seg: int, boundaries: NDArray,
              grid: NDArray, rec: _Recorder, save, every: int | None, solver: Solver,
              progress: bool) -> tuple[NDArray, NDArray]:
    """solve_ivp segment by segment between consecutive boundaries (records and t_end)."""
    m, d = W.shape
    nw = m * d
    is_record = np.isin(boundaries, grid)

    def rhs(t: float, state: NDArray) -> NDArray:
        dW, da, L, _ = system.rates(state[:nw].reshape(m, d), state[nw:])
        if not np.isfinite(L):
            raise FloatingPointError(f"the {system.chart} flow diverged near t = {t} "
                                     f"(loss {L})")
        return np.concatenate((dW.ravel(), da))

    def record(t: float, W: NDArray, a: NDArray) -> None:
        dW, da, L, _ = system.rates(W, a)
        rec.add(t, L, W, a, system.observables(W, dW, da))

    if seg == 0 and is_record[0]:
        record(float(boundaries[0]), W, a)
    n_seg = len(boundaries) - 1
    with tqdm(total=n_seg, initial=seg, disable=not progress,
              desc=f"flow/{system.chart}") as bar:
        while seg < n_seg:
            t0, t1 = float(boundaries[seg]), float(boundaries[seg + 1])
            state = np.concatenate((W.ravel(), a))
            sol = solve_ivp(rhs, (t0, t1), state, method=solver.integrator,
                            rtol=solver.rtol, atol=solver.atol, dense_output=True)
            if sol.status != 0:
                raise RuntimeError(f"solve_ivp failed on [{t0}, {t1}]: {sol.message}")
            if seg == 0 and is_record[0]:
                rec.set_rate(0, _probe_rate(system, sol, t0, t1, False, nw, (m, d)))
            end = sol.y[:, -1]
            W, a = end[:nw].reshape(m, d).copy(), end[nw:].copy()
            if system.chart == "riemannian":
                W = normalize_to_manifold(W, system.cov)
            seg += 1
            bar.update(1)
            if is_record[seg]:
                record(t1, W, a)
                rec.set_rate(-1, _probe_rate(system, sol, t0, t1, True, nw, (m, d)))
            if (every is None and is_record[seg]) or (every is not None and seg % every == 0):
                if seg < n_seg:
                    save(seg, W, a)
    return W, a
