r"""Property tests of the data layer (MATH §1): centring, the biased covariance, generators.

Also the error messages of the covariance check (Assumption 1: Sigma symmetric
positive definite), which must say which condition failed and, for a singular
or indefinite Sigma, quote its smallest eigenvalue.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bngeom import data, model
from bngeom._validation import check_covariance
from bngeom.testing.strategies import covariances, dimensions, spectra

SEEDS = st.integers(0, 2**32 - 1)


def _data_matrix(draw_data, min_n=None, max_n=60):
    """An uncentred, anisotropic data matrix: seeded Gaussians, drawn shape, scales, shift."""
    d = draw_data.draw(dimensions(), label="d")
    n = draw_data.draw(st.integers(d + 1 if min_n is None else min_n, max_n), label="n")
    seed = draw_data.draw(SEEDS, label="seed")
    scales = draw_data.draw(spectra(d, max_condition=100.0), label="scales")
    shift = draw_data.draw(hnp.arrays(np.float64, (d,), elements=st.floats(-10, 10)),
                           label="shift")
    return np.random.default_rng(seed).standard_normal((n, d)) * np.sqrt(scales) + shift


def _quoted_smallest_eigenvalue(message: str) -> float:
    match = re.search(r"smallest eigenvalue\s+([-+0-9.eE]+)", message)
    assert match, f"no smallest eigenvalue quoted in: {message}"
    return float(match.group(1))


# ---------------------------------------------------------------------------
# centring and the covariance


@given(st.data())
def test_covariance_is_biased_after_centring(draw_data):
    X = _data_matrix(draw_data)
    n = len(X)
    cov = data.covariance(X)
    xc = X - X.mean(axis=0)
    scale = np.max(np.abs(cov))
    # Divides by n, not n - 1 (what batch normalization uses), after centring.
    np.testing.assert_allclose(cov, xc.T @ xc / n, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, bias=True), rtol=0,
                               atol=1e-10 * scale)
    assert not np.allclose(cov, np.cov(X, rowvar=False, bias=False), rtol=1e-3 / n, atol=0)
    np.testing.assert_array_equal(cov, cov.T)
    # Centring: zero column means, idempotent, and the covariance ignores shifts.
    centred = data.center(X)
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=1e-12 * (1 + np.abs(X).max()))
    np.testing.assert_allclose(data.center(centred), centred, rtol=0,
                               atol=1e-12 * (1 + np.abs(X).max()))
    np.testing.assert_allclose(data.covariance(centred, centered=True), cov, rtol=0,
                               atol=1e-10 * scale)
    # Biased variance of every projection w^T x: w^T Sigma w = mean((w^T x_c)^2).
    w = np.arange(1.0, X.shape[1] + 1)
    assert w @ cov @ w == pytest.approx(np.var(X @ w), rel=1e-10)


@given(st.data())
def test_covariance_with_too_few_samples_is_rejected(draw_data):
    d = draw_data.draw(st.integers(2, 8), label="d")
    n = draw_data.draw(st.integers(1, d), label="n")      # rank <= n - 1 < d after centring
    X = np.random.default_rng(draw_data.draw(SEEDS, label="seed")).standard_normal((n, d))
    with pytest.raises(ValueError, match="positive definite") as info:
        data.covariance(X)
    message = str(info.value)
    assert "smallest eigenvalue" in message and f"{n} samples" in message
    xc = X - X.mean(axis=0)
    eig = np.linalg.eigvalsh(xc.T @ xc / n)
    assert _quoted_smallest_eigenvalue(message) == pytest.approx(
        eig[0], abs=1e-12 * max(eig[-1], 1.0))


# ---------------------------------------------------------------------------
# the covariance check


@given(covariances(rotate=False), st.data())
def test_singular_covariance_quotes_smallest_eigenvalue(cov, draw_data):
    cov = cov.copy()
    k = draw_data.draw(st.integers(0, len(cov) - 1), label="k")
    cov[k, k] = 0.0
    with pytest.raises(ValueError, match="positive definite") as info:
        check_covariance(cov)
    message = str(info.value)
    assert "singular" in message
    assert _quoted_smallest_eigenvalue(message) == 0.0


@given(covariances(), st.floats(1e-3, 1.0), st.data())
def test_indefinite_covariance_quotes_smallest_eigenvalue(cov, fraction, draw_data):
    eig, vec = np.linalg.eigh(cov)
    k = draw_data.draw(st.integers(0, len(cov) - 1), label="k")
    eig = eig.copy()
    eig[k] = -fraction * eig.max()
    bad = (vec * eig) @ vec.T
    bad = 0.5 * (bad + bad.T)
    with pytest.raises(ValueError, match="positive definite") as info:
        check_covariance(bad, "cov")
    message = str(info.value)
    assert "indefinite" in message and "cov" in message
    smallest = np.linalg.eigvalsh(bad)[0]
    assert _quoted_smallest_eigenvalue(message) == pytest.approx(smallest, rel=1e-6)


@given(covariances(), st.floats(1e-8, 1.0), st.data())
def test_non_symmetric_covariance_is_rejected(cov, size, draw_data):
    d = len(cov)
    i = draw_data.draw(st.integers(0, d - 1), label="i")
    j = draw_data.draw(st.integers(0, d - 1).filter(lambda x: x != i), label="j")
    bad = cov.copy()
    bad[i, j] += size * np.max(np.abs(cov))
    with pytest.raises(ValueError, match="symmetric"):
        check_covariance(bad)
    with pytest.raises(ValueError, match="symmetric"):
        model.bn_forward(np.ones((3, d)), np.ones((1, d)), np.ones(1), bad)
    # The valid matrix passes unchanged.
    np.testing.assert_array_equal(check_covariance(cov), cov)


def test_covariance_shape_and_value_errors():
    with pytest.raises(ValueError, match="square"):
        check_covariance(np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        check_covariance(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="dimensions"):
        check_covariance(np.ones(3))
    with pytest.raises(TypeError):
        check_covariance(np.eye(2, dtype=complex))


# ---------------------------------------------------------------------------
# generators


@given(spectra(max_condition=20.0), SEEDS, st.booleans())
def test_anisotropic_gaussian_has_requested_spectrum(spectrum, seed, rotate):
    n = 20_000
    X, cov = data.anisotropic_gaussian(n, spectrum, rng=seed, rotate=rotate)
    assert X.shape == (n, len(spectrum))
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12 * np.sqrt(spectrum.max()))
    np.testing.assert_allclose(cov, data.covariance(X), rtol=0, atol=1e-12 * spectrum.max())
    # Relative eigenvalue perturbation is at most ||Sigma^-1/2 cov Sigma^-1/2 - I||, about
    # 2 sqrt(d/n) <= 0.04 here; 0.1 leaves a wide margin.
    np.testing.assert_allclose(np.linalg.eigvalsh(cov), np.sort(spectrum), rtol=0.1)
    if not rotate:       # axes are the coordinate axes
        whitened = cov / np.sqrt(np.outer(spectrum, spectrum))
        np.testing.assert_allclose(whitened, np.eye(len(spectrum)), atol=0.1)
    X2, cov2 = data.anisotropic_gaussian(n, spectrum, rng=seed, rotate=rotate)
    np.testing.assert_array_equal(X2, X)


@given(dimensions(), SEEDS)
def test_random_rotation_is_orthogonal(d, seed):
    q = data.random_rotation(d, rng=seed)
    np.testing.assert_allclose(q @ q.T, np.eye(d), atol=1e-13)
    np.testing.assert_array_equal(data.random_rotation(d, rng=seed), q)


@given(dimensions(2, 5), st.integers(1, 4), SEEDS)
def test_teacher_dataset_is_labelled_by_a_bn_teacher(d, width, seed):
    spectrum = np.geomspace(3.0, 0.3, d)
    ds = data.make_teacher_dataset(80, spectrum, teacher_width=width, rng=seed)
    assert ds.X.shape == (80, d) and ds.y.shape == (80,) and ds.dim == d
    np.testing.assert_allclose(ds.cov, data.covariance(ds.X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.X.mean(axis=0), 0.0, atol=1e-12)
    # Rebuild the teacher from the same generator stream.
    gen = np.random.default_rng(seed)
    X, cov = data.anisotropic_gaussian(80, spectrum, gen)
    W, a = data.teacher_network(d, width, gen)
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_allclose(ds.y, model.bn_forward(X, W, a, cov), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(data.teacher_targets(X, 5.0 * W, a, cov), ds.y, rtol=1e-12,
                               atol=1e-12)
    from_arrays = data.Dataset.from_arrays(ds.X + 1.0, ds.y)
    np.testing.assert_allclose(from_arrays.X, ds.X, atol=1e-12)
    np.testing.assert_allclose(from_arrays.cov, ds.cov, atol=1e-12)


def test_generator_errors():
    with pytest.raises(ValueError, match="spectrum"):
        data.anisotropic_gaussian(10, [1.0, 0.0])
    with pytest.raises(ValueError, match="n_samples"):
        data.anisotropic_gaussian(0, [1.0, 2.0])
    with pytest.raises(ValueError, match="same number of samples"):
        data.Dataset.from_arrays(np.eye(3), np.zeros(2))
