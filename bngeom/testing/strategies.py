r"""Hypothesis strategies for property tests of bngeom and of code built on it.

Every strategy draws its numbers from hypothesis itself (eigenvalues, rotation
angles, directions, norms, radii, output weights), so that failing examples
shrink towards simple ones: covariances towards the identity, points towards a
coordinate direction, tangent vectors towards short ones, radii towards 1. The
one exception is the data matrix of :func:`networks`: its ``n x d`` Gaussian
entries come from a drawn seed (drawing hundreds of floats per example would be
slow and would not shrink usefully), while its size, spectrum and orientation
are drawn directly.

The values stay well conditioned so that tests can use tight tolerances: the
condition number of a covariance is bounded by ``max_condition``, its scale by
``min_scale``/``max_scale``, and tangent vectors have a prescribed range of
lengths in the metric :math:`g` of Proposition 1.

Following hypothesis' convention, the arguments of :func:`points` and
:func:`tangent_vectors` take values or strategies, and composite strategies draw
consistent samples: :func:`cov_and_points`, :func:`cov_point_tangent` (optionally as
torch or jax arrays), :func:`bn_spaces` and :func:`bn_manifolds` (docs/testing_downstream.md).

This is the only bngeom module that imports hypothesis (a test dependency).

Examples
--------
The strategies are drawn from like any hypothesis strategy, in a test decorated by
``@given`` (docs/testing_downstream.md shows tests as a user writes them). One test draws
from each of them and checks what its docstring promises; the examples of the functions
show what is checked when a strategy is built.

>>> import numpy as np
>>> from hypothesis import given, settings, strategies as st
>>> from bngeom import geometry
>>> from bngeom.nn.functions import get_activation, get_loss
>>> @settings(max_examples=10)
... @given(st.data())
... def check(data):
...     assert 2 <= data.draw(dimensions(2, 4)) <= 4 and data.draw(widths(1, 3)) in (1, 2, 3)
...     r = data.draw(radii(3, min_value=0.5, max_value=2.0))
...     assert r.shape == (3,) and (r >= 0.5).all() and (r <= 2.0).all()
...     name = data.draw(activation_names())
...     assert get_activation(name).name == name
...     assert get_loss(data.draw(loss_names())).name in ("squared", "logistic")
...     spec = data.draw(spectra(4, max_condition=50.0))
...     assert spec.shape == (4,) and 0 < spec.max() / spec.min() <= 50.0 * (1 + 1e-12)
...     cov = data.draw(covariances(dim=3, max_condition=10.0))
...     eig = np.linalg.eigvalsh(cov)
...     assert np.array_equal(cov, cov.T) and 0 < eig[-1] / eig[0] <= 10.0 * (1 + 1e-9)
...     u = data.draw(points(cov, n=(2, 4)))
...     assert u.shape == (2, 4, 3)
...     assert np.allclose(np.einsum("...i,ij,...j->...", u, cov, u), 1.0)
...     xi = data.draw(tangent_vectors(u, cov, min_norm=0.5, max_norm=2.0))
...     assert np.allclose(np.einsum("...i,ij,...j->...", xi, cov, u), 0.0, atol=1e-12)
...     length = geometry.norm(u, xi, cov)
...     assert np.all((length >= 0.5 - 1e-12) & (length <= 2.0 + 1e-12))
...     cov, u = data.draw(cov_and_points(dim=3, n=4))         # consistent pairs
...     assert np.allclose(np.einsum("ni,ij,nj->n", u, cov, u), 1.0)
...     cov, u, xi = data.draw(cov_point_tangent(dim=3, n=2, max_norm=2.0))
...     assert np.all(geometry.norm(u, xi, cov) <= 2.0 + 1e-12)
...     space, x = data.draw(bn_spaces(dim=2, n=3))
...     assert x.shape == (3, 3) and np.all(space.belongs(x))
...     M, x, v = data.draw(bn_manifolds(dim=3, width=2))
...     assert np.isclose(M.dist(x, M.exp(x, v)), M.norm(x, v))
...     net = data.draw(networks(dim=3, width=2, loss="logistic"))
...     assert net.X.shape[1] == 3 and net.W.shape == (2, 3)
...     assert set(np.unique(net.y)) <= {-1.0, 1.0}
...     assert np.allclose(net.cov, net.X.T @ net.X / len(net.X))
>>> check()
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import (
    as_float_array,
    check_covariance,
    check_on_manifold,
    check_positive_int,
    check_positive_scalar,
)
from bngeom.geometry.charts import normalize_to_manifold, sphere_to_manifold_differential
from bngeom.nn.data import anisotropic_gaussian
from bngeom.nn.functions import ACTIVATIONS, LOSSES

__all__ = [
    "ARRAY_LIBRARIES",
    "CovPoints",
    "CovPointTangent",
    "ManifoldPoint",
    "Network",
    "SpacePoints",
    "activation_names",
    "bn_manifolds",
    "bn_spaces",
    "cov_and_points",
    "cov_point_tangent",
    "covariances",
    "dimensions",
    "loss_names",
    "networks",
    "points",
    "radii",
    "spectra",
    "tangent_vectors",
    "widths",
]

SearchStrategy = st.SearchStrategy

# Rows of a direction array shorter than this are replaced by a fixed direction
# (no filtering: filters make hypothesis reject examples and shrink badly).
_MIN_DIRECTION_NORM = 1e-3
# Shortest non-zero tangent vector drawn (in the metric g).
_MIN_LENGTH = 1e-8
_UNIT_FLOATS = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False,
                         allow_subnormal=False)


# ---------------------------------------------------------------------------
# argument handling


def _strategy(value: Any, default: SearchStrategy, name: str) -> SearchStrategy:
    """A fixed value, a strategy, or None (the default strategy)."""
    if value is None:
        return default
    if isinstance(value, SearchStrategy):
        return value
    if name in ("dim", "width", "n_samples"):
        return st.just(check_positive_int(value, name))
    return st.just(value)


def _as_strategy(value: Any) -> SearchStrategy:
    """hypothesis' convention: a strategy is drawn from, any other value is ``st.just``."""
    return value if isinstance(value, SearchStrategy) else st.just(value)


def _batch_shape(n: int | tuple[int, ...] | None, name: str = "n") -> tuple[int, ...]:
    if n is None:
        return ()
    if isinstance(n, tuple):
        return tuple(check_positive_int(k, name) for k in n)
    return (check_positive_int(n, name),)


def _check_range(low: float, high: float, name_low: str, name_high: str) -> tuple[float, float]:
    low = check_positive_scalar(low, name_low)
    high = check_positive_scalar(high, name_high)
    if low > high:
        raise ValueError(f"{name_low} must be <= {name_high}, got {low} > {high}")
    return low, high


def _log_uniform(low: float, high: float) -> SearchStrategy:
    """Floats in [low, high], uniform in log scale, shrinking towards 1 when 1 is inside."""
    lo, hi = math.log(low), math.log(high)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda t: float(min(max(math.exp(t), low), high)))


def _nonnegligible(bound: float) -> SearchStrategy[float]:
    """Floats in [-bound, bound] that are 0 or at least 1e-6 * bound in size.

    Values like 1e-300 only probe underflow, which is not what the strategies are for.
    """
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False).map(
        lambda x: 0.0 if abs(x) < 1e-6 * bound else x)


def _directions(raw: NDArray) -> NDArray:
    """Unit rows from raw draws; too-short rows become the first coordinate vector."""
    norms = np.linalg.norm(raw, axis=-1, keepdims=True)
    fallback = np.zeros_like(raw)
    fallback[..., 0] = 1.0
    short = norms < _MIN_DIRECTION_NORM
    return np.where(short, fallback, raw / np.where(short, 1.0, norms))


# ---------------------------------------------------------------------------
# scalars and names


def dimensions(min_dim: int = 2, max_dim: int = 8) -> SearchStrategy[int]:
    """Ambient dimensions ``d`` in ``[min_dim, max_dim]`` (shrinking to ``min_dim``).

    ``d >= 2`` is needed for :math:`N_\\Sigma` to have a tangent space.

    Examples
    --------
    >>> dimensions(2, 4)          # hypothesis' own integers
    integers(min_value=2, max_value=4)
    """
    lo = check_positive_int(min_dim, "min_dim")
    hi = check_positive_int(max_dim, "max_dim")
    if lo < 2 or lo > hi:
        raise ValueError(f"need 2 <= min_dim <= max_dim, got min_dim={lo}, max_dim={hi}")
    return st.integers(lo, hi)


def widths(min_value: int = 1, max_value: int = 8) -> SearchStrategy[int]:
    """Network widths ``m`` (numbers of neurons) in ``[min_value, max_value]``.

    Examples
    --------
    >>> widths(1, 3)
    integers(min_value=1, max_value=3)
    """
    lo = check_positive_int(min_value, "min_value")
    hi = check_positive_int(max_value, "max_value")
    if lo > hi:
        raise ValueError(f"min_value must be <= max_value, got {lo} > {hi}")
    return st.integers(lo, hi)


def radii(shape: int | tuple[int, ...] | None = None, *, min_value: float = 0.1,
          max_value: float = 10.0) -> SearchStrategy:
    """Neuron radii :math:`r = \\|w\\| > 0`, log-uniform in ``[min_value, max_value]``.

    Returns a float if ``shape`` is None, else an array of that shape.
    Shrinks towards ``r = 1``.

    Examples
    --------
    >>> radii(3, min_value=2.0, max_value=1.0)
    Traceback (most recent call last):
        ...
    ValueError: min_value must be <= max_value, got 2.0 > 1.0
    """
    lo, hi = _check_range(min_value, max_value, "min_value", "max_value")
    batch = _batch_shape(shape, "shape")
    one = _log_uniform(lo, hi)
    if not batch:
        return one
    return hnp.arrays(np.float64, batch, elements=one)


def activation_names() -> SearchStrategy[str]:
    """Names of the activations of :mod:`bngeom.functions` (shrinks to ``"tanh"``).

    Examples
    --------
    >>> activation_names()
    sampled_from(('tanh', 'relu', 'leaky_relu', 'softplus', 'sigmoid'))
    """
    return st.sampled_from(tuple(ACTIVATIONS))


def loss_names() -> SearchStrategy[str]:
    """Names of the losses of :mod:`bngeom.functions` (shrinks to ``"squared"``).

    Examples
    --------
    >>> loss_names()
    sampled_from(('squared', 'logistic'))
    """
    return st.sampled_from(tuple(LOSSES))


# ---------------------------------------------------------------------------
# covariances


def spectra(dim: int | SearchStrategy[int] | None = None, *, max_condition: float = 100.0,
            min_scale: float = 0.1, max_scale: float = 10.0) -> SearchStrategy[NDArray]:
    """Positive spectra (eigenvalues) with condition number at most ``max_condition``.

    Eigenvalue ``i`` is ``s * max_condition ** t_i`` with a drawn scale ``s``
    (log-uniform in ``[min_scale, max_scale]``) and drawn exponents
    ``t_i in [-1/2, 1/2]``; so the eigenvalues lie in
    ``[min_scale / sqrt(max_condition), max_scale * sqrt(max_condition)]`` and
    their ratio is at most ``max_condition``. Shrinks towards all ones.

    Parameters
    ----------
    dim : int, strategy of ints, or None
        Length of the spectrum (default: :func:`dimensions`).
    max_condition : float
        Largest ratio of two eigenvalues, >= 1.
    min_scale, max_scale : float
        Range of the geometric centre ``s`` of the spectrum.

    Examples
    --------
    >>> spectra(4, min_scale=2.0, max_scale=1.0)   # checked when built, not when drawn
    Traceback (most recent call last):
        ...
    ValueError: min_scale must be <= max_scale, got 2.0 > 1.0
    """
    kappa = check_positive_scalar(max_condition, "max_condition")
    if kappa < 1:
        raise ValueError(f"max_condition must be >= 1, got {kappa}")
    scales = _log_uniform(*_check_range(min_scale, max_scale, "min_scale", "max_scale"))
    dims = _strategy(dim, dimensions(), "dim")
    log_kappa = math.log(kappa)

    @st.composite
    def draw_spectrum(draw: st.DrawFn) -> NDArray:
        d = draw(dims)
        s = draw(scales)
        t = draw(hnp.arrays(np.float64, (d,), elements=st.floats(-0.5, 0.5)))
        return s * np.exp(log_kappa * t)

    return draw_spectrum()


def _rotation(params: NDArray, d: int) -> NDArray:
    """Cayley transform (I - S)^-1 (I + S) of the skew S with upper triangle ``params``.

    Orthogonal with determinant 1, the identity at S = 0, and every rotation
    without eigenvalue -1 is reached (cheaper than a matrix exponential).
    """
    skew = np.zeros((d, d))
    skew[np.triu_indices(d, 1)] = params
    skew = skew - skew.T
    eye = np.eye(d)
    return np.linalg.solve(eye - skew, eye + skew)


def covariances(dim: int | SearchStrategy[int] | None = None, *, max_condition: float = 100.0,
                min_scale: float = 0.1, max_scale: float = 10.0,
                rotate: bool = True) -> SearchStrategy[NDArray]:
    r"""Symmetric positive definite :math:`\Sigma` with condition number <= ``max_condition``.

    :math:`\Sigma = Q\,\mathrm{diag}(\lambda)\,Q^\top` with eigenvalues from
    :func:`spectra` and a rotation :math:`Q = (I - S)^{-1}(I + S)` (Cayley
    transform of a skew-symmetric :math:`S` whose upper triangle is drawn in
    :math:`[-2, 2]`; it shrinks to the identity, i.e. a diagonal
    :math:`\Sigma`). ``rotate=False`` gives diagonal matrices.

    Parameters
    ----------
    dim : int, strategy of ints, or None
        Dimension ``d`` (default: :func:`dimensions`, 2 to 8).
    max_condition : float
        Upper bound on :math:`\lambda_{max}/\lambda_{min}`, >= 1.
    min_scale, max_scale : float
        Range of the geometric mean of the extreme eigenvalues (see :func:`spectra`).
    rotate : bool
        Draw a rotation of the eigenbasis.

    Returns
    -------
    strategy of ndarray, shape (d, d)

    Examples
    --------
    >>> covariances(dim=3, max_condition=0.5)
    Traceback (most recent call last):
        ...
    ValueError: max_condition must be >= 1, got 0.5
    """
    spec_strategy = spectra(dim, max_condition=max_condition, min_scale=min_scale,
                            max_scale=max_scale)

    @st.composite
    def draw_covariance(draw: st.DrawFn) -> NDArray:
        spec = draw(spec_strategy)
        d = spec.shape[0]
        if not rotate:
            return np.diag(spec)
        angles = draw(hnp.arrays(np.float64, (d * (d - 1) // 2,),
                                 elements=st.floats(-2.0, 2.0)))
        q = _rotation(angles, d)
        cov = (q * spec) @ q.T
        return 0.5 * (cov + cov.T)

    return draw_covariance()


# ---------------------------------------------------------------------------
# points and tangent vectors


def points(cov: ArrayLike | SearchStrategy,
           n: int | tuple[int, ...] | None | SearchStrategy = None) -> SearchStrategy[NDArray]:
    r"""Points of :math:`N_\Sigma = \{u : u^\top\Sigma u = 1\}`, shape ``n + (d,)``.

    :math:`u = \varphi(v) = v/\|v\|_\Sigma` for a direction ``v`` whose entries
    are drawn in ``[-1, 1]`` (rows shorter than 1e-3 are replaced by the first
    coordinate vector, which is also where shrinking leads).

    Parameters
    ----------
    cov : array_like, shape (d, d), or a strategy of them
        Symmetric positive definite :math:`\Sigma`. A strategy (for example
        :func:`covariances`) is drawn first; to get the drawn covariance back
        with the points, use :func:`cov_and_points`.
    n : int, tuple of ints, None, or a strategy of them
        Batch shape: None for one point of shape ``(d,)``, an int ``n`` for
        ``(n, d)``, a tuple for arbitrary leading axes.

    Examples
    --------
    >>> import numpy as np
    >>> points(np.diag([1.0, -1.0]), n=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: cov must be positive definite, but it is indefinite: ...
    """
    if isinstance(cov, SearchStrategy) or isinstance(n, SearchStrategy):
        return st.tuples(_as_strategy(cov), _as_strategy(n)).flatmap(
            lambda drawn: points(*drawn))
    cov = check_covariance(cov)
    shape = _batch_shape(n) + (cov.shape[0],)
    return hnp.arrays(np.float64, shape, elements=_UNIT_FLOATS).map(
        lambda raw: normalize_to_manifold(_directions(raw), cov))


def tangent_vectors(base_point: ArrayLike | SearchStrategy, cov: ArrayLike | SearchStrategy, *,
                    min_norm: float | SearchStrategy = 0.0,
                    max_norm: float | SearchStrategy = 1.0) -> SearchStrategy[NDArray]:
    r"""Tangent vectors :math:`\xi \in T_u N_\Sigma` with :math:`\|\xi\|_g` in a given range.

    Built through the isometry of MATH §5: a direction drawn in ``[-1, 1]^d``
    is projected onto the tangent space of the round sphere at
    :math:`\breve u = u/\|u\|`, scaled to a drawn length :math:`\rho`, and
    mapped by :math:`d\varphi_{\breve u}`; since :math:`\psi` is an isometry,
    :math:`\|\xi\|_g = \rho` (the metric of radius 1; for radius ``r`` the
    length is ``r * rho``). Shrinks towards short vectors. One vector per row
    of ``base_point``.

    Parameters
    ----------
    base_point : array_like, shape (..., d), or a strategy of them
        Points of :math:`N_\Sigma`.
    cov : array_like, shape (d, d), or a strategy of them
        Every argument may be a value or a strategy (drawn first, independently:
        a strategy of points must give points of the covariance drawn with it;
        :func:`cov_point_tangent` draws a consistent triple).
    min_norm, max_norm : float or strategies of floats
        Range of :math:`\|\xi\|_g`, ``0 <= min_norm <= max_norm``. Keep
        ``max_norm < pi`` where ``log(exp(xi)) == xi`` is needed. Lengths
        strictly between ``min_norm`` and 1e-8 are not drawn (they only probe
        floating-point underflow).

    Examples
    --------
    >>> import numpy as np
    >>> tangent_vectors(np.array([[2.0, 0.0]]), np.eye(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: base_point must lie on N_Sigma (u^T cov u = 1): ...
    """
    drawn = (base_point, cov, min_norm, max_norm)
    if any(isinstance(v, SearchStrategy) for v in drawn):
        return st.tuples(*map(_as_strategy, drawn)).flatmap(
            lambda v: tangent_vectors(v[0], v[1], min_norm=v[2], max_norm=v[3]))
    cov = check_covariance(cov)
    u = as_float_array(base_point, "base_point", min_ndim=1)
    if u.shape[-1] != cov.shape[0]:
        raise ValueError(f"base_point must have last dimension {cov.shape[0]} (from cov), "
                         f"got shape {u.shape}")
    check_on_manifold(u, u @ cov, "base_point")
    if not (np.isfinite(min_norm) and np.isfinite(max_norm) and 0 <= min_norm <= max_norm):
        raise ValueError(f"need 0 <= min_norm <= max_norm < inf, got min_norm={min_norm}, "
                         f"max_norm={max_norm}")
    unit = u / np.linalg.norm(u, axis=-1, keepdims=True)
    # A fixed tangent direction for degenerate draws: the coordinate vector with the
    # smallest |unit_j|, projected (its projection has length >= sqrt(1 - 1/d)).
    j = np.argmin(np.abs(unit), axis=-1)
    e = np.zeros_like(unit)
    np.put_along_axis(e, j[..., None], 1.0, axis=-1)
    fallback = e - unit * np.sum(unit * e, axis=-1, keepdims=True)
    fallback /= np.linalg.norm(fallback, axis=-1, keepdims=True)
    # Lengths strictly between min_norm and _MIN_LENGTH are not drawn: vectors of
    # length 1e-200 only probe floating-point underflow, not the geometry.
    low, high = float(min_norm), float(max_norm)
    if low >= _MIN_LENGTH or high < _MIN_LENGTH:
        lengths = st.floats(low, high, allow_nan=False, allow_infinity=False)
    else:
        lengths = st.one_of(st.just(low), st.floats(_MIN_LENGTH, high, allow_nan=False,
                                                    allow_infinity=False))

    def build(raw: NDArray, rho: NDArray) -> NDArray:
        zeta = raw - unit * np.sum(unit * raw, axis=-1, keepdims=True)
        size = np.linalg.norm(zeta, axis=-1, keepdims=True)
        short = size < _MIN_DIRECTION_NORM
        zeta = np.where(short, fallback, zeta / np.where(short, 1.0, size))
        return sphere_to_manifold_differential(unit, zeta * rho[..., None], cov)

    return st.tuples(hnp.arrays(np.float64, u.shape, elements=_UNIT_FLOATS),
                     hnp.arrays(np.float64, u.shape[:-1], elements=lengths)).map(
        lambda pair: build(*pair))


# ---------------------------------------------------------------------------
# consistent samples (composite strategies)

#: Array libraries the samples of :func:`cov_and_points` and :func:`cov_point_tangent` come in.
#: bngeom's core accepts CPU torch tensors and jax arrays and converts them to numpy (its
#: results are numpy arrays); the adapters' samples (:func:`bn_spaces`, :func:`bn_manifolds`)
#: are numpy only.
ARRAY_LIBRARIES = ("numpy", "torch", "jax")


class CovPoints(NamedTuple):
    """A covariance and points on its :math:`N_\\Sigma` (from :func:`cov_and_points`)."""

    cov: Any
    points: Any


class CovPointTangent(NamedTuple):
    """A covariance, points and tangent vectors there (from :func:`cov_point_tangent`)."""

    cov: Any
    point: Any
    tangent: Any


class SpacePoints(NamedTuple):
    """A geomstats ``BNSpace`` and points ``(u, a)`` on it (from :func:`bn_spaces`)."""

    space: Any
    points: NDArray


class ManifoldPoint(NamedTuple):
    """A pymanopt ``BNManifold``, a point ``[U, a]`` and a tangent vector (:func:`bn_manifolds`)."""

    manifold: Any
    point: list
    tangent: Any


def _converter(array: str) -> Any:
    """numpy -> the array library ``array`` (float64 kept), checked when the strategy is built."""
    if array not in ARRAY_LIBRARIES:
        raise ValueError(f"array must be one of {ARRAY_LIBRARIES}, got {array!r}")
    if array == "torch":
        import torch

        return torch.from_numpy
    if array == "jax":
        import jax
        import jax.numpy as jnp

        if not jax.config.jax_enable_x64:
            raise ValueError("array='jax' needs 64-bit jax (jax.config.update('jax_enable_x64', "
                             "True)); float32 samples would not have float64's accuracy")
        return jnp.asarray
    return lambda x: x


def cov_and_points(dim: int | SearchStrategy[int] | None = None,
                   n: int | tuple[int, ...] | None | SearchStrategy = None, *,
                   max_condition: float = 100.0, array: str = "numpy"
                   ) -> SearchStrategy[CovPoints]:
    r"""A covariance :math:`\Sigma` (:func:`covariances`) with points on its :math:`N_\Sigma`.

    Parameters
    ----------
    dim : int, strategy of ints, or None
        Dimension ``d`` (default: :func:`dimensions`).
    n : int, tuple of ints, None, or a strategy of them
        Batch shape of the points (see :func:`points`).
    max_condition : float
        Bound on the condition number of :math:`\Sigma`.
    array : {"numpy", "torch", "jax"}
        Array library of ``cov`` and ``points`` (float64; jax needs x64 enabled).

    Examples
    --------
    >>> CovPoints._fields    # a sample; drawn in the module's example
    ('cov', 'points')
    >>> cov_and_points(dim=3, array="cupy")
    Traceback (most recent call last):
        ...
    ValueError: array must be one of ('numpy', 'torch', 'jax'), got 'cupy'
    """
    to_array = _converter(array)

    @st.composite
    def draw_sample(draw: st.DrawFn) -> CovPoints:
        cov = draw(covariances(dim, max_condition=max_condition))
        u = draw(points(cov, n))
        return CovPoints(to_array(cov), to_array(u))

    return draw_sample()


def cov_point_tangent(dim: int | SearchStrategy[int] | None = None,
                      n: int | tuple[int, ...] | None | SearchStrategy = None, *,
                      max_condition: float = 100.0, min_norm: float = 0.0,
                      max_norm: float = 1.0, array: str = "numpy"
                      ) -> SearchStrategy[CovPointTangent]:
    r"""A consistent triple: :math:`\Sigma`, points :math:`u`, tangent vectors :math:`\xi\in T_u`.

    Parameters as :func:`cov_and_points`, and ``min_norm``, ``max_norm`` the range
    of :math:`\|\xi\|_g` (see :func:`tangent_vectors`).

    Examples
    --------
    >>> CovPointTangent._fields    # a sample; drawn in the module's example
    ('cov', 'point', 'tangent')
    """
    to_array = _converter(array)

    @st.composite
    def draw_sample(draw: st.DrawFn) -> CovPointTangent:
        cov = draw(covariances(dim, max_condition=max_condition))
        u = draw(points(cov, n))
        xi = draw(tangent_vectors(u, cov, min_norm=min_norm, max_norm=max_norm))
        return CovPointTangent(to_array(cov), to_array(u), to_array(xi))

    return draw_sample()


def bn_spaces(dim: int | SearchStrategy[int] | None = None,
              n: int | tuple[int, ...] | None | SearchStrategy = None, *,
              max_condition: float = 100.0,
              radius: float | SearchStrategy[float] | None = None,
              max_output_weight: float = 2.0) -> SearchStrategy[SpacePoints]:
    r"""A geomstats :class:`~bngeom.adapters.geomstats.BNSpace` with points ``(u, a)`` on it.

    Needs geomstats. ``radius`` (default :func:`radii`, shrinking to 1) is the
    space's neuron radius; ``a`` is drawn in ``[-max_output_weight,
    max_output_weight]``. Points have shape ``n + (d + 1,)``; numpy only.

    Examples
    --------
    >>> SpacePoints._fields    # a sample; drawn in the module's example
    ('space', 'points')
    """
    from bngeom.adapters.geomstats import BNSpace

    radius_strategy = _strategy(radius, radii(), "radius")
    bound = check_positive_scalar(max_output_weight, "max_output_weight")

    @st.composite
    def draw_sample(draw: st.DrawFn) -> SpacePoints:
        cov, u = draw(cov_and_points(dim, n, max_condition=max_condition))
        a = draw(hnp.arrays(np.float64, u.shape[:-1] + (1,), elements=_nonnegligible(bound)))
        return SpacePoints(BNSpace(cov, draw(radius_strategy)), np.concatenate([u, a], axis=-1))

    return draw_sample()


def bn_manifolds(dim: int | SearchStrategy[int] | None = None,
                 width: int | SearchStrategy[int] | None = None, *,
                 max_condition: float = 100.0, min_radius: float = 0.1,
                 max_radius: float = 10.0, max_norm: float = 1.0,
                 max_output_weight: float = 2.0) -> SearchStrategy[ManifoldPoint]:
    r"""A pymanopt :class:`~bngeom.adapters.pymanopt.BNManifold`, a point and a tangent vector.

    Needs pymanopt. The manifold's covariance comes from :func:`covariances`, its
    radii from :func:`radii` in ``[min_radius, max_radius]``; the point is
    ``[U, a]`` and the tangent vector a :class:`~bngeom.adapters.pymanopt.BNTangentVector`
    ``[xi, alpha]`` with row lengths :math:`\|\xi_k\|_g \le` ``max_norm``. Numpy only.

    Examples
    --------
    >>> ManifoldPoint._fields    # a sample; drawn in the module's example
    ('manifold', 'point', 'tangent')
    """
    from bngeom.adapters.pymanopt import BNManifold, BNTangentVector

    widths_strategy = _strategy(width, widths(), "width")
    radius_strategy = radii(min_value=min_radius, max_value=max_radius)
    bound = check_positive_scalar(max_output_weight, "max_output_weight")
    check_positive_scalar(max_norm, "max_norm")

    @st.composite
    def draw_sample(draw: st.DrawFn) -> ManifoldPoint:
        m = draw(widths_strategy)
        cov, U, xi = draw(cov_point_tangent(dim, m, max_condition=max_condition,
                                            max_norm=max_norm))
        r = draw(hnp.arrays(np.float64, (m,), elements=radius_strategy))
        a, alpha = (draw(hnp.arrays(np.float64, (m,), elements=_nonnegligible(bound)))
                    for _ in range(2))
        return ManifoldPoint(BNManifold(cov, m, r), [U, a], BNTangentVector([xi, alpha]))

    return draw_sample()


# ---------------------------------------------------------------------------
# whole problems


class Network(NamedTuple):
    """A drawn BN problem: data, targets, parameters, covariance, activation and loss.

    ``X`` (n, d) is centred, ``cov`` (d, d) is its biased covariance
    :math:`X^\\top X/n`, ``W`` (m, d) has rows of Euclidean length ``radii``,
    ``a`` (m,) are the output weights, and ``y`` (n,) are real targets for the
    squared loss or labels in {-1, +1} for the logistic loss.
    """

    X: NDArray
    y: NDArray
    W: NDArray
    a: NDArray
    cov: NDArray
    activation: str
    loss: str


def networks(dim: int | SearchStrategy[int] | None = None,
             width: int | SearchStrategy[int] | None = None,
             n_samples: int | SearchStrategy[int] | None = None,
             activation: str | SearchStrategy[str] | None = None,
             loss: str | SearchStrategy[str] | None = None, *,
             max_condition: float = 100.0, min_radius: float = 0.1,
             max_radius: float = 10.0, max_output_weight: float = 2.0
             ) -> SearchStrategy[Network]:
    r"""Random two-layer BN networks with data: :class:`Network` ``(X, y, W, a, cov, ...)``.

    Drawn from hypothesis: the dimension, width, number of samples, the data
    spectrum (:func:`spectra`), whether its eigenbasis is rotated, every
    neuron's direction and radius (:func:`radii`), the output weights in
    ``[-max_output_weight, max_output_weight]`` (0 or at least 1e-6 of the bound
    in size), the activation and the loss.
    The Gaussian data and the targets come from a drawn seed through
    :func:`bngeom.data.anisotropic_gaussian`. Pre-activations of generic
    data never hit the kinks of relu and leaky_relu exactly.

    Parameters
    ----------
    dim, width, n_samples : int, strategy of ints, or None
        Defaults: d in 2..8, m in 1..8, n in ``max(20, 5 d)..160``.
    activation, loss : str, strategy of str, or None
        Defaults: :func:`activation_names`, :func:`loss_names`.
    max_condition : float
        Bound on the condition number of the population spectrum (the
        sample covariance is somewhat worse conditioned).
    min_radius, max_radius : float
        Range of the neuron radii :math:`\|w_k\|`.
    max_output_weight : float
        Bound on :math:`|a_k|`.

    Examples
    --------
    >>> Network._fields    # a sample; drawn in the module's example
    ('X', 'y', 'W', 'a', 'cov', 'activation', 'loss')
    """
    dims = _strategy(dim, dimensions(), "dim")
    ws = _strategy(width, widths(), "width")
    acts = _strategy(activation, activation_names(), "activation")
    losses = _strategy(loss, loss_names(), "loss")
    radius_strategy = radii(min_value=min_radius, max_value=max_radius)
    bound = check_positive_scalar(max_output_weight, "max_output_weight")
    # Validate the spectrum arguments eagerly.
    spectra(2, max_condition=max_condition)

    @st.composite
    def draw_network(draw: st.DrawFn) -> Network:
        d = draw(dims)
        m = draw(ws)
        n = draw(_strategy(n_samples, st.integers(max(20, 5 * d), 160), "n_samples"))
        if n <= d:
            raise ValueError(f"n_samples must exceed the dimension for a definite covariance, "
                             f"got n_samples={n} <= d={d}")
        spectrum = draw(spectra(d, max_condition=max_condition))
        rotate = draw(st.booleans())
        seed = draw(st.integers(0, 2**32 - 1))
        act = draw(acts)
        lo = draw(losses)
        directions = _directions(draw(hnp.arrays(np.float64, (m, d), elements=_UNIT_FLOATS)))
        r = draw(hnp.arrays(np.float64, (m,), elements=radius_strategy))
        a = draw(hnp.arrays(np.float64, (m,), elements=_nonnegligible(bound)))
        gen = np.random.default_rng(seed)
        X, cov = anisotropic_gaussian(n, spectrum, gen, rotate=rotate)
        y = gen.choice([-1.0, 1.0], size=n) if lo == "logistic" else gen.standard_normal(n)
        return Network(X, y, directions * r[:, None], a, cov, act, lo)

    return draw_network()
