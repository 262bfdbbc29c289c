r"""The metric core: the geometry of :math:`(N_\Sigma, g)` in closed form, batched.

:math:`N_\Sigma = \{u \in \mathbb{R}^d : u^\top\Sigma u = 1\}` carries the metric of
Proposition 1, :math:`g_u(\xi, \eta) = \xi^\top G(u)^+ \eta` on
:math:`T_u N_\Sigma = \{\xi : \xi^\top\Sigma u = 0\}`, with the cometric matrix

.. math:: G(u) = \|u\|^2 (I - u u^\top\Sigma)(I - \Sigma u u^\top)      \qquad (7)

A neuron of radius :math:`r` carries :math:`r^2 g`. The pseudo-inverse is the
definition and stays available (:func:`metric_matrix`) as the test oracle; every
other operation uses the isometry :math:`\psi(u) = u/\|u\|` onto the round sphere
(MATH §5) and costs O(d) per point once :math:`\Sigma u` is known.

Every function is vectorized over leading batch axes: points and vectors of
shape ``(..., d)`` broadcast against each other. Pass ``validate=False`` in hot
loops whose input is known to be valid; by default points must lie on
:math:`N_\Sigma` and tangent vectors in :math:`T_u N_\Sigma` (relative tolerance
1e-6), and anything else raises ``ValueError``.

The contract shared by every function below (written once, here):

* ``cov`` (array_like, shape ``(d, d)``, or an :class:`NSigma`): the covariance
  :math:`\Sigma`, symmetric positive definite. It is checked once: pass an :class:`NSigma`
  built from it, which every function accepts in place of ``cov`` unchecked, or pass the same
  array again (the last few checked arrays are remembered, and compared in O(d^2)).
* ``radius`` (keyword-only; float or array_like broadcasting to the batch shape, default 1):
  the radius :math:`r > 0` of the neurons; the metric is :math:`r^2 g`.
* ``validate`` (keyword-only, default True): check the inputs fully (real, finite, shapes that
  broadcast, points on :math:`N_\Sigma` and vectors in :math:`T_u N_\Sigma` to 1e-6
  relative). Pass False in hot loops whose input is known to be valid. Per-call checks of
  points and vectors are linear in the batch.
* Arrays: points and vectors may be numpy arrays, torch tensors (CPU; float64 or float32),
  jax arrays or autograd's traced arrays (and those of any array API library); the metric
  functions, the geodesics, the projections, the metric matrices and the curvature compute
  on them natively (one definition of each formula, :mod:`bngeom._xp`), so the result has
  the input's type and dtype and automatic derivatives flow through it. The checks of
  ``validate`` run on a numpy view of the input; under ``jax.jit`` pass ``validate=False``.
  ``random_point``, ``random_tangent_vector``, ``belongs``, ``is_tangent`` and the constant
  curvatures return numpy arrays.
* Errors: with ``validate``, a ``ValueError`` names the argument and the broken condition
  (``cov`` not symmetric positive definite, a point off :math:`N_\Sigma`, a vector not
  tangent, an input not finite, shapes that do not broadcast, a radius not positive, a
  request beyond the available memory) and a ``TypeError`` an input that is not a real
  numeric array (complex, object, float16, masked).

Examples
--------
>>> import numpy as np
>>> from bngeom import geometry as geo
>>> cov = np.diag([4.0, 1.0, 0.25])
>>> u = geo.random_point(cov, 3, rng=0)
>>> xi = geo.random_tangent_vector(u, cov, rng=1)
>>> v = geo.exp(u, xi, cov)
>>> bool(np.allclose(geo.log(u, v, cov), xi))
True
>>> bool(np.allclose(geo.dist(u, v, cov), geo.norm(u, xi, cov)))
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._covariance import NSigma, checked_covariance
from bngeom._validation import (
    as_float_array,
    as_generator,
    check_dimension,
    check_memory,
    check_on_manifold,
    check_positive_int,
    check_radius,
    check_same_leading,
    check_tangent,
)
from bngeom._xp import NUMPY, ArrayNamespace, is_numpy, namespace, to_numpy
from bngeom.geometry.charts import chart, row_scale, safe_squares

__all__ = [
    "NSigma",
    "cometric_matrix",
    "metric_matrix",
    "bn_cometric_matrix",
    "pinv_metric_matrix",
    "oblique_projection",
    "to_tangent",
    "belongs",
    "is_tangent",
    "inner_product",
    "squared_norm",
    "norm",
    "riemannian_gradient",
    "riemannian_hessian",
    "exp",
    "log",
    "dist",
    "squared_dist",
    "geodesic",
    "parallel_transport",
    "injectivity_radius",
    "random_point",
    "random_tangent_vector",
    "curvature",
    "sectional_curvature",
    "riemann_tensor",
    "ricci_tensor",
    "scalar_curvature",
    "curvature_derivative",
    "directional_curvature_derivative",
]

# Below this sine of the angle, two unit vectors are treated as (anti)parallel.
_PARALLEL_SIN = 1e-15
#: Batches of at least this many points, given as (N, d) float64 arrays of one shape (and a
#: scalar radius or one per point), go through the fused, threaded kernels of
#: :mod:`bngeom.geometry._compiled` (the same closed forms, equal to a few ulp).
FUSED_MIN_POINTS = 4096


# ---------------------------------------------------------------------------
# argument handling


def _any_array(function: Callable) -> Callable:
    """Let ``function`` take torch, jax, autograd-traced and other array API arrays.

    Its checks run once, at the boundary, on the arrays' detached numpy views (the numpy
    path raises the one error message); then it computes on the arrays themselves with
    ``validate=False``, where its formulas run on their namespace (:mod:`bngeom._xp`). On
    numpy input it costs one type test per argument.
    """

    @functools.wraps(function)
    def wrapper(*args, validate: bool = True, **kwargs):
        if validate and not all(type(a) in _PLAIN for a in args) \
                and not is_numpy(namespace(*args, *kwargs.values())):
            function(*map(_numpy_view, args), validate=True,
                     **{k: _numpy_view(v) for k, v in kwargs.items()})
            validate = False
        return function(*args, validate=validate, **kwargs)

    return wrapper


_PLAIN = (np.ndarray, float, int, list, NSigma)


def _numpy_view(value: object) -> object:
    """:func:`bngeom._xp.to_numpy`, or a TypeError where a traced array has no values yet."""
    try:
        view = to_numpy(value)
    except Exception as exc:  # jax under jit: abstract tracers have no values to check
        raise TypeError(f"cannot check an array without concrete values ({type(value).__name__}"
                        "); pass validate=False under jax.jit") from exc
    if view is None and value is not None:
        raise TypeError(f"cannot check an array without concrete values ({type(value).__name__}"
                        "); pass validate=False under jax.jit")
    return view


def _cov(cov: ArrayLike | NSigma, validate: bool) -> NDArray:
    if isinstance(cov, NSigma):
        return cov.cov
    return checked_covariance(cov) if validate else np.asarray(cov)


def _point(u: ArrayLike, cov: NDArray, validate: bool, name: str = "base_point", *,
           normal: bool = True, xp: ArrayNamespace = NUMPY) -> tuple[NDArray, NDArray | None]:
    """Return ``u`` and its normal ``Sigma u``, checking u lies on N_Sigma.

    With ``normal=False`` and no validation the O(d^2) product is skipped
    (``None`` is returned in its place). Foreign arrays (``xp`` not numpy) come here
    unchecked (:func:`_any_array` checked them).
    """
    if validate:
        u = as_float_array(u, name, min_ndim=1)
        check_dimension(u, cov.shape[0], name)
    else:
        u = _array(u, xp)
    if not (normal or validate):
        return u, None
    cov_u = u @ xp.like(cov, u)
    if validate:
        check_on_manifold(u, cov_u, name)
    return u, cov_u


def _array(value: ArrayLike, xp: ArrayNamespace) -> NDArray:
    """An unchecked argument as an array of ``xp`` (numpy: :func:`numpy.asarray`)."""
    return np.asarray(value) if is_numpy(xp) or type(value) is list else value


def _fused(*arrays: NDArray, radius: ArrayLike = 1.0) -> bool:
    """Whether the fused kernels apply: one (N, d) float64 shape, N large, radius () or (N,)."""
    first = arrays[0]
    if type(first) is not np.ndarray:
        return False
    # d >= 2: for d = 1 the numpy path raises at the cut locus (N_Sigma is two points).
    return (first.ndim == 2 and first.shape[0] >= FUSED_MIN_POINTS and first.shape[1] >= 2
            and np.shape(radius) in ((), first.shape[:1])
            and all(a.shape == first.shape and a.dtype == np.float64 for a in arrays))


def _vector(xi: ArrayLike, u: NDArray, cov_u: NDArray, validate: bool,
            name: str = "tangent_vec", xp: ArrayNamespace = NUMPY) -> NDArray:
    if not validate:
        return _array(xi, xp)
    xi = as_float_array(xi, name, min_ndim=1)
    check_dimension(xi, u.shape[-1], name)
    check_same_leading(u, xi, "base_point", name)
    if xi.size and float(max(xi.max(), -xi.min())) > _MAX_ENTRY:
        # squares of the entries (norms, inner products) would overflow to inf and NaN
        raise ValueError(f"{name} must have entries of magnitude <= {_MAX_ENTRY:.0e} (its "
                         f"norm would overflow float64), got {np.abs(xi).max():.3g}")
    check_tangent(xi, cov_u, name)
    return xi


#: Largest entry of a validated tangent vector: its square stays far from overflow.
_MAX_ENTRY = 1e150


def _radius(radius: ArrayLike, validate: bool, u: NDArray, xp: ArrayNamespace = NUMPY
            ) -> NDArray | float:
    """The radius, checked against the batch shape of ``u``, in ``u``'s namespace."""
    if validate:
        return check_radius(radius, leading=u.shape[:-1])
    return radius if is_numpy(xp) or isinstance(radius, (int, float)) else xp.like(radius, u)


def _radius_sq(radius: ArrayLike, validate: bool, u: NDArray, xp: ArrayNamespace = NUMPY
               ) -> NDArray | float:
    r = _radius(radius, validate, u, xp)
    return r * r


def _matrix_memory(base_point: ArrayLike, copies: int) -> None:
    """Refuse a batch of (d, d) matrices that cannot fit in memory (``copies`` at the peak).

    Runs before any other check: it needs only the shape of ``base_point``.
    """
    try:
        shape = np.shape(base_point)
    except ValueError:  # ragged: the point's own check reports it
        return
    if not shape:
        return  # the point's own check reports it
    leading, d = shape[:-1], shape[-1]
    check_memory(8.0 * copies * float(np.prod(leading, dtype=float)) * d * d, "base_point",
                 f"the {(*leading, d, d)} matrices and their temporaries")


def _dot(x: NDArray, y: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    """Row-wise inner product keeping the last axis (for broadcasting)."""
    return xp.rowdot(x, y)[..., None]


# ---------------------------------------------------------------------------
# matrices: the paper's G(u) and G(u)^+ (O(d^2), O(d^3)), and their SPD ambient completions


@_any_array
def bn_cometric_matrix(base_point: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                       validate: bool = True) -> NDArray:
    r"""The paper's cometric matrix :math:`G(u)/r^2` of eq. (7), shape ``(..., d, d)``.

    :math:`G(u) = \|u\|^2 (I - u u^\top\Sigma)(I - \Sigma u u^\top)`; its range is
    :math:`T_u N_\Sigma` and it maps Euclidean gradients to Riemannian ones
    (Theorem 2). It is singular (null space :math:`\Sigma u`); :func:`cometric_matrix`
    is its SPD completion, the inverse of :func:`metric_matrix`.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d)
        :math:`G(u)/r^2`: symmetric positive semi-definite, of rank d - 1, with range
        :math:`T_u N_\Sigma`.

    Examples
    --------
    >>> import numpy as np
    >>> G = bn_cometric_matrix(np.array([1.0, 0.0]), np.eye(2))
    >>> G.tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    _matrix_memory(base_point, 4)
    cov = _cov(cov, validate)
    xp = namespace(base_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    r_sq = _radius_sq(radius, validate, u, xp)
    return _bn_cometric(u, cov_u, xp) / _expand(r_sq, 2)


def _bn_cometric(u: NDArray, cov_u: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    r""":math:`G(u) = \|u\|^2 P_u P_u^\top` with :math:`P_u = I - u u^\top\Sigma`, eq. (7)."""
    proj = xp.eye(u.shape[-1], dtype=u.dtype) - u[..., :, None] * cov_u[..., None, :]
    sq = xp.sum(u * u, axis=-1)[..., None, None]
    return sq * (proj @ xp.matrix_transpose(proj))


@_any_array
def pinv_metric_matrix(base_point: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                       validate: bool = True) -> NDArray:
    r"""The paper's metric matrix :math:`r^2 G(u)^+` of Proposition 1, by pseudo-inverse.

    The definition (Moore-Penrose pseudo-inverse of eq. (7)'s :math:`G(u)`), O(d^3)
    per point: symmetric, annihilates the normal :math:`\Sigma u`, positive definite on
    :math:`T_u N_\Sigma`. It is the test oracle; :func:`metric_matrix` is its SPD
    completion and :func:`inner_product` the O(d) closed form.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d)
        :math:`r^2 G(u)^+`: symmetric positive semi-definite, with null space spanned by
        :math:`\Sigma u`.

    Examples
    --------
    >>> import numpy as np
    >>> pinv_metric_matrix(np.array([1.0, 0.0]), np.eye(2)).round(12).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    _matrix_memory(base_point, 8)  # the pseudo-inverse's eigenvectors and workspace
    cov = _cov(cov, validate)
    xp = namespace(base_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    r_sq = _radius_sq(radius, validate, u, xp)
    # the null eigenvalue (along Sigma u) is 0 up to rounding, the others are at least
    # |u|^2 cos^2(u, Sigma u) >= |u|^2 4 kappa / (1 + kappa)^2: a relative cut of 1e-10
    # (float32: at 100 eps, above its rounding)
    cut = max(_PINV_RCOND, 100 * float(xp.finfo(u.dtype).eps))
    g_plus = xp.linalg.pinv(_bn_cometric(u, cov_u, xp), rtol=cut, hermitian=True)
    return g_plus * _expand(r_sq, 2)


#: Relative cut-off of the pseudo-inverse in :func:`pinv_metric_matrix`.
_PINV_RCOND = 1e-10


def _normal_projector(cov_u: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    r""":math:`n n^\top` with the unit normal :math:`n = \Sigma u/\|\Sigma u\|`, (..., d, d)."""
    return cov_u[..., :, None] * cov_u[..., None, :] / xp.sum(cov_u * cov_u, axis=-1)[
        ..., None, None]


@_any_array
def metric_matrix(base_point: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                  validate: bool = True) -> NDArray:
    r"""SPD metric matrix :math:`r^2 (G(u)^+ + n n^\top)` with :math:`n = \Sigma u/\|\Sigma u\|`.

    Proposition 1's :math:`G(u)^+` (:func:`pinv_metric_matrix`) completed along the
    unit normal (MATH §4, docs/math.md §10). :math:`G^+` is symmetric PSD with
    null space :math:`\mathrm{span}(n)` and range :math:`T_u = n^\perp`; :math:`n n^\top`
    is the identity on :math:`\mathrm{span}(n)` and zero on :math:`T_u`, so the sum is
    SPD and equals :math:`g` on tangent vectors (:math:`n^\top\xi = 0`). The normal is
    :math:`g`-orthogonal to :math:`T_u` for this matrix, so the orthogonal projection
    onto :math:`T_u` is the Euclidean one (:func:`to_tangent`). For :math:`\Sigma = I`
    it is the identity, geomstats' ``Hypersphere`` metric matrix. Computed in closed
    form, O(d^2): with :math:`Q = I - n n^\top`,
    :math:`G^+ = (Q - Q u u^\top Q/\|u\|^2)/\|u\|^2` (the closed-form metric of MATH §4
    on :math:`T_u`, zero along :math:`n`).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d)
        Symmetric positive definite; :math:`\xi^\top M \eta = r^2 g_u(\xi, \eta)` for
        tangent vectors; the inverse of :func:`cometric_matrix`.

    Examples
    --------
    >>> import numpy as np
    >>> metric_matrix(np.array([0.6, 0.8]), np.eye(2)).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> cov = np.diag([4.0, 1.0])
    >>> u = np.array([0.3, 0.8])
    >>> m = metric_matrix(u, cov, radius=2.0)
    >>> bool(np.allclose(m, pinv_metric_matrix(u, cov, radius=2.0)
    ...                  + 4.0 * np.outer(cov @ u, cov @ u) / (u @ cov @ cov @ u)))
    True
    """
    _matrix_memory(base_point, 8)  # G^+, n n^T, Q and their products
    cov = _cov(cov, validate)
    xp = namespace(base_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    g_plus, nn = _pinv_closed_form(u, cov_u, xp)
    r_sq = _radius_sq(radius, validate, u, xp)
    return (g_plus + nn) * _expand(r_sq, 2)


def _pinv_closed_form(u: NDArray, cov_u: NDArray, xp: ArrayNamespace = NUMPY
                      ) -> tuple[NDArray, NDArray]:
    r""":math:`G(u)^+ = (Q - Q u u^\top Q/\|u\|^2)/\|u\|^2` and :math:`n n^\top`.

    :math:`Q = I - n n^\top` projects onto :math:`T_u`: the closed-form metric of MATH §4
    on :math:`T_u`, extended by zero along the normal. Off :math:`N_\Sigma` (only seen by
    automatic differentiation) it is evaluated at :math:`\varphi(u) = u/\|u\|_\Sigma`, the
    factor :math:`1/\|u\|^2` becoming :math:`u^\top\Sigma u/\|u\|^2`: the ambient
    extension is 0-homogeneous, constant (the identity, as geomstats' ``Hypersphere``)
    for :math:`\Sigma = I`.
    """
    nn = _normal_projector(cov_u, xp)
    q = xp.eye(u.shape[-1], dtype=u.dtype) - nn
    qu = u - cov_u * (xp.sum(cov_u * u, axis=-1, keepdims=True)
                      / xp.sum(cov_u * cov_u, axis=-1, keepdims=True))     # Q u
    sq = xp.sum(u * u, axis=-1)[..., None, None]
    scale = xp.sum(u * cov_u, axis=-1)[..., None, None] / sq          # 1/|phi(u)|^2
    return (q - qu[..., :, None] * qu[..., None, :] / sq) * scale, nn


@_any_array
def cometric_matrix(base_point: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                    validate: bool = True) -> NDArray:
    r"""SPD cometric matrix :math:`(G(u) + n n^\top)/r^2`, the inverse of :func:`metric_matrix`.

    :math:`G(u)` of eq. (7) (:func:`bn_cometric_matrix`) and :math:`G(u)^+` act on the
    complementary orthogonal subspaces :math:`T_u` and :math:`\mathrm{span}(n)` as
    :math:`n n^\top`, so :math:`(G + n n^\top)(G^+ + n n^\top) = G G^+ + n n^\top = I`.
    Applied to a Euclidean gradient projected onto :math:`T_u` it gives the Riemannian
    gradient of Theorem 2 (:func:`riemannian_gradient`).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d)
        Symmetric positive definite; the identity for :math:`\Sigma = I`.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0])
    >>> u = np.array([0.3, 0.8])
    >>> c = cometric_matrix(u, cov, radius=2.0)
    >>> bool(np.allclose(c @ metric_matrix(u, cov, radius=2.0), np.eye(2)))
    True
    """
    _matrix_memory(base_point, 4)  # G, n n^T and their sum
    cov = _cov(cov, validate)
    xp = namespace(base_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    r_sq = _radius_sq(radius, validate, u, xp)
    # at phi(u) = u / |u|_Sigma (u itself on N_Sigma): the inverse of metric_matrix everywhere
    norm_sigma = xp.sqrt(xp.sum(u * cov_u, axis=-1))[..., None]
    g = _bn_cometric(u / norm_sigma, cov_u / norm_sigma, xp)
    return (g + _normal_projector(cov_u, xp)) / _expand(r_sq, 2)


def _expand(x: NDArray | float, n: int) -> NDArray | float:
    return x[(..., *(None,) * n)] if getattr(x, "ndim", 0) else x


# ---------------------------------------------------------------------------
# projections and membership


@_any_array
def oblique_projection(base_point: ArrayLike, vector: ArrayLike, cov: ArrayLike, *,
                       validate: bool = True) -> NDArray:
    r""":math:`P_u v = v - u\,u^\top\Sigma v`: onto :math:`T_u N_\Sigma` along ``u`` (MATH §3).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    vector : array_like, shape (..., d)
        Ambient vector(s) :math:`v`, broadcasting against ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        :math:`P_u v \in T_u N_\Sigma`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> oblique_projection(np.array([1.0, 0.0]), np.array([2.0, 3.0]), np.eye(2)).tolist()
    [0.0, 3.0]
    """
    u, cov_u, v, xp = _point_and_ambient(base_point, vector, cov, validate)
    return v - u * _dot(cov_u, v, xp)


@_any_array
def to_tangent(base_point: ArrayLike, vector: ArrayLike, cov: ArrayLike, *,
               validate: bool = True) -> NDArray:
    r"""Euclidean-orthogonal projection of ambient vectors onto :math:`T_u N_\Sigma`.

    :math:`v - \Sigma u\,(\Sigma u)^\top v / \|\Sigma u\|^2`: removes the
    component along the normal :math:`\Sigma u`. The arguments and the shape of the result
    are those of :func:`oblique_projection`; the two projections differ in their direction
    (along the normal here, along :math:`u` there).

    Parameters
    ----------
    base_point, vector, cov, validate
        As in :func:`oblique_projection`.

    Returns
    -------
    ndarray, shape (..., d)
        The Euclidean projection of :math:`v` onto :math:`T_u N_\Sigma`.

    Examples
    --------
    >>> import numpy as np
    >>> to_tangent(np.array([1.0, 0.0]), np.array([2.0, 3.0]), np.eye(2)).tolist()
    [0.0, 3.0]
    """
    u, cov_u, v, xp = _point_and_ambient(base_point, vector, cov, validate)
    return v - cov_u * (_dot(cov_u, v, xp) / _dot(cov_u, cov_u, xp))


def _point_and_ambient(base_point: ArrayLike, vector: ArrayLike, cov: ArrayLike,
                       validate: bool) -> tuple[NDArray, NDArray, NDArray, ArrayNamespace]:
    """``(u, Sigma u, v, xp)`` for the projections: a point and an ambient vector."""
    cov = _cov(cov, validate)
    xp = namespace(base_point, vector)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    return u, cov_u, _ambient(vector, cov, validate, "vector", xp), xp


def _ambient(v: ArrayLike, cov: NDArray, validate: bool, name: str, xp: ArrayNamespace
             ) -> NDArray:
    """An ambient vector (any direction) of dimension d: checked, or in ``xp`` unchecked."""
    if not validate:
        return _array(v, xp)
    v = as_float_array(v, name, min_ndim=1)
    check_dimension(v, cov.shape[0], name)
    return v


def belongs(point: ArrayLike, cov: ArrayLike, *, atol: float = 1e-8) -> NDArray:
    r"""Whether ``point`` lies on :math:`N_\Sigma`: :math:`|u^\top\Sigma u - 1| \le` ``atol``.

    Parameters
    ----------
    point : array_like, shape (..., d)
        Point(s) to test.
    atol : float, default 1e-8
        Keyword-only. Absolute tolerance.
    cov
        As in the module's shared contract.

    Returns
    -------
    ndarray of bool, shape (...,)
        True where the point lies on :math:`N_\Sigma`; all False if the last axis is not d.

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite, or ``point`` is empty, 0-d or not finite.
    TypeError
        If ``cov`` or ``point`` is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> belongs(np.array([[1.0, 0.0], [2.0, 0.0]]), np.eye(2)).tolist()
    [True, False]
    """
    cov = checked_covariance(cov)
    u = as_float_array(point, "point", min_ndim=1)
    if u.shape[-1] != cov.shape[0]:
        return np.zeros(u.shape[:-1], dtype=bool)
    return np.abs(np.einsum("...i,...i->...", u @ cov, u) - 1.0) <= atol


def is_tangent(base_point: ArrayLike, vector: ArrayLike, cov: ArrayLike, *,
               atol: float = 1e-8) -> NDArray:
    r"""Whether ``vector`` lies in :math:`T_u N_\Sigma`: :math:`|v^\top\Sigma u| \le` ``atol``.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` (not checked to lie on :math:`N_\Sigma`).
    vector : array_like, shape (..., d)
        Vector(s) to test, broadcasting against ``base_point``.
    atol : float, default 1e-8
        Keyword-only. Absolute tolerance.
    cov
        As in the module's shared contract.

    Returns
    -------
    ndarray of bool, shape (...,)
        True where :math:`v \in T_u N_\Sigma`, of the broadcast batch shape.

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite, or an input is empty, not finite or
        does not have last dimension d.
    TypeError
        If an input is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> is_tangent(np.array([1.0, 0.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2)).tolist()
    [True, False]
    """
    cov = checked_covariance(cov)
    u = as_float_array(base_point, "base_point", min_ndim=1)
    v = as_float_array(vector, "vector", min_ndim=1)
    check_dimension(u, cov.shape[0], "base_point")
    check_dimension(v, cov.shape[0], "vector")
    return np.abs(np.einsum("...i,...i->...", u @ cov, v)) <= atol


# ---------------------------------------------------------------------------
# the metric


def _inner(u: NDArray, xi: NDArray, eta: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    sq = xp.rowdot(u, u)
    return (xp.rowdot(xi, eta) - xp.rowdot(u, xi) * xp.rowdot(u, eta) / sq) / sq


@_any_array
def inner_product(base_point: ArrayLike, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                  cov: ArrayLike, *, radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""The metric :math:`r^2 g_u(\xi,\eta) = r^2\xi^\top G(u)^+\eta` in closed form (Prop. 1).

    For :math:`\xi, \eta \in T_u N_\Sigma` and :math:`\breve u = u/\|u\|`,

    .. math:: \xi^\top G(u)^+\eta = (\xi^\top\eta - (\breve u^\top\xi)(\breve u^\top\eta))/\|u\|^2.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec_a, tangent_vec_b : array_like, shape (..., d)
        Tangent vectors :math:`\xi, \eta \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`r^2 g_u(\xi, \eta)`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0])
    >>> u = np.array([0.5, 0.0]); xi = np.array([0.0, 1.0])
    >>> float(inner_product(u, xi, xi, cov))
    4.0
    """
    cov = _cov(cov, validate)
    xp = namespace(base_point, tangent_vec_a, tangent_vec_b)
    u, cov_u = _point(base_point, cov, validate, normal=False, xp=xp)
    xi = _vector(tangent_vec_a, u, cov_u, validate, "tangent_vec_a", xp)
    eta = _vector(tangent_vec_b, u, cov_u, validate, "tangent_vec_b", xp)
    r = _radius(radius, validate, u, xp)
    if _fused(u, xi, eta, radius=r):
        from bngeom.geometry import _compiled

        return _compiled.inner_product(u, xi, eta, r)
    return _inner(u, xi, eta, xp) * (r * r)


@_any_array
def squared_norm(base_point: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike, *,
                 radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""Squared length :math:`r^2 g_u(\xi, \xi)` (Prop. 1).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec : array_like, shape (..., d)
        Tangent vector(s) :math:`\xi \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`r^2 g_u(\xi, \xi) \ge 0`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> float(squared_norm(np.array([1.0, 0.0]), np.array([0.0, 3.0]), np.eye(2)))
    9.0
    """
    u, xi, xp = _point_and_tangent(base_point, tangent_vec, cov, validate)
    return _inner(u, xi, xi, xp) * _radius_sq(radius, validate, u, xp)


def _point_and_tangent(base_point: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike,
                       validate: bool) -> tuple[NDArray, NDArray, ArrayNamespace]:
    """``(u, xi, xp)`` for the lengths: a point and a tangent vector there."""
    cov = _cov(cov, validate)
    xp = namespace(base_point, tangent_vec)
    u, cov_u = _point(base_point, cov, validate, normal=False, xp=xp)
    return u, _vector(tangent_vec, u, cov_u, validate, xp=xp), xp


@_any_array
def norm(base_point: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike, *,
         radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""Length :math:`r\sqrt{g_u(\xi, \xi)}` (Prop. 1).

    Scale-safe: where the squares of :math:`\xi` underflow, it is computed from
    :math:`\xi/s` (MATH §8).

    Parameters
    ----------
    base_point, tangent_vec, cov, radius, validate
        As in :func:`squared_norm`.

    Returns
    -------
    ndarray, shape (...,)
        :math:`r\sqrt{g_u(\xi, \xi)} \ge 0`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> float(norm(np.array([1.0, 0.0]), np.array([0.0, 3.0]), np.eye(2), radius=2.0))
    6.0
    """
    u, xi, xp = _point_and_tangent(base_point, tangent_vec, cov, validate)
    r = _radius(radius, validate, u, xp)
    with np.errstate(under="ignore"):
        sq = _inner(u, xi, xi, xp)
    out = xp.sqrt0(xp.where(sq > 0, sq, 0.0)) * r
    tiny = sq < safe_squares(sq.dtype, xp)[0]
    if xp.maybe_any(tiny):
        # scale-safe (MATH §8): g is quadratic, so |xi|_g = s |xi / s|_g, s = max |xi_i|;
        # only where xi's squares underflow (validated vectors are <= 1e150: no overflow)
        s = row_scale(xi, xp)
        unit = xi / s
        sq_unit = _inner(u, unit, unit, xp)
        out = xp.where(tiny, xp.sqrt0(xp.where(sq_unit > 0, sq_unit, 0.0)) * s[..., 0] * r,
                       out)
    return out


@_any_array
def riemannian_gradient(base_point: ArrayLike, euclidean_grad: ArrayLike, cov: ArrayLike, *,
                        radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""The Riemannian gradient :math:`G(u)\nabla_u\tilde L / r^2` of Theorem 2.

    Computed as :math:`\|u\|^2 P_u P_u^\top \nabla / r^2` with
    :math:`P_u = I - u u^\top\Sigma`, O(d) once :math:`\Sigma u` is known. It
    equals minus the BN-induced velocity of eq. (7).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    euclidean_grad : array_like, shape (..., d)
        Euclidean gradient :math:`\nabla_u\tilde L` at :math:`u` (need not be tangent).
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        The Riemannian gradient, in :math:`T_u N_\Sigma`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> riemannian_gradient(np.array([1.0, 0.0]), np.array([1.0, 2.0]), np.eye(2)).tolist()
    [0.0, 2.0]
    """
    cov = _cov(cov, validate)
    xp = namespace(base_point, euclidean_grad)
    u, cov_u = _point(base_point, cov, validate, normal=False, xp=xp)
    grad = _ambient(euclidean_grad, cov, validate, "euclidean_grad", xp)
    r = _radius(radius, validate, u, xp)
    if _fused(u, grad, radius=r):
        from bngeom.geometry import _compiled

        return _compiled.riemannian_gradient(u, grad, cov, r)
    if cov_u is None:
        cov_u = u @ xp.like(cov, u)
    sq = _dot(u, u, xp)
    y = grad - cov_u * _dot(u, grad, xp)          # P_u^T grad
    out = sq * (y - u * _dot(cov_u, y, xp))       # ||u||^2 P_u y
    return out / _expand(r * r, 1)


@_any_array
def riemannian_hessian(base_point: ArrayLike, euclidean_grad: ArrayLike,
                       euclidean_hvp: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike, *,
                       radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""Riemannian Hessian of :math:`\tilde L` on :math:`(N_\Sigma, r^2 g)`, applied to a vector.

    Obtained by conjugating the sphere's Hessian of the 0-homogeneous
    :math:`F = \tilde L\circ\varphi` with the isometry (MATH §5). With
    :math:`\nabla = \nabla\tilde L(u)`, :math:`H\xi = \nabla^2\tilde L(u)\xi`
    (``euclidean_hvp``) and :math:`P_u = I - u u^\top\Sigma`:

    .. math:: \mathrm{Hess}\,\tilde L(u)[\xi] = \frac{1}{r^2}\Big(G(u) H\xi
              + \frac{u^\top\xi}{\|u\|^2} G(u)\nabla
              - \|u\|^2 P_u\big((u^\top\nabla)\Sigma\xi + (\nabla^\top\xi)\Sigma u\big)\Big).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    euclidean_grad : array_like, shape (..., d)
        Euclidean gradient :math:`\nabla_u\tilde L` at :math:`u` (need not be tangent).
    euclidean_hvp : array_like, shape (..., d)
        Euclidean Hessian-vector product :math:`\nabla^2\tilde L(u)\xi`.
    tangent_vec : array_like, shape (..., d)
        Tangent vector(s) :math:`\xi \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        :math:`\mathrm{Hess}\,\tilde L(u)[\xi] \in T_u N_\Sigma`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1.0, 0.0]); xi = np.array([0.0, 1.0])
    >>> # L(u) = u_0 on the unit circle: Hess = -u_0 * id on the tangent line
    >>> riemannian_hessian(u, np.array([1.0, 0.0]), np.zeros(2), xi, np.eye(2)).tolist()
    [0.0, -1.0]
    """
    cov = _cov(cov, validate)
    xp = namespace(base_point, euclidean_grad, euclidean_hvp, tangent_vec)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    xi = _vector(tangent_vec, u, cov_u, validate, xp=xp)
    grad = _ambient(euclidean_grad, cov, validate, "euclidean_grad", xp)
    hvp = _ambient(euclidean_hvp, cov, validate, "euclidean_hvp", xp)
    sq = _dot(u, u, xp)

    def cometric(v: NDArray) -> NDArray:
        y = v - cov_u * _dot(u, v, xp)
        return sq * (y - u * _dot(cov_u, y, xp))

    s = _dot(u, grad, xp) * (xi @ xp.like(cov, xi)) + _dot(grad, xi, xp) * cov_u
    out = (cometric(hvp) + (_dot(u, xi, xp) / sq) * cometric(grad)
           - sq * (s - u * _dot(cov_u, s, xp)))
    return out / _expand(_radius_sq(radius, validate, u, xp), 1)


# ---------------------------------------------------------------------------
# geodesics, through the isometry psi onto the round sphere


def _unit(u: NDArray, xp: ArrayNamespace = NUMPY) -> tuple[NDArray, NDArray]:
    n = xp.sqrt(_dot(u, u, xp))
    return u / n, n


def _to_manifold(w: NDArray, cov: NDArray) -> NDArray:
    """phi: w / ||w||_Sigma (scale-safe, :func:`bngeom.geometry.charts.chart`)."""
    return chart(w, cov)


def _sphere_log(x: NDArray, y: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    """Log of the round sphere, accurate at small angles; deterministic at the cut locus."""
    c = _dot(x, y, xp)
    perp = y - c * x
    s = xp.sqrt0(_dot(perp, perp, xp))
    theta = xp.atan2(s, c)
    safe = s > _PARALLEL_SIN
    # Parallel points (s ~ 0, c > 0): an exact zero, not rounding noise along x.
    coef = xp.where(safe, theta / xp.where(safe, s, 1.0), 0.0)
    out = coef * perp
    antipodal = (~safe) & (c < 0)
    if xp.maybe_any(antipodal):
        out = xp.where(antipodal, xp.pi * _cut_locus_direction(x, xp), out)
    return out


def _cut_locus_direction(x: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    """Unit tangent direction used at antipodal points (documented in :func:`log`).

    The standard basis vector e_j with the smallest |x_j| (first such j),
    projected onto the tangent space at x and normalized.
    """
    if x.shape[-1] < 2:
        raise ValueError("log is undefined between the two (antipodal) points of N_Sigma "
                         "when d = 1: the tangent space is {0}")
    j = xp.argmin(xp.abs(x), axis=-1)
    e = xp.astype(j[..., None] == xp.arange(x.shape[-1]), x.dtype)
    t = e - x * _dot(x, e, xp)
    return t / xp.sqrt(_dot(t, t, xp))


def _sphere_angle(u: NDArray, v: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    r"""Angle between :math:`\breve u` and :math:`\breve v`, accurate over [0, pi] (MATH §8).

    :math:`2\,\mathrm{atan2}(\|\breve u-\breve v\|, \|\breve u+\breve v\|)`. The squared
    chords are :math:`2 \mp 2c` with :math:`c = \breve u^\top\breve v`: where
    :math:`|c| <` :data:`_CHORD_COS` neither cancels, so they come from three row products
    without forming the unit vectors; elsewhere (angles near 0 or pi) from the vectors.
    """
    c = xp.rowdot(u, v) / xp.sqrt(xp.rowdot(u, u) * xp.rowdot(v, v))
    near = xp.abs(c) >= _CHORD_COS
    c_far = xp.where(near, 0.0, c)              # rounding may put |c| above 1 near 0, pi
    angle = 2.0 * xp.atan2(xp.sqrt0(1.0 - c_far), xp.sqrt0(1.0 + c_far))
    if xp.maybe_any(near):
        x, y = _unit(u, xp)[0], _unit(v, xp)[0]
        diff, total = x - y, x + y
        angle = xp.where(near, 2.0 * xp.atan2(xp.sqrt0(xp.rowdot(diff, diff)),
                                              xp.sqrt0(xp.rowdot(total, total))), angle)
    return angle


#: Below this |cos| of the angle, 1 - cos and 1 + cos are >= 1/4: no cancellation.
_CHORD_COS = 0.75


@_any_array
def exp(base_point: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike, *,
        validate: bool = True) -> NDArray:
    r"""Riemannian exponential map of :math:`(N_\Sigma, g)` (MATH §5).

    :math:`\exp_u(\xi) = \varphi(\mathrm{Exp}_{\breve u}(d\psi_u\xi))` with the
    sphere's :math:`\mathrm{Exp}_w(\zeta) = \cos\|\zeta\| w + \sin\|\zeta\|\,\zeta/\|\zeta\|`.
    A constant factor :math:`r^2` on the metric leaves it unchanged, so it takes
    no radius. The result lies on :math:`N_\Sigma` to machine precision.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec : array_like, shape (..., d)
        Tangent vector(s) :math:`\xi \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        The point(s) :math:`\exp_u(\xi)` on :math:`N_\Sigma`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> v = exp(np.array([1.0, 0.0]), np.array([0.0, np.pi / 2]), np.eye(2))
    >>> v.round(12).tolist()
    [0.0, 1.0]
    """
    cov = _cov(cov, validate)
    u, xi, xp = _point_and_tangent(base_point, tangent_vec, cov, validate)
    if _fused(u, xi):
        from bngeom.geometry import _compiled

        return _compiled.exp(u, xi, cov)
    # phi is 0-homogeneous: exp_u(xi) = phi(|u| Exp(u/|u|, d psi_u xi)), and |u| d psi_u xi
    # is p, xi without its component along u: two passes over (n, d) fewer
    sq = _dot(u, u, xp)
    p = xi - u * (_dot(u, xi, xp) / sq)
    t = xp.sqrt0(_dot(p, p, xp) / sq)                     # |d psi_u xi|
    w = xp.cos(t) * u + xp.sin_ratio(t) * p               # sin(t)/t, 1 at 0
    return _to_manifold(w, cov)


@_any_array
def log(base_point: ArrayLike, point: ArrayLike, cov: ArrayLike, *,
        validate: bool = True) -> NDArray:
    r"""Riemannian logarithm of :math:`(N_\Sigma, g)` (MATH §5).

    :math:`\log_u(v) = d\varphi_{\breve u}(\mathrm{Log}_{\breve u}(\breve v))`.
    At the cut locus (:math:`\breve v = -\breve u`, distance :math:`\pi`) the
    logarithm is not unique; this function then returns a deterministic
    choice: length :math:`\pi` in the direction of the standard basis vector
    :math:`e_j` with the smallest :math:`|\breve u_j|`, projected onto the
    tangent space of the sphere and mapped by :math:`d\varphi`. ``exp`` of the
    result is ``point``.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    point : array_like, shape (..., d)
        Point(s) :math:`v` on :math:`N_\Sigma`, broadcasting against ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        :math:`\log_u(v) \in T_u N_\Sigma`, of the broadcast batch shape.

    Raises
    ------
    ValueError
        If ``validate`` and ``cov`` is not symmetric positive definite, a point is off
        :math:`N_\Sigma`, an input is not finite, or shapes do not match. Also (whatever
        ``validate``) if d = 1 and the points are antipodal.
    TypeError
        If ``validate`` and an input is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> log(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.eye(2)).round(12).tolist()
    [0.0, 1.570796326795]
    """
    cov = _cov(cov, validate)
    u, v, xp = _two_points(base_point, point, cov, validate, ("base_point", "point"))
    if _fused(u, v):
        from bngeom.geometry import _compiled

        return _compiled.log(u, v, cov)
    cov_u = u @ xp.like(cov, u)
    unit, n = _unit(u, xp)
    zeta = _sphere_log(unit, _unit(v, xp)[0], xp)
    return n * (zeta - u * _dot(cov_u, zeta, xp))      # d phi at the unit vector


def _two_points(point_a: ArrayLike, point_b: ArrayLike, cov: NDArray, validate: bool,
                names: tuple[str, str]) -> tuple[NDArray, NDArray, ArrayNamespace]:
    """``(u, v, xp)``: two points of N_Sigma whose batch shapes broadcast."""
    xp = namespace(point_a, point_b)
    u, _ = _point(point_a, cov, validate, names[0], normal=False, xp=xp)
    v, _ = _point(point_b, cov, validate, names[1], normal=False, xp=xp)
    if validate:
        check_same_leading(u, v, *names)
    return u, v, xp


def squared_dist(point_a: ArrayLike, point_b: ArrayLike, cov: ArrayLike, *,
                 radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""Squared geodesic distance :math:`r^2\angle(\breve u, \breve v)^2` (MATH §5).

    Parameters
    ----------
    point_a, point_b : array_like, shape (..., d)
        Points :math:`u, v` on :math:`N_\Sigma`, broadcasting against each other.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`d_g(u, v)^2 \in [0, \pi^2 r^2]`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> float(squared_dist(np.array([1.0, 0.0]), np.array([-1.0, 0.0]), np.eye(2))) == np.pi**2
    True
    """
    d = dist(point_a, point_b, cov, radius=radius, validate=validate)
    return d * d


@_any_array
def dist(point_a: ArrayLike, point_b: ArrayLike, cov: ArrayLike, *,
         radius: ArrayLike = 1.0, validate: bool = True) -> NDArray:
    r"""Geodesic distance :math:`d_g(u, v) = r\cdot\angle(\breve u, \breve v)` (MATH §5).

    The angle is :math:`2\,\mathrm{atan2}(\|\breve u-\breve v\|, \|\breve u+\breve v\|)`,
    equal to :math:`\arccos(\breve u^\top\breve v)` but accurate at 0 and :math:`\pi`.

    Parameters
    ----------
    point_a, point_b : array_like, shape (..., d)
        Points :math:`u, v` on :math:`N_\Sigma`, broadcasting against each other.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`d_g(u, v) \in [0, \pi r]`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(dist(np.array([1.0, 0.0]), np.array([0.0, 0.5]), np.diag([1.0, 4.0]))), 12)
    1.570796326795
    """
    cov = _cov(cov, validate)
    u, v, xp = _two_points(point_a, point_b, cov, validate, ("point_a", "point_b"))
    r = _radius(radius, validate, u, xp)
    if _fused(u, v, radius=r):
        from bngeom.geometry import _compiled

        return _compiled.dist(u, v, r)
    return r * _sphere_angle(u, v, xp)


@_any_array
def geodesic(base_point: ArrayLike, cov: ArrayLike, *, end_point: ArrayLike | None = None,
             initial_tangent_vec: ArrayLike | None = None,
             validate: bool = True) -> Callable[[ArrayLike], NDArray]:
    r"""The geodesic :math:`t \mapsto \exp_u(t\xi)` as a function of ``t`` (MATH §5).

    Give exactly one of ``end_point`` (then :math:`\xi = \log_u(v)`) and
    ``initial_tangent_vec``. The returned function maps times of shape
    ``(T,)`` to points of shape ``(T, ..., d)``.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    end_point : array_like, shape (..., d), optional
        Keyword-only. End point :math:`v` on :math:`N_\Sigma`, reached at ``t = 1``.
    initial_tangent_vec : array_like, shape (..., d), optional
        Keyword-only. Initial velocity :math:`\xi \in T_u N_\Sigma`.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    callable
        ``path(t)``: ``t`` a float or an array of shape ``(T,)``, returns an ndarray of shape
        ``(T, ..., d)`` on :math:`N_\Sigma` (``T = 1`` for a float).

    Raises
    ------
    ValueError
        If not exactly one of ``end_point`` and ``initial_tangent_vec`` is given, or if
        ``validate`` and ``cov`` is not symmetric positive definite, a point is off
        :math:`N_\Sigma`, a vector is not tangent, an input is not finite, or shapes do not
        match.
    TypeError
        If ``validate`` and an input is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> path = geodesic(np.array([1.0, 0.0]), np.eye(2), end_point=np.array([0.0, 1.0]))
    >>> path(np.array([0.0, 1.0])).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    cov = _cov(cov, validate)
    if (end_point is None) == (initial_tangent_vec is None):
        raise ValueError("geodesic needs exactly one of end_point and initial_tangent_vec")
    xp = namespace(base_point, end_point, initial_tangent_vec)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    if end_point is not None:
        xi = log(u, end_point, cov, validate=validate)
    else:
        xi = _vector(initial_tangent_vec, u, cov_u, validate, "initial_tangent_vec", xp)

    def path(t: ArrayLike) -> NDArray:
        t = as_float_array(to_numpy(t), "t", max_ndim=1)
        check_memory(8.0 * 4 * t.size * math.prod(xi.shape), "t",
                     f"the {(t.size, *xi.shape)} points of the path and their temporaries")
        t = xp.like(np.reshape(t, (-1,) + (1,) * xi.ndim), xi)
        return exp(u, t * xi, cov, validate=False)

    return path


@_any_array
def parallel_transport(base_point: ArrayLike, tangent_vec: ArrayLike, cov: ArrayLike, *,
                       direction: ArrayLike | None = None, end_point: ArrayLike | None = None,
                       validate: bool = True) -> NDArray:
    r"""Parallel transport of ``tangent_vec`` along the geodesic from ``base_point``.

    The geodesic is given by ``direction`` (a tangent vector: it ends at
    :math:`\exp_u(\text{direction})`) or by ``end_point``; give exactly one.
    Computed by conjugating the sphere's transport
    :math:`\tau = \zeta - \frac{y^\top\zeta}{1 + x^\top y}(x + y)` with the isometry
    (MATH §5); it preserves :math:`g`. Undefined between antipodal points.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec : array_like, shape (..., d)
        Tangent vector(s) :math:`\zeta \in T_u N_\Sigma` to transport.
    direction : array_like, shape (..., d), optional
        Keyword-only. Tangent vector at :math:`u` whose exponential is the end point.
    end_point : array_like, shape (..., d), optional
        Keyword-only. End point on :math:`N_\Sigma`.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        The transported vector(s), tangent at the end point, of the broadcast batch shape.

    Raises
    ------
    ValueError
        If not exactly one of ``direction`` and ``end_point`` is given, or if ``validate``
        and the end point is antipodal to ``base_point``, ``cov`` is not symmetric positive
        definite, a point is off :math:`N_\Sigma`, a vector is not tangent, an input is not
        finite, or shapes do not match.
    TypeError
        If ``validate`` and an input is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> parallel_transport(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.eye(3),
    ...                    end_point=np.array([0.0, 1.0, 0.0])).round(12).tolist()
    [-1.0, 0.0, 0.0]
    """
    cov = _cov(cov, validate)
    if (end_point is None) == (direction is None):
        raise ValueError("parallel_transport needs exactly one of direction and end_point")
    xp = namespace(base_point, tangent_vec, direction, end_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    xi = _vector(tangent_vec, u, cov_u, validate, xp=xp)
    if end_point is None:
        v = exp(u, _vector(direction, u, cov_u, validate, "direction", xp), cov, validate=False)
    else:
        v, _ = _point(end_point, cov, validate, "end_point", xp=xp)
    x, nu = _unit(u, xp)
    y, nv = _unit(v, xp)
    denom = 1.0 + _dot(x, y, xp)
    if validate and np.any(denom <= _PARALLEL_SIN):
        raise ValueError("parallel_transport is undefined between antipodal points "
                         "(the end point is on the cut locus of base_point)")
    zeta = (xi - x * _dot(x, xi, xp)) / nu                  # d psi_u
    tau = zeta - (_dot(y, zeta, xp) / denom) * (x + y)      # sphere transport
    return nv * (tau - v * _dot(v @ xp.like(cov, v), tau, xp))  # d phi at y


def injectivity_radius(base_point: ArrayLike | None = None, *, radius: ArrayLike = 1.0
                       ) -> float | NDArray:
    r"""Injectivity radius :math:`\pi r` of :math:`(N_\Sigma, r^2 g)`, the same at every point.

    Parameters
    ----------
    base_point : array_like, shape (..., d), optional
        Only its batch shape is used; None (default) returns a single value.
    radius
        As in the module's shared contract.

    Returns
    -------
    float or ndarray, shape (...,)
        :math:`\pi r`, broadcast to the batch shape of ``base_point`` if it has one.

    Raises
    ------
    ValueError
        If ``radius`` is not finite and positive, or does not broadcast to the batch shape.
    TypeError
        If ``radius`` is not real numeric.

    Examples
    --------
    >>> round(injectivity_radius(), 12)
    3.14159265359
    """
    r = check_radius(radius)
    if base_point is None:
        return np.pi * r
    shape = np.shape(base_point)[:-1]
    return np.broadcast_to(np.pi * np.asarray(r), shape).astype(float) if shape else np.pi * r


def random_point(cov: ArrayLike, n_samples: int | None = None,
                 rng: int | np.random.Generator | None = None) -> NDArray:
    r"""Points distributed by the Riemannian volume of :math:`(N_\Sigma, g)`.

    :math:`\varphi` of standard Gaussian vectors: uniform on the round sphere,
    mapped by the isometry's inverse, hence uniform for :math:`g`. Shape
    ``(n_samples, d)``, or ``(d,)`` if ``n_samples`` is None.

    Parameters
    ----------
    n_samples : int or None, optional
        Number of points, >= 1; None (default) returns a single point.
    rng : int, numpy.random.Generator or None, optional
        Seed or generator; None draws fresh entropy.
    cov
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (n_samples, d) or (d,)
        Points on :math:`N_\Sigma`, float64.

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite or ``n_samples < 1``.
    TypeError
        If ``n_samples`` is not an integer or ``rng`` is not a seed, Generator or None.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0])
    >>> u = random_point(cov, 5, rng=0)
    >>> bool(np.allclose(np.einsum("ni,ij,nj->n", u, cov, u), 1.0))
    True
    """
    cov = checked_covariance(cov)
    shape = (cov.shape[0],) if n_samples is None else (_n(n_samples), cov.shape[0])
    check_memory(8.0 * 3 * np.prod(shape, dtype=float), "n_samples",
                 f"the {shape} points and their temporaries")
    w = as_generator(rng).standard_normal(shape)
    return _to_manifold(w, cov)


def random_tangent_vector(base_point: ArrayLike, cov: ArrayLike,
                          rng: int | np.random.Generator | None = None, *,
                          scale: float = 1.0) -> NDArray:
    r"""Tangent vectors at ``base_point``, standard Gaussian for the metric :math:`g`.

    A standard Gaussian on the sphere's tangent space at :math:`\breve u`, times
    ``scale``, mapped by :math:`d\varphi`.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma` (always validated).
    rng : int, numpy.random.Generator or None, optional
        Seed or generator; None draws fresh entropy.
    scale : float or array_like, default 1.0
        Keyword-only. Standard deviation, > 0: a scalar or an array broadcasting to
        ``(..., d)`` (e.g. shape ``(n, 1)`` for one scale per point).
    cov
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        Tangent vector(s) in :math:`T_u N_\Sigma`.

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite, ``base_point`` is off
        :math:`N_\Sigma`, not finite or of the wrong shape, or ``scale`` is not positive or
        does not broadcast to ``(..., d)``.
    TypeError
        If an input is not a real numeric array or ``rng`` is not a seed, Generator or None.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0, 2.0])
    >>> u = random_point(cov, 4, rng=0)
    >>> xi = random_tangent_vector(u, cov, rng=1)
    >>> bool(np.allclose(np.einsum("ni,ij,nj->n", xi, cov, u), 0.0))
    True
    """
    cov = checked_covariance(cov)
    u, cov_u = _point(base_point, cov, True)
    x, n = _unit(u)
    scale = check_radius(scale, "scale", leading=u.shape)   # finite, > 0, broadcasts
    z = as_generator(rng).standard_normal(u.shape) * scale
    z = z - x * _dot(x, z)
    return n * (z - u * _dot(cov_u, z))


def _n(n_samples: int) -> int:
    return check_positive_int(n_samples, "n_samples")


# ---------------------------------------------------------------------------
# curvature (MATH §9, docs/math.md §10): psi is an isometry onto the round sphere


@_any_array
def curvature(base_point: ArrayLike, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
              tangent_vec_c: ArrayLike, cov: ArrayLike, *, validate: bool = True) -> NDArray:
    r"""Riemann curvature :math:`R(X, Y)Z = g(Y, Z)X - g(X, Z)Y` of :math:`(N_\Sigma, g)` (MATH §9).

    :math:`\psi(u) = u/\|u\|` is an isometry onto the round unit sphere, whose
    curvature is this formula with the round metric; pulled back by :math:`\psi` it
    reads the same with :math:`g`. Convention :math:`R(X,Y) = \nabla_X\nabla_Y -
    \nabla_Y\nabla_X - \nabla_{[X,Y]}` (geomstats'; positive sectional curvature). The
    (1,3) tensor is invariant under the constant factor :math:`r^2`, so it takes no radius.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec_a, tangent_vec_b, tangent_vec_c : array_like, shape (..., d)
        Tangent vectors :math:`X, Y, Z \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        :math:`R(X, Y)Z \in T_u N_\Sigma`, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1.0, 0.0, 0.0]); x = np.array([0.0, 1.0, 0.0])
    >>> y = np.array([0.0, 0.0, 1.0])
    >>> curvature(u, x, y, y, np.eye(3)).tolist()
    [0.0, 1.0, 0.0]
    """
    u, (x, y, z), xp = _point_and_vectors(base_point, cov, validate, tangent_vec_a=tangent_vec_a,
                                          tangent_vec_b=tangent_vec_b,
                                          tangent_vec_c=tangent_vec_c)
    return _inner(u, y, z, xp)[..., None] * x - _inner(u, x, z, xp)[..., None] * y


def _point_and_vectors(base_point: ArrayLike, cov: ArrayLike, validate: bool,
                       **vectors: ArrayLike) -> tuple[NDArray, list[NDArray], ArrayNamespace]:
    """``(u, [vectors...], xp)``: a point and tangent vectors there, checked by name."""
    cov = _cov(cov, validate)
    xp = namespace(base_point, *vectors.values())
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    return u, [_vector(v, u, cov_u, validate, name, xp) for name, v in vectors.items()], xp


@_any_array
def sectional_curvature(base_point: ArrayLike, tangent_vec_a: ArrayLike,
                        tangent_vec_b: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                        validate: bool = True) -> NDArray:
    r"""Sectional curvature :math:`K(X, Y) = \langle R(X,Y)Y, X\rangle/|X\wedge Y|^2 = 1/r^2`.

    Computed from :func:`curvature` with the metric :math:`r^2 g` (MATH §9); as in
    geomstats, 0 where :math:`X, Y` span no plane: :math:`|X\wedge Y|^2 \le 10^{-12}
    |X|^2|Y|^2` (dependent to rounding; always for d = 2).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec_a, tangent_vec_b : array_like, shape (..., d)
        Tangent vectors :math:`X, Y \in T_u N_\Sigma`, broadcasting against ``base_point``.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`1/r^2` for independent vectors, 0 for dependent ones.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([4.0, 1.0, 0.25])
    >>> u = random_point(cov, 3, rng=0)
    >>> x, y = random_tangent_vector(u, cov, rng=1), random_tangent_vector(u, cov, rng=2)
    >>> sectional_curvature(u, x, y, cov, radius=2.0).round(12).tolist()
    [0.25, 0.25, 0.25]
    """
    u, (x, y), xp = _point_and_vectors(base_point, cov, validate, tangent_vec_a=tangent_vec_a,
                                       tangent_vec_b=tangent_vec_b)
    r_sq = _radius_sq(radius, validate, u, xp)
    numerator = _inner(u, curvature(u, x, y, y, cov, validate=False), x, xp) * r_sq
    xx, yy, xy = _inner(u, x, x, xp), _inner(u, y, y, xp), _inner(u, x, y, xp)
    wedge = (xx * yy - xy * xy) * (r_sq * r_sq)
    # no plane when |X ^ Y|^2 is rounding error of |X|^2 |Y|^2 (always for d = 2)
    safe = wedge > _PLANE_RTOL * xx * yy * (r_sq * r_sq)
    return xp.where(safe, numerator / xp.where(safe, wedge, 1.0), 0.0)


#: Relative size of |X ^ Y|^2 against |X|^2 |Y|^2 below which X, Y span no plane.
_PLANE_RTOL = 1e-12


@_any_array
def riemann_tensor(base_point: ArrayLike, cov: ArrayLike, *, validate: bool = True) -> NDArray:
    r"""Riemann tensor :math:`R_{ijk}{}^l` in ambient coordinates (geomstats' index order).

    ``T[..., i, j, k, l]`` is the l-th coordinate of :math:`R(Qe_j, Qe_k)Qe_i`, with
    :math:`Q` the orthogonal projection onto :math:`T_u N_\Sigma`:
    :math:`T_{ijkl} = G^+_{ki} Q_{jl} - G^+_{ji} Q_{kl}` (:func:`curvature` with
    :math:`g = G^+` on :math:`T_u`), so contracting it with tangent vectors gives
    :func:`curvature`. O(d^4) per point.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d, d, d)
        The tensor; independent of the radius.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1.0, 0.0, 0.0]); x = np.array([0.0, 1.0, 0.0])
    >>> y = np.array([0.0, 0.0, 1.0])
    >>> t = riemann_tensor(u, np.eye(3))
    >>> np.einsum("ijkl,j,k,i->l", t, x, y, y).tolist()
    [0.0, 1.0, 0.0]
    """
    u, g_plus, nn, xp = _closed_form_at(base_point, cov, validate)
    q = xp.eye(u.shape[-1], dtype=u.dtype) - nn
    # T_ijkl = G+_ki Q_jl - G+_ji Q_kl, by broadcasting (einsum is not in the array API)
    return (xp.matrix_transpose(g_plus)[..., :, None, :, None] * q[..., None, :, None, :]
            - xp.matrix_transpose(g_plus)[..., :, :, None, None] * q[..., None, None, :, :])


@_any_array
def ricci_tensor(base_point: ArrayLike, cov: ArrayLike, *, validate: bool = True) -> NDArray:
    r"""Ricci tensor :math:`\mathrm{Ric} = (d - 2)\,g` as an ambient matrix :math:`(d-2) G(u)^+`.

    The contraction :math:`\mathrm{Ric}_{ik} = R_{ijk}{}^j` of :func:`riemann_tensor`
    (MATH §9). It vanishes along the normal, is independent of the radius (the metric
    :math:`r^2 g` has :math:`\mathrm{Ric} = (d-2)/r^2\cdot r^2 g`) and is 0 for d = 2.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d, d)
        Symmetric, :math:`\xi^\top\mathrm{Ric}\,\eta = (d-2) g_u(\xi, \eta)` on tangent vectors.

    Examples
    --------
    >>> import numpy as np
    >>> ricci_tensor(np.array([1.0, 0.0, 0.0]), np.eye(3)).round(12).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    u, g_plus, _, xp = _closed_form_at(base_point, cov, validate)
    return (u.shape[-1] - 2) * g_plus


def _closed_form_at(base_point: ArrayLike, cov: ArrayLike, validate: bool
                    ) -> tuple[NDArray, NDArray, NDArray, ArrayNamespace]:
    """``(u, G(u)^+, n n^T, xp)`` (:func:`_pinv_closed_form`) at a checked point."""
    cov = _cov(cov, validate)
    xp = namespace(base_point)
    u, cov_u = _point(base_point, cov, validate, xp=xp)
    return (u, *_pinv_closed_form(u, cov_u, xp), xp)


def scalar_curvature(base_point: ArrayLike, cov: ArrayLike, *, radius: ArrayLike = 1.0,
                     validate: bool = True) -> NDArray:
    r"""Scalar curvature :math:`(d-1)(d-2)/r^2` of :math:`(N_\Sigma, r^2 g)` (MATH §9).

    The trace of :func:`ricci_tensor` with the cometric of :math:`r^2 g`.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`; only their batch shape enters the value.
    cov, radius, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (...,)
        :math:`(d-1)(d-2)/r^2`, of the batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> float(scalar_curvature(np.array([1.0, 0.0, 0.0, 0.0]), np.eye(4), radius=2.0))
    1.5
    """
    cov = _cov(cov, validate)
    u, _ = _point(base_point, cov, validate, normal=False)
    d = u.shape[-1]
    r_sq = _radius_sq(radius, validate, u)
    return np.broadcast_to((d - 1) * (d - 2) / np.asarray(r_sq, dtype=float),
                           u.shape[:-1]).copy()


def curvature_derivative(base_point: ArrayLike, tangent_vec_a: ArrayLike,
                         tangent_vec_b: ArrayLike, tangent_vec_c: ArrayLike,
                         tangent_vec_d: ArrayLike, cov: ArrayLike, *,
                         validate: bool = True) -> NDArray:
    r"""Covariant derivative :math:`(\nabla_H R)(X, Y)Z = 0`: the curvature is parallel (MATH §9).

    :math:`(N_\Sigma, g)` is isometric to the round sphere, a space of constant
    curvature, whose curvature tensor is parallel. The arguments are checked as for
    :func:`curvature` and the zero vector of their broadcast shape is returned.

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec_a, tangent_vec_b, tangent_vec_c, tangent_vec_d : array_like, shape (..., d)
        Tangent vectors :math:`H, X, Y, Z` at ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        Zeros, of the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1.0, 0.0]); x = np.array([0.0, 1.0])
    >>> curvature_derivative(u, x, x, x, x, np.eye(2)).tolist()
    [0.0, 0.0]
    """
    cov = _cov(cov, validate)
    u, cov_u = _point(base_point, cov, validate)
    vectors = [_vector(v, u, cov_u, validate, name) for v, name in (
        (tangent_vec_a, "tangent_vec_a"), (tangent_vec_b, "tangent_vec_b"),
        (tangent_vec_c, "tangent_vec_c"), (tangent_vec_d, "tangent_vec_d"))]
    shape = np.broadcast_shapes(u.shape, *(np.shape(v) for v in vectors))
    return np.zeros(shape, dtype=np.result_type(u, *vectors, float))


def directional_curvature_derivative(base_point: ArrayLike, tangent_vec_a: ArrayLike,
                                     tangent_vec_b: ArrayLike, cov: ArrayLike, *,
                                     validate: bool = True) -> NDArray:
    r""":math:`(\nabla_X R)(Y, X)Y = 0` (:func:`curvature_derivative` with H = X, Y, X, Y).

    Parameters
    ----------
    base_point : array_like, shape (..., d)
        Point(s) :math:`u` on :math:`N_\Sigma`.
    tangent_vec_a, tangent_vec_b : array_like, shape (..., d)
        Tangent vectors :math:`X, Y` at ``base_point``.
    cov, validate
        As in the module's shared contract.

    Returns
    -------
    ndarray, shape (..., d)
        Zeros, of the broadcast batch shape.

    Raises
    ------
    ValueError
        If ``validate`` and an input is invalid (as :func:`curvature_derivative`).
    TypeError
        If ``validate`` and an input is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([1.0, 0.0]); x = np.array([0.0, 1.0])
    >>> directional_curvature_derivative(u, x, x, np.eye(2)).tolist()
    [0.0, 0.0]
    """
    return curvature_derivative(base_point, tangent_vec_a, tangent_vec_b, tangent_vec_a,
                                tangent_vec_b, cov, validate=validate)
