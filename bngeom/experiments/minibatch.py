r"""Claim ``minibatch_bn_bias``: the mini-batch-BN gradient against the population-BN gradient.

A mini-batch of ``B`` of the ``n`` samples, drawn without replacement and normalized by its
own mean and biased variance (:mod:`bngeom.nn.batchnorm`, :math:`\epsilon = 0`), gives a
gradient :math:`g_B` whose limit :math:`B = n` is the population-BN gradient :math:`g`
(docs/math.md §11.4). The delta method predicts

.. math:: \|\mathbb E g_B - g\| \propto \tfrac1B - \tfrac1n,\qquad
          \operatorname{tr}\operatorname{Cov} g_B \propto \tfrac1B - \tfrac1n

to leading order: :math:`g_B` is a smooth function of sample means (the batch averages of
the per-sample terms, :math:`\bar x` and :math:`\frac1B\sum x_ix_i^\top`), whose covariance
under sampling without replacement is exactly :math:`(\frac1B - \frac1n)\frac{n}{n-1}` times
the population's; the bias is the second-order term. The claim: the log-log slopes of both
against the effective batch size :math:`B_{eff} = (1/B - 1/n)^{-1}` are :math:`-1 \pm 0.1`.

Estimators. The bias is tiny beside the sampling noise, so it is measured on
:math:`D = g_B - g_B^{pop}`, with :math:`g_B^{pop}` the population-BN gradient of the same
batch (unbiased: :math:`\mathbb E g_B^{pop} = g`), and the first-order fluctuation of
:math:`D` is removed by regression on control variates of known mean zero
(:math:`\bar x` and :math:`\frac1B\sum_i x_ix_i^\top - \Sigma`). :math:`\|\mathbb E D\|^2` is
then estimated without bias by subtracting the estimator's variance.

Examples
--------
>>> res = run_minibatch_bn_bias(seed=0, size="quick")
>>> minibatch_bn_bias_claim(res)["passed"]
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bngeom._validation import check_seed
from bngeom.experiments._plots import frame
from bngeom.experiments._presets import resolve_preset
from bngeom.experiments.claims import make_claim
from bngeom.nn.batchnorm import batch_bn_loss_and_gradients
from bngeom.nn.data import Dataset, make_teacher_dataset
from bngeom.nn.model import LossAndGradients, bn_loss_and_gradients

__all__ = ["PRESETS", "SLOPE_TOLERANCE", "MinibatchResult", "gradient_vector",
           "batch_gradient_moments", "run_minibatch_bn_bias", "minibatch_bn_bias_claim",
           "plot_minibatch_bn_bias"]

PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(n_samples=1024, width=8, dim=4, n_draws=1000,
                  batch_sizes=(16, 32, 64, 128, 256, 512)),
    "reproduce": dict(n_samples=1024, width=8, dim=4, n_draws=1500,
                      batch_sizes=(16, 32, 64, 128, 256, 512)),
    "full": dict(n_samples=4096, width=16, dim=6, n_draws=4000,
                 batch_sizes=(16, 32, 64, 128, 256, 512, 1024, 2048)),
}
#: The slopes must lie within this distance of -1.
SLOPE_TOLERANCE = 0.1


def gradient_vector(res: LossAndGradients) -> np.ndarray:
    """``(grad_w, grad_a)`` flattened into one vector."""
    return np.concatenate((res.grad_w.ravel(), res.grad_a))


def _controls(X: np.ndarray, cov: np.ndarray) -> np.ndarray:
    r"""Control variates of mean zero: :math:`\bar x` and :math:`\frac1B\sum x_ix_i^\top-\Sigma`."""
    iu = np.triu_indices(cov.shape[0])
    return np.concatenate((X.mean(axis=0), (X.T @ X / X.shape[0] - cov)[iu]))


def batch_gradient_moments(ds: Dataset, W: np.ndarray, a: np.ndarray, batch_size: int,
                           n_draws: int, rng: np.random.Generator) -> tuple[float, float, float]:
    r"""``(bias, bias_error, variance)`` of the batch-BN gradient for one batch size.

    ``bias`` estimates :math:`\|\mathbb E g_B - g\|` (see the module docstring),
    ``bias_error`` the standard error of that estimate, ``variance``
    :math:`\operatorname{tr}\operatorname{Cov} g_B`.
    """
    n = ds.X.shape[0]
    G, D, F = [], [], []
    for _ in range(n_draws):
        idx = rng.choice(n, batch_size, replace=False)
        Xb, yb = ds.X[idx], ds.y[idx]
        g = gradient_vector(batch_bn_loss_and_gradients(Xb, yb, W, a, eps=0.0,
                                                        validate=False, backend="numpy"))
        g_pop = gradient_vector(bn_loss_and_gradients(Xb, yb, W, a, ds.cov, validate=False,
                                                      backend="numpy"))
        G.append(g)
        D.append(g - g_pop)
        F.append(_controls(Xb, ds.cov))
    G, D, F = np.array(G), np.array(D), np.array(F)
    design = np.column_stack((np.ones(n_draws), F))
    coef, *_ = np.linalg.lstsq(design, D, rcond=None)
    resid = D - design @ coef
    # the intercept estimates E D (the controls have mean zero); its covariance:
    dof = n_draws - design.shape[1]
    inv = np.linalg.inv(design.T @ design)[0, 0]
    noise = float(np.sum(resid**2) / dof * inv)
    mean = coef[0]
    bias_sq = float(mean @ mean) - noise
    return float(np.sqrt(max(bias_sq, 0.0))), float(np.sqrt(noise)), float(
        np.sum(np.var(G, axis=0, ddof=1)))


@dataclass(frozen=True)
class MinibatchResult:
    """Bias, its standard error and variance per batch size, and the fitted slopes."""

    batch_sizes: list[int]
    effective: list[float]
    bias: list[float]
    bias_error: list[float]
    variance: list[float]
    bias_slope: float
    variance_slope: float
    gradient_norm: float
    config: dict[str, Any]


def run_minibatch_bn_bias(seed: int = 0, *, size: str | None = None, quick: bool = False,
                          **overrides: Any) -> MinibatchResult:
    """Bias and variance of the batch-BN gradient for every batch size of the preset."""
    seed = check_seed(seed)
    _, cfg = resolve_preset(PRESETS, size, quick, overrides, "minibatch_bn_bias")
    rng = np.random.default_rng([seed, 19])
    n, d, m = cfg["n_samples"], cfg["dim"], cfg["width"]
    ds = make_teacher_dataset(n, np.geomspace(2.0, 0.5, d), teacher_width=3, rng=rng,
                              rotate=True)
    W, a = rng.standard_normal((m, d)), rng.standard_normal(m)
    g = gradient_vector(bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov))
    sizes = [int(b) for b in cfg["batch_sizes"]]
    if any(b < 2 or b >= n for b in sizes):
        raise ValueError(f"batch_sizes must lie in [2, n_samples) = [2, {n}), got {sizes}")
    moments = [batch_gradient_moments(ds, W, a, b, int(cfg["n_draws"]), rng) for b in sizes]
    eff = [1.0 / (1.0 / b - 1.0 / n) for b in sizes]
    bias, err, var = (list(v) for v in zip(*moments, strict=True))
    slope_b = float(np.polyfit(np.log(eff), np.log(np.maximum(bias, 1e-300)), 1)[0])
    slope_v = float(np.polyfit(np.log(eff), np.log(var), 1)[0])
    return MinibatchResult(sizes, eff, bias, err, var, slope_b, slope_v,
                           float(np.linalg.norm(g)), dict(cfg, seed=seed))


def minibatch_bn_bias_claim(result: MinibatchResult) -> dict[str, Any]:
    """The claim: both log-log slopes against :math:`B_{eff}` within -1 +- 0.1.

    ``measured`` is the slope farther from -1; every bias must also exceed twice its
    standard error (else the slope would fit noise).
    """
    worst = max((result.bias_slope, result.variance_slope), key=lambda s: abs(s + 1.0))
    resolved = all(b > 2 * e for b, e in zip(result.bias, result.bias_error, strict=True))
    passed = bool(resolved and abs(result.bias_slope + 1) <= SLOPE_TOLERANCE
                  and abs(result.variance_slope + 1) <= SLOPE_TOLERANCE)
    g = result.gradient_norm
    return make_claim(
        "minibatch_bn_bias",
        f"Mini-batch BN (batch statistics, sampling without replacement from n = "
        f"{result.config['n_samples']}): bias |E g_B - g| and variance tr Cov g_B of the "
        f"gradient relative to the population-BN gradient g scale like 1/B - 1/n (measured = "
        f"the log-log slope against B_eff = 1/(1/B - 1/n) farther from -1; bias slope "
        f"{result.bias_slope:.3f}, variance slope {result.variance_slope:.3f})",
        worst, -1.0, SLOPE_TOLERANCE,
        "|measured - predicted| <= tolerance for both slopes, every bias > 2 standard errors",
        {"batch_sizes": result.batch_sizes, "effective_batch_sizes": result.effective,
         "relative_bias": [b / g for b in result.bias],
         "relative_bias_error": [e / g for e in result.bias_error],
         "relative_variance": [v / g**2 for v in result.variance],
         "bias_slope": result.bias_slope, "variance_slope": result.variance_slope,
         "bias_resolved": resolved, "config": result.config},
        passed=passed)


def plot_minibatch_bn_bias(result: MinibatchResult, path: str | Path) -> None:
    """Relative bias and variance against the effective batch size, with slope -1 guides."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.2, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    eff, g = np.asarray(result.effective), result.gradient_norm
    bias = np.asarray(result.bias) / g
    var = np.asarray(result.variance) / g**2
    ax.errorbar(eff, bias, yerr=np.asarray(result.bias_error) / g, fmt="o-",
                label=f"bias |E g_B - g| / |g| (slope {result.bias_slope:.2f})")
    ax.loglog(eff, var, "s-", label=f"variance tr Cov g_B / |g|^2 (slope "
                                    f"{result.variance_slope:.2f})")
    for values in (bias, var):
        ax.loglog(eff, values[0] * eff[0] / eff, "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    frame(ax, "effective batch size 1 / (1/B - 1/n)", None,
          "mini-batch BN vs population BN (dotted: slope -1)")
    fig.savefig(path, dpi=110)
