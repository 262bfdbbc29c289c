"""Blocking over samples (issue 4 item 8, issue 6): blocked = unblocked, memory stays bounded.

The ``n x m`` pre-activation matrix is processed in blocks of samples whenever
it would exceed ``memory_budget``; the blocked results equal the unblocked ones
to 1e-12 in both backends, and the memory actually allocated stays within the
budget (measured with tracemalloc, which sees numpy's allocations).
"""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bngeom import charts, data, model
from bngeom.nn import _kernels as _kernels
from bngeom.nn.functions import ACTIVATIONS

ACTS = sorted(ACTIVATIONS)


def _rel(x, ref):
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def _problem(n=900, d=5, m=70, seed=0):
    rng = np.random.default_rng(seed)
    X, cov = data.anisotropic_gaussian(n, np.linspace(3.0, 0.3, d), rng=rng)
    W = rng.standard_normal((m, d))
    return X, rng.standard_normal(n), W, rng.standard_normal(m), cov


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("activation", ACTS)
def test_blocked_equals_unblocked(backend, activation):
    X, y, W, a, cov = _problem()
    n, m = X.shape[0], W.shape[0]
    whole = model.bn_loss_and_gradients(X, y, W, a, cov, activation, backend=backend,
                                        memory_budget=1e12)
    # budgets giving 1 sample per block, a few uneven blocks, and blocks that divide n
    for budget in (1, 7 * 3 * m * 8 + 5, 100 * 3 * m * 8):
        blocked = model.bn_loss_and_gradients(X, y, W, a, cov, activation, backend=backend,
                                              memory_budget=budget)
        assert abs(blocked.loss - whole.loss) <= 1e-12 * abs(whole.loss)
        assert _rel(blocked.grad_w, whole.grad_w) <= 1e-12
        assert _rel(blocked.grad_a, whole.grad_a) <= 1e-12
    assert model.block_rows(n, m, 1) == 1


def test_fast_tiles_equal_one_tile():
    X, y, W, a, _ = _problem(n=1234, m=90, seed=1)
    one = _kernels.loss_and_gradients(X, y, W, a, "sigmoid", "logistic", X.shape[0], 1)
    for rows in (1, 2, 61, 617):
        tiled = _kernels.loss_and_gradients(X, y, W, a, "sigmoid", "logistic", rows, 2)
        np.testing.assert_allclose(tiled[0], one[0], rtol=1e-13, atol=1e-15)
        assert _rel(tiled[1], one[1]) <= 1e-12 and _rel(tiled[2], one[2]) <= 1e-12


@given(n=st.integers(1, 10**6), m=st.integers(1, 10**6),
       budget=st.floats(1.0, 2.0**40), itemsize=st.sampled_from([4, 8]),
       temporaries=st.integers(1, 4))
def test_block_rows_respects_budget(n, m, budget, itemsize, temporaries):
    rows = model.block_rows(n, m, budget, itemsize, temporaries=temporaries)
    assert 1 <= rows <= n
    if rows > 1:          # a single sample per block is the floor, whatever the budget
        assert rows * m * itemsize * temporaries <= budget
    if rows < n:          # as large as the budget allows
        assert (rows + 1) * m * itemsize * temporaries > budget


@given(n=st.integers(1, 10**6), m=st.integers(1, 10**6), budget=st.floats(1.0, 2.0**40),
       threads=st.integers(1, 8))
def test_fast_tiles_respect_budget(n, m, budget, threads):
    rows = model._fast_rows(n, m, budget, 8, threads)
    assert rows >= 1
    if rows > 1:
        assert rows * m * 8 * threads <= budget


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_peak_memory_stays_within_budget(backend):
    """n x m = 12,000 x 1,000 would take 96 MB; a 4 MiB budget keeps the peak near it."""
    rng = np.random.default_rng(2)
    n, d, m = 12_000, 4, 1_000
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    U = rng.standard_normal((m, d)) / 2
    a = rng.standard_normal(m)
    budget = 4 * 2**20
    # warm up first (numba's import and kernel loading allocate too)
    model.vanilla_loss_and_gradients(X[:5], y[:5], U, a, backend=backend, validate=False)
    tracemalloc.start()
    try:
        model.vanilla_loss_and_gradients(X, y, U, a, memory_budget=budget, backend=backend,
                                         validate=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the budget, plus O(n + m d) vectors (outputs, gradients, per-thread accumulators)
    assert peak <= budget + 2 * 2**20, peak
    assert peak < n * m * 8 / 10


@pytest.mark.parametrize("activation", ACTS)
def test_forward_passes_and_loss_blocked_equal_unblocked(activation):
    X, y, W, a, cov = _problem()
    m = W.shape[0]
    U = charts.normalize_to_manifold(W, cov)
    whole = model.vanilla_forward(X, U, a, activation, memory_budget=1e12)
    if activation == "tanh":
        np.testing.assert_allclose(whole, np.tanh(X @ U.T) @ a / m, rtol=1e-13)
    for budget in (8 * m, 8 * m * 7, 8 * m * 300):
        np.testing.assert_allclose(model.vanilla_forward(X, U, a, activation,
                                                         memory_budget=budget),
                                   whole, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(model.bn_forward(X, W, a, cov, activation,
                                                    memory_budget=budget),
                                   whole, rtol=1e-12, atol=1e-14)
        assert abs(model.vanilla_loss(X, y, U, a, activation, memory_budget=budget)
                   - model.vanilla_loss(X, y, U, a, activation)) <= 1e-12


def test_forward_memory_stays_within_budget():
    X, _, W, a, cov = _problem(n=4000, m=500)
    U = charts.normalize_to_manifold(W, cov)
    budget = 2**20                       # the whole n x m matrix would be 16 MB
    model.vanilla_forward(X, U, a, memory_budget=budget)     # warm-up
    tracemalloc.start()
    model.vanilla_forward(X, U, a, memory_budget=budget)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * budget
