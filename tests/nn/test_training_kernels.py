"""The fused numba training kernels equal the numpy reference path (issue 6).

Every activation and loss, both charts, several thread counts and tile sizes:
float64 results agree with ``backend="numpy"`` to 1e-12 relative; float32 to the
accuracy the docs state. The kernels are generated from the scalar definitions of
``bngeom.nn.functions``, which agree with the array ones; the vectorizable tanh
agrees with ``numpy.tanh``.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

from bngeom import _parallel, data, functions, model
from bngeom.nn import _kernels as _kernels
from bngeom.nn.functions import ACTIVATIONS, LOSSES, Activation

ACTS = sorted(ACTIVATIONS)
LOSS_NAMES = sorted(LOSSES)
RTOL = 1e-12


def _rel(x, ref):
    """Norm-wise relative error (the gradient as a whole)."""
    return float(np.linalg.norm(np.asarray(x) - ref) / max(np.linalg.norm(ref), 1e-300))


def _assert_close(res, ref, rtol=RTOL):
    assert abs(res.loss - ref.loss) <= rtol * abs(ref.loss)
    assert _rel(res.grad_w, ref.grad_w) <= rtol
    assert _rel(res.grad_a, ref.grad_a) <= rtol
    # and entrywise, against the largest entry (no entry is off on its own)
    np.testing.assert_allclose(res.grad_w, ref.grad_w, rtol=rtol,
                               atol=rtol * np.abs(ref.grad_w).max())
    np.testing.assert_allclose(res.grad_a, ref.grad_a, rtol=rtol,
                               atol=rtol * np.abs(ref.grad_a).max())


def _problem(n, d, m, loss, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X, cov = data.anisotropic_gaussian(n, np.linspace(2.0, 0.5, d), rng=rng)
    W = rng.standard_normal((m, d)) * scale
    a = rng.standard_normal(m)
    y = np.sign(rng.standard_normal(n)) if loss == "logistic" else rng.standard_normal(n)
    return X, y, W, a, cov


# ---------------------------------------------------------------------------
# the vectorizable tanh


def _tanh_inputs():
    return np.concatenate([
        np.linspace(-25.0, 25.0, 200_001),
        np.logspace(-320, 2, 20_000), -np.logspace(-320, 2, 20_000),
        [0.0, -0.0, 19.06, 19.07, 20.0, 1e300, -1e300, np.inf, -np.inf, 5e-324, -5e-324],
    ])


def test_tanh_matches_numpy_everywhere():
    """The one scalar tanh (functions.py), compiled and vectorized, is numpy.tanh to 3 ulp."""
    z = _tanh_inputs()
    scalar = functions.ACTIVATIONS["tanh"].scalar
    sample = z[::97]
    python = np.array([scalar(v) for v in sample])        # the definition, run by Python
    compiled = np.array([_kernels.tanh(v) for v in sample])   # scalar entry point
    np.testing.assert_array_max_ulp(python, np.tanh(sample), maxulp=3)
    assert np.array_equal(compiled, python)
    for zero in (0.0, -0.0):                              # signed zeros are kept
        assert np.signbit(_kernels.tanh(zero)) == np.signbit(scalar(zero)) == np.signbit(zero)
    # the vectorized sweep of the generated kernel: with a = 0 the output is f = 0, the
    # residual r = f - y = 1 (y = -1), so grad_a receives tanh(z) exactly, and T = 1 - tanh^2
    code = _kernels.ACTIVATION_CODES["tanh"], _kernels.LOSS_CODES["squared"]
    row, grad_a, f = z[None, :].copy(), np.zeros(z.size), np.empty(1)
    _kernels.fused_tile(row, np.zeros(z.size), np.array([-1.0]), f, grad_a, np.empty(1), *code)
    np.testing.assert_array_max_ulp(grad_a, np.tanh(z), maxulp=3)
    np.testing.assert_allclose(row[0], 1.0 - np.tanh(z) ** 2, rtol=1e-15, atol=1e-15)
    # with a = 1 the output is the mean of tanh
    _kernels.fused_tile(z[None, :].copy(), np.ones(z.size), np.zeros(1), f, np.zeros(z.size),
                        np.empty(1), *code)
    assert abs(f[0] * z.size - np.sum(np.tanh(z))) <= 1e-12 * np.sum(np.abs(np.tanh(z)))


def test_tanh_propagates_nan():
    assert np.isnan(_kernels.tanh(np.nan))
    assert np.isnan(functions.ACTIVATIONS["tanh"].scalar(np.nan))


@pytest.mark.parametrize("activation", ACTS)
def test_scalar_definitions_match_the_array_ones(activation):
    """Activation.scalar / scalar_derivative (the kernels' source) equal function / derivative."""
    act = ACTIVATIONS[activation]
    z = np.concatenate([np.linspace(-30.0, 30.0, 601), [0.0, -0.0, 1e-300, -1e-300, 700.0]])
    s = np.array([act.scalar(v) for v in z])
    np.testing.assert_allclose(s, act.function(z), rtol=4e-16, atol=1e-15)
    arg = s if act.derivative_from_output else z
    np.testing.assert_allclose([act.scalar_derivative(v) for v in arg], act.derivative(z),
                               rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_scalar_loss_derivative_matches_the_array_one(loss):
    lo = LOSSES[loss]
    f = np.linspace(-40.0, 40.0, 321)
    for y in (-1.0, 1.0, 0.3):
        np.testing.assert_allclose([lo.scalar_derivative(v, y) for v in f],
                                   lo.derivative(f, y), rtol=1e-15, atol=1e-15)


def test_leaky_slope_is_written_once():
    leaky = ACTIVATIONS["leaky_relu"]
    assert leaky.scalar(-2.0) == -2.0 * functions.LEAKY_SLOPE
    assert leaky.scalar_derivative(leaky.scalar(-2.0)) == functions.LEAKY_SLOPE
    assert not hasattr(_kernels, "_LEAKY_SLOPE")


def test_every_builtin_has_its_scalar_definitions():
    for definition in (*ACTIVATIONS.values(), *LOSSES.values()):
        assert callable(definition.scalar_derivative)
    assert all(callable(act.scalar) for act in ACTIVATIONS.values())


def test_kernel_codes_cover_the_builtins():
    assert set(_kernels.ACTIVATION_CODES) == set(ACTIVATIONS)
    assert set(_kernels.LOSS_CODES) == set(LOSSES)


# ---------------------------------------------------------------------------
# fast path == reference


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_vanilla_fast_path_equals_reference(activation, loss):
    X, y, W, a, cov = _problem(700, 6, 150, loss)
    U = W / np.sqrt(np.einsum("ki,ij,kj->k", W, cov, W))[:, None]
    ref = model.vanilla_loss_and_gradients(X, y, U, a, activation, loss, backend="numpy")
    fast = model.vanilla_loss_and_gradients(X, y, U, a, activation, loss, backend="numba")
    _assert_close(fast, ref)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_bn_fast_path_equals_reference(activation, loss):
    X, y, W, a, cov = _problem(500, 5, 90, loss, seed=1, scale=3.0)
    ref = model.bn_loss_and_gradients(X, y, W, a, cov, activation, loss, backend="numpy")
    fast = model.bn_loss_and_gradients(X, y, W, a, cov, activation, loss, backend="numba")
    _assert_close(fast, ref)
    assert np.allclose(np.sum(W * fast.grad_w, axis=1), 0.0, atol=1e-14)  # w^T grad_w L = 0


@pytest.mark.parametrize("activation", ACTS)
def test_saturated_and_tiny_preactivations(activation):
    """Pre-activations far in the tails (|z| up to ~60) and near 0."""
    X, y, W, a, cov = _problem(300, 4, 64, "squared", seed=2)
    rng = np.random.default_rng(3)
    U = W * np.concatenate([np.full(32, 1e-9), rng.uniform(5, 30, 32)])[:, None]
    for loss in LOSS_NAMES:
        yy = np.sign(y) if loss == "logistic" else y
        ref = model.vanilla_loss_and_gradients(X, yy, U, a, activation, loss, backend="numpy")
        fast = model.vanilla_loss_and_gradients(X, yy, U, a, activation, loss, backend="numba")
        _assert_close(fast, ref)


@given(n=st.integers(1, 60), d=st.integers(1, 5), m=st.integers(1, 40),
       activation=st.sampled_from(ACTS), loss=st.sampled_from(LOSS_NAMES),
       seed=st.integers(0, 2**31), rows=st.integers(1, 70), threads=st.integers(1, 3))
def test_fast_sums_equal_reference_property(n, d, m, activation, loss, seed, rows, threads):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U = rng.standard_normal((m, d))
    a = rng.standard_normal(m)
    y = np.sign(rng.standard_normal(n)) + 0.0 if loss == "logistic" else rng.standard_normal(n)
    act, lo = ACTIVATIONS[activation], LOSSES[loss]
    total, gu, ga = model._numpy_sums(X, y, U, a, act, lo, 1e12, np.float64)
    f, gu_fast, ga_fast = _kernels.loss_and_gradients(X, y, U, a, activation, loss, rows,
                                                      threads)
    np.testing.assert_allclose(f, act.function(X @ U.T) @ a / m, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.sum(lo.function(f, y)), total, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gu_fast, gu, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(gu).max()))
    np.testing.assert_allclose(ga_fast, ga, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ga).max()))


def test_thread_counts_and_tiles_agree_and_are_deterministic():
    X, y, W, a, _ = _problem(1000, 7, 120, "squared", seed=4)
    runs = {(rows, threads): _kernels.loss_and_gradients(X, y, W, a, "tanh", "squared",
                                                         rows, threads)
            for rows in (1, 33, 1000) for threads in (1, 2, 3)}
    base = runs[(1000, 1)]
    for f, gu, ga in runs.values():
        np.testing.assert_allclose(f, base[0], rtol=1e-13, atol=1e-14 * np.abs(base[0]).max())
        assert _rel(gu, base[1]) <= 1e-13 and _rel(ga, base[2]) <= 1e-13
    again = _kernels.loss_and_gradients(X, y, W, a, "tanh", "squared", 33, 2)
    for x, z in zip(again, runs[(33, 2)], strict=True):
        assert np.array_equal(x, z)                      # bit-for-bit reproducible


def test_threads_follow_blas_limit_and_limit_is_restored():
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    with threadpool_limits(1, user_api="blas"):
        assert _parallel.default_threads() == 1
    X, y, W, a, _ = _problem(400, 3, 50, "squared")
    model.vanilla_loss_and_gradients(X, y, W, a, backend="numba")
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_float32_accuracy():
    X, y, W, a, cov = _problem(2000, 8, 300, "squared", seed=5)
    ref = model.bn_loss_and_gradients(X, y, W, a, cov, "tanh", backend="numpy")
    for backend in ("numba", "numpy"):
        single = model.bn_loss_and_gradients(X, y, W, a, cov, "tanh", backend=backend,
                                             precision="float32")
        assert single.grad_w.dtype == np.float64
        assert _rel(single.grad_w, ref.grad_w) < 1e-5
        assert _rel(single.grad_a, ref.grad_a) < 1e-5
        assert abs(single.loss - ref.loss) < 1e-5 * ref.loss


def test_auto_backend_choice():
    X, y, W, a, _ = _problem(600, 3, 40, "squared")
    small = model.vanilla_loss_and_gradients(X[:10], y[:10], W, a)
    small_ref = model.vanilla_loss_and_gradients(X[:10], y[:10], W, a, backend="numpy")
    assert small.loss == small_ref.loss and np.array_equal(small.grad_w, small_ref.grad_w)
    assert 600 * 40 >= model.AUTO_MIN_SIZE
    big = model.vanilla_loss_and_gradients(X, y, W, a)
    big_fast = model.vanilla_loss_and_gradients(X, y, W, a, backend="numba")
    assert np.array_equal(big.grad_w, big_fast.grad_w)


def test_custom_activation_uses_reference_or_refuses_numba():
    X, y, W, a, _ = _problem(600, 3, 40, "squared")
    cube = Activation("cube", lambda z: z**3, lambda z: 3 * z**2, lambda z: 6 * z)
    auto = model.vanilla_loss_and_gradients(X, y, W, a, cube)
    ref = model.vanilla_loss_and_gradients(X, y, W, a, cube, backend="numpy")
    assert np.array_equal(auto.grad_w, ref.grad_w)
    with pytest.raises(ValueError, match="backend='numba'"):
        model.vanilla_loss_and_gradients(X, y, W, a, cube, backend="numba")


@pytest.mark.parametrize("kwargs, word", [({"backend": "torch"}, "backend"),
                                          ({"backend": None}, "backend"),
                                          ({"precision": "float16"}, "precision"),
                                          ({"precision": np.float32}, "precision")])
def test_bad_backend_or_precision(kwargs, word):
    X, y, W, a, cov = _problem(20, 2, 3, "squared")
    with pytest.raises(ValueError, match=word):
        model.vanilla_loss_and_gradients(X, y, W, a, **kwargs)
    with pytest.raises(ValueError, match=word):
        model.bn_loss_and_gradients(X, y, W, a, cov, **kwargs)


