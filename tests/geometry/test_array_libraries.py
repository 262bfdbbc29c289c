"""The core and the charts on torch tensors, jax arrays, autograd's traced arrays, array API.

One definition of each formula runs on every library (bngeom._xp): values equal numpy's to
1e-12 in float64, results keep the input's type and dtype, automatic derivatives equal
central finite differences of the numpy functions, and bad input raises numpy's errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bngeom import geometry as geo
from bngeom.geometry import charts

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
autograd = pytest.importorskip("autograd")
anp = autograd.numpy

D = 5
COV = np.diag([4.0, 2.0, 1.0, 0.5, 0.25]) + 0.1 * np.ones((D, D))


@pytest.fixture(scope="module")
def data():
    """Two batches of points, tangent vectors at the first, an ambient vector."""
    u = geo.random_point(COV, 4, rng=0)
    v = geo.random_point(COV, 4, rng=1)
    xi = geo.random_tangent_vector(u, COV, rng=2)
    eta = geo.random_tangent_vector(u, COV, rng=3)
    w = np.random.default_rng(4).standard_normal((4, D))
    return {"u": u, "v": v, "xi": xi, "eta": eta, "w": w}


# (name, function of the data's arrays) for every generic entry point
CASES = {
    "exp": lambda a: geo.exp(a["u"], a["xi"], COV),
    "log": lambda a: geo.log(a["u"], a["v"], COV),
    "dist": lambda a: geo.dist(a["u"], a["v"], COV, radius=2.0),
    "squared_dist": lambda a: geo.squared_dist(a["u"], a["v"], COV),
    "inner_product": lambda a: geo.inner_product(a["u"], a["xi"], a["eta"], COV, radius=1.5),
    "norm": lambda a: geo.norm(a["u"], a["xi"], COV),
    "squared_norm": lambda a: geo.squared_norm(a["u"], a["xi"], COV),
    "to_tangent": lambda a: geo.to_tangent(a["u"], a["w"], COV),
    "oblique_projection": lambda a: geo.oblique_projection(a["u"], a["w"], COV),
    "riemannian_gradient": lambda a: geo.riemannian_gradient(a["u"], a["w"], COV, radius=2.0),
    "riemannian_hessian": lambda a: geo.riemannian_hessian(a["u"], a["w"], a["v"], a["xi"],
                                                           COV),
    "parallel_transport": lambda a: geo.parallel_transport(a["u"], a["xi"], COV,
                                                           end_point=a["v"]),
    "parallel_transport_direction": lambda a: geo.parallel_transport(a["u"], a["xi"], COV,
                                                                     direction=0.5 * a["eta"]),
    "geodesic": lambda a: geo.geodesic(a["u"], COV, end_point=a["v"])(np.array([0.0, 0.3, 1.0])),
    "metric_matrix": lambda a: geo.metric_matrix(a["u"], COV, radius=2.0),
    "cometric_matrix": lambda a: geo.cometric_matrix(a["u"], COV),
    "bn_cometric_matrix": lambda a: geo.bn_cometric_matrix(a["u"], COV),
    "pinv_metric_matrix": lambda a: geo.pinv_metric_matrix(a["u"], COV),
    "curvature": lambda a: geo.curvature(a["u"], a["xi"], a["eta"], a["xi"], COV),
    "sectional_curvature": lambda a: geo.sectional_curvature(a["u"], a["xi"], a["eta"], COV,
                                                             radius=2.0),
    "riemann_tensor": lambda a: geo.riemann_tensor(a["u"], COV),
    "ricci_tensor": lambda a: geo.ricci_tensor(a["u"], COV),
    "normalize_to_manifold": lambda a: charts.normalize_to_manifold(a["w"], COV),
    "normalize_to_sphere": lambda a: charts.normalize_to_sphere(a["w"]),
    "covariance_norm": lambda a: charts.covariance_norm(a["w"], COV),
    "sphere_to_manifold_differential": lambda a: charts.sphere_to_manifold_differential(
        a["w"], a["v"], COV),
    "manifold_to_sphere_differential": lambda a: charts.manifold_to_sphere_differential(
        a["u"], a["w"]),
}

LIBRARIES = {
    "torch": (lambda x: torch.asarray(x), lambda y: y.detach().numpy(), torch.Tensor),
    "jax": (lambda x: jnp.asarray(x), np.asarray, jax.Array),
}


@pytest.mark.parametrize("library", sorted(LIBRARIES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_types_match_numpy(data, library, case):
    convert, back, kind = LIBRARIES[library]
    expected = CASES[case](data)
    got = CASES[case]({k: convert(x) for k, x in data.items()})
    assert isinstance(got, kind)
    assert str(got.dtype).endswith("float64")
    np.testing.assert_allclose(back(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_float32_stays_float32(data, case):
    got = CASES[case]({k: torch.asarray(x, dtype=torch.float32) for k, x in data.items()})
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), CASES[case](data), rtol=2e-4, atol=2e-4)


def test_array_api_strict_conformance(data):
    """The formulas use only the standard's names (plus bngeom._xp's primitives)."""
    xps = pytest.importorskip("array_api_strict")
    strict = {k: xps.asarray(x) for k, x in data.items()}
    for case in ("exp", "log", "dist", "inner_product", "norm", "to_tangent",
                 "riemannian_gradient", "parallel_transport", "normalize_to_manifold",
                 "metric_matrix"):
        got = CASES[case](strict)
        assert type(got).__module__.startswith("array_api_strict"), case
        np.testing.assert_allclose(np.asarray(got), CASES[case](data), rtol=1e-12,
                                   atol=1e-12, err_msg=case)


# ---------------------------------------------------------------------------
# derivatives: each scalar function of (u, x) against central finite differences

# (name, scalar loss of a base point u and a second array x, which argument(s) vary)
LOSSES = {
    "exp": (lambda u, x, c: (geo.exp(u, x, COV) * c).sum(), "tangent"),
    "log": (lambda u, x, c: (geo.log(u, x, COV) * c).sum(), "point"),
    "dist": (lambda u, x, c: (geo.dist(u, x, COV, radius=1.5) * c[:, 0]).sum(), "point"),
    "squared_dist": (lambda u, x, c: (geo.squared_dist(u, x, COV) * c[:, 0]).sum(), "point"),
    "inner_product": (lambda u, x, c: (geo.inner_product(u, x, x, COV) * c[:, 0]).sum(),
                      "tangent"),
    "norm": (lambda u, x, c: (geo.norm(u, x, COV) * c[:, 0]).sum(), "tangent"),
    "to_tangent": (lambda u, x, c: (geo.to_tangent(u, x, COV) * c).sum(), "ambient"),
    "riemannian_gradient": (lambda u, x, c: (geo.riemannian_gradient(u, x, COV) * c).sum(),
                            "ambient"),
    "parallel_transport": (lambda u, x, c: (geo.parallel_transport(
        u, x, COV, direction=0.5 * x) * c).sum(), "tangent"),
    "normalize_to_manifold": (lambda u, x, c: (charts.normalize_to_manifold(x, COV) * c).sum(),
                              "ambient"),
    "normalize_to_sphere": (lambda u, x, c: (charts.normalize_to_sphere(x) * c).sum(),
                            "ambient"),
    "sphere_to_manifold_differential": (lambda u, x, c: (
        charts.sphere_to_manifold_differential(x, u, COV) * c).sum(), "ambient"),
    "manifold_to_sphere_differential": (lambda u, x, c: (
        charts.manifold_to_sphere_differential(x, u) * c).sum(), "ambient"),
}


def _second(data, kind):
    return {"tangent": data["xi"], "point": data["v"], "ambient": data["w"]}[kind]


def _finite_difference(loss, u, x, c, h_u, h_x, step=1e-6):
    """Central difference of the numpy loss along (h_u, h_x), off the manifold as needed."""
    def at(t):
        return float(loss(u + t * h_u, x + t * h_x, c))
    return (at(step) - at(-step)) / (2 * step)


def _directions(data):
    rng = np.random.default_rng(7)
    return rng.standard_normal((4, D)), rng.standard_normal((4, D)), rng.standard_normal((4, D))


def _torch_grad(loss, u, x, c):
    ut, xt = torch.asarray(u).requires_grad_(), torch.asarray(x).requires_grad_()
    loss(ut, xt, torch.asarray(c)).backward()
    return tuple(np.zeros((4, D)) if t.grad is None else t.grad.numpy() for t in (ut, xt))


def _jax_grad(loss, u, x, c):
    gu, gx = jax.grad(lambda a, b: loss(a, b, jnp.asarray(c)), argnums=(0, 1))(
        jnp.asarray(u), jnp.asarray(x))
    return np.asarray(gu), np.asarray(gx)


def _autograd_grad(loss, u, x, c):
    return autograd.grad(lambda a, b: loss(a, b, c), argnum=(0, 1))(u, x)


GRADIENTS = {"torch": _torch_grad, "jax": _jax_grad, "autograd": _autograd_grad}


@pytest.mark.parametrize("library", sorted(GRADIENTS))
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_gradients_match_finite_differences(data, library, case):
    """Gradients in both arguments (point and vector), validate=True at a valid point."""
    loss, kind = LOSSES[case]
    u, x = data["u"], _second(data, kind)
    h_u, h_x, c = _directions(data)
    grad_u, grad_x = GRADIENTS[library](loss, u, x, c)
    assert np.all(np.isfinite(grad_u)) and np.all(np.isfinite(grad_x))

    def unchecked(a, b, cc):  # the same loss off the manifold: the formulas' extension
        with _no_validation():
            return loss(a, b, cc)

    expected = _finite_difference(unchecked, u, x, c, h_u, h_x)
    got = float(np.sum(grad_u * h_u) + np.sum(grad_x * h_x))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-7)


class _no_validation:
    """Evaluate the numpy losses off the manifold: every check passes (validate=False)."""

    def __enter__(self):
        import bngeom._validation as validation
        from bngeom.geometry import charts as chart_module

        self.saved = []
        for module, name in ((geo, "check_on_manifold"), (geo, "check_tangent"),
                             (chart_module, "check_rows")):
            self.saved.append((module, name, getattr(module, name)))
            setattr(module, name, lambda *a, **k: None)
        del validation
        return self

    def __exit__(self, *exc):
        for module, name, value in self.saved:
            setattr(module, name, value)


def test_gradient_of_exp_at_zero_is_finite(data):
    """d/dxi exp_u(xi) at xi = 0 is the identity on tangent vectors: no 0/0 at the origin."""
    u = torch.asarray(data["u"][0])
    xi = torch.zeros(D, dtype=torch.float64, requires_grad=True)
    eta = torch.asarray(data["eta"][0])
    (geo.exp(u, xi, COV) @ eta).backward()
    np.testing.assert_allclose(xi.grad.numpy() @ data["eta"][0],
                               data["eta"][0] @ data["eta"][0], rtol=1e-12)


def test_squared_dist_gradient_vanishes_at_coincident_points(data):
    u = torch.asarray(data["u"]).requires_grad_()
    geo.squared_dist(u, torch.asarray(data["u"]), COV).sum().backward()
    assert np.all(np.isfinite(u.grad.numpy()))
    np.testing.assert_allclose(u.grad.numpy(), 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# bad input: validate=True raises numpy's error on every library


def _off_manifold(data):
    return {**data, "u": 1.5 * data["u"]}


def _not_tangent(data):
    return {**data, "xi": data["xi"] + data["u"]}


@pytest.mark.parametrize("convert", [torch.asarray, jnp.asarray], ids=["torch", "jax"])
@pytest.mark.parametrize("case, breaker, message", [
    ("exp", _off_manifold, "must lie on N_Sigma"),
    ("exp", _not_tangent, "must be tangent"),
    ("inner_product", _not_tangent, "must be tangent"),
    ("dist", _off_manifold, "must lie on N_Sigma"),
    ("log", _off_manifold, "must lie on N_Sigma"),
    ("parallel_transport", _not_tangent, "must be tangent"),
    ("riemannian_gradient", _off_manifold, "must lie on N_Sigma"),
    ("to_tangent", _off_manifold, "must lie on N_Sigma"),
])
def test_bad_input_raises_as_numpy(data, convert, case, breaker, message):
    bad = breaker(data)
    with pytest.raises(ValueError, match=message) as numpy_error:
        CASES[case](bad)
    with pytest.raises(ValueError, match=message) as error:
        CASES[case]({k: convert(x) for k, x in bad.items()})
    assert str(error.value) == str(numpy_error.value)


def test_bad_input_raises_under_autograd(data):
    bad = _off_manifold(data)
    with pytest.raises(ValueError, match="must lie on N_Sigma"):
        autograd.grad(lambda u: anp.sum(geo.exp(u, bad["xi"], COV)))(bad["u"])


def test_bad_input_raises_under_jax_grad(data):
    with pytest.raises(ValueError, match="must be tangent"):
        jax.grad(lambda x: jnp.sum(geo.exp(jnp.asarray(data["u"]), x, COV)))(
            jnp.asarray(data["xi"] + data["u"]))


def test_non_finite_and_bad_charts_raise(data):
    w = torch.asarray(data["w"])
    w[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        geo.exp(w, torch.asarray(data["xi"]), COV)
    with pytest.raises(ValueError, match="non-zero rows"):
        charts.normalize_to_manifold(torch.zeros(2, D, dtype=torch.float64), COV)
    with pytest.raises(TypeError, match="real floating dtype"):
        geo.dist(torch.asarray(data["u"]).to(torch.complex128), torch.asarray(data["v"]), COV)


def test_mixed_libraries_are_refused(data):
    with pytest.raises(TypeError, match="mix arrays of two libraries"):
        geo.dist(torch.asarray(data["u"]), jnp.asarray(data["v"]), COV)


def test_under_jit_validate_false_is_needed(data):
    u, xi = jnp.asarray(data["u"]), jnp.asarray(data["xi"])
    with pytest.raises(TypeError, match="validate=False under jax.jit"):
        jax.jit(lambda a, b: geo.exp(a, b, COV))(u, xi)
    got = jax.jit(lambda a, b: geo.exp(a, b, COV, validate=False))(u, xi)
    np.testing.assert_allclose(np.asarray(got), geo.exp(data["u"], data["xi"], COV),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(d=st.integers(2, 8), seed=st.integers(0, 2**16), scale=st.floats(1e-6, 3.0))
def test_torch_round_trip_matches_numpy_property(d, seed, scale):
    """exp, log and dist on torch equal numpy's for random Sigma, points and step sizes."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    cov = a @ a.T / d + 0.1 * np.eye(d)
    u = geo.random_point(cov, 3, rng=rng)
    xi = scale * geo.random_tangent_vector(u, cov, rng=rng)
    v = geo.exp(u, xi, cov)
    tu, txi = torch.asarray(u), torch.asarray(xi)
    tv = geo.exp(tu, txi, cov)
    np.testing.assert_allclose(tv.numpy(), v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(geo.log(tu, tv, cov).numpy(), geo.log(u, v, cov),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(geo.dist(tu, tv, cov).numpy(), geo.dist(u, v, cov),
                               rtol=1e-12, atol=1e-15)
