"""Strategies for downstream suites: values or strategies, consistent composite samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bngeom import geometry
from bngeom.testing.strategies import (
    ARRAY_LIBRARIES,
    CovPoints,
    CovPointTangent,
    bn_manifolds,
    bn_spaces,
    cov_and_points,
    cov_point_tangent,
    covariances,
    points,
    tangent_vectors,
)

FAST = settings(max_examples=25)


def _quad(u, cov):
    return np.einsum("...i,ij,...j->...", u, cov, u)


@FAST
@given(points(covariances(dim=3, max_condition=10.0), st.sampled_from([None, 2, (2, 3)])))
def test_points_take_strategies(u):
    assert u.shape[-1] == 3 and u.shape[:-1] in ((), (2,), (2, 3))
    assert np.all(np.isfinite(u))


@FAST
@given(tangent_vectors(st.just(np.array([[0.5, 0.0], [0.0, 1.0]])), np.diag([4.0, 1.0]),
                       min_norm=st.just(0.5), max_norm=st.floats(1.0, 2.0)))
def test_tangent_vectors_take_strategies(xi):
    u, cov = np.array([[0.5, 0.0], [0.0, 1.0]]), np.diag([4.0, 1.0])
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", xi, cov, u), 0.0, atol=1e-14)
    length = geometry.norm(u, xi, cov)
    assert np.all((length >= 0.5 - 1e-12) & (length <= 2.0 + 1e-12))


def test_concrete_arguments_are_still_checked_eagerly():
    with pytest.raises(ValueError, match="cov"):
        points(np.ones((2, 2)))
    with pytest.raises(ValueError, match="N_Sigma"):
        tangent_vectors(np.array([2.0, 0.0]), np.eye(2))
    with pytest.raises(ValueError, match="array must be one of"):
        cov_and_points(array="cupy")


@pytest.mark.parametrize("n", [None, 4, (2, 2)])
@FAST
@given(data=st.data())
def test_cov_and_points(n, data):
    sample = data.draw(cov_and_points(dimensions_strategy(), n, max_condition=20.0))
    assert isinstance(sample, CovPoints)
    cov, u = sample
    shape = () if n is None else ((n,) if isinstance(n, int) else n)
    assert u.shape == shape + (cov.shape[0],)
    np.testing.assert_allclose(_quad(u, cov), 1.0, rtol=1e-12)
    assert np.linalg.eigvalsh(cov).max() / np.linalg.eigvalsh(cov).min() <= 20.0 * (1 + 1e-9)


def dimensions_strategy():
    return st.integers(2, 5)


@FAST
@given(cov_point_tangent(n=3, min_norm=0.1, max_norm=2.0))
def test_cov_point_tangent_is_consistent(sample):
    assert isinstance(sample, CovPointTangent)
    cov, u, xi = sample
    np.testing.assert_allclose(_quad(u, cov), 1.0, rtol=1e-12)
    # tangent: the core accepts it with its own strict check, and the length is in range
    length = geometry.norm(u, xi, cov)
    assert np.all((length >= 0.1 - 1e-12) & (length <= 2.0 + 1e-12))
    np.testing.assert_allclose(geometry.dist(u, geometry.exp(u, xi, cov), cov), length,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_samples_as_torch_or_jax_arrays(library):
    lib = pytest.importorskip(library)
    if library == "jax":
        lib.config.update("jax_enable_x64", True)

    @FAST
    @given(cov_point_tangent(dim=3, n=2, array=library))
    def check(sample):
        cov, u, xi = sample
        for x in sample:
            assert type(x).__module__.split(".")[0] in (library, "jaxlib")
            assert str(x.dtype).endswith("float64")
        # the core computes on them natively and gives the numpy answer, as their array type
        ref = geometry.inner_product(np.asarray(u), np.asarray(xi), np.asarray(xi),
                                     np.asarray(cov))
        got = geometry.inner_product(u, xi, xi, cov)
        assert type(got).__module__.split(".")[0] in (library, "jaxlib")
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12, atol=1e-15)

    check()
    assert library in ARRAY_LIBRARIES


def test_jax_needs_x64():
    jax = pytest.importorskip("jax")
    before = jax.config.jax_enable_x64
    try:
        jax.config.update("jax_enable_x64", False)
        with pytest.raises(ValueError, match="jax_enable_x64"):
            cov_and_points(array="jax")
    finally:
        jax.config.update("jax_enable_x64", before)


@settings(max_examples=10)
@given(bn_spaces(dim=st.integers(2, 4), n=3))
def test_bn_spaces(sample):
    space, x = sample
    assert x.shape == (3, space.cov.shape[0] + 1)
    assert np.all(space.belongs(x))
    log = space.metric.log(x[1:], x[:-1])
    np.testing.assert_allclose(space.metric.norm(log, x[:-1]), space.metric.dist(x[:-1], x[1:]),
                               rtol=1e-8, atol=1e-10)


@settings(max_examples=10)
@given(bn_manifolds(dim=st.integers(2, 4), width=st.integers(1, 3), max_norm=1.5))
def test_bn_manifolds(sample):
    M, x, v = sample
    assert [np.shape(p) for p in x] == [(M.width, M.cov.shape[0]), (M.width,)]
    np.testing.assert_allclose(_quad(x[0], M.cov), 1.0, rtol=1e-12)
    y = M.exp(x, v)  # validate=True: x on the manifold, v tangent
    np.testing.assert_allclose(M.dist(x, y), M.norm(x, v), rtol=1e-8, atol=1e-10)
    w = M.log(x, y)
    np.testing.assert_allclose(M.norm(x, w - v), 0.0, atol=1e-7)
