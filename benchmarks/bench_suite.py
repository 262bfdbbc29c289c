r"""The benchmark suite: the speed and memory bngeom must show (``bngeom bench``).

Targets (issue 6), each measured side by side in one run, median of
``repeats`` (default 5) timings after one warm-up call, every contender with the
same number of threads (``threadpoolctl`` for BLAS, ``torch.set_num_threads``
for PyTorch), float64:

* **B1, metric operations** on a batch of 100,000 points, ``d = 64``: inner
  product, Riemannian gradient, exp, log and dist through the core
  (:mod:`bngeom.geometry`), the geomstats adapter (``BNSpace``'s metric) and
  the pymanopt adapter (``BNManifold``), against geomstats' ``Hypersphere(63)``
  doing the same operation on the isometric batch: geometric mean of the ratios
  at most 1.5, none above 4; and at least 1000 times faster per point than the
  pseudo-inverse path (:func:`bngeom.geometry.metric_matrix`, on a subsample).
* **B2, training step** (loss and all gradients) of a BN network, ``n = 8192``,
  ``d = 64``, ``m = 2048``, tanh: at least 2 times faster than PyTorch on CPU
  (``Linear(bias=False) -> BatchNorm1d(affine=False) -> tanh -> Linear``,
  autograd backward, full batch), gradients equal to torch's to 1e-10
  relative, and at most 4 times one ``n x d`` by ``d x m`` matrix product.
* **B3, scaling and memory**: step time linear in ``n m`` (log-log slope
  within 1 +- 0.1 for ``m`` from 1e3 to 1e5); peak resident memory at most
  1 GiB at ``n = 1e4``, ``m = 1e5``, ``d = 32`` (measured in a fresh process).
* **B4, W2 on M**: exact between two 2,000-particle measures at most 2 s;
  entropic between two 20,000-particle measures at most 30 s.
* **B5**: the default run of ``bngeom reproduce`` at most 120 s wall time
  (a subprocess).
* **B7, the core on torch tensors**: inner product, exp, a retraction, log, dist and the
  tangent projection of :mod:`bngeom.geometry` on 100,000 torch CPU float64 tensors,
  ``d = 64``, anisotropic :math:`\Sigma`, ``validate=False``, against geoopt's ``Sphere`` on
  the isometric unit vectors: geometric mean of the ratios at most 1.5 (values equal the
  numpy core's to 1e-12, in the notes).
* **B8, mini-batch SGD step** with batch statistics, momentum 0.9 and weight decay
  (``B = 256``, ``d = 64``, ``m = 2048``, tanh): at least 2 times faster than PyTorch
  (``BatchNorm1d`` in training mode + ``torch.optim.SGD``), gradients and updated weights
  equal to torch's to 1e-10 relative.

``quick=True`` runs every row at tiny sizes as a smoke test (targets are not
assessed). Rows whose contender is unavailable (PyTorch is the optional
``bench`` extra) are reported as skipped, with the reason.

Run it from a checkout as ``python benchmarks/run.py [--quick] [--out FILE]`` (or ``bngeom bench``).

Examples
--------
>>> FULL.b2, QUICK.b2          # (n, d, m) of the training-step benchmark
((8192, 64, 2048), (512, 8, 128))
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bngeom import __version__, data, geometry, model
from bngeom._io import atomic_write
from bngeom.cli import integer_at_least

__all__ = ["GROUPS", "Sizes", "FULL", "QUICK", "run", "format_table", "format_markdown", "main"]

#: Target groups, in order.
GROUPS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8")
DEFAULT_OUT = "bngeom-bench.json"


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one run of the suite."""

    b1_points: int
    b1_dim: int
    b1_pinv_points: int
    b2: tuple[int, int, int]          # n, d, m
    b3_n: int
    b3_d: int
    b3_widths: tuple[int, ...]
    b3_memory: tuple[int, int, int]   # n, d, m
    b4_exact: int
    b4_entropic: int
    b4_dim: int
    b4_timeout: float
    b5_args: tuple[str, ...]
    b5_timeout: float
    b4_dense: int = 500               # particles of the dense Sinkhorn row (dense vs POT)


FULL = Sizes(b1_points=100_000, b1_dim=64, b1_pinv_points=2_000, b2=(8192, 64, 2048),
             b3_n=10_000, b3_d=32, b3_widths=(1_000, 3_162, 10_000, 31_623, 100_000),
             b3_memory=(10_000, 32, 100_000), b4_exact=2_000, b4_entropic=20_000, b4_dim=8,
             b4_timeout=600.0, b5_args=(), b5_timeout=1200.0)
QUICK = Sizes(b1_points=2_000, b1_dim=64, b1_pinv_points=100, b2=(512, 8, 128),
              b3_n=400, b3_d=8, b3_widths=(100, 300, 1_000), b3_memory=(1_000, 8, 2_000),
              b4_exact=100, b4_entropic=300, b4_dim=4, b4_timeout=20.0,
              b5_args=("--quick", "--only", "prop1_positive_definite"), b5_timeout=60.0,
              b4_dense=100)


# ---------------------------------------------------------------------------
# helpers


def _median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _row(group: str, id_: str, target: str, contenders: dict[str, float | None],
         ratio: float | None, goal: str, passed: bool | None, *, status: str = "measured",
         unit: str = "s", note: str = "") -> dict[str, Any]:
    return {"group": group, "id": id_, "target": target, "contenders": contenders,
            "unit": unit, "ratio": ratio, "goal": goal, "passed": passed, "status": status,
            "note": note}


def _skipped(group: str, id_: str, target: str, goal: str, reason: str) -> dict[str, Any]:
    return _row(group, id_, target, {}, None, goal, None, status="skipped", note=reason)


def _error(group: str, id_: str, target: str, goal: str, exc: BaseException) -> dict[str, Any]:
    return _row(group, id_, target, {}, None, goal, False, status="error",
                note=f"{type(exc).__name__}: {exc}")


def _import(name: str) -> tuple[Any, str | None]:
    """Import a module; return (module, None) or (None, reason)."""
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # ImportError, or an adapter failing at import
        return None, f"{name} not importable ({type(exc).__name__}: {exc})"


def _assess(passed: bool, quick: bool) -> bool | None:
    return None if quick else bool(passed)


def _geo_mean(values: Sequence[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _relative_error(x: Any, ref: Any) -> float:
    x, ref = np.asarray(x, dtype=float), np.asarray(ref, dtype=float)
    return float(np.linalg.norm(x - ref) / max(np.linalg.norm(ref), 1e-300))


# ---------------------------------------------------------------------------
# B1: metric operations


_B1_OPS = ("inner_product", "riemannian_gradient", "exp", "log", "dist")


def _b1_data(n: int, d: int, rng: np.random.Generator) -> dict[str, Any]:
    spectrum = np.linspace(4.0, 0.25, d)
    rot = data.random_rotation(d, rng=rng)
    cov = (rot * spectrum) @ rot.T
    cov = (cov + cov.T) / 2
    u = geometry.random_point(cov, n, rng=rng)
    xi = geometry.random_tangent_vector(u, cov, rng=rng)
    eta = geometry.random_tangent_vector(u, cov, rng=rng)
    v = geometry.exp(u, 0.5 * xi, cov)
    egrad = rng.standard_normal((n, d))
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    alpha, beta = rng.standard_normal(n), rng.standard_normal(n)
    # the isometric twin on the round sphere: psi(u) = u/|u|, d psi_u(xi)
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    x = u / norms

    def dpsi(vec: np.ndarray) -> np.ndarray:
        return (vec - x * np.sum(x * vec, axis=1, keepdims=True)) / norms

    return {"cov": cov, "u": u, "xi": xi, "eta": eta, "v": v, "egrad": egrad, "a": a, "b": b,
            "alpha": alpha, "beta": beta, "x": x, "zeta": dpsi(xi), "zeta2": dpsi(eta),
            "y": v / np.linalg.norm(v, axis=1, keepdims=True)}


def _b1_core(D: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    cov, u, xi, eta, v, g = D["cov"], D["u"], D["xi"], D["eta"], D["v"], D["egrad"]
    return {
        "inner_product": lambda: geometry.inner_product(u, xi, eta, cov, validate=False),
        "riemannian_gradient": lambda: geometry.riemannian_gradient(u, g, cov, validate=False),
        "exp": lambda: geometry.exp(u, xi, cov, validate=False),
        "log": lambda: geometry.log(u, v, cov, validate=False),
        "dist": lambda: geometry.dist(u, v, cov, validate=False),
    }


def _b1_fused(D: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    from bngeom.geometry import _compiled as _kernels

    cov, u, xi, eta, v, g = D["cov"], D["u"], D["xi"], D["eta"], D["v"], D["egrad"]
    return {
        "inner_product": lambda: _kernels.inner_product(u, xi, eta),
        "riemannian_gradient": lambda: _kernels.riemannian_gradient(u, g, cov),
        "exp": lambda: _kernels.exp(u, xi, cov),
        "log": lambda: _kernels.log(u, v, cov),
        "dist": lambda: _kernels.dist(u, v),
    }


def _b1_geomstats_sphere(D: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    from geomstats.geometry.hypersphere import Hypersphere

    sphere = Hypersphere(D["x"].shape[1] - 1)
    metric = sphere.metric
    x, y, zeta, zeta2, g = D["x"], D["y"], D["zeta"], D["zeta2"], D["egrad"]
    return {
        "inner_product": lambda: metric.inner_product(zeta, zeta2, x),
        # the round sphere's Riemannian gradient is the tangent projection
        "riemannian_gradient": lambda: sphere.to_tangent(g, x),
        "exp": lambda: metric.exp(zeta, x),
        "log": lambda: metric.log(y, x),
        "dist": lambda: metric.dist(x, y),
    }


def _b1_geomstats_adapter(D: dict[str, Any], module: Any) -> dict[str, Callable[[], Any]]:
    space = module.BNSpace(D["cov"], validate=False)   # geomstats' metrics do not validate
    metric = space.metric

    def join(p: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.concatenate([p, c[:, None]], axis=1)

    P, Q = join(D["u"], D["a"]), join(D["v"], D["b"])
    V, V2 = join(D["xi"], D["alpha"]), join(D["eta"], D["beta"])
    G = join(D["egrad"], D["beta"])
    return {
        "inner_product": lambda: metric.inner_product(V, V2, P),
        "riemannian_gradient": lambda: metric.riemannian_gradient(G, P),
        "exp": lambda: metric.exp(V, P),
        "log": lambda: metric.log(Q, P),
        "dist": lambda: metric.dist(P, Q),
    }


def _b1_pymanopt_adapter(D: dict[str, Any], module: Any) -> dict[str, Callable[[], Any]]:
    n = D["u"].shape[0]
    manifold = module.BNManifold(D["cov"], n, validate=False)
    P, Q = [D["u"], D["a"]], [D["v"], D["b"]]
    V, V2 = [D["xi"], D["alpha"]], [D["eta"], D["beta"]]
    G = [D["egrad"], D["beta"]]
    return {
        "inner_product": lambda: manifold.inner_product(P, V, V2),
        "riemannian_gradient": lambda: manifold.euclidean_to_riemannian_gradient(P, G),
        "exp": lambda: manifold.exp(P, V),
        "log": lambda: manifold.log(P, Q),
        "dist": lambda: manifold.dist(P, Q),
    }


def bench_b1(sizes: Sizes, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """B1 rows: per operation and per route, the ratio to geomstats' Hypersphere."""
    group = "B1"
    rows: list[dict[str, Any]] = []
    n, d = sizes.b1_points, sizes.b1_dim
    D = _b1_data(n, d, np.random.default_rng(0))
    gs_mod, gs_reason = _import("geomstats.geometry.hypersphere")
    if gs_mod is None:
        return [_skipped(group, "B1", f"metric operations, {n:,} points, d={d}",
                         "<= 4 each, geo mean <= 1.5", f"geomstats unavailable: {gs_reason}")]
    sphere_ops = _b1_geomstats_sphere(D)
    sphere_times = {op: _median_time(fn, repeats) for op, fn in sphere_ops.items()}
    routes: list[tuple[str, str, Callable[[], dict[str, Callable[[], Any]]] | None, str]] = [
        ("core", "bngeom.geometry", lambda: _b1_core(D), ""),
        ("fused", "bngeom.geometry._compiled", lambda: _b1_fused(D), "")]
    for key, label, modname, builder in (
            ("geomstats_adapter", "BNSpace metric", "bngeom.geomstats_space",
             _b1_geomstats_adapter),
            ("pymanopt_adapter", "BNManifold", "bngeom.pymanopt_manifold",
             _b1_pymanopt_adapter)):
        mod, reason = _import(modname)
        if mod is None:
            routes.append((key, label, None, reason or ""))
        else:
            routes.append((key, label, (lambda b=builder, m=mod: b(D, m)), ""))
    core_inner = None
    for key, label, build, reason in routes:
        ratios = []
        if build is None:
            for op in _B1_OPS:
                rows.append(_skipped(group, f"B1.{key}.{op}", f"{op} via {label}",
                                     "<= 4", reason))
            rows.append(_skipped(group, f"B1.{key}.geomean", f"geo mean via {label}",
                                 "<= 1.5", reason))
            continue
        try:
            ops = build()
        except Exception as exc:
            rows.append(_error(group, f"B1.{key}", f"metric operations via {label}", "", exc))
            continue
        for op in _B1_OPS:
            target = f"{op}, {n:,} points, d={d}, via {label}"
            if op not in ops:
                rows.append(_skipped(group, f"B1.{key}.{op}", target, "<= 4",
                                     f"{label} offers no {op} method"))
                continue
            try:
                t = _median_time(ops[op], repeats)
            except Exception as exc:
                rows.append(_error(group, f"B1.{key}.{op}", target, "<= 4", exc))
                continue
            if key == "core" and op == "inner_product":
                core_inner = t
            ratio = t / sphere_times[op]
            ratios.append(ratio)
            rows.append(_row(group, f"B1.{key}.{op}", target,
                             {label: t, "geomstats Hypersphere": sphere_times[op]},
                             ratio, "<= 4", _assess(ratio <= 4, quick)))
        if ratios:
            gm = _geo_mean(ratios)
            rows.append(_row(group, f"B1.{key}.geomean",
                             f"geometric mean of {len(ratios)} ratios via {label}", {},
                             gm, "<= 1.5, max <= 4",
                             _assess(gm <= 1.5 and max(ratios) <= 4, quick),
                             note=f"max ratio {max(ratios):.2f}" + (
                                 "; the fused, threaded kernels for (N, d) batches"
                                 if key == "fused" else "")))
    # the pseudo-inverse path, per point, on a subsample
    k = min(sizes.b1_pinv_points, n)
    u_s, xi_s, eta_s, cov = D["u"][:k], D["xi"][:k], D["eta"][:k], D["cov"]

    def pinv_inner() -> np.ndarray:
        G = geometry.pinv_metric_matrix(u_s, cov, validate=False)
        return np.einsum("ni,nij,nj->n", xi_s, G, eta_s)

    t_pinv = _median_time(pinv_inner, repeats) / k
    if core_inner is None:
        core_inner = _median_time(_b1_core(D)["inner_product"], repeats)
    t_core = core_inner / n
    ratio = t_pinv / t_core
    rows.append(_row(group, "B1.pinv", f"inner product per point: pseudo-inverse path "
                                       f"({k:,}-point subsample) vs closed form",
                     {"pinv path": t_pinv, "bngeom.geometry": t_core}, ratio, ">= 1000",
                     _assess(ratio >= 1000, quick), unit="s/point"))
    return rows


# ---------------------------------------------------------------------------
# B2: the training step


def _b2_problem(n: int, d: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, cov = data.anisotropic_gaussian(n, np.linspace(2.0, 0.5, d), rng=rng, rotate=True)
    W = rng.standard_normal((m, d))
    a = rng.standard_normal(m)
    y = np.tanh(X @ rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    return X, y, W, a, cov


def _torch_step(X: np.ndarray, y: np.ndarray, W: np.ndarray, a: np.ndarray, threads: int):
    """PyTorch's BN network and a function running one full-batch training step."""
    import torch

    torch.set_num_threads(threads)
    n, d = X.shape
    m = W.shape[0]
    first = torch.nn.Linear(d, m, bias=False, dtype=torch.float64)
    # eps=1e-300 (torch refuses 0 in training): var + eps == var, population BN exactly;
    # the default eps=1e-5 would shift the gradients by ~1e-5 relative
    bn = torch.nn.BatchNorm1d(m, affine=False, eps=1e-300, dtype=torch.float64)
    second = torch.nn.Linear(m, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(W))
        second.weight.copy_(torch.from_numpy(a[None, :]))
    net = torch.nn.Sequential(first, bn, torch.nn.Tanh(), second).train()
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        for p in net.parameters():
            p.grad = None
        f = net(xt)[:, 0] / m                           # mean-field scaling 1/m
        loss = 0.5 * torch.mean((f - yt) ** 2)
        loss.backward()
        return loss

    def result():
        loss = step()
        return (float(loss.detach()), first.weight.grad.numpy().copy(),
                second.weight.grad.numpy()[0].copy())

    return step, result, torch.__version__


def bench_b2(sizes: Sizes, repeats: int, quick: bool, threads: int) -> list[dict[str, Any]]:
    """B2 rows: the fused step against PyTorch, the BLAS floor, numpy and float32."""
    group = "B2"
    n, d, m = sizes.b2
    shape = f"n={n}, d={d}, m={m}, tanh"
    X, y, W, a, cov = _b2_problem(n, d, m)

    def ours(precision: str = "float64", backend: str = "numba"):
        return model.bn_loss_and_gradients(X, y, W, a, cov, "tanh", "squared", validate=False,
                                           backend=backend, precision=precision)

    rows = []
    t_fast = _median_time(ours, repeats)
    res = ours()
    product = np.empty((n, m))
    t_floor = _median_time(lambda: np.matmul(X, W.T, out=product), repeats)
    t_alloc = _median_time(lambda: X @ W.T, repeats)
    ratio = t_fast / t_floor
    rows.append(_row(group, "B2.floor", f"training step vs one n x d by d x m product, {shape}",
                     {"bngeom (numba)": t_fast, "matmul(X, W.T, out=)": t_floor,
                      "X @ W.T": t_alloc}, ratio, "<= 4", _assess(ratio <= 4, quick),
                     note="ratio = step time / time of the product into a preallocated "
                          "array (BLAS alone; X @ W.T also pays for a fresh n x m array)"))
    try:
        step, result, version = _torch_step(X, y, W, a, threads)
    except ImportError:
        rows.append(_skipped(group, "B2.torch", f"training step vs PyTorch CPU, {shape}", ">= 2",
                             "PyTorch not installed (pip install 'bngeom[bench]', i.e. "
                             "torch==2.13.0)"))
        rows.append(_skipped(group, "B2.torch_grad", "gradients equal to PyTorch's",
                             "<= 1e-10", "PyTorch not installed"))
    else:
        t_torch = _median_time(step, repeats)
        ratio = t_torch / t_fast
        rows.append(_row(group, "B2.torch", f"training step vs PyTorch {version} CPU, {shape}",
                         {"bngeom (numba)": t_fast, "PyTorch": t_torch}, ratio, ">= 2",
                         _assess(ratio >= 2, quick),
                         note="ratio = PyTorch time / bngeom time; BatchNorm1d(eps=1e-300)"))
        t_loss, t_gw, t_ga = result()
        err = max(abs(res.loss - t_loss) / abs(t_loss), _relative_error(res.grad_w, t_gw),
                  _relative_error(res.grad_a, t_ga))
        rows.append(_row(group, "B2.torch_grad", f"loss and gradients vs PyTorch's, {shape}",
                         {}, err, "<= 1e-10", err <= 1e-10, unit="",
                         note="max relative error over loss, grad W, grad a"))
    t_numpy = _median_time(lambda: ours(backend="numpy"), repeats)
    ref = ours(backend="numpy")
    err = max(_relative_error(res.grad_w, ref.grad_w), _relative_error(res.grad_a, ref.grad_a))
    rows.append(_row(group, "B2.numpy", f"fused path vs numpy reference path, {shape}",
                     {"bngeom (numba)": t_fast, "bngeom (numpy)": t_numpy}, t_numpy / t_fast,
                     "info", None, note=f"speed-up; gradients agree to {err:.1e} relative"))
    t32 = _median_time(lambda: ours("float32"), repeats)
    r32 = ours("float32")
    err32 = max(_relative_error(r32.grad_w, res.grad_w), _relative_error(r32.grad_a, res.grad_a))
    rows.append(_row(group, "B2.float32", f"precision='float32' vs float64, {shape}",
                     {"float64": t_fast, "float32": t32}, t_fast / t32, "info", None,
                     note=f"speed-up; float32 gradients within {err32:.1e} relative"))
    return rows


# ---------------------------------------------------------------------------
# B3: scaling and memory

_MEMORY_SCRIPT = """
import json, resource, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from bngeom import model


def peak_kib():
    # VmHWM: this process's peak RSS (ru_maxrss would include the parent's, kept across exec)
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


n, d, m, threads = (int(v) for v in sys.argv[1:5])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
X -= X.mean(axis=0)
cov = X.T @ X / n
W = rng.standard_normal((m, d))
a = rng.standard_normal(m)
y = rng.standard_normal(n)
with threadpool_limits(threads):
    model.bn_loss_and_gradients(X[:8], y[:8], W[:8], a[:8], cov, backend="numba",
                                validate=False)  # JIT warm-up on 8 (uncentred) rows
    before = peak_kib()
    t0 = time.perf_counter()
    res = model.bn_loss_and_gradients(X, y, W, a, cov, "tanh", validate=False)
    elapsed = time.perf_counter() - t0
print(json.dumps({"peak_kib": peak_kib(), "before_kib": before, "seconds": elapsed,
                  "finite": bool(np.isfinite(res.grad_w).all())}))
"""


def _measure_memory(n: int, d: int, m: int, threads: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(d), str(m),
                          str(threads)], capture_output=True, text=True, check=True,
                         timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_b3(sizes: Sizes, repeats: int, quick: bool, threads: int) -> list[dict[str, Any]]:
    """B3 rows: the log-log slope of step time against n m, and the peak memory."""
    group = "B3"
    n, d = sizes.b3_n, sizes.b3_d
    rng = np.random.default_rng(1)
    X, cov = data.anisotropic_gaussian(n, np.linspace(2.0, 0.5, d), rng=rng)
    y = rng.standard_normal(n)
    times = {}
    for m in sizes.b3_widths:
        W = rng.standard_normal((m, d))
        a = rng.standard_normal(m)
        times[m] = _median_time(lambda W=W, a=a: model.bn_loss_and_gradients(
            X, y, W, a, cov, "tanh", validate=False), repeats)
    widths = np.array(sizes.b3_widths, dtype=float)
    slope = float(np.polyfit(np.log(n * widths), np.log([times[m] for m in sizes.b3_widths]),
                             1)[0])
    rows = [_row(group, "B3.slope", f"log-log slope of step time vs n m, n={n}, d={d}, "
                                    f"m={sizes.b3_widths[0]:,}..{sizes.b3_widths[-1]:,}",
                 {f"m={m:,}": t for m, t in times.items()}, slope, "1 +- 0.1",
                 _assess(abs(slope - 1) <= 0.1, quick))]
    mn, md, mm = sizes.b3_memory
    target = (f"peak resident memory of a training step, n={mn:,}, d={md}, m={mm:,} "
              f"(n x m float64 = {mn * mm * 8 / 2**30:.2f} GiB)")
    try:
        mem = _measure_memory(mn, md, mm, threads)
    except Exception as exc:
        rows.append(_error(group, "B3.memory", target, "<= 1 GiB", exc))
        return rows
    peak = mem["peak_kib"] / 2**20
    rows.append(_row(group, "B3.memory", target, {"step": mem["seconds"]}, peak,
                     "<= 1 GiB", _assess(peak <= 1.0 and mem["finite"], quick), unit="s",
                     note=f"ratio = peak RSS in GiB of a fresh process (after imports and "
                          f"warm-up: {mem['before_kib'] / 2**20:.2f} GiB)"))
    return rows


# ---------------------------------------------------------------------------
# B4: W2 on M


_W2_SCRIPT = """
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from bngeom import geometry
from bngeom.wasserstein import SinkhornOptions, wasserstein2

method, solver = sys.argv[1:3]
N, d, repeats, threads = (int(v) for v in sys.argv[3:7])
threadpool_limits(threads)
rng = np.random.default_rng(2)
cov = np.diag(np.linspace(2.0, 0.5, d))


def particles(shift):
    u = geometry.random_point(cov, N, rng=rng)
    a = rng.uniform(-1.0, 1.0, N) + shift
    return np.concatenate([u, a[:, None]], axis=1)


x, z = particles(0.0), particles(0.5)
options = SinkhornOptions(solver=solver)
value = float(wasserstein2(x, z, cov, method=method, options=options))   # warm-up
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    wasserstein2(x, z, cov, method=method, options=options)
    times.append(time.perf_counter() - t0)
print(json.dumps({"value": value, "times": times}))
"""


def _w2_run(method: str, solver: str, N: int, d: int, repeats: int, threads: int,
            limit: float) -> tuple[dict[str, Any] | None, str, str]:
    """One B4 case in a subprocess: (output or None, status, note)."""
    try:
        proc = subprocess.run([sys.executable, "-c", _W2_SCRIPT, method, solver, str(N), str(d),
                               str(repeats), str(threads)], capture_output=True, text=True,
                              timeout=limit)
    except subprocess.TimeoutExpired:
        return None, "error", f"did not finish {repeats + 1} calls in {limit:g} s"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "ImportError" in proc.stderr or "ModuleNotFoundError" in proc.stderr:
            return None, "skipped", f"bngeom.wasserstein2 not importable: {last}"
        return None, "error", last
    return json.loads(proc.stdout.strip().splitlines()[-1]), "measured", ""


def _b4_failed(group: str, id_: str, target: str, goal: str, status: str,
               note: str) -> dict[str, Any]:
    if status == "skipped":
        return _skipped(group, id_, target, goal, note)
    return _row(group, id_, target, {}, None, goal, False, status="error", note=note)


def bench_b4(sizes: Sizes, repeats: int, quick: bool, threads: int) -> list[dict[str, Any]]:
    """B4 rows: exact and entropic W2 between particle measures on M.

    Each case runs in a subprocess with a time limit, so that a slow solver
    cannot stall the suite. ``B4.sinkhorn_dense`` times the hand-written dense
    log-domain solver against POT's (``solver="pot"``) on the same problem.
    """
    group = "B4"
    cases = (("exact", sizes.b4_exact, 2.0), ("sinkhorn", sizes.b4_entropic, 30.0))
    d = sizes.b4_dim
    if importlib.util.find_spec("bngeom.wasserstein") is None:
        return [_skipped(group, f"B4.{m}", f"W2 ({m})", f"<= {g:g} s",
                         "bngeom.wasserstein not available") for m, _, g in cases]
    rows = []
    for method, N, goal in cases:
        target = f"W2 ({method}) between two {N:,}-particle measures on M, d={d}"
        limit = sizes.b4_timeout if quick else max(sizes.b4_timeout, 3 * goal * (repeats + 1))
        out, status, note = _w2_run(method, "auto", N, d, repeats, threads, limit)
        if out is None:
            rows.append(_b4_failed(group, f"B4.{method}", target, f"<= {goal:g} s", status,
                                   note))
            continue
        t = float(np.median(out["times"]))
        rows.append(_row(group, f"B4.{method}", target, {"wasserstein2": t}, t,
                         f"<= {goal:g} s",
                         _assess(t <= goal and math.isfinite(out["value"]), quick),
                         note=f"W2 = {out['value']:.4g}; ratio = seconds (median of "
                              f"{len(out['times'])} after a warm-up call)"))
    rows.append(_b4_dense_row(sizes, repeats, threads))
    return rows


def _b4_dense_row(sizes: Sizes, repeats: int, threads: int) -> dict[str, Any]:
    """Dense entropic W2 (reg 1e-2, tol 1e-4): bngeom's log-domain solver vs POT's."""
    group, id_, N, d = "B4", "B4.sinkhorn_dense", sizes.b4_dense, sizes.b4_dim
    target = f"W2 (sinkhorn, dense) between two {N:,}-particle measures on M, d={d}"
    ours, status, note = _w2_run("sinkhorn", "dense", N, d, repeats, threads, sizes.b4_timeout)
    if ours is None:
        return _b4_failed(group, id_, target, "info", status, f"bngeom dense: {note}")
    t = float(np.median(ours["times"]))
    pot, status, note = _w2_run("sinkhorn", "pot", N, d, repeats, threads, sizes.b4_timeout)
    if pot is None and status == "skipped":
        return _b4_failed(group, id_, target, "info", status, f"POT sinkhorn_log: {note}")
    if pot is None:    # timed out: a lower bound on its time per call
        t_pot = sizes.b4_timeout / (repeats + 1)
        return _row(group, id_, target, {"bngeom dense": t, "POT sinkhorn_log": None},
                    t_pot / t, "info", None,
                    note=f"ratio >= POT time / bngeom time: POT {note}; W2 = {ours['value']:.6g}")
    t_pot = float(np.median(pot["times"]))
    return _row(group, id_, target, {"bngeom dense": t, "POT sinkhorn_log": t_pot}, t_pot / t,
                "info", None,
                note=f"ratio = POT time / bngeom time (median of {repeats}), both to L1 "
                     f"marginal error 1e-4; W2: bngeom {ours['value']:.6g}, "
                     f"POT {pot['value']:.6g}")


# ---------------------------------------------------------------------------
# B8: one mini-batch SGD step with batch statistics, momentum and weight decay

#: (B, d, m) of B8, full and quick.
B8_FULL = (256, 64, 2048)
B8_QUICK = (64, 8, 128)
_B8_SGD = {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}


def _torch_sgd(X: np.ndarray, y: np.ndarray, W: np.ndarray, a: np.ndarray, threads: int):
    """BatchNorm1d (training mode, eps 1e-5) network, torch.optim.SGD, and one step of it."""
    import torch

    torch.set_num_threads(threads)
    d, m = X.shape[1], W.shape[0]
    first = torch.nn.Linear(d, m, bias=False, dtype=torch.float64)
    second = torch.nn.Linear(m, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(W))
        second.weight.copy_(torch.from_numpy(a[None, :]))
    net = torch.nn.Sequential(first, torch.nn.BatchNorm1d(m, affine=False, dtype=torch.float64),
                              torch.nn.Tanh(), second).train()
    opt = torch.optim.SGD([{"params": first.parameters(),
                            "weight_decay": _B8_SGD["weight_decay"]},
                           {"params": second.parameters(), "weight_decay": 0.0}],
                          lr=_B8_SGD["lr"], momentum=_B8_SGD["momentum"])
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = 0.5 * torch.mean((net(xt)[:, 0] / m - yt) ** 2)  # mean-field scaling 1/m
        loss.backward()
        opt.step()

    def state():
        return first.weight.detach().numpy().copy(), second.weight.detach().numpy()[0].copy()

    return step, state, first, second, torch.__version__


def bench_b8(shape: tuple[int, int, int], repeats: int, quick: bool,
             threads: int) -> list[dict[str, Any]]:
    """B8 rows: one SGD step (batch BN, momentum, weight decay) against torch, and its error."""
    from bngeom.dynamics.training import SGDState, sgd_update
    from bngeom.nn.batchnorm import batch_bn_loss_and_gradients

    group, (B, d, m) = "B8", shape
    label = f"B={B}, d={d}, m={m}, tanh, momentum {_B8_SGD['momentum']}, weight decay"
    X, y, W, a, _ = _b2_problem(B, d, m, seed=8)
    box = [SGDState(W.copy(), a.copy(), np.zeros_like(W), np.zeros_like(a))]

    def ours():
        s = box[0]
        g = batch_bn_loss_and_gradients(X, y, s.W, s.a, validate=False)
        box[0] = sgd_update(s, g.grad_w, g.grad_a, **_B8_SGD)

    t_ours = _median_time(ours, repeats)
    try:
        step, state, first, second, version = _torch_sgd(X, y, W, a, threads)
    except ImportError:
        return [_skipped(group, "B8.torch", f"SGD step vs PyTorch CPU, {label}", ">= 2",
                         "PyTorch not installed"),
                _skipped(group, "B8.torch_grad", "gradients equal to PyTorch's", "<= 1e-10",
                         "PyTorch not installed")]
    step()  # the first step at (W, a): compare its gradients and the updated weights
    g = batch_bn_loss_and_gradients(X, y, W, a)
    s1 = sgd_update(SGDState(W, a, np.zeros_like(W), np.zeros_like(a)), g.grad_w, g.grad_a,
                    **_B8_SGD)
    W1, a1 = state()
    err = max(_relative_error(g.grad_w, first.weight.grad.numpy()),
              _relative_error(g.grad_a, second.weight.grad.numpy()[0]),
              _relative_error(s1.W, W1), _relative_error(s1.a, a1))
    t_torch = _median_time(step, repeats)
    ratio = t_torch / t_ours
    return [_row(group, "B8.torch", f"mini-batch SGD step vs PyTorch {version} CPU, {label}",
                 {"bngeom": t_ours, "PyTorch": t_torch}, ratio, ">= 2",
                 _assess(ratio >= 2, quick),
                 note="ratio = PyTorch time / bngeom time; BatchNorm1d(affine=False) "
                      "training mode + torch.optim.SGD, same threads"),
            _row(group, "B8.torch_grad", f"gradients and updated weights vs PyTorch's, {label}",
                 {}, err, "<= 1e-10", err <= 1e-10, unit="",
                 note="max relative error over grad W, grad a, W and a after the step")]


# ---------------------------------------------------------------------------
# B5: bngeom reproduce


def bench_b5(sizes: Sizes, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """B5 row: wall time of ``bngeom reproduce`` (default run) in a subprocess."""
    group = "B5"
    args = ("reproduce", *sizes.b5_args)
    target = "bngeom " + " ".join(args) + " wall time"
    if importlib.util.find_spec("bngeom.reproduce") is None:
        return [_skipped(group, "B5", target, "<= 120 s", "skipped: not available "
                                                          "(bngeom.reproduce missing)")]
    times = []
    status = None
    with tempfile.TemporaryDirectory(prefix="bngeom-bench-") as tmp:
        for _ in range(repeats):
            cmd = [sys.executable, "-m", "bngeom.cli", *args, "--out", str(Path(tmp) / "out"),
                   "--no-progress"]
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp,
                                      timeout=sizes.b5_timeout)
            except subprocess.TimeoutExpired:
                return [_row(group, "B5", target, {}, None, "<= 120 s", False, status="error",
                             note=f"timed out after {sizes.b5_timeout:g} s")]
            times.append(time.perf_counter() - t0)
            status = proc.returncode
    t = float(np.median(times))
    note = (f"median of {len(times)} run(s); exit code {status} "
            f"({'all claims passed' if status == 0 else 'some claims failed'})")
    return [_row(group, "B5", target, {"bngeom reproduce": t}, t, "<= 120 s",
                 _assess(t <= 120, quick), note=note)]


# ---------------------------------------------------------------------------
# B6: per-call overhead with default validation


_B6_DIM = 64
_B6_BATCHES = (1, 16)


def _per_call(fn: Callable[[], Any], repeats: int, calls: int) -> float:
    """Median over ``repeats`` of the mean time of ``calls`` consecutive calls."""
    def many() -> None:
        for _ in range(calls):
            fn()
    return _median_time(many, repeats) / calls


def _b6_geomstats(n: int, cov: np.ndarray, rng: np.random.Generator):
    """BNSpace(cov).metric and Hypersphere(63).metric on n points (a single one unbatched)."""
    from geomstats.geometry.hypersphere import Hypersphere

    from bngeom.adapters.geomstats import BNSpace

    d = _B6_DIM
    take = (lambda x: x[0]) if n == 1 else (lambda x: x)
    u = geometry.random_point(cov, 2 * n, rng=rng).reshape(2, n, d)
    xi = geometry.random_tangent_vector(u[0], cov, rng=rng)
    a = rng.standard_normal((2, n, 1))
    x, y = take(np.concatenate((u[0], a[0]), -1)), take(np.concatenate((u[1], a[1]), -1))
    v = take(np.concatenate((xi, rng.standard_normal((n, 1))), -1))
    ours = BNSpace(cov).metric
    sphere = Hypersphere(d - 1)
    p, q = sphere.random_point(n), sphere.random_point(n)  # (d,) for n = 1
    w = sphere.to_tangent(take(rng.standard_normal((n, d))), p)
    return {"inner_product": (lambda: ours.inner_product(v, v, x),
                              lambda: sphere.metric.inner_product(w, w, p)),
            "exp": (lambda: ours.exp(v, x), lambda: sphere.metric.exp(w, p)),
            "log": (lambda: ours.log(y, x), lambda: sphere.metric.log(q, p)),
            "dist": (lambda: ours.dist(x, y), lambda: sphere.metric.dist(p, q))}


def _b6_pymanopt(m: int, cov: np.ndarray, rng: np.random.Generator):
    """BNManifold of width m and pymanopt's Oblique(64, m) x Euclidean(m)."""
    from pymanopt.manifolds import Euclidean, Oblique, Product

    from bngeom.adapters.pymanopt import BNManifold

    ours = BNManifold(cov, m)
    peer = Product([Oblique(_B6_DIM, m), Euclidean(m)])
    P, Q = ours.random_point(), ours.random_point()
    V = ours.random_tangent_vector(P)
    p, q = peer.random_point(), peer.random_point()
    w = peer.random_tangent_vector(p)
    return {"inner_product": (lambda: ours.inner_product(P, V, V),
                              lambda: peer.inner_product(p, w, w)),
            "retraction": (lambda: ours.retraction(P, V), lambda: peer.retraction(p, w)),
            "exp": (lambda: ours.exp(P, V), lambda: peer.exp(p, w)),
            "log": (lambda: ours.log(P, Q), lambda: peer.log(p, q)),
            "dist": (lambda: ours.dist(P, Q), lambda: peer.dist(p, q))}


def bench_b6(sizes: Sizes, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """B6 rows: one call with default validation on 1 and 16 points, d = 64, against the
    peers' own manifolds (geomstats' Hypersphere, pymanopt's Oblique x Euclidean)."""
    group, rows, ratios = "B6", [], []
    rng = np.random.default_rng(6)
    A = rng.standard_normal((_B6_DIM, _B6_DIM))
    cov = A @ A.T / _B6_DIM + np.eye(_B6_DIM)
    calls = 20 if quick else 200
    for n in _B6_BATCHES:
        for peer, build in (("geomstats Hypersphere(63)", _b6_geomstats),
                            ("pymanopt Oblique(64, m) x Euclidean(m)", _b6_pymanopt)):
            ours_name = "BNSpace.metric" if build is _b6_geomstats else "BNManifold"
            for op, (ours, theirs) in build(n, cov, rng).items():
                t_ours = _per_call(ours, repeats, calls)
                t_peer = _per_call(theirs, repeats, calls)
                ratios.append(t_ours / t_peer)
                rows.append(_row(group, f"B6.{ours_name}.{op}.{n}",
                                 f"{ours_name}.{op}, {n} point(s), d={_B6_DIM}",
                                 {ours_name: t_ours, peer: t_peer}, t_ours / t_peer, "<= 4x",
                                 _assess(t_ours / t_peer <= 4, quick)))
    gm, worst = _geo_mean(ratios), max(ratios)
    rows.append(_row(group, "B6.summary", "geometric mean of the B6 ratios (worst in note)",
                     {}, gm, "<= 2x, none > 4x", _assess(gm <= 2 and worst <= 4, quick),
                     note=f"worst ratio {worst:.2f}x over {len(ratios)} rows"))
    return rows


# ---------------------------------------------------------------------------
# B7: the core on torch tensors against geoopt's Sphere


def _b7_ops(n: int, d: int, threads: int):
    """(bngeom on torch, geoopt Sphere, numpy core) callables per operation, float64."""
    import geoopt
    import torch

    from bngeom.geometry import charts

    torch.set_num_threads(threads)
    rng = np.random.default_rng(7)
    A = rng.standard_normal((d, d))
    cov = A @ A.T / d + np.diag(np.logspace(-1, 1, d))        # anisotropic SPD
    u, v = geometry.random_point(cov, n, rng=rng), geometry.random_point(cov, n, rng=rng)
    xi = geometry.random_tangent_vector(u, cov, rng=rng)
    eta = geometry.random_tangent_vector(u, cov, rng=rng)
    g = rng.standard_normal((n, d))
    # the isometric batch on the round sphere: x = u/|u|, zeta = d psi_u(xi)
    x, y = charts.normalize_to_sphere(u), charts.normalize_to_sphere(v)
    zeta = charts.manifold_to_sphere_differential(u, xi)
    zeta2 = charts.manifold_to_sphere_differential(u, eta)
    t = {k: torch.from_numpy(a) for k, a in dict(u=u, v=v, xi=xi, eta=eta, g=g, x=x, y=y,
                                                 zeta=zeta, zeta2=zeta2).items()}
    sphere = geoopt.Sphere()
    geo = geometry

    def ops(a: dict[str, Any]) -> dict[str, Callable[[], Any]]:
        return {
            "inner_product": lambda: geo.inner_product(a["u"], a["xi"], a["eta"], cov,
                                                       validate=False),
            "exp": lambda: geo.exp(a["u"], a["xi"], cov, validate=False),
            # the chart phi(u + xi) onto N_Sigma (unchecked): the projection retraction
            "retraction": lambda: charts.chart(a["u"] + a["xi"], cov),
            "log": lambda: geo.log(a["u"], a["v"], cov, validate=False),
            "dist": lambda: geo.dist(a["u"], a["v"], cov, validate=False),
            "projection": lambda: geo.to_tangent(a["u"], a["g"], cov, validate=False),
        }

    peer = {"inner_product": lambda: sphere.inner(t["x"], t["zeta"], t["zeta2"]),
            "exp": lambda: sphere.expmap(t["x"], t["zeta"]),
            "retraction": lambda: sphere.retr(t["x"], t["zeta"]),
            "log": lambda: sphere.logmap(t["x"], t["y"]),
            "dist": lambda: sphere.dist(t["x"], t["y"]),
            "projection": lambda: sphere.proju(t["x"], t["g"])}
    numpy_core = ops(dict(u=u, v=v, xi=xi, eta=eta, g=g))
    return ops(t), peer, numpy_core, f"torch {torch.__version__}, geoopt {geoopt.__version__}"


def bench_b7(sizes: Sizes, repeats: int, quick: bool, threads: int) -> list[dict[str, Any]]:
    """B7 rows: the core on torch float64 tensors vs geoopt's Sphere, per operation."""
    group = "B7"
    n, d = sizes.b1_points, sizes.b1_dim
    goal = "geo mean <= 1.5"
    for name in ("torch", "geoopt"):
        if importlib.util.find_spec(name) is None:
            return [_skipped(group, "B7", f"the core on torch tensors, {n:,} points, d={d}",
                             goal, f"{name} unavailable (the optional torch extra)")]
    ours, peer, numpy_core, versions = _b7_ops(n, d, threads)
    rows, ratios = [], []
    for op in ours:
        t_ours, t_peer = _median_time(ours[op], repeats), _median_time(peer[op], repeats)
        error = _relative_error(ours[op]().numpy(), numpy_core[op]())
        ratios.append(t_ours / t_peer)
        rows.append(_row(group, f"B7.{op}", f"{op}, {n:,} torch float64 points, d={d}, "
                                            "validate=False",
                         {"bngeom.geometry (torch)": t_ours, "geoopt Sphere": t_peer},
                         t_ours / t_peer, "<= 4", _assess(t_ours / t_peer <= 4, quick),
                         note=f"relative difference to the numpy core {error:.1e}"))
    gm = _geo_mean(ratios)
    rows.append(_row(group, "B7.geomean", f"geometric mean of {len(ratios)} ratios", {}, gm,
                     goal, _assess(gm <= 1.5, quick),
                     note=f"max ratio {max(ratios):.2f}; {versions}"))
    return rows


# ---------------------------------------------------------------------------
# the suite


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _environment(threads: int, quick: bool, repeats: int) -> dict[str, Any]:
    blas = [{k: lib.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return {"bngeom": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "processor": _cpu_name(),
            "cpu_count": os.cpu_count(), "threads": threads, "blas": blas,
            "quick": quick, "repeats": repeats, "dtype": "float64",
            "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                    if k in os.environ},
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


def run(quick: bool = False, *, only: Sequence[str] | None = None, repeats: int | None = None,
        threads: int | None = None, b5_repeats: int = 1,
        progress: Callable[[str], None] | None = None,
        meta: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the suite and return its rows (dicts: target, contenders' times, ratio, goal, passed).

    Parameters
    ----------
    quick : bool
        Tiny sizes, a smoke test of every row (targets not assessed: ``passed`` None).
    only : sequence of str, optional
        Groups to run, from :data:`GROUPS` (default all).
    repeats : int, optional
        Timings per measurement, the median is reported (default 5).
    threads : int, optional
        Threads for every contender (default: the number of CPUs).
    b5_repeats : int
        Runs of ``bngeom reproduce`` (a two-minute program; default 1).
    progress : callable, optional
        Called with a message before each group.
    meta : dict, optional
        Filled with the environment and the load average before and after.
    """
    groups = list(GROUPS if only is None else only)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"only must name groups among {GROUPS}, got {unknown}")
    repeats = 5 if repeats is None else int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    threads = int(threads or os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    sizes = QUICK if quick else FULL
    if meta is not None:
        meta.update(_environment(threads, quick, repeats))
        meta["load_average_before"] = list(os.getloadavg())
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    with threadpool_limits(limits=threads):
        for g in groups:
            if progress is not None:
                progress(f"[bngeom bench] {g} ...")
            t0 = time.perf_counter()
            try:
                if g == "B1":
                    out = bench_b1(sizes, repeats, quick)
                elif g == "B2":
                    out = bench_b2(sizes, repeats, quick, threads)
                elif g == "B3":
                    out = bench_b3(sizes, repeats, quick, threads)
                elif g == "B4":
                    out = bench_b4(sizes, repeats, quick, threads)
                elif g == "B6":
                    out = bench_b6(sizes, repeats, quick)
                elif g == "B7":
                    out = bench_b7(sizes, repeats, quick, threads)
                elif g == "B8":
                    out = bench_b8(B8_QUICK if quick else B8_FULL, repeats, quick, threads)
                else:
                    out = bench_b5(sizes, b5_repeats, quick)
            except Exception as exc:
                out = [_error(g, g, f"group {g}", "", exc)]
            for r in out:
                r["group_seconds"] = round(time.perf_counter() - t0, 2)
            rows.extend(out)
    if meta is not None:
        meta["load_average_after"] = list(os.getloadavg())
        meta["elapsed_seconds"] = round(time.perf_counter() - t_start, 1)
    return rows


def _fmt_time(t: float | None, unit: str) -> str:
    if t is None:
        return "-"
    if unit == "s/point":
        return f"{t * 1e9:.3g} ns/pt"
    if t < 1e-3:
        return f"{t * 1e6:.3g} us"
    if t < 1:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    if r == 0 or 1e-3 <= abs(r) < 1e5:
        return f"{r:.3g}"
    return f"{r:.2e}"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a plain-text table: id, target, contenders' times, ratio, goal, result.

    Examples
    --------
    >>> print(format_table([_row("B2", "B2.x", "demo", {"a": 0.5}, 2.0, ">= 2", True)]))
    ... # doctest: +NORMALIZE_WHITESPACE
    id    target  contenders  ratio  goal  result
    ----  ------  ----------  -----  ----  ------
    B2.x  demo    a 500 ms    2      >= 2  pass
    """
    table = [("id", "target", "contenders", "ratio", "goal", "result")]
    for r in rows:
        cont = "; ".join(f"{k} {_fmt_time(v, r.get('unit', 's'))}"
                         for k, v in r["contenders"].items())
        table.append((r["id"], r["target"], cont or "-", _fmt_ratio(r["ratio"]), r["goal"],
                      _result(r)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r['id']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines + (["", "notes:"] + notes if notes else []))


def format_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table (the format of ``docs/performance.md``).

    Examples
    --------
    >>> print(format_markdown([_row("B2", "B2.x", "demo", {"a": 0.5}, 2.0, ">= 2", True)]))
    | id | target | contenders | ratio | goal | result |
    |---|---|---|---|---|---|
    | B2.x | demo | a 500 ms | 2 | >= 2 | pass |
    """
    lines = ["| id | target | contenders | ratio | goal | result |", "|---|---|---|---|---|---|"]
    for r in rows:
        cont = "; ".join(f"{k} {_fmt_time(v, r.get('unit', 's'))}"
                         for k, v in r["contenders"].items()) or "-"
        cells = [r["id"], r["target"], cont, _fmt_ratio(r["ratio"]), r["goal"], _result(r)]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _result(r: dict[str, Any]) -> str:
    if r["status"] == "skipped":
        return "skipped"
    if r["status"] == "error":
        return "ERROR"
    if r["passed"] is None:
        return "info" if r["goal"] == "info" else "n/a (quick)"
    return "pass" if r["passed"] else "FAIL"


#: ``--repeats``, ``--threads``, ``--b5-repeats``: a command-line integer >= 1.
_positive_int = integer_at_least(1, "an integer >= 1")


def _output_file(text: str) -> str:
    """A command-line output file: not empty, not a directory, in an existing directory."""
    path = Path(text)
    if not text.strip() or path.is_dir():
        raise argparse.ArgumentTypeError(f"must name a file, got {text!r}")
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: directory {path.parent} does not exist")
    return text


def _parser() -> argparse.ArgumentParser:
    from bngeom.cli import OneLineArgumentParser

    p = OneLineArgumentParser(
        prog="bngeom bench",
        description="Run the benchmark suite (issue 6 targets B1-B5), print the table and "
                    "write it as JSON.")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: a smoke run of every row (well under a minute); targets "
                        "are not assessed")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="FILE", type=_output_file,
                   help=f"JSON output file (default {DEFAULT_OUT})")
    p.add_argument("--only", nargs="+", choices=GROUPS, metavar="GROUP",
                   help="run only these groups (B1 .. B5)")
    p.add_argument("--repeats", type=_positive_int, default=5, metavar="N",
                   help="timings per measurement; the median is reported (default 5)")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="threads for every contender (default: the number of CPUs)")
    p.add_argument("--b5-repeats", type=_positive_int, default=1, metavar="N",
                   help="runs of `bngeom reproduce` for B5 (default 1)")
    p.add_argument("--markdown", default=None, metavar="FILE", type=_output_file,
                   help="also write the table and its notes as Markdown to FILE")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bngeom bench``: exit 1 if a row errors, or fails a target (full run)."""
    args = _parser().parse_args(None if argv is None else list(argv))
    meta: dict[str, Any] = {}
    rows = run(args.quick, only=args.only, repeats=args.repeats, threads=args.threads,
               b5_repeats=args.b5_repeats, meta=meta,
               progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_table(rows))
    print("\n" + _summary(meta))
    out = Path(args.out)
    atomic_write(out, json.dumps({"meta": meta, "rows": rows}, indent=2, default=_json_default))
    print(f"wrote {out}")
    if args.markdown:
        notes = [f"- {r['id']}: {r['note']}" for r in rows if r.get("note")]
        atomic_write(args.markdown, format_markdown(rows) + "\n\n" + "\n".join(notes)
                     + "\n\n" + _summary(meta) + "\n")
        print(f"wrote {args.markdown}")
    failed = [r for r in rows if r["status"] == "error" or r["passed"] is False]
    return 1 if failed else 0


def _summary(meta: dict[str, Any]) -> str:
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})"
                     for b in meta.get("blas", []))
    return (f"{meta['threads']} thread(s) per contender, float64, median of {meta['repeats']} "
            f"timings; {meta['processor']}, {meta['cpu_count']} CPUs, BLAS: {blas}; load "
            f"average {meta['load_average_before'][0]:.2f} before, "
            f"{meta['load_average_after'][0]:.2f} after; {meta['elapsed_seconds']} s in all")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
