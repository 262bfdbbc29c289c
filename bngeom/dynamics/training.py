r"""Training as practitioners run it: mini-batch SGD, momentum, weight decay (docs/math.md §11).

:func:`train` runs ``torch.optim.SGD``'s update literally (dampening 0, not Nesterov) on the
BN network's own parameters :math:`(W, a)`, with weight decay :math:`\lambda` on the first
layer only:

.. math:: g = \nabla_W L_t + \lambda W,\quad b \leftarrow \alpha b + g,\quad
          W \leftarrow W - \eta b;\qquad
          b_a \leftarrow \alpha b_a + \nabla_a L_t,\quad a \leftarrow a - \eta b_a,

with zero initial buffers (torch's first step ``b = g`` is the same number). :math:`L_t` is
the loss of step :math:`t`'s mini-batch, normalized either by the population statistics
(``batch_norm="population"``: :math:`\Sigma` of the whole data set, the paper's model,
:mod:`bngeom.nn.model`) or by the batch's own mean and biased variance
(``batch_norm="batch"``: ``torch.nn.BatchNorm1d`` in training mode,
:mod:`bngeom.nn.batchnorm`). Mini-batches are drawn without replacement: each epoch is a
fresh permutation of the samples cut into ``n // batch_size`` batches (the remainder is
dropped, as ``DataLoader(shuffle=True, drop_last=True)``); :func:`batch_indices` gives the
batch of any step from the run's seed alone, so runs are reproducible and resumable.

Time is the step index (``Trajectory.times[i]`` is a step number), not the mean-field time
of :func:`bngeom.dynamics.simulate`. On :math:`M` each step is the Riemannian step of
learning rate :math:`\eta/r_t^2` (docs/math.md §11); ``speed_u`` records its length. The
example of :mod:`bngeom.dynamics` runs :func:`train` beside the gradient flow of
:func:`bngeom.dynamics.simulate` on one problem.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from bngeom._validation import (
    as_generator,
    check_bool,
    check_positive_int,
    check_positive_scalar,
    rowdot,
)
from bngeom.dynamics.flows import _check_dataset, _check_params, _fingerprint, _Recorder
from bngeom.dynamics.options import Checkpointing
from bngeom.dynamics.trajectory import Checkpoint, Trajectory, load_checkpoint, save_checkpoint
from bngeom.geometry.charts import normalize_to_manifold
from bngeom.nn.batchnorm import BATCH_NORM_EPS, batch_bn_loss_and_gradients
from bngeom.nn.data import Dataset
from bngeom.nn.functions import get_activation, get_loss
from bngeom.nn.model import LossAndGradients, _check_eps, bn_loss, bn_loss_and_gradients

__all__ = [
    "BATCH_NORMS",
    "TrainOptions",
    "SGDState",
    "batch_indices",
    "sgd_update",
    "step_angle",
    "Trainer",
    "train",
]

#: Normalization of each step: population statistics (the paper) or the batch's own.
BATCH_NORMS = ("population", "batch")


def _check_unit_interval(value: Any, name: str, *, closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not (np.isfinite(value) and ok):
        raise ValueError(f"{name} must lie in [0, 1{']' if closed else ')'}, got {value!r}")
    return value


@dataclass(frozen=True)
class TrainOptions:
    """Settings of :func:`train` (all checked on construction).

    Attributes
    ----------
    momentum : float
        :math:`\\alpha \\in [0, 1)`, torch's ``momentum`` (dampening 0, not Nesterov).
    weight_decay : float
        :math:`\\lambda \\ge 0`, on the first layer ``W`` only.
    batch_size : int or None
        Samples per step (``None``: the whole data set every step).
    batch_norm : {"population", "batch"}
        Normalize by the data set's :math:`\\Sigma` or by the batch's statistics.
    eps : float
        Variance offset of ``batch_norm="batch"`` (torch's 1e-5); ignored for population BN.
    activation, loss : str
        Names from :mod:`bngeom.nn.functions`.
    record_every : int
        Record every this many steps (and the last step).
    checkpoint_every : int or None
        Write the checkpoint every this many steps (default: at every record).
    progress : bool
        Show a tqdm progress bar.

    Examples
    --------
    >>> TrainOptions(momentum=0.9, batch_size=32).batch_norm
    'population'
    """

    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int | None = None
    batch_norm: str = "population"
    eps: float = BATCH_NORM_EPS
    activation: str = "tanh"
    loss: str = "squared"
    record_every: int = 1
    checkpoint_every: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        _check_unit_interval(self.momentum, "momentum", closed=False)
        wd = self.weight_decay
        if isinstance(wd, bool) or not isinstance(wd, (int, float, np.integer, np.floating)):
            raise TypeError(f"weight_decay must be a real number, got {type(wd).__name__}")
        if not (np.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight_decay must be finite and >= 0, got {wd!r}")
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
            if self.batch_size < 2 and self.batch_norm == "batch":
                raise ValueError("batch_size must be >= 2 with batch_norm='batch' (batch "
                                 f"statistics of one sample are undefined), got {self.batch_size}")
        if not isinstance(self.batch_norm, str) or self.batch_norm not in BATCH_NORMS:
            raise ValueError(f"batch_norm must be one of {BATCH_NORMS}, got {self.batch_norm!r}")
        _check_eps(self.eps)
        get_activation(self.activation)
        get_loss(self.loss)
        check_positive_int(self.record_every, "record_every")
        if self.checkpoint_every is not None:
            check_positive_int(self.checkpoint_every, "checkpoint_every")
        check_bool(self.progress, "progress")

    def settings(self) -> dict[str, Any]:
        """The options that change the computed numbers (they enter the checkpoint's hash)."""
        keep = ("momentum", "weight_decay", "batch_size", "batch_norm", "eps", "activation",
                "loss", "record_every")
        out = {k: getattr(self, k) for k in keep}
        out["momentum"], out["weight_decay"] = float(self.momentum), float(self.weight_decay)
        out["eps"] = float(self.eps)
        out["activation"] = get_activation(self.activation).name
        out["loss"] = get_loss(self.loss).name
        return out


class SGDState(NamedTuple):
    """Parameters and momentum buffers of one SGD run."""

    W: NDArray
    a: NDArray
    buf_w: NDArray
    buf_a: NDArray


def batch_indices(n: int, batch_size: int | None, step: int, seed: int) -> NDArray | None:
    """Sample indices of step ``step``'s mini-batch (without replacement; None = all samples).

    Epoch ``e = step // (n // batch_size)`` is the permutation
    ``default_rng([seed, e]).permutation(n)`` cut into consecutive batches; the last
    ``n % batch_size`` samples of each permutation are dropped.

    Examples
    --------
    >>> batch_indices(10, 4, 0, seed=0).shape, batch_indices(10, None, 5, seed=0) is None
    ((4,), True)
    >>> np.unique(np.concatenate([batch_indices(8, 4, k, 1) for k in (2, 3)])).size  # epoch 1
    8
    """
    if batch_size is None:
        return None
    n, batch_size = check_positive_int(n, "n"), check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of samples {n}, "
                         f"got {batch_size}")
    per_epoch = n // batch_size
    epoch, j = divmod(int(step), per_epoch)
    perm = np.random.default_rng([int(seed), epoch]).permutation(n)
    return perm[j * batch_size:(j + 1) * batch_size]


def sgd_update(state: SGDState, grad_w: NDArray, grad_a: NDArray, *, lr: float,
               momentum: float = 0.0, weight_decay: float = 0.0,
               lr_a: float | None = None) -> SGDState:
    r"""One ``torch.optim.SGD`` step (dampening 0, not Nesterov), weight decay on ``W`` only.

    :math:`g = \nabla_W L + \lambda W`, :math:`b \leftarrow \alpha b + g`,
    :math:`W \leftarrow W - \eta b`; the output weights likewise without :math:`\lambda`,
    with learning rate ``lr_a`` (default ``lr``; two torch parameter groups).
    With ``momentum = 0`` the buffers hold the last step's direction.

    Examples
    --------
    >>> import numpy as np
    >>> s = SGDState(np.ones((1, 2)), np.ones(1), np.zeros((1, 2)), np.zeros(1))
    >>> sgd_update(s, np.ones((1, 2)), np.ones(1), lr=0.5, weight_decay=1.0).W.tolist()
    [[0.0, 0.0]]
    """
    g = grad_w + weight_decay * state.W if weight_decay else grad_w
    buf_w = momentum * state.buf_w + g if momentum else g
    buf_a = momentum * state.buf_a + grad_a if momentum else grad_a
    return SGDState(state.W - lr * buf_w, state.a - (lr if lr_a is None else lr_a) * buf_a,
                    buf_w, buf_a)


def step_angle(W: ArrayLike, W_next: ArrayLike) -> NDArray:
    r"""Angle between :math:`w_k` and :math:`w_k'` per neuron: a step's length on :math:`N_\Sigma`.

    By the isometry :math:`\psi` (MATH §5), :math:`d_g(\varphi(w), \varphi(w')) =
    \angle(w, w')`; computed as :math:`\operatorname{atan2}(\|w\times w'\|, w^\top w')`,
    accurate for tiny angles.

    Examples
    --------
    >>> float(step_angle([[1.0, 0.0]], [[1.0, 1.0]])[0]) * 4 / np.pi
    1.0
    """
    W, W_next = np.asarray(W, dtype=np.float64), np.asarray(W_next, dtype=np.float64)
    dot = rowdot(W, W_next)
    # |w x w'|^2 = |w|^2 |w'|^2 - (w.w')^2, from the component of w' orthogonal to w
    w_hat = W / np.sqrt(rowdot(W, W))[:, None]
    ortho = W_next - rowdot(w_hat, W_next)[:, None] * w_hat
    return np.arctan2(np.sqrt(rowdot(ortho, ortho)) * np.sqrt(rowdot(W, W)), dot)


@dataclass(frozen=True)
class Trainer:
    """The data, learning rate, options and sampling seed of one run; takes its steps.

    Build it with :meth:`Trainer.create` (checks everything); :meth:`gradients` and
    :meth:`step` are what :func:`train` calls, usable directly by experiments that record
    other quantities.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(32, [1.0, 1.0], teacher_width=2, rng=0)
    >>> tr = Trainer.create(ds, lr=0.1, options=TrainOptions(batch_size=8), rng=0)
    >>> s = tr.initial_state(np.eye(2), np.ones(2))
    >>> tr.step(s, 0)[0].W.shape
    (2, 2)
    """

    X: NDArray
    y: NDArray
    cov: NDArray
    lr: float
    options: TrainOptions
    seed: int

    @classmethod
    def create(cls, dataset: Dataset, *, lr: float, options: TrainOptions | None = None,
               rng: int | np.random.Generator | None = None) -> Trainer:
        """Check the data set, learning rate, options and seed (see :func:`train`)."""
        X, y, cov = _check_dataset(dataset)
        lr = check_positive_scalar(lr, "lr")
        options = TrainOptions() if options is None else options
        if not isinstance(options, TrainOptions):
            raise TypeError(f"options must be a TrainOptions, got {type(options).__name__}")
        if options.batch_size is not None and options.batch_size > X.shape[0]:
            raise ValueError(f"batch_size must be at most the number of samples "
                             f"{X.shape[0]}, got {options.batch_size}")
        if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
            seed = int(rng)
        else:
            seed = int(as_generator(rng).integers(2**63))
        return cls(X, y, cov, lr, options, seed)

    def initial_state(self, W0: NDArray, a0: NDArray) -> SGDState:
        """Checked parameters with zero momentum buffers."""
        W, a = _check_params(W0, a0, self.cov, "bn", "W0", "a0")
        return SGDState(W, a, np.zeros_like(W), np.zeros_like(a))

    def gradients(self, W: NDArray, a: NDArray, step: int) -> LossAndGradients:
        """Loss and gradients of step ``step``'s mini-batch (population or batch BN)."""
        o = self.options
        idx = batch_indices(self.X.shape[0], o.batch_size, step, self.seed)
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        if o.batch_norm == "batch":
            return batch_bn_loss_and_gradients(X, y, W, a, o.activation, o.loss, eps=o.eps,
                                               validate=False)
        return bn_loss_and_gradients(X, y, W, a, self.cov, o.activation, o.loss,
                                     validate=False)

    def step(self, state: SGDState, step: int) -> tuple[SGDState, float]:
        """Step ``step`` from ``state``: the new state and the mini-batch loss before it."""
        res = self.gradients(state.W, state.a, step)
        if not np.isfinite(res.loss):
            raise FloatingPointError(f"training diverged at step {step} (loss {res.loss}); "
                                     "reduce lr")
        o = self.options
        return sgd_update(state, res.grad_w, res.grad_a, lr=self.lr, momentum=o.momentum,
                          weight_decay=o.weight_decay), res.loss

    def observables(self, state: SGDState, after: SGDState) -> tuple:
        """U, radii, step angles, |da| and their mean square, for :class:`_Recorder`."""
        speed_u = step_angle(state.W, after.W)
        speed_a = np.abs(after.a - state.a)
        return (normalize_to_manifold(state.W, self.cov), np.sqrt(rowdot(state.W, state.W)),
                speed_u, speed_a, float(np.mean(speed_u**2 + speed_a**2)))

    def full_loss(self, W: NDArray, a: NDArray) -> float:
        """Loss of the population-BN network on the whole data set."""
        return bn_loss(self.X, self.y, W, a, self.cov, self.options.activation,
                       self.options.loss)


def train(dataset: Dataset, W0: ArrayLike, a0: ArrayLike, *, lr: float, steps: int,
          options: TrainOptions | None = None, rng: int | np.random.Generator | None = None,
          checkpoint: str | os.PathLike | None = None, resume: bool = True,
          **option_values: Any) -> Trajectory:
    r"""Train the BN network by mini-batch SGD as ``torch.optim.SGD`` does (docs/math.md §11).

    Parameters
    ----------
    dataset : Dataset
        Centred data, targets and the population covariance :math:`\Sigma`.
    W0, a0 : array_like, shapes (m, d) and (m,)
        Initial BN weights (any radii, non-zero rows) and output weights.
    lr : float
        Learning rate :math:`\eta > 0` in the network's own parameters (not mean-field time).
    steps : int
        Number of SGD steps.
    options : TrainOptions, optional
        Momentum, weight decay, batch size, BN mode, ...; see :class:`TrainOptions`.
    rng : int, Generator or None
        Seed of the mini-batch sampling (unused for full batches). An int seed makes runs
        bit-identical and resumable; a Generator or None draws the seed once.
    checkpoint : path, optional
        An ``.npz`` checkpoint (:func:`bngeom.dynamics.trajectory.save_checkpoint`, with the
        momentum buffers), written every ``checkpoint_every`` steps and at the end. If it
        exists and ``resume`` is true the run continues from it and ends bit-identical to an
        uninterrupted run (same libraries and thread counts); a checkpoint of another run
        raises ``ValueError``.
    resume : bool
        Resume from an existing checkpoint (else start over and overwrite it).
    **option_values
        Fields of :class:`TrainOptions` (``momentum=0.9, batch_size=32, ...``), applied on
        top of ``options``.

    Returns
    -------
    Trajectory
        Records at steps ``0, record_every, ..., steps`` (``times`` are step numbers):
        ``loss`` is the population-BN loss on the whole data set, ``U`` = :math:`\varphi(W)`
        (population :math:`\Sigma`), ``radius`` = :math:`\|w_k\|`, ``speed_u`` the angle of
        the step taken from that record (its length on :math:`(N_\Sigma, g)`), ``speed_a``
        :math:`|\Delta a_k|`, ``dissipation`` the mean of their squares. ``meta`` holds the
        options, ``lr``, ``steps``, ``sampling_seed`` and ``time_unit = "step"``.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn.data import make_teacher_dataset
    >>> ds = make_teacher_dataset(40, [1.0, 0.5], teacher_width=2, rng=0)
    >>> W0 = np.array([[1.0, 0.0], [0.0, 2.0]]); a0 = np.array([1.0, -1.0])
    >>> t = train(ds, W0, a0, lr=0.1, steps=4, weight_decay=0.5)
    >>> bool(np.all(np.diff(t.radius, axis=0) < 0))    # weight decay shrinks the radii
    True
    """
    if option_values:
        base = TrainOptions() if options is None else options
        if not isinstance(base, TrainOptions):
            raise TypeError(f"options must be a TrainOptions, got {type(base).__name__}")
        unknown = set(option_values) - {f.name for f in dataclasses.fields(TrainOptions)}
        if unknown:
            raise TypeError(f"train() got unknown options {sorted(unknown)}; see TrainOptions")
        options = dataclasses.replace(base, **option_values)
    trainer = Trainer.create(dataset, lr=lr, options=options, rng=rng)
    state = trainer.initial_state(W0, a0)
    steps = check_positive_int(steps, "steps")
    path = Checkpointing(checkpoint, resume=resume).path  # the path and resume, as simulate's
    o = trainer.options
    settings = {**o.settings(), "lr": trainer.lr, "steps": steps, "seed": trainer.seed,
                "kind": "train"}
    fingerprint = _fingerprint(trainer.X, trainer.y, trainer.cov, state.W, state.a, None,
                               settings)
    meta = {**settings, "m": state.W.shape[0], "d": state.W.shape[1],
            "n_samples": int(trainer.X.shape[0]), "sampling_seed": trainer.seed,
            "time_unit": "step", "speed_norm": "angle per step"}
    del meta["seed"]
    return _run(trainer, state, steps, path, resume, fingerprint, meta)


def _run(trainer: Trainer, state: SGDState, steps: int, path: Path | None, resume: bool,
         fingerprint: str, meta: dict) -> Trajectory:
    """The training loop of :func:`train`, with its checkpoints."""
    o = trainer.options
    m, d = state.W.shape
    previous: Checkpoint | None = None
    if path is not None and resume and path.exists():
        previous = load_checkpoint(path)
        if previous.fingerprint != fingerprint:
            raise ValueError(f"checkpoint {path} belongs to a different run (other data, "
                             "initialization or settings); delete it or pass resume=False")
        if previous.complete:
            return previous.trajectory
    rec = _Recorder(m, d, None if previous is None else previous.trajectory)
    k = 0
    if previous is not None:
        k = previous.position
        state = SGDState(previous.W.copy(), previous.a.copy(),
                         previous.extra["buf_w"].copy(), previous.extra["buf_a"].copy())
    every = o.checkpoint_every

    def save(pos: int, s: SGDState, complete: bool = False) -> None:
        if path is not None:
            save_checkpoint(path, Checkpoint(rec.trajectory(meta), s.W, s.a, pos, fingerprint,
                                             complete, {"buf_w": s.buf_w, "buf_a": s.buf_a}))

    with tqdm(total=steps, initial=k, disable=not o.progress, desc="train") as bar:
        while True:
            after, _ = trainer.step(state, k)
            recorded = k % o.record_every == 0 or k == steps
            if recorded:
                rec.add(float(k), trainer.full_loss(state.W, state.a), state.W, state.a,
                        trainer.observables(state, after))
            if k == steps:
                break
            state, k = after, k + 1
            bar.update(1)
            if (every is None and (k % o.record_every == 0 or k == steps)) or (
                    every is not None and k % every == 0):
                save(k, state)
    save(steps, state, complete=True)
    return rec.trajectory(meta)
