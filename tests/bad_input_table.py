"""The bad-input table: every public entry point against every class of bad input.

``ENTRIES`` lists the public entry points with a factory of valid arguments and the
kind of each argument; ``CORRUPTIONS`` lists, per kind of argument, the classes of
bad input and how to make one from a valid value (drawing details from hypothesis'
``data`` or a numpy generator). ``tests/test_bad_input.py`` fuzzes every
(entry point, argument, class) triple; ``docs/bad_input.md`` holds the table that
``python tests/bad_input_table.py`` prints (``--write`` updates the page), and a
test keeps the two identical.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bngeom import charts, data, dynamics, geometry, model, trajectory
from bngeom.experiments.theorem4 import run_theorem4
from bngeom.experiments.theorem5 import run_theorem5
from bngeom.nn import batchnorm

D = 3
COV = np.diag([4.0, 1.0, 0.25])


def _points(n=4, seed=0):
    return geometry.random_point(COV, n, rng=seed)


def _tangents(u, seed=1):
    return geometry.random_tangent_vector(u, COV, rng=seed, scale=0.5)


def _teacher():
    return data.make_teacher_dataset(20, [4.0, 1.0, 0.25], teacher_width=2, rng=0)


def _dataset():
    ds = data.make_teacher_dataset(20, [4.0, 1.0, 0.25], teacher_width=2, rng=0)
    return ds.X, ds.y


# --------------------------------------------------------------------------- corruptions
# Each corruption maps (valid value, numpy Generator) to a bad value.


def _put_nonfinite(value, rng):
    arr = np.array(value, dtype=float, copy=True)
    flat = arr.reshape(-1)
    flat[rng.integers(flat.size)] = rng.choice([np.nan, np.inf, -np.inf])
    return arr


def _scalar(value, rng):
    return np.asarray(value).reshape(-1)[0]


def _extra_axis(value, rng):
    return np.asarray(value)[None, None]


def _wrong_last_dim(value, rng):
    arr = np.asarray(value)
    return np.concatenate([arr, arr[..., :1]], axis=-1)


def _complex(value, rng):
    return np.asarray(value) * (1.0 + 0.5j)


def _object(value, rng):
    return np.asarray(value).astype(object)


def _string(value, rng):
    return rng.choice(["abc", "1.0"]) if np.ndim(value) == 0 else np.asarray(value).astype(str)


def _masked(value, rng):
    arr = np.array(value, dtype=float, copy=True)
    mask = np.zeros(arr.shape, dtype=bool)
    mask.reshape(-1)[rng.integers(max(arr.size, 1))] = arr.size > 0
    return np.ma.masked_array(arr, mask=mask)


def _float16(value, rng):
    return np.asarray(value, dtype=float).astype(np.float16)


def _non_symmetric(cov, rng):
    cov = np.array(cov, copy=True)
    i, j = rng.choice(cov.shape[0], size=2, replace=False)
    cov[i, j] += rng.uniform(0.1, 1.0)
    return cov


def _indefinite(cov, rng):
    cov = np.array(cov, copy=True)
    k = rng.integers(cov.shape[0])
    cov[k, k] = -rng.uniform(0.1, 10.0)
    return cov


def _singular(cov, rng):
    v = rng.standard_normal(cov.shape[0])
    v /= np.linalg.norm(v)
    proj = np.eye(cov.shape[0]) - np.outer(v, v)
    return proj @ np.asarray(cov) @ proj


def _off_manifold(u, rng):
    return np.asarray(u) * rng.choice([rng.uniform(0.2, 0.9), rng.uniform(1.1, 5.0)])


def _non_tangent(xi, rng, base=None):
    u = _points() if base is None else base
    return np.asarray(xi) + rng.uniform(0.1, 2.0) * u


def _off_manifold_product(x, rng):
    x = np.array(x, dtype=float, copy=True)
    x[..., :-1] *= rng.choice([rng.uniform(0.2, 0.9), rng.uniform(1.1, 5.0)])
    return x


def _non_tangent_product(xi, rng, base):
    xi = np.array(xi, dtype=float, copy=True)
    xi[..., :-1] += rng.uniform(0.1, 2.0) * np.asarray(base)[..., :-1]
    return xi


def _first(corrupt):
    """Apply a corruption to U in a pymanopt point [U, a]."""
    return lambda v, rng: [corrupt(v[0], rng), v[1]]


def _second(corrupt):
    """Apply a corruption to a in a pymanopt point [U, a]."""
    return lambda v, rng: [v[0], corrupt(v[1], rng)]


def _non_positive(value, rng):
    return -abs(float(np.ravel(value)[0])) * rng.choice([0.0, 1.0, 10.0])


def _zero_or_negative_int(value, rng):
    return int(rng.choice([0, -1, -7]))


def _non_integer(value, rng):
    return rng.choice([2.5, "3"])


def _empty(X, rng):
    return np.asarray(X)[:0]


def _length_mismatch(y, rng):
    return np.asarray(y)[:-rng.integers(1, 3)]


def _unknown_name(value, rng):
    return rng.choice(["tan", "ReLU", "nope"])


def _not_a_name(value, rng):
    return rng.choice([3, None, 1.5])


def _nonfinite_scalar(value, rng):
    return float(rng.choice([np.nan, np.inf, -np.inf]))


ARRAY = {
    "NaN or inf": (_put_nonfinite, "ValueError"),
    "wrong number of dimensions": (_extra_axis, "ValueError"),
    "complex dtype": (_complex, "TypeError"),
    "object dtype": (_object, "TypeError"),
    "string dtype": (_string, "TypeError"),
    "masked array": (_masked, "TypeError"),
    "float16 dtype": (_float16, "TypeError"),
}
# Points and vectors batch over any leading axes: only a scalar has too few dimensions.
BATCHED = {**ARRAY, "wrong number of dimensions": (_scalar, "ValueError")}

CORRUPTIONS: dict[str, dict[str, tuple[Callable, str]]] = {
    "cov": {**ARRAY,
            "wrong shape": (lambda c, r: np.asarray(c)[:, :-1], "ValueError"),
            "non-symmetric": (_non_symmetric, "ValueError"),
            "indefinite": (_indefinite, "ValueError"),
            "singular": (_singular, "ValueError")},
    "point": {**BATCHED,
              "wrong shape": (_wrong_last_dim, "ValueError"),
              "off N_Sigma": (_off_manifold, "ValueError")},
    "tangent": {**BATCHED,
                "wrong shape": (_wrong_last_dim, "ValueError"),
                "not tangent": (_non_tangent, "ValueError")},
    "vector": {**BATCHED, "wrong shape": (_wrong_last_dim, "ValueError")},
    "weights": {**ARRAY, "wrong shape": (_wrong_last_dim, "ValueError")},
    "spectrum": {**ARRAY, "non-positive entries": (lambda s, r: -np.asarray(s), "ValueError")},
    "offset": {"negative": (lambda v, r: -float(r.choice([1e-5, 1.0])), "ValueError"),
               "NaN or inf": (_nonfinite_scalar, "ValueError"),
               "string dtype": (_string, "TypeError")},
    "radius": {"radius <= 0": (_non_positive, "ValueError"),
               "NaN or inf": (_nonfinite_scalar, "ValueError"),
               "string dtype": (_string, "TypeError")},
    "count": {"width <= 0": (_zero_or_negative_int, "ValueError"),
              "not an integer": (_non_integer, "TypeError")},
    "X": {**ARRAY,
          "wrong shape": (_wrong_last_dim, "ValueError"),
          "empty data": (_empty, "ValueError")},
    "X (own covariance)": {**ARRAY, "empty data": (_empty, "ValueError")},
    "y": {"NaN or inf": (_put_nonfinite, "ValueError"),
          "wrong number of dimensions": (_extra_axis, "ValueError"),
          "X and y of different lengths": (_length_mismatch, "ValueError"),
          "complex dtype": (_complex, "TypeError"),
          "string dtype": (_string, "TypeError"),
          "masked array": (_masked, "TypeError"),
          "float16 dtype": (_float16, "TypeError")},
    "activation": {"unknown name": (_unknown_name, "ValueError"),
                   "not a name": (_not_a_name, "TypeError")},
    "loss": {"unknown name": (_unknown_name, "ValueError"),
             "not a name": (_not_a_name, "TypeError")},
    "step": {"step <= 0": (_non_positive, "ValueError"),
             "non-finite": (_nonfinite_scalar, "ValueError")},
    "mpoint": {**BATCHED,
               "wrong shape": (_wrong_last_dim, "ValueError"),
               "off N_Sigma": (_off_manifold_product, "ValueError")},
    "mtangent": {**BATCHED,
                 "wrong shape": (_wrong_last_dim, "ValueError"),
                 "not tangent": (_non_tangent_product, "ValueError")},
    "plist_point": {**{f"U: {k}": (_first(f), e) for k, (f, e) in BATCHED.items()},
                    "U: off N_Sigma": (_first(_off_manifold), "ValueError"),
                    "U: wrong shape": (_first(_wrong_last_dim), "ValueError"),
                    "a: NaN or inf": (_second(_put_nonfinite), "ValueError"),
                    "a: wrong shape": (_second(_length_mismatch), "ValueError"),
                    "a: complex dtype": (_second(_complex), "TypeError")},
    "plist_tangent": {**{f"U: {k}": (_first(f), e) for k, (f, e) in BATCHED.items()},
                      "U: not tangent": (None, "ValueError"),
                      "a: NaN or inf": (_second(_put_nonfinite), "ValueError"),
                      "a: string dtype": (_second(_string), "TypeError")},
    "particles": {**ARRAY,
                  "wrong shape": (_wrong_last_dim, "ValueError"),
                  "off N_Sigma": (_off_manifold_product, "ValueError"),
                  "empty data": (_empty, "ValueError")},
    "probabilities": {"NaN or inf": (_put_nonfinite, "ValueError"),
                      "negative weight": (lambda w, r: -np.asarray(w), "ValueError"),
                      "not summing to 1": (lambda w, r: 2.0 * np.asarray(w), "ValueError"),
                      "wrong shape": (_length_mismatch, "ValueError"),
                      "complex dtype": (_complex, "TypeError"),
                      "masked array": (_masked, "TypeError")},
    "seed": {"negative seed": (lambda v, r: int(r.choice([-1, -7])), "ValueError"),
             "not an integer": (_non_integer, "TypeError")},
    "widths": {"width <= 0": (lambda v, r: (10, int(r.choice([0, -3]))), "ValueError"),
               "fewer than two widths": (lambda v, r: (10,) * int(r.integers(0, 3)),
                                         "ValueError"),
               "not an integer": (lambda v, r: (10, _non_integer(v, r)), "TypeError")},
    "callable": {"not callable": (lambda f, r: [3, "abs", None][r.integers(3)], "TypeError")},
    "grid": {"not a sequence of mappings": (lambda g, r: [5, "abc", [1, 2]][r.integers(3)],
                                            "TypeError")},
    "dataset": {"not a Dataset": (lambda ds, r: (ds.X, ds.y), "TypeError")},
    "choice": {"unknown name": (_unknown_name, "ValueError")},
    "path": {"truncated file": (lambda p, r: _truncated_copy(p, r), "ValueError"),
             "not an npz file": (lambda p, r: _garbage_file(p, r), "ValueError"),
             "valid checksum, NaN loss": (lambda p, r: _edited(p, r, "loss", np.nan),
                                          "ValueError"),
             "valid checksum, decreasing times": (lambda p, r: _edited(p, r, "times", None),
                                                  "ValueError"),
             "valid checksum, complex W": (lambda p, r: _edited(p, r, "W", 1j), "ValueError"),
             "valid checksum, string W": (lambda p, r: _edited(p, r, "W", "1.0"),
                                          "ValueError")},
}


def _truncated_copy(path, rng):
    data_ = Path(path).read_bytes()
    out = Path(path).with_name(f"truncated-{rng.integers(1 << 30)}.npz")
    out.write_bytes(data_[: rng.integers(1, len(data_) - 1)])
    return out


def _garbage_file(path, rng):
    out = Path(path).with_name(f"garbage-{rng.integers(1 << 30)}.npz")
    out.write_bytes(rng.bytes(int(rng.integers(1, 500))))
    return out


def _edited(path, rng, key, value):
    """A copy of a trajectory file with one entry changed and a valid checksum."""
    from bngeom.dynamics.trajectory import _read_npz, _write_npz

    arrays = _read_npz(path)
    arr = arrays[key]
    if value is None:  # times: reverse
        arrays[key] = arr[::-1].copy()
    elif isinstance(value, str):
        arrays[key] = np.full(arr.shape, value)
    elif isinstance(value, complex):
        arrays[key] = arr + value
    else:
        arr = arr.copy()
        arr.reshape(-1)[rng.integers(arr.size)] = value
        arrays[key] = arr
    out = Path(path).with_name(f"edited-{key}-{rng.integers(1 << 30)}.npz")
    _write_npz(out, arrays)
    return out


@functools.cache
def _saved_trajectory() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bngeom-bad-input-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "trajectory.npz"
    ds = data.make_teacher_dataset(16, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
    dynamics.simulate(ds, np.ones((2, D)) + np.eye(2, D), np.ones(2), t_end=0.1,
                      n_records=2).save(path)
    return path


@dataclass
class Entry:
    """A public entry point, its valid arguments and the kind of each argument."""

    name: str
    func: Callable
    valid: Callable[[], dict]
    kinds: dict[str, str]
    # Arguments whose error message may name another argument (e.g. y vs X lengths).
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def call(self, kwargs: dict):
        return self.func(**kwargs)


def _geo_entry(name, needs, kinds, extra=None):
    func = getattr(geometry, name)

    def valid():
        u = _points()
        args = {"cov": COV}
        for arg in needs:
            if arg in ("base_point", "point_a"):
                args[arg] = u
            elif arg in ("point", "point_b", "end_point"):
                args[arg] = geometry.exp(u, _tangents(u, 5), COV)
            elif arg in ("tangent_vec", "tangent_vec_a", "direction", "initial_tangent_vec"):
                args[arg] = _tangents(u, 2)
            elif arg == "tangent_vec_b":
                args[arg] = _tangents(u, 3)
            elif arg in ("tangent_vec_c", "tangent_vec_d"):
                args[arg] = _tangents(u, 6 if arg == "tangent_vec_c" else 7)
            elif arg in ("vector", "euclidean_grad", "euclidean_hvp"):
                args[arg] = np.random.default_rng(4).standard_normal(u.shape)
        args.update(extra or {})
        return args

    return Entry(f"geometry.{name}", func, valid, {"cov": "cov", **kinds})


def _space():
    from bngeom import BNSpace

    return BNSpace(COV, radius=2.0)


def _space_args(*names):
    space = _space()
    x = space.random_point(4, rng=0)
    v = space.random_tangent_vec(x, rng=1)
    w = space.random_tangent_vec(x, rng=2)
    values = {"base_point": x, "tangent_vec": v, "tangent_vec_a": v, "tangent_vec_b": w,
              "vector": v, "point": space.metric.exp(0.5 * w, x), "point_a": x,
              "point_b": space.metric.exp(0.5 * w, x), "direction": 0.5 * w}
    return space, {n: values[n] for n in names}


def _space_entry(method, names, kinds, aliases=None):
    def call(**kwargs):
        space = kwargs.pop("_space")
        return getattr(space.metric, method)(**kwargs)

    def valid():
        space, args = _space_args(*names)
        return {"_space": space, **args}

    return Entry(f"BNSpace.metric.{method}", call, valid, kinds, aliases or {})


def _manifold_args():
    from bngeom import BNManifold

    manifold = BNManifold(COV, 3, radii=[1.0, 2.0, 0.5], rng=0)
    x = manifold.random_point()
    xi = manifold.random_tangent_vector(x)
    eta = manifold.random_tangent_vector(x)
    return manifold, x, xi, eta


def _manifold_entry(method, kinds):
    def call(**kwargs):
        manifold = kwargs.pop("_manifold")
        return getattr(manifold, method)(**kwargs)

    def valid():
        manifold, x, xi, eta = _manifold_args()
        values = {"point": x, "tangent_vector": xi, "tangent_vector_a": xi,
                  "tangent_vector_b": eta, "point_a": x,
                  "point_b": manifold.exp(x, [0.3 * eta[0], eta[1]])}
        return {"_manifold": manifold, **{k: values[k] for k in kinds}}

    # The rows are checked by the core, whose messages use its own argument names.
    core_names = {"point": ("base_point",), "tangent_vector": ("tangent_vec",),
                  "tangent_vector_a": ("tangent_vec_a",), "tangent_vector_b": ("tangent_vec_b",),
                  "point_a": ("base_point", "point_a"), "point_b": ("point", "point_b")}
    return Entry(f"BNManifold.{method}", call, valid, kinds,
                 {k: core_names[k] for k in kinds})


def _particles(n, seed, a):
    return np.concatenate([geometry.random_point(COV, n, rng=seed), np.full((n, 1), a)], axis=1)


def _wasserstein2(**kwargs):
    from bngeom import wasserstein2

    return wasserstein2(**kwargs)


def _run_sweep(**kwargs):
    from bngeom import run_sweep

    return run_sweep(**kwargs)


def _make_problem(**kwargs):
    from bngeom import make_problem

    return make_problem(**kwargs)


def _bnspace(**kwargs):
    from bngeom import BNSpace

    return BNSpace(**kwargs)


def _bnmanifold(**kwargs):
    from bngeom import BNManifold

    return BNManifold(**kwargs)


ENTRIES: list[Entry] = [
    _geo_entry("cometric_matrix", ["base_point"], {"base_point": "point", "radius": "radius"},
               {"radius": 1.0}),
    _geo_entry("metric_matrix", ["base_point"], {"base_point": "point", "radius": "radius"},
               {"radius": 1.0}),
    _geo_entry("bn_cometric_matrix", ["base_point"],
               {"base_point": "point", "radius": "radius"}, {"radius": 1.0}),
    _geo_entry("pinv_metric_matrix", ["base_point"],
               {"base_point": "point", "radius": "radius"}, {"radius": 1.0}),
    _geo_entry("oblique_projection", ["base_point", "vector"],
               {"base_point": "point", "vector": "vector"}),
    _geo_entry("to_tangent", ["base_point", "vector"],
               {"base_point": "point", "vector": "vector"}),
    _geo_entry("inner_product", ["base_point", "tangent_vec_a", "tangent_vec_b"],
               {"base_point": "point", "tangent_vec_a": "tangent", "tangent_vec_b": "tangent",
                "radius": "radius"}, {"radius": 2.0}),
    _geo_entry("squared_norm", ["base_point", "tangent_vec"],
               {"base_point": "point", "tangent_vec": "tangent", "radius": "radius"},
               {"radius": 2.0}),
    _geo_entry("norm", ["base_point", "tangent_vec"],
               {"base_point": "point", "tangent_vec": "tangent", "radius": "radius"},
               {"radius": 2.0}),
    _geo_entry("riemannian_gradient", ["base_point", "euclidean_grad"],
               {"base_point": "point", "euclidean_grad": "vector", "radius": "radius"},
               {"radius": 2.0}),
    _geo_entry("riemannian_hessian",
               ["base_point", "euclidean_grad", "euclidean_hvp", "tangent_vec"],
               {"base_point": "point", "euclidean_grad": "vector", "euclidean_hvp": "vector",
                "tangent_vec": "tangent", "radius": "radius"}, {"radius": 2.0}),
    _geo_entry("exp", ["base_point", "tangent_vec"],
               {"base_point": "point", "tangent_vec": "tangent"}),
    _geo_entry("log", ["base_point", "point"], {"base_point": "point", "point": "point"}),
    _geo_entry("dist", ["point_a", "point_b"],
               {"point_a": "point", "point_b": "point", "radius": "radius"}, {"radius": 2.0}),
    _geo_entry("squared_dist", ["point_a", "point_b"],
               {"point_a": "point", "point_b": "point", "radius": "radius"}, {"radius": 2.0}),
    _geo_entry("geodesic", ["base_point", "initial_tangent_vec"],
               {"base_point": "point", "initial_tangent_vec": "tangent"}),
    _geo_entry("parallel_transport", ["base_point", "tangent_vec", "direction"],
               {"base_point": "point", "tangent_vec": "tangent", "direction": "tangent"}),
    _geo_entry("curvature", ["base_point", "tangent_vec_a", "tangent_vec_b", "tangent_vec_c"],
               {"base_point": "point", "tangent_vec_a": "tangent", "tangent_vec_b": "tangent",
                "tangent_vec_c": "tangent"}),
    _geo_entry("sectional_curvature", ["base_point", "tangent_vec_a", "tangent_vec_b"],
               {"base_point": "point", "tangent_vec_a": "tangent", "tangent_vec_b": "tangent",
                "radius": "radius"}, {"radius": 2.0}),
    _geo_entry("riemann_tensor", ["base_point"], {"base_point": "point"}),
    _geo_entry("ricci_tensor", ["base_point"], {"base_point": "point"}),
    _geo_entry("scalar_curvature", ["base_point"], {"base_point": "point", "radius": "radius"},
               {"radius": 2.0}),
    _geo_entry("curvature_derivative",
               ["base_point", "tangent_vec_a", "tangent_vec_b", "tangent_vec_c", "tangent_vec_d"],
               {"base_point": "point", "tangent_vec_a": "tangent", "tangent_vec_b": "tangent",
                "tangent_vec_c": "tangent", "tangent_vec_d": "tangent"}),
    _geo_entry("directional_curvature_derivative", ["base_point", "tangent_vec_a",
                                                    "tangent_vec_b"],
               {"base_point": "point", "tangent_vec_a": "tangent", "tangent_vec_b": "tangent"}),
    Entry("geometry.random_point", geometry.random_point,
          lambda: {"cov": COV, "n_samples": 3, "rng": 0}, {"cov": "cov", "n_samples": "count"}),
    Entry("geometry.random_tangent_vector", geometry.random_tangent_vector,
          lambda: {"base_point": _points(), "cov": COV, "rng": 0},
          {"base_point": "point", "cov": "cov"}),
    Entry("geometry.injectivity_radius", geometry.injectivity_radius,
          lambda: {"radius": 2.0}, {"radius": "radius"}),
    Entry("charts.covariance_norm", charts.covariance_norm,
          lambda: {"w": np.ones((2, D)), "cov": COV}, {"w": "vector", "cov": "cov"}),
    Entry("charts.normalize_to_manifold", charts.normalize_to_manifold,
          lambda: {"w": np.ones((2, D)), "cov": COV}, {"w": "vector", "cov": "cov"}),
    Entry("charts.sphere_to_manifold_differential", charts.sphere_to_manifold_differential,
          lambda: {"w": np.ones((2, D)), "tangent_vec": np.ones((2, D)), "cov": COV},
          {"w": "vector", "tangent_vec": "vector", "cov": "cov"}),
    Entry("data.covariance", data.covariance, lambda: {"X": _dataset()[0]}, {"X": "X"}),
    Entry("data.anisotropic_gaussian", data.anisotropic_gaussian,
          lambda: {"n_samples": 10, "spectrum": [2.0, 1.0], "rng": 0},
          {"n_samples": "count", "spectrum": "spectrum"}),
    Entry("model.bn_forward", model.bn_forward,
          lambda: {"X": _dataset()[0], "W": np.ones((2, D)), "a": np.ones(2), "cov": COV,
                   "activation": "tanh"},
          {"X": "X", "W": "vector", "a": "y", "cov": "cov", "activation": "activation"},
          {"a": ("W",)}),
    Entry("model.vanilla_forward", model.vanilla_forward,
          lambda: {"X": _dataset()[0], "U": _points(2), "a": np.ones(2), "activation": "tanh"},
          {"X": "X", "U": "vector", "a": "y", "activation": "activation"},
          {"a": ("U",), "X": ("U",)}),
    Entry("model.vanilla_loss", model.vanilla_loss,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "U": _points(2), "a": np.ones(2),
                   "activation": "tanh", "loss": "squared"},
          {"X": "X", "y": "y", "U": "vector", "a": "y", "activation": "activation",
           "loss": "loss"},
          {"y": ("X",), "a": ("U",), "X": ("U",)}),
    Entry("model.bn_gradient_from_vanilla", model.bn_gradient_from_vanilla,
          lambda: {"W": np.ones((2, D)), "grad_u": np.ones((2, D)), "cov": COV},
          {"W": "vector", "grad_u": "vector", "cov": "cov"},
          {"grad_u": ("W",), "W": ("grad_u",)}),
    Entry("model.bn_loss", model.bn_loss,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "W": np.ones((2, D)),
                   "a": np.ones(2), "cov": COV, "activation": "tanh", "loss": "squared"},
          {"X": "X", "y": "y", "W": "vector", "a": "y", "cov": "cov",
           "activation": "activation", "loss": "loss"},
          {"y": ("X",), "a": ("W",)}),
    Entry("model.bn_loss_and_gradients", model.bn_loss_and_gradients,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "W": np.ones((2, D)),
                   "a": np.ones(2), "cov": COV, "activation": "tanh", "loss": "squared"},
          {"X": "X", "y": "y", "W": "vector", "a": "y", "cov": "cov",
           "activation": "activation", "loss": "loss"},
          {"y": ("X",), "a": ("W",)}),
    Entry("dynamics.simulate", dynamics.simulate,
          lambda: {"dataset": _teacher(), "W0": np.ones((2, D)) + np.eye(2, D),
                   "a0": np.ones(2), "t_end": 0.1, "method": "gd", "step": 0.05,
                   "chart": "bn", "n_records": 2, "activation": "tanh", "loss": "squared"},
          {"dataset": "dataset", "W0": "vector", "a0": "y", "t_end": "step", "step": "step",
           "chart": "choice", "method": "choice", "n_records": "count",
           "activation": "activation", "loss": "loss"},
          {"a0": ("W0",), "step": ("t_end",), "t_end": ("step",)}),
    Entry("dynamics.simulate(riemannian)", dynamics.simulate,
          lambda: {"dataset": _teacher(),
                   "W0": charts.normalize_to_manifold(np.ones((2, D)) + np.eye(2, D),
                                                      _teacher().cov),
                   "a0": np.ones(2), "t_end": 0.1, "chart": "riemannian", "radius": 2.0,
                   "n_records": 2},
          {"W0": "point", "radius": "radius"}),
    Entry("dynamics.velocity", dynamics.velocity,
          lambda: {"dataset": _teacher(), "W": np.ones((2, D)) + np.eye(2, D),
                   "a": np.ones(2), "chart": "bn", "activation": "tanh", "loss": "squared"},
          {"dataset": "dataset", "W": "vector", "a": "y", "chart": "choice",
           "activation": "activation", "loss": "loss"},
          {"a": ("W",)}),
    Entry("trajectory.Trajectory.load", trajectory.Trajectory.load,
          lambda: {"path": _saved_trajectory()}, {"path": "path"},
          {"path": ("truncated or corrupted", "trajectory arrays")}),
    Entry("BNSpace", _bnspace, lambda: {"cov": COV, "radius": 2.0},
          {"cov": "cov", "radius": "radius"}),
    _space_entry("inner_product", ["tangent_vec_a", "tangent_vec_b", "base_point"],
                 {"tangent_vec_a": "mtangent", "tangent_vec_b": "mtangent",
                  "base_point": "mpoint"}),
    _space_entry("norm", ["vector", "base_point"],
                 {"vector": "mtangent", "base_point": "mpoint"}, {"vector": ("tangent_vec",)}),
    _space_entry("exp", ["tangent_vec", "base_point"],
                 {"tangent_vec": "mtangent", "base_point": "mpoint"}),
    _space_entry("log", ["point", "base_point"], {"point": "mpoint", "base_point": "mpoint"}),
    _space_entry("dist", ["point_a", "point_b"], {"point_a": "mpoint", "point_b": "mpoint"}),
    _space_entry("parallel_transport", ["tangent_vec", "base_point", "direction"],
                 {"tangent_vec": "mtangent", "base_point": "mpoint", "direction": "mtangent"}),
    Entry("BNManifold", _bnmanifold, lambda: {"cov": COV, "width": 3, "radii": 1.0},
          {"cov": "cov", "width": "count", "radii": "radius"}),
    _manifold_entry("inner_product", {"point": "plist_point",
                                      "tangent_vector_a": "plist_tangent",
                                      "tangent_vector_b": "plist_tangent"}),
    _manifold_entry("exp", {"point": "plist_point", "tangent_vector": "plist_tangent"}),
    _manifold_entry("retraction", {"point": "plist_point", "tangent_vector": "plist_tangent"}),
    _manifold_entry("log", {"point_a": "plist_point", "point_b": "plist_point"}),
    _manifold_entry("dist", {"point_a": "plist_point", "point_b": "plist_point"}),
    Entry("make_problem", _make_problem,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "width": 3, "activation": "tanh",
                   "loss": "squared", "backend": "numpy"},
          {"X": "X (own covariance)", "y": "y", "width": "count", "activation": "activation",
           "loss": "loss", "backend": "choice"},
          {"y": ("X",)}),
    Entry("wasserstein2", _wasserstein2,
          lambda: {"x": _particles(5, 0, 1.0), "y": _particles(6, 1, 0.0), "cov": COV,
                   "weights_x": np.full(5, 0.2), "weights_y": np.full(6, 1 / 6), "radius": 2.0,
                   "method": "exact"},
          {"x": "particles", "y": "particles", "cov": "cov", "weights_x": "probabilities",
           "weights_y": "probabilities", "radius": "radius", "method": "choice"},
          {"x": ("x[:, :d]",), "y": ("y[:, :d]",)}),
    Entry("experiments.run_theorem4", run_theorem4,
          lambda: {"size": "quick", "seed": 0, "widths": (10, 40), "ref_width": 160,
                   "n_seeds": 1, "n_samples": 32, "t_end": 0.2, "n_records": 2},
          {"seed": "seed", "widths": "widths", "ref_width": "count", "n_seeds": "count",
           "n_samples": "count", "t_end": "step", "n_records": "count"}),
    Entry("experiments.run_theorem5", run_theorem5,
          lambda: {"size": "quick", "seed": 0, "width": 20, "n_samples": 32, "t_end": 2.0,
                   "step": 0.5, "n_records": 2, "variant_t_end": 2.0},
          {"seed": "seed", "width": "count", "n_samples": "count", "t_end": "step",
           "step": "step", "n_records": "count", "variant_t_end": "step"}),
    Entry("run_sweep", _run_sweep, lambda: {"func": abs, "grid": [{"x": -1}, {"x": 2}]},
          {"func": "callable", "grid": "grid"}),
    Entry("model.vanilla_loss_and_gradients", model.vanilla_loss_and_gradients,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "U": np.ones((2, D)),
                   "a": np.ones(2), "activation": "tanh", "loss": "squared"},
          {"X": "X", "y": "y", "U": "vector", "a": "y", "activation": "activation",
           "loss": "loss"},
          {"y": ("X",), "a": ("U",), "X": ("U",)}),
    Entry("batchnorm.batch_bn_loss_and_gradients", batchnorm.batch_bn_loss_and_gradients,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "W": np.ones((2, D)) + np.eye(2, D),
                   "a": np.ones(2), "activation": "tanh", "loss": "squared", "eps": 1e-5},
          {"X": "X", "y": "y", "W": "vector", "a": "y", "activation": "activation",
           "loss": "loss", "eps": "offset"},
          {"y": ("X",), "a": ("W",), "X": ("W",)}),
    Entry("dynamics.train", dynamics.train,
          lambda: {"dataset": _teacher(), "W0": np.ones((2, D)) + np.eye(2, D),
                   "a0": np.ones(2), "lr": 0.1, "steps": 2, "batch_size": 4,
                   "batch_norm": "batch", "activation": "tanh", "loss": "squared"},
          {"dataset": "dataset", "W0": "vector", "a0": "y", "lr": "step", "steps": "count",
           "batch_size": "count", "batch_norm": "choice", "activation": "activation",
           "loss": "loss"},
          {"a0": ("W0",), "batch_size": ("batch_size must be >= 2",)}),
    Entry("model.vanilla_hessian_vector_product", model.vanilla_hessian_vector_product,
          lambda: {"X": _dataset()[0], "y": _dataset()[1], "U": np.ones((2, D)),
                   "a": np.ones(2), "V": np.ones((2, D)), "b": np.ones(2),
                   "activation": "tanh", "loss": "squared"},
          {"X": "X", "y": "y", "U": "vector", "a": "y", "V": "vector", "b": "y",
           "activation": "activation", "loss": "loss"},
          {"y": ("X",), "a": ("U",), "X": ("U",), "V": ("b", "U"), "b": ("V", "a")}),
]


def cases() -> list[tuple[Entry, str, str]]:
    """Every (entry point, argument, class of bad input) triple."""
    out = []
    for entry in ENTRIES:
        for arg, kind in entry.kinds.items():
            for label in CORRUPTIONS[kind]:
                out.append((entry, arg, label))
    return out


def run_case(entry: Entry, arg: str, label: str, rng: np.random.Generator):
    """Apply one corruption; return (exception or None, its message)."""
    make, _ = CORRUPTIONS[entry.kinds[arg]][label]
    kwargs = entry.valid()
    if entry.kinds[arg] == "mtangent" and label == "not tangent":
        kwargs[arg] = _non_tangent_product(kwargs[arg], rng, kwargs["base_point"])
    elif entry.kinds[arg] == "plist_tangent" and label == "U: not tangent":
        kwargs[arg] = [_non_tangent(kwargs[arg][0], rng, base=kwargs["point"][0]),
                       kwargs[arg][1]]
    elif label == "not tangent" and "base_point" in kwargs:
        kwargs[arg] = _non_tangent(kwargs[arg], rng, base=kwargs["base_point"])
    else:
        kwargs[arg] = make(kwargs[arg], rng)
    try:
        result = entry.call(kwargs)
        if callable(result):  # geodesic returns a path: bad input must fail on creation
            result = result(np.linspace(0, 1, 3))
    except (ValueError, TypeError) as exc:
        return exc, str(exc)
    return None, repr(result)[:200]


def markdown_table() -> str:
    """The table of docs/bad_input.md: entry point, argument, class, raised exception."""
    lines = ["| entry point | argument | bad input | raises |", "|---|---|---|---|"]
    for entry, arg, label in cases():
        expected = CORRUPTIONS[entry.kinds[arg]][label][1]
        lines.append(f"| `{entry.name}` | `{arg}` | {label} | `{expected}` |")
    return "\n".join(lines) + "\n"


DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"

def write_doc() -> None:
    """Replace the table at the end of docs/bad_input.md with the current one."""
    text = DOC.read_text()
    head = text[: text.index("| entry point |")] if "| entry point |" in text else text
    DOC.write_text(head + markdown_table())


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_doc()
    else:
        sys.stdout.write(markdown_table())
