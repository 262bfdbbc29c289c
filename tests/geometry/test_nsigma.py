"""Sigma is checked once: NSigma objects and the memory of checked covariance arrays."""

import numpy as np
import pytest

from bngeom import geometry as geo
from bngeom._covariance import NSigma, checked_covariance


def test_nsigma_gives_the_same_numbers_as_the_array():
    cov = np.diag([4.0, 1.0, 0.25])
    space = NSigma(cov)
    u = geo.random_point(cov, 5, rng=0)
    xi = geo.random_tangent_vector(u, cov, rng=1)
    for f in (geo.exp, geo.norm, geo.to_tangent):
        assert np.array_equal(f(u, xi, space), f(u, xi, cov))
    assert np.array_equal(geo.dist(u, u[::-1], space), geo.dist(u, u[::-1], cov))
    assert np.array_equal(np.asarray(space), cov)


def test_nsigma_is_checked_when_built_and_cannot_change():
    with pytest.raises(ValueError, match="positive definite"):
        NSigma(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="symmetric"):
        NSigma(np.array([[1.0, 0.5], [0.0, 1.0]]))
    space = NSigma(np.eye(2))
    with pytest.raises(ValueError, match="read-only"):
        space.cov[0, 0] = -1.0


def test_a_remembered_covariance_changed_in_place_is_checked_again():
    cov = np.diag([2.0, 1.0])
    assert checked_covariance(cov) is checked_covariance(cov)
    cov[1, 1] = 0.0
    with pytest.raises(ValueError, match="singular"):
        geo.norm(np.array([1 / np.sqrt(2), 0.0]), np.array([0.0, 1.0]), cov)
    cov[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        checked_covariance(cov)


def test_points_are_still_checked_with_an_nsigma():
    space = NSigma(np.eye(3))
    with pytest.raises(ValueError, match="must lie on N_Sigma"):
        geo.exp(np.array([2.0, 0.0, 0.0]), np.zeros(3), space)
    with pytest.raises(ValueError, match="tangent"):
        geo.exp(np.array([1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), space)
