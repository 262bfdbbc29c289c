"""The adapters' compiled per-call path (bngeom.geometry._checked, row B6).

It must give the general path's results and never accept what the general path refuses:
every input below is run through both (plain float64 arrays take the compiled path; the
same values as lists take the general one).
"""

import numpy as np
import pytest

from bngeom import geometry
from bngeom.adapters.geomstats import BNSpace
from bngeom.adapters.pymanopt import BNManifold, BNTangentVector
from bngeom.geometry import _checked


def _cov(d, seed):
    A = np.random.default_rng(seed).standard_normal((d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def _space_data(d, n, seed, radius=1.0, validate=True):
    rng = np.random.default_rng(seed)
    space = BNSpace(_cov(d, seed), radius=radius, validate=validate)
    shape = (n, d + 1) if n else (d + 1,)
    x, y = space.random_point(max(n, 1), rng=rng), space.random_point(max(n, 1), rng=rng)
    x, y = x.reshape(shape), y.reshape(shape)
    v = space.to_tangent(rng.standard_normal(shape), x)
    w = space.to_tangent(rng.standard_normal(shape), x)
    return space.metric, x, y, v, w


def _space_calls(metric, x, y, v, w, wrap):
    return {"inner_product": metric.inner_product(wrap(v), wrap(w), wrap(x)),
            "exp": metric.exp(wrap(v), wrap(x)),
            "log": metric.log(wrap(y), wrap(x)),
            "dist": metric.dist(wrap(x), wrap(y))}


@pytest.mark.parametrize(("d", "n", "radius", "validate"), [
    (2, 0, 1.0, True), (3, 1, 1.0, True), (5, 4, 2.5, True), (8, 16, 0.3, True),
    (5, 4, 2.5, False), (64, 0, 1.0, True)])
def test_space_compiled_equals_general_path(d, n, radius, validate):
    data = _space_data(d, n, seed=d + n, radius=radius, validate=validate)
    metric, x, _, v, _ = data
    assert metric._compiled(_checked.space_exp, (x, v)) is not None  # the path under test
    fast = _space_calls(*data, wrap=lambda a: a)
    general = _space_calls(*data, wrap=lambda a: a.tolist())
    for op, value in fast.items():
        assert type(value) is type(general[op]), op
        assert np.shape(value) == np.shape(general[op]), op
        np.testing.assert_allclose(value, general[op], rtol=1e-13, atol=1e-14, err_msg=op)


def test_space_log_at_the_cut_locus_and_at_the_point():
    metric, x, _, _, _ = _space_data(4, 3, seed=0)
    antipode = x.copy()
    antipode[:, :-1] *= -1.0
    for y in (x, antipode):
        np.testing.assert_allclose(metric.log(y, x), metric.log(y.tolist(), x.tolist()),
                                   atol=1e-14)
    np.testing.assert_array_equal(metric.log(x, x)[:, :-1], 0.0)  # an exact zero
    np.testing.assert_array_equal(metric.dist(x, x), 0.0)


@pytest.mark.parametrize("op", ["inner_product", "exp", "log", "dist"])
@pytest.mark.parametrize("corrupt", ["off_manifold", "not_tangent", "nan", "inf_a", "huge"])
def test_space_refusals_are_the_general_paths(op, corrupt):
    metric, x, y, v, w = _space_data(5, 3, seed=1)
    x, v = x.copy(), v.copy()
    if corrupt == "off_manifold":
        x[1, :-1] *= 1.0 + 1e-4
    elif corrupt == "not_tangent":
        v[2, :-1] += 1e-3 * x[2, :-1]
    elif corrupt == "nan":
        x[0, 0] = v[0, 0] = np.nan
    elif corrupt == "inf_a":
        x[0, -1] = v[0, -1] = np.inf
    else:
        v[0, 0] = 1e151
    args = {"inner_product": (v, w, x), "exp": (v, x), "log": (y, x), "dist": (x, y)}[op]
    if op in ("log", "dist") and corrupt in ("not_tangent", "huge"):
        return  # no tangent vector in the call
    with pytest.raises(ValueError) as fast:
        getattr(metric, op)(*args)
    with pytest.raises(ValueError) as general:
        getattr(metric, op)(*(a.tolist() for a in args))
    assert str(fast.value) == str(general.value)


def test_space_inputs_the_kernel_passes_on_are_still_accepted():
    """Rows within the core's tolerance but outside the kernel's, and tiny vectors."""
    metric, x, _, v, w = _space_data(5, 3, seed=2)
    x = x.copy()
    x[1, :-1] *= np.sqrt(1.0 + 0.8e-6)    # |u^T cov u - 1| = 0.8e-6: the core accepts it
    v = metric._space.to_tangent(v, x)
    tiny = 1e-120 * v
    for args in ((v, w, x), (tiny, tiny, x)):
        value = metric.inner_product(*args)
        np.testing.assert_allclose(value, metric.inner_product(*(a.tolist() for a in args)),
                                   rtol=1e-13)


def _manifold_data(d, m, seed, validate=True):
    manifold = BNManifold(_cov(d, seed), m, radii=np.linspace(0.5, 2.0, m), rng=seed,
                          validate=validate)
    P, Q = manifold.random_point(), manifold.random_point()
    return manifold, P, Q, manifold.random_tangent_vector(P), manifold.random_tangent_vector(P)


class _Pair(list):
    """A list subclass: the compiled path takes only list, tuple and BNTangentVector."""


def _lists(pair):
    return [pair[0].tolist(), pair[1].tolist()]


def _manifold_calls(manifold, P, Q, V, W, wrap):
    return {"inner_product": manifold.inner_product(wrap(P), wrap(V), wrap(W)),
            "exp": manifold.exp(wrap(P), wrap(V)),
            "retraction": manifold.retraction(wrap(P), wrap(V)),
            "log": manifold.log(wrap(P), wrap(Q)),
            "dist": manifold.dist(wrap(P), wrap(Q))}


@pytest.mark.parametrize(("d", "m", "validate"), [(2, 1, True), (5, 16, True), (64, 3, True),
                                                  (5, 16, False)])
def test_manifold_compiled_equals_general_path(d, m, validate):
    data = _manifold_data(d, m, seed=d * m, validate=validate)
    manifold, P, _, V, _ = data
    assert manifold._compiled(_checked.rows_step, (P, V), False) is not None  # the path under test
    fast = _manifold_calls(*data, wrap=lambda p: p)
    general = _manifold_calls(*data, wrap=lambda p: _Pair(p))
    for op, value in fast.items():
        assert type(value) is type(general[op]), op
        if isinstance(value, float):
            assert value == pytest.approx(general[op], rel=1e-13), op
        else:
            for block, ref in zip(value, general[op], strict=True):
                np.testing.assert_allclose(block, ref, rtol=1e-13, atol=1e-14, err_msg=op)


@pytest.mark.parametrize("op", ["inner_product", "exp", "retraction", "log", "dist"])
@pytest.mark.parametrize("corrupt", ["off_manifold", "not_tangent", "nan_a"])
def test_manifold_refusals_are_the_general_paths(op, corrupt):
    manifold, P, Q, V, W = _manifold_data(4, 3, seed=5)
    P, V = [P[0].copy(), P[1].copy()], BNTangentVector([V[0].copy(), V[1].copy()])
    if corrupt == "off_manifold":
        P[0][1] *= 1.0 + 1e-4
    elif corrupt == "not_tangent":
        V[0][2] += 1e-3 * P[0][2]
    else:
        P[1][0] = V[1][0] = np.nan
    args = {"inner_product": (P, V, W), "exp": (P, V), "retraction": (P, V), "log": (P, Q),
            "dist": (P, Q)}[op]
    if op in ("log", "dist") and corrupt == "not_tangent":
        return
    with pytest.raises(ValueError) as fast:
        getattr(manifold, op)(*args)
    with pytest.raises(ValueError) as general:
        getattr(manifold, op)(*(_lists(a) for a in args))
    assert str(fast.value) == str(general.value)


def test_kernels_report_failure_instead_of_raising():
    cov = _cov(3, 0)
    x = np.concatenate([geometry.random_point(cov, 2, rng=0), np.zeros((2, 1))], axis=1)
    ok, _ = _checked.space_dist(x, x, cov, 1.0, True)
    assert ok
    x[0, 0] += 0.1
    ok, _ = _checked.space_dist(x, x, cov, 1.0, True)
    assert not ok
    ok, out = _checked.space_dist(x, x, cov, 1.0, False)  # unchecked: computes
    assert ok and np.all(np.isfinite(out))
