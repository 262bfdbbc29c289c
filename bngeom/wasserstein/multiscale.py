r"""Multiscale entropic transport for measures too large for a dense cost matrix.

POT has no solver for this: the ground cost :math:`d_M^2` (MATH §6, eq. 16) is never
stored whole. A random subsample of ``coarse_size`` particles per side is solved
densely (:func:`bngeom.wasserstein.logsinkhorn.sinkhorn_log_dense`), its potentials are
extended to every particle by the c-transform, and the full problem is solved by
stabilized (absorbing) Sinkhorn on the sparse support where the plan exceeds
``exp(-1.25 * truncation)`` of its row scale. A screening pass over all ``N1 x N2``
pairs (in blocks, never the whole matrix) then re-checks the support with the final
potentials, and the solve is repeated on a new support until no pair outside it
carries more than ``exp(-truncation)``: the truncation error is certified, not
assumed.

Examples
--------
>>> import numpy as np
>>> from bngeom import geometry as geo
>>> from bngeom.wasserstein._particles import particles
>>> cov = np.eye(3)
>>> z = np.column_stack([geo.random_point(cov, 300, rng=0), np.zeros(300)])
>>> p = particles(z, cov, "x", None, "weights_x", True)
>>> res = sinkhorn_multiscale(p, p, 1.0, 1e-2, 1e-6, 10_000, 0.5, 30.0, 64, 2**20)
>>> res.solver, res.value < 0.1
('multiscale', True)
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from bngeom.wasserstein._particles import Particles, subsample
from bngeom.wasserstein.cost import dense_cost, pair_cost
from bngeom.wasserstein.logsinkhorn import OverRelaxation, lse_dense, sinkhorn_log_dense
from bngeom.wasserstein.result import WassersteinResult

# sinkhorn_multiscale works on checked particles (bngeom.wasserstein._particles): it is
# reached through wasserstein2(..., method="sinkhorn"), not called directly.
__all__: list[str] = []

_MAX_SCREENS = 8
#: Marginal tolerance of the coarse problem (a warm start only).
_COARSE_TOL = 1e-2
#: The support is built with this multiple of the certified bound, so that the
#: potentials can move a little before a pair outside it starts to matter.
_SUPPORT_PAD = 1.25
#: Scalings leaving [e^-_ABSORB, e^_ABSORB] are absorbed into the potentials.
_ABSORB = 100.0


@numba.njit(inline="always")
def _acos_lower(c):  # pragma: no cover - compiled
    """A lower bound of acos(c) within 2.5e-8 (Abramowitz & Stegun 4.4.46, |error| <= 2e-8).

    Screening only: a bound on the angle, never a cost entry (those come from
    :mod:`bngeom.wasserstein.cost`).
    """
    x = min(abs(c), 1.0)
    p = (1.5707963050 + x * (-0.2145988016 + x * (0.0889789874 + x * (-0.0501743046 + x * (
        0.0308918810 + x * (-0.0170881256 + x * (0.0066700901 + x * -0.0012624911)))))))
    t = math.sqrt(1.0 - x) * p
    return max((t if c >= 0 else math.pi - t) - 2.5e-8, 0.0)


@numba.njit(parallel=True, cache=True)
def _screen_mask(gram, a, b, f, g, r2, bound, delta, mask):  # pragma: no cover - compiled
    """mask[i, j] = f[i] + g[j] + bound >= a lower bound of cost(i, j).

    ``gram`` may carry an absolute error up to ``delta`` (a float32 product): the
    angle is bounded below through ``acos(gram + delta)``, so no pair whose exact cost
    passes the test is missed.
    """
    n1, n2 = gram.shape
    for i in numba.prange(n1):
        ai = a[i]
        fi = f[i] + bound
        for j in range(n2):
            t = _acos_lower(gram[i, j] + delta)
            da = ai - b[j]
            mask[i, j] = fi + g[j] >= r2 * t * t + da * da


def _block_rows(n2: int, memory_budget: float) -> int:
    # A block of rows of a float64 cost matrix plus its temporaries (or a float32
    # Gram block, its mask and the flat indices of the survivors).
    return int(max(1, min(1 << 20, memory_budget // (24 * max(n2, 1)))))


def _screen(p: Particles, q: Particles, r: float, f: NDArray, g: NDArray, bound: float,
            memory_budget: float) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """All pairs with f_i + g_j - C_ij >= -_SUPPORT_PAD * bound: rows, cols, exact costs.

    The last output flags the pairs with f_i + g_j - C_ij >= -bound (exact costs).
    """
    n1, n2 = p.a.size, q.a.size
    rows = _block_rows(n2, memory_budget)
    # Screen with a float32 Gram matrix of psi(u) (half the time of float64), conservatively.
    x32 = (p.u / p.norm[:, None]).astype(np.float32)
    y32 = (q.u / q.norm[:, None]).astype(np.float32)
    delta = (p.u.shape[1] + 4) * float(np.finfo(np.float32).eps)
    parts_r, parts_c = [], []
    for i0 in range(0, n1, rows):
        i1 = min(n1, i0 + rows)
        gram = x32[i0:i1] @ y32.T
        mask = np.empty(gram.shape, dtype=np.bool_)
        _screen_mask(gram, p.a[i0:i1], q.a, f[i0:i1], g, r * r, _SUPPORT_PAD * bound, delta,
                     mask)
        flat = np.flatnonzero(mask)
        parts_r.append(flat // n2 + i0)
        parts_c.append(flat % n2)
        del gram, mask
    rows_idx, cols = np.concatenate(parts_r), np.concatenate(parts_c)
    cost = pair_cost(p, q, r, rows_idx, cols)
    keep = f[rows_idx] + g[cols] - cost >= -bound
    return rows_idx, cols, cost, keep


def _c_transform(p: Particles, q: Particles, r: float, g: NDArray, eps: float,
                 memory_budget: float) -> NDArray:
    """f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps) for every particle of p (blocks of rows)."""
    out = np.empty(p.a.size)
    rows = _block_rows(q.a.size, memory_budget)
    for i0 in range(0, p.a.size, rows):
        sub = p.take(slice(i0, min(p.a.size, i0 + rows)))
        lse_dense(dense_cost(sub, q, r), q.logw, g, eps, out[i0:i0 + sub.a.size])
    return out


def _iterate_scaling(csr: sparse.csr_matrix, f0: NDArray, g0: NDArray, wx: NDArray,
                     wy: NDArray, eps: float, tol: float,
                     max_iter: int) -> tuple[NDArray, NDArray, int, float]:
    """Stabilized Sinkhorn on a sparse support (Schmitzer, 2019), over-relaxed.

    The kernel ``K_ij = exp((f0_i + g0_j - C_ij)/eps)`` is stored on the support and
    the potentials are ``f = f0 + eps log u``, ``g = g0 + eps log v``; an iteration is
    two sparse products. Scalings leaving ``[e^-100, e^100]`` are absorbed into
    ``f0, g0`` and the kernel recomputed, so nothing under- or overflows.
    """
    csr_t = csr.T.tocsr()
    rows_r = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    rows_t = np.repeat(np.arange(csr_t.shape[0]), np.diff(csr_t.indptr))
    mat_r = sparse.csr_matrix((np.empty_like(csr.data), csr.indices, csr.indptr), csr.shape)
    mat_t = sparse.csr_matrix((np.empty_like(csr_t.data), csr_t.indices, csr_t.indptr),
                              csr_t.shape)

    def kernel(f0, g0):
        np.exp((f0[rows_r] + g0[csr.indices] - csr.data) / eps, out=mat_r.data)
        np.exp((g0[rows_t] + f0[csr_t.indices] - csr_t.data) / eps, out=mat_t.data)

    kernel(f0, g0)
    u, v = np.ones(csr.shape[0]), np.ones(csr.shape[1])
    relaxation, omega, err, it = OverRelaxation(), 1.0, np.inf, 0
    while it < max_iter:
        u_new = 1.0 / (mat_r @ (wy * v))
        err = float(np.sum(wx * np.abs(u / u_new - 1.0)))
        it += 1
        if err <= tol:
            u = u_new
            v = 1.0 / (mat_t @ (wx * u))
            break
        u = u_new if omega == 1.0 else u ** (1.0 - omega) * u_new ** omega
        v_new = 1.0 / (mat_t @ (wx * u))
        v = v_new if omega == 1.0 else v ** (1.0 - omega) * v_new ** omega
        omega = relaxation.update(err)
        lu, lv = np.log(u), np.log(v)
        if max(np.abs(lu).max(), np.abs(lv).max()) > _ABSORB:
            f0, g0 = f0 + eps * lu, g0 + eps * lv
            kernel(f0, g0)
            u[:], v[:] = 1.0, 1.0
    return f0 + eps * np.log(u), g0 + eps * np.log(v), it, err


def _subset(keys: NDArray, sorted_keys: NDArray) -> bool:
    """Whether every entry of ``keys`` occurs in the sorted array ``sorted_keys``."""
    if keys.size == 0:
        return True
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return bool(np.all(sorted_keys[pos] == keys))


def _warm_start(p: Particles, q: Particles, r: float, eps: float, tol: float, max_iter: int,
                factor: float, coarse_size: int, memory_budget: float):
    """Potentials on every particle from a dense solve on ``coarse_size`` per side."""
    rng = np.random.default_rng(0)
    pc, qc = subsample(p, coarse_size, rng), subsample(q, coarse_size, rng)
    coarse = sinkhorn_log_dense(dense_cost(pc, qc, r), pc.w, qc.w, eps, max(tol, _COARSE_TOL),
                                max_iter, factor)
    f = _c_transform(p, qc, r, coarse.info["g"], eps, memory_budget)
    g = _c_transform(q, pc, r, coarse.info["f"], eps, memory_budget)
    return f, g, coarse, pc.a.size


def sinkhorn_multiscale(p: Particles, q: Particles, r: float, eps: float, tol: float,
                        max_iter: int, factor: float, theta: float, coarse_size: int,
                        memory_budget: float) -> WassersteinResult:
    """Entropic transport on a certified sparse support (see the module docstring)."""
    clock = time.perf_counter()
    f, g, coarse, n_coarse = _warm_start(p, q, r, eps, tol, max_iter, factor, coarse_size,
                                         memory_budget)
    times = {"coarse": time.perf_counter() - clock, "screen": 0.0, "iterate": 0.0}
    n_iter, bound, screens, n2 = coarse.n_iter, theta * eps, 0, q.a.size
    support_keys: NDArray | None = None
    csr = None
    while True:
        clock = time.perf_counter()
        rows_idx, cols, cost, keep = _screen(p, q, r, f, g, bound, memory_budget)
        times["screen"] += time.perf_counter() - clock
        screens += 1
        keys = rows_idx * n2 + cols
        if support_keys is not None and _subset(keys[keep], support_keys):
            break          # certified: every pair that matters is inside the support
        if screens > _MAX_SCREENS:
            raise RuntimeError("multiscale Sinkhorn: the sparse support did not stabilize "
                               f"after {_MAX_SCREENS} screening passes; increase reg")
        counts = np.bincount(rows_idx, minlength=p.a.size)
        if np.any(counts == 0) or np.any(np.bincount(cols, minlength=n2) == 0):
            bound, support_keys = 2.0 * bound, None   # potentials too far off: widen
            continue
        support_keys = keys
        indptr = np.concatenate([[0], np.cumsum(counts)])
        csr = sparse.csr_matrix((cost, cols, indptr), shape=(p.a.size, n2))
        clock = time.perf_counter()
        f, g, it, _ = _iterate_scaling(csr, f, g, p.w, q.w, eps, tol, max_iter)
        times["iterate"] += time.perf_counter() - clock
        n_iter += it
    rows_idx = np.repeat(np.arange(p.a.size), np.diff(csr.indptr))
    plan = np.exp(p.logw[rows_idx] + q.logw[csr.indices]
                  + (f[rows_idx] + g[csr.indices] - csr.data) / eps)
    val = float(np.sum(plan * csr.data))
    mass = np.bincount(rows_idx, weights=plan, minlength=p.a.size)
    return WassersteinResult(math.sqrt(max(val, 0.0)), val, "sinkhorn", "multiscale", n_iter,
                             float(np.abs(mass - p.w).sum()), int(csr.nnz),
                             {"screens": screens, "coarse_size": n_coarse,
                              "coarse_iterations": coarse.n_iter, "bound": bound,
                              "seconds": times})
