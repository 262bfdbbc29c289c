r"""Particle measures on :math:`M = N_\Sigma\times\mathbb R` as the solvers see them.

A measure is an array of rows ``(u, a)``, shape ``(N, d + 1)``, with ``u`` on
:math:`N_\Sigma`, and weights (uniform by default). :func:`particles` checks it once,
at the boundary; :func:`cost_scale` picks the power of two by which output weights and
radius are divided so that every cost entry is of order one (MATH §6, eq. 16 is
homogeneous: :math:`d_M^2` scales by :math:`k^2` when :math:`r` and :math:`a` scale by
:math:`k`), which keeps output weights of 1e154 or 1e-200 exact.

Examples
--------
>>> import numpy as np
>>> p = particles(np.array([[1.0, 0.0, 3.0]]), np.eye(2), "x", None, "weights_x", True)
>>> p.w.tolist(), p.a.tolist()
([1.0], [3.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import as_float_array, check_on_manifold

__all__ = ["Particles", "cost_scale", "particles", "positive", "subsample"]

#: Tolerance on "weights sum to 1" (they are then renormalized exactly).
WEIGHT_ATOL = 1e-8
#: Largest |output weight| and radius * pi: beyond, a - b or d_M itself can overflow.
MAX_SCALE = 2.0**1021


@dataclass(frozen=True)
class Particles:
    """Checked particles: points ``u`` (N, d), their Euclidean norms, outputs, weights."""

    u: NDArray         # points on N_Sigma, (N, d), C-contiguous float64
    norm: NDArray      # |u|, (N,): psi(u) = u / |u|
    a: NDArray         # output weights, (N,)
    w: NDArray         # weights, (N,), summing to 1
    logw: NDArray

    def take(self, idx: NDArray | slice) -> Particles:
        """The particles ``idx`` (weights not renormalized)."""
        return Particles(self.u[idx], self.norm[idx], self.a[idx], self.w[idx], self.logw[idx])

    def scaled(self, k: float) -> Particles:
        """The same particles with output weights divided by ``k`` (a power of two: exact)."""
        return self if k == 1.0 else replace(self, a=self.a / k)


def _weights(weights: ArrayLike | None, n: int, name: str, wname: str) -> NDArray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = as_float_array(weights, wname, min_ndim=1, max_ndim=1).astype(np.float64)
    if w.shape[0] != n:
        raise ValueError(f"{wname} must have one weight per particle of {name}: "
                         f"got {w.shape[0]} weights for {n} particles")
    if np.any(w < 0):
        raise ValueError(f"{wname} must be nonnegative, its smallest entry is {w.min()}")
    total = float(w.sum())
    if abs(total - 1.0) > WEIGHT_ATOL:
        raise ValueError(f"{wname} must sum to 1 (within {WEIGHT_ATOL:.0e}), got sum {total!r}")
    return w / total


def particles(z: ArrayLike, cov: NDArray, name: str, weights: ArrayLike | None,
              wname: str, validate: bool) -> Particles:
    """Check and split particle rows ``(u, a)`` of ``z`` (named ``name`` in errors)."""
    d = cov.shape[0]
    if validate:
        z = as_float_array(z, name, min_ndim=2, max_ndim=2)
        if z.shape[1] != d + 1:
            raise ValueError(f"{name} must have shape (N, d + 1) = (N, {d + 1}) with rows (u, a), "
                             f"got shape {z.shape}")
    z = np.asarray(z).astype(np.float64, copy=False)
    u, a = np.ascontiguousarray(z[:, :d]), np.ascontiguousarray(z[:, d])
    if validate:
        check_on_manifold(u, u @ cov, f"{name}[:, :d]")
        big = float(np.max(np.abs(a), initial=0.0))
        if big > MAX_SCALE:
            raise ValueError(f"{name}[:, -1] (output weights) must satisfy |a| <= {MAX_SCALE:.3g} "
                             f"(beyond, a - b overflows float64), got |a| = {big:.3g}")
    w = _weights(weights, z.shape[0], name, wname)
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    return Particles(u, np.sqrt(np.einsum("ij,ij->i", u, u)), a, w, logw)


def positive(p: Particles) -> Particles:
    """Drop zero-weight particles (they change no transport cost)."""
    keep = p.w > 0
    return p if np.all(keep) else p.take(keep)


def cost_scale(p: Particles, q: Particles, radius: float) -> float:
    """Power of two ``k`` with ``s / k`` in [1, 2), ``s = max(pi r, spread of a and b)``.

    MATH §6: :math:`d_M` is 1-homogeneous in ``(r, a)`` and ``max d_M <= sqrt(2) s``, so
    dividing ``r`` and the output weights by ``k`` (exact in floating point) brings every
    cost entry to order one; equal output weights, however large, cancel exactly. The
    result is then accurate relative to the largest cost entry, as any floating-point
    solver of the unscaled problem would be.

    Examples
    --------
    >>> import numpy as np
    >>> p = particles(np.array([[1.0, 0.0, 1e200]]), np.eye(2), "x", None, "w", True)
    >>> cost_scale(p, p, 1.0) == 2.0                 # spread 0: the scale of pi r
    True
    """
    a = np.concatenate([p.a, q.a])
    spread = float(a.max() - a.min()) if a.size else 0.0
    s = max(math.pi * radius, spread)
    if not math.isfinite(s) or s > 2 * MAX_SCALE:
        raise ValueError(f"radius * pi and the spread of the output weights must be at most "
                         f"{2 * MAX_SCALE:.3g}, got radius = {radius!r}, spread = {spread:.3g}")
    return math.ldexp(1.0, math.frexp(s)[1] - 1)


def subsample(p: Particles, k: int, rng: np.random.Generator) -> Particles:
    """``k`` particles drawn without replacement by weight, reweighted uniformly by mass."""
    if k >= p.a.size:
        return p
    positive_idx = np.flatnonzero(p.w > 0)
    idx = np.sort(rng.choice(positive_idx, size=min(k, positive_idx.size), replace=False,
                             p=p.w[positive_idx] / p.w[positive_idx].sum()))
    w = p.w[idx] / p.w[idx].sum()
    return Particles(p.u[idx], p.norm[idx], p.a[idx], w, np.log(w))
