r"""Claim ``sgd_reference_equivalence``: :func:`bngeom.dynamics.train` against an independent loop.

The reference is written from scratch with autograd and runs without torch: a BN layer that
normalizes each pre-activation :math:`h_k = w_k^\top x` by its own mean and biased variance
(of the mini-batch, plus :math:`\epsilon`, as ``torch.nn.BatchNorm1d`` in training mode; or of
the whole data set for population BN), the loss of the mini-batch, autograd's gradients, and
``torch.optim.SGD``'s rule (first step ``b = g + \lambda w``, then ``b = \alpha b + g +
\lambda w``; ``w -= \eta b``) written out again. It shares nothing with :mod:`bngeom` except
the batch sequence (:func:`bngeom.dynamics.batch_indices`). The claim: after ``steps`` steps
both loops hold the same weights to 1e-10 relative, for every combination of BN mode,
momentum, weight decay and batch size. (The test suite also checks :func:`train` against
torch itself.)

Examples
--------
>>> res = run_sgd_reference(seed=0, size="quick")
>>> sgd_reference_claim(res)["passed"]
True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

from bngeom._validation import check_seed
from bngeom.dynamics.training import TrainOptions, batch_indices, train
from bngeom.experiments._presets import resolve_preset
from bngeom.experiments._training_problem import presets, teacher_problem
from bngeom.experiments.claims import make_claim

__all__ = ["PRESETS", "TOLERANCE", "SGDReferenceResult", "reference_sgd", "run_sgd_reference",
           "sgd_reference_claim"]

#: Sizes: CI smoke run, ``bngeom reproduce``, and a larger run.
PRESETS: dict[str, dict[str, Any]] = presets("steps", {"quick": 30, "reproduce": 100,
                                                       "full": 300})
#: Largest relative weight difference allowed after all steps.
TOLERANCE = 1e-10
_LR = 0.5
_EPS = 1e-5


@dataclass(frozen=True)
class SGDReferenceResult:
    """Per configuration ``(batch_norm, momentum, weight_decay, batch_size)`` the relative
    difference of the final weights (``W`` and ``a`` together) and how far they moved."""

    configs: list[dict[str, Any]]
    differences: list[float]
    displacements: list[float]
    config: dict[str, Any]


def _reference_loss(W, a, X, y, X_all, batch_norm: str, eps: float):
    """Mean squared loss of a BN layer written from scratch (autograd-differentiable)."""
    H = anp.dot(X, anp.transpose(W))
    if batch_norm == "batch":
        mu = anp.mean(H, axis=0)
        Z = (H - mu) / anp.sqrt(anp.mean((H - mu) ** 2, axis=0) + eps)
    else:
        Hp = anp.dot(X_all, anp.transpose(W))
        mu = anp.mean(Hp, axis=0)
        Z = (H - mu) / anp.sqrt(anp.mean((Hp - mu) ** 2, axis=0))
    f = anp.dot(anp.tanh(Z), a) / a.shape[0]
    return 0.5 * anp.mean((f - y) ** 2)


def reference_sgd(X: np.ndarray, y: np.ndarray, W0: np.ndarray, a0: np.ndarray, *, lr: float,
                  steps: int, options: TrainOptions, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The independent loop: autograd gradients and torch's SGD rule written out; final (W, a).

    ``options`` supplies ``momentum``, ``weight_decay``, ``batch_size``, ``batch_norm`` and
    ``eps`` (only as numbers: nothing of :mod:`bngeom` computes here but the batch indices).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.5], [0.0, -0.5]]); y = np.array([1.0, 0.0, -1.0])
    >>> W, a = reference_sgd(X, y, np.eye(2), np.ones(2), lr=0.1, steps=2, seed=0,
    ...                      options=TrainOptions(momentum=0.9, batch_norm="batch"))
    >>> W.shape, a.shape
    ((2, 2), (2,))
    """
    o = options
    grad = autograd.grad(_reference_loss, argnum=(0, 1))
    W, a = np.array(W0, dtype=float), np.array(a0, dtype=float)
    bufs = [None, None]
    for k in range(steps):
        idx = batch_indices(X.shape[0], o.batch_size, k, seed)
        xb, yb = (X, y) if idx is None else (X[idx], y[idx])
        gw, ga = grad(W, a, xb, yb, X, o.batch_norm, o.eps)
        steps_ = []
        for i, (p, g, decay) in enumerate(((W, gw, o.weight_decay), (a, ga, 0.0))):
            d_p = g + decay * p if decay != 0 else g
            if o.momentum != 0:
                bufs[i] = d_p.copy() if bufs[i] is None else bufs[i] * o.momentum + d_p
                d_p = bufs[i]
            steps_.append(p - lr * d_p)
        W, a = steps_
    return W, a


def run_sgd_reference(seed: int = 0, *, size: str | None = None, quick: bool = False,
                      **overrides: Any) -> SGDReferenceResult:
    """Both loops on a teacher data set, for every configuration of the grid.

    ``size`` is a key of :data:`PRESETS` (default ``"full"``, or ``"quick"`` with ``quick``);
    ``overrides`` replace its entries.
    """
    seed = check_seed(seed)
    _, cfg = resolve_preset(PRESETS, size, quick, overrides, "sgd_reference")
    cfg["steps"] = int(cfg["steps"])
    rng = np.random.default_rng([seed, 11])
    ds, W0, a0 = teacher_problem(rng, cfg["n_samples"], cfg["width"])
    configs, diffs, moved = [], [], []
    for bn, (mom, wd), bs in itertools.product(("population", "batch"),
                                               ((0.0, 0.0), (0.9, 0.0), (0.0, 1e-2),
                                                (0.9, 1e-3)),
                                               (None, cfg["n_samples"] // 8)):
        opts = TrainOptions(momentum=mom, weight_decay=wd, batch_size=bs, batch_norm=bn,
                            eps=_EPS, record_every=cfg["steps"])
        traj = train(ds, W0, a0, lr=_LR, steps=cfg["steps"], options=opts, rng=seed)
        W_ref, a_ref = reference_sgd(ds.X, ds.y, W0, a0, lr=_LR, steps=cfg["steps"],
                                     options=opts, seed=seed)
        ours = np.concatenate((traj.W[-1].ravel(), traj.a[-1]))
        ref = np.concatenate((W_ref.ravel(), a_ref))
        start = np.concatenate((W0.ravel(), a0))
        configs.append(dict(batch_norm=bn, momentum=mom, weight_decay=wd, batch_size=bs))
        diffs.append(float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref))))
        moved.append(float(np.max(np.abs(ref - start)) / np.max(np.abs(start))))
    return SGDReferenceResult(configs, diffs, moved, dict(cfg, seed=seed, lr=_LR, eps=_EPS))


def sgd_reference_claim(result: SGDReferenceResult) -> dict[str, Any]:
    """The ``sgd_reference_equivalence`` claim: the largest relative difference <= 1e-10.

    The claim also requires every run to have moved its weights (at least 1% relative).
    """
    measured = max(result.differences)
    moved = min(result.displacements) > 1e-2
    return make_claim(
        "sgd_reference_equivalence",
        f"bngeom.dynamics.train (torch.optim.SGD's update, {len(result.configs)} settings: "
        f"population/batch BN, momentum 0/0.9, weight decay 0/1e-3/1e-2, full/mini-batch) "
        f"equals "
        f"an independent autograd BN loop after {result.config['steps']} steps (max relative "
        f"weight difference)",
        measured, 0.0, TOLERANCE, "|measured - predicted| <= tolerance, every run moved",
        {"configs": result.configs, "differences": result.differences,
         "relative_displacements": result.displacements, "config": result.config},
        passed=bool(np.isfinite(measured) and measured <= TOLERANCE and moved))
