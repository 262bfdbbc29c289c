r"""The BN manifold :math:`M = N_\Sigma\times\mathbb R` as a geomstats space (MATH §4-5).

A thin adapter: every geometric quantity is computed by :mod:`bngeom.geometry`
(closed form, batched); this module only maps geomstats' calling conventions
onto it. The classes are built from geomstats' own:

* :class:`SigmaSphere`, a :class:`geomstats.geometry.base.LevelSet` for
  :math:`N_\Sigma = \{u : u^\top\Sigma u = 1\}` (submersion
  :math:`u^\top\Sigma u - 1`), equipped with :class:`SigmaSphereMetric`, the
  metric :math:`r^2 g` of Proposition 1;
* :class:`BNSpace`, a :class:`geomstats.geometry.product_manifold.ProductManifold`
  of :class:`SigmaSphere` and geomstats' ``Euclidean(1)``: points are vectors
  ``(u, a)`` of length ``d + 1``, single or batched along leading axes;
* :class:`BNMetric`, a :class:`~geomstats.geometry.product_manifold.ProductRiemannianMetric`
  (hence a :class:`~geomstats.geometry.riemannian_metric.RiemannianMetric`):
  :math:`r^2 g` on the ``u`` block and :math:`da^2` on the ``a`` block.

With ``cov`` the identity, :class:`BNSpace` is geomstats'
``ProductManifold([Hypersphere(d - 1), Euclidean(1)])``; geomstats' learning
tools (``FrechetMean``, ``RiemannianKMeans``, ``TangentPCA``) run on it unchanged.

Checking inputs. By default every call checks that points lie on
:math:`N_\Sigma`, that tangent vectors are tangent and that all values are
finite (``ValueError`` or ``TypeError`` naming the argument otherwise), at the
cost of one more pass over the data. geomstats' own metrics do not validate
their inputs; construct the space with ``validate=False`` to do the same in hot
loops: methods then check only the trailing dimension of their arguments
(O(1)) and call the core with ``validate=False``.

Backends. The classes work on geomstats' ``numpy`` (default), ``autograd`` and
``pytorch`` backends (``GEOMSTATS_BACKEND``). Under ``autograd`` the metric and cometric
matrices are traceable (geomstats' ``inner_product_derivative_matrix``); under
``pytorch`` CPU tensors are read as arrays, the core computes in numpy and results come
back as torch tensors (no torch autograd through the core).

Curvature. :math:`(N_\Sigma, g)` is isometric to the round sphere: ``curvature``,
``sectional_curvature``, ``riemann_tensor``, ``ricci_tensor``, ``scalar_curvature`` and
the vanishing ``curvature_derivative`` are closed forms (docs/math.md §10), and geomstats'
generic methods built on them answer on every backend.

Random numbers. ``random_point`` and ``random_tangent_vec`` take an ``rng``
(int, ``numpy.random.Generator`` or None). With None they draw their seed from
numpy's global random state, which is what ``geomstats.backend.random.seed``
sets, so geomstats-style seeding makes them reproducible too.

Examples
--------
>>> import numpy as np
>>> from bngeom.adapters.geomstats import BNSpace
>>> space = BNSpace(np.diag([4.0, 1.0, 0.25]))
>>> p = space.random_point(5, rng=0)
>>> p.shape, bool(space.belongs(p).all())
((5, 4), True)
>>> v = space.random_tangent_vec(p, rng=1)
>>> q = space.metric.exp(v, p)
>>> bool(np.allclose(space.metric.log(q, p), v))
True
>>> bool(np.allclose(space.metric.dist(p, q), space.metric.norm(v, p)))
True
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import geomstats.backend as gs
import numpy as np
from geomstats._backend import get_backend_name
from geomstats.geometry.base import LevelSet
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.product_manifold import ProductManifold, ProductRiemannianMetric
from geomstats.geometry.riemannian_metric import RiemannianMetric
from numpy.typing import ArrayLike, NDArray

from bngeom import geometry
from bngeom._validation import (
    as_float_array,
    check_covariance,
    check_positive_int,
    check_positive_scalar,
)
from bngeom.geometry import _checked
from bngeom.geometry.charts import normalize_to_manifold

__all__ = ["SigmaSphere", "SigmaSphereMetric", "BNSpace", "BNMetric"]

#: geomstats' backends this adapter serves. numpy and autograd share numpy arrays (autograd
#: traces the metric matrices); on pytorch, tensors come in as numpy views (CPU, no grad),
#: the core computes in numpy and results go back as torch tensors (:func:`_backend_outputs`).
BACKENDS = ("numpy", "autograd", "pytorch")

if get_backend_name() not in BACKENDS:  # pragma: no cover - environment
    raise ImportError(
        f"bngeom.adapters.geomstats supports geomstats' backends {BACKENDS}, but "
        f"GEOMSTATS_BACKEND is {get_backend_name()!r}")


# ---------------------------------------------------------------------------
# helpers (argument conventions only; no geometry here)


class _Nesting(threading.local):
    depth = 0


_NESTING = _Nesting()


def _to_torch(x: object) -> object:
    """numpy results as torch tensors (geomstats' pytorch backend); callables wrapped."""
    import torch

    if isinstance(x, (np.ndarray, np.generic, float)):
        return torch.as_tensor(np.array(x))
    if callable(x):
        return lambda *args, **kwargs: _to_torch(x(*args, **kwargs))
    return x


def _backend_outputs(cls: type) -> type:
    """On geomstats' pytorch backend, return the public methods' arrays as torch tensors.

    Inputs need nothing: the core reads CPU tensors through ``numpy.asarray``. On the
    numpy and autograd backends the class is returned unchanged.
    """
    if get_backend_name() != "pytorch":
        return cls
    for name, attr in list(vars(cls).items()):
        if name.startswith("_") or not callable(attr) or isinstance(attr, staticmethod):
            continue

        @functools.wraps(attr)
        def wrapped(self, *args, __method=attr, **kwargs):
            # only the outermost call converts: BNMetric's calls to its factors stay numpy
            depth = _NESTING.depth
            _NESTING.depth = depth + 1
            try:
                out = __method(self, *args, **kwargs)
            finally:
                _NESTING.depth = depth
            return _to_torch(out) if depth == 0 else out

        setattr(cls, name, wrapped)
    return cls


def _rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator; None seeds one from numpy's global state (what gs.random.seed sets)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        # the legacy global state on purpose: geomstats seeds it (gs.random.seed)
        return np.random.default_rng(np.random.randint(0, 2**31 - 1))  # noqa: NPY002
    return np.random.default_rng(rng)


def _traced(x: object) -> bool:
    """Whether ``x`` is an autograd ``ArrayBox`` (geomstats' autograd backend is tracing)."""
    return type(x).__module__.startswith("autograd.")


def _array(x: ArrayLike, n: int, name: str, validate: bool) -> NDArray:
    """``x`` as an array whose last axis has length ``n`` (full checks if ``validate``).

    An autograd ``ArrayBox`` is passed on as it is (the core checks its value).
    """
    if _traced(x):
        if x.ndim == 0 or x.shape[-1] != n:
            raise ValueError(f"{name} must have last dimension {n}, got shape {x.shape}")
        return x
    if getattr(x, "requires_grad", False):
        raise TypeError(f"{name} is a torch tensor that requires grad: the geomstats adapter "
                        f"computes in numpy and cannot carry torch gradients (detach it, or "
                        f"differentiate under GEOMSTATS_BACKEND=autograd)")
    arr = as_float_array(x, name, min_ndim=1) if validate else np.asarray(x)
    if arr.ndim == 0 or arr.shape[-1] != n:
        raise ValueError(f"{name} must have last dimension {n}, got shape {np.shape(arr)}")
    return arr


def _join(u: NDArray, a: NDArray) -> NDArray:
    """Concatenate ``u`` (..., d) and ``a`` (...) into points (..., d + 1), broadcasting."""
    a = np.asarray(a)
    batch = np.broadcast_shapes(u.shape[:-1], a.shape)
    u = np.broadcast_to(u, batch + u.shape[-1:])
    a = np.broadcast_to(a, batch)[..., None]
    return np.concatenate([u, a.astype(u.dtype, copy=False)], axis=-1)


def _block_diagonal(mat: NDArray, corner: float = 1.0) -> NDArray:
    """Block diag(mat, corner) with ``mat`` of shape (..., d, d) (traceable by autograd)."""
    if _traced(mat):
        import autograd.numpy as xp
    else:
        xp = np
    batch, d = mat.shape[:-2], mat.shape[-1]
    top = xp.concatenate([mat, np.zeros(batch + (d, 1))], axis=-1)
    bottom = np.zeros(batch + (1, d + 1))
    bottom[..., 0, d] = corner
    return xp.concatenate([top, bottom], axis=-2)


def _geodesic_output(points: NDArray) -> NDArray:
    """Core geodesics are (T, ..., n); geomstats wants (T, n) or (..., T, n)."""
    return points if points.ndim <= 2 else np.moveaxis(points, 0, -2)


def _times(t: ArrayLike) -> NDArray:
    return np.atleast_1d(as_float_array(t, "t", max_ndim=1))


# ---------------------------------------------------------------------------
# N_Sigma


@_backend_outputs
class SigmaSphere(LevelSet):
    r"""The level set :math:`N_\Sigma = \{u\in\mathbb R^d : u^\top\Sigma u = 1\}` (MATH §4).

    A geomstats ``LevelSet`` of ``Euclidean(d)`` with submersion
    :math:`u^\top\Sigma u - 1`, of dimension ``d - 1``, equipped by default with
    :class:`SigmaSphereMetric` (the metric :math:`r^2 g` of Proposition 1).

    Parameters
    ----------
    cov : array_like, shape (d, d)
        Data covariance :math:`\Sigma`, symmetric positive definite.
    radius : float
        Neuron radius :math:`r > 0`; the metric is :math:`r^2 g`.
    validate : bool
        If True, every method checks its inputs fully (see the module notes).
    equip : bool
        Equip with :class:`SigmaSphereMetric`.

    Examples
    --------
    >>> import numpy as np
    >>> sphere = SigmaSphere(np.diag([4.0, 1.0]))
    >>> sphere.dim, sphere.shape
    (1, (2,))
    >>> sphere.belongs(np.array([[0.5, 0.0], [1.0, 0.0]])).tolist()
    [True, False]
    """

    def __init__(self, cov: ArrayLike, radius: float = 1.0, *, validate: bool = True,
                 equip: bool = True) -> None:
        self.cov = check_covariance(cov)
        self.radius = check_positive_scalar(radius, "radius")
        self.validate = bool(validate)
        d = self.cov.shape[0]
        if d < 2:
            raise ValueError(f"cov must be at least 2 x 2 (N_Sigma has dimension d - 1 >= 1), "
                             f"got shape {self.cov.shape}")
        super().__init__(dim=d - 1, shape=(d,), equip=equip)

    @staticmethod
    def default_metric() -> type:
        """Metric to equip the space with if ``equip`` is True."""
        return SigmaSphereMetric

    def _define_embedding_space(self) -> Euclidean:
        return Euclidean(self.cov.shape[0], equip=False)

    def submersion(self, point: ArrayLike) -> NDArray:
        r""":math:`u^\top\Sigma u - 1`, zero exactly on :math:`N_\Sigma`."""
        u = np.asarray(point)
        return np.einsum("...i,...i->...", u @ self.cov, u) - 1.0

    def tangent_submersion(self, vector: ArrayLike, point: ArrayLike) -> NDArray:
        r"""Differential of the submersion, :math:`2\,v^\top\Sigma u`."""
        return 2.0 * np.einsum("...i,...i->...", np.asarray(point) @ self.cov,
                               np.asarray(vector))

    def belongs(self, point: ArrayLike, atol: float = gs.atol) -> NDArray:
        r"""Whether :math:`|u^\top\Sigma u - 1| \le` ``atol`` (:func:`bngeom.geometry.belongs`)."""
        return geometry.belongs(point, self.cov, atol=atol)

    def is_tangent(self, vector: ArrayLike, base_point: ArrayLike,
                   atol: float = gs.atol) -> NDArray:
        r"""Whether :math:`|v^\top\Sigma u| \le` ``atol`` (:func:`bngeom.geometry.is_tangent`)."""
        return geometry.is_tangent(base_point, vector, self.cov, atol=atol)

    def to_tangent(self, vector: ArrayLike, base_point: ArrayLike) -> NDArray:
        r"""Euclidean-orthogonal projection onto :math:`T_u N_\Sigma` (``geometry.to_tangent``)."""
        d = self.cov.shape[0]
        return geometry.to_tangent(_array(base_point, d, "base_point", self.validate),
                                   _array(vector, d, "vector", self.validate), self.cov,
                                   validate=self.validate)

    def projection(self, point: ArrayLike) -> NDArray:
        r"""The chart :math:`\varphi(w) = w/\|w\|_\Sigma` (``charts.normalize_to_manifold``)."""
        return normalize_to_manifold(point, self.cov)

    def random_point(self, n_samples: int = 1, bound: float = 1.0,
                     rng: int | np.random.Generator | None = None) -> NDArray:
        r"""Points uniform for the Riemannian volume (:func:`bngeom.geometry.random_point`).

        Shape ``(d,)`` if ``n_samples == 1`` (geomstats' convention), else
        ``(n_samples, d)``. ``bound`` is unused (the space is compact).
        """
        n = check_positive_int(n_samples, "n_samples")
        return geometry.random_point(self.cov, None if n == 1 else n, rng=_rng(rng))

    def random_tangent_vec(self, base_point: ArrayLike, n_samples: int = 1,
                           rng: int | np.random.Generator | None = None) -> NDArray:
        r"""Tangent vectors, standard Gaussian for the metric :math:`r^2 g`.

        With one base point and ``n_samples > 1``, that many vectors at it.
        Drawn by :func:`bngeom.geometry.random_tangent_vector`.
        """
        u = _array(base_point, self.shape[0], "base_point", True)
        n = check_positive_int(n_samples, "n_samples")
        if n > 1:
            if u.ndim > 1 and u.shape[0] != n:
                raise ValueError(f"n_samples ({n}) must equal the number of base points "
                                 f"({u.shape[0]}) when several base points are given")
            u = np.broadcast_to(u, (n,) + u.shape[-1:])
        return geometry.random_tangent_vector(u, self.cov, rng=_rng(rng),
                                              scale=1.0 / self.radius)


@_backend_outputs
class SigmaSphereMetric(RiemannianMetric):
    r"""The metric :math:`r^2 g_u(\xi,\eta) = r^2\xi^\top G(u)^+\eta` on :math:`N_\Sigma` (Prop. 1).

    Every method calls :mod:`bngeom.geometry`; see there for the formulas.
    Geodesics, exp, log and parallel transport do not depend on ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> sphere = SigmaSphere(np.diag([4.0, 1.0]), radius=2.0)
    >>> u = np.array([0.5, 0.0]); xi = np.array([0.0, 1.0])
    >>> float(sphere.metric.squared_norm(xi, u))       # r^2 * 4
    16.0
    """

    def __init__(self, space: SigmaSphere, signature: tuple[int, int] | None = None) -> None:
        if not isinstance(space, SigmaSphere):
            raise TypeError(f"space must be a SigmaSphere, got {type(space).__name__}")
        super().__init__(space, signature=signature)

    # argument conventions ------------------------------------------------

    @property
    def cov(self) -> NDArray:
        """The covariance :math:`\\Sigma` of the space."""
        return self._space.cov

    @property
    def radius(self) -> float:
        """The neuron radius :math:`r` (the metric is :math:`r^2 g`)."""
        return self._space.radius

    def _u(self, x: ArrayLike, name: str) -> NDArray:
        if x is None:
            raise ValueError(f"{name} is required: the metric of N_Sigma depends on the point")
        return _array(x, self.cov.shape[0], name, self._space.validate)

    # matrices ------------------------------------------------------------

    def _core(self, func: Callable, *, scaled: bool = False, **arrays: ArrayLike) -> NDArray:
        """``func`` of :mod:`bngeom.geometry` on the named arrays, in their order, then ``cov``.

        Each array is checked under its own name; ``scaled`` passes the radius (the
        operations whose value depends on r), and ``validate`` is the space's.
        """
        extra = {"radius": self.radius} if scaled else {}
        return func(*(self._u(x, name) for name, x in arrays.items()), self.cov,
                    validate=self._space.validate, **extra)

    def _matrix(self, func: Callable, base_point: ArrayLike | None) -> NDArray:
        return self._core(func, scaled=True, base_point=base_point)

    def metric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        r"""SPD :math:`r^2(G(u)^+ + nn^\top)`, equal to the metric on tangent vectors.

        :func:`bngeom.geometry.metric_matrix`; the identity for :math:`\Sigma = I`, as
        geomstats' ``Hypersphere``.
        """
        return self._matrix(geometry.metric_matrix, base_point)

    def cometric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        r"""SPD :math:`(G(u) + nn^\top)/r^2`, the inverse of :meth:`metric_matrix`."""
        return self._matrix(geometry.cometric_matrix, base_point)

    def pinv_metric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        """Proposition 1's :math:`r^2 G(u)^+`, by pseudo-inverse (singular along the normal)."""
        return self._matrix(geometry.pinv_metric_matrix, base_point)

    def bn_cometric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        """The paper's :math:`G(u)/r^2` of eq. (7) (singular along the normal)."""
        return self._matrix(geometry.bn_cometric_matrix, base_point)

    # curvature (MATH §9) --------------------------------------------------

    def christoffels(self, base_point: ArrayLike | None = None) -> NDArray:
        """Not defined: Christoffel symbols need intrinsic coordinates (NotImplementedError).

        Points of :math:`N_\\Sigma` are extrinsic (in :math:`\\mathbb R^d`); the symbols of the
        ambient SPD completion (:meth:`metric_matrix`) describe a metric on
        :math:`\\mathbb R^d` whose geodesics leave :math:`N_\\Sigma`. geomstats' extrinsic
        ``Hypersphere`` raises the same way. Every quantity built from them has a
        closed form here (:meth:`curvature`, :meth:`riemann_tensor`, :meth:`exp`, ...).
        """
        raise NotImplementedError(
            "Christoffel symbols of N_Sigma need intrinsic coordinates; points are extrinsic "
            "in R^d (as geomstats' extrinsic Hypersphere). Use the closed forms: curvature, "
            "riemann_tensor, exp, geodesic, parallel_transport")

    def curvature(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                  tangent_vec_c: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`R(X,Y)Z = g(Y,Z)X - g(X,Z)Y` (:func:`bngeom.geometry.curvature`)."""
        return self._core(geometry.curvature, base_point=base_point, tangent_vec_a=tangent_vec_a,
                          tangent_vec_b=tangent_vec_b, tangent_vec_c=tangent_vec_c)

    def sectional_curvature(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                            base_point: ArrayLike | None = None) -> NDArray:
        """:math:`1/r^2` on every plane (:func:`bngeom.geometry.sectional_curvature`)."""
        return self._core(geometry.sectional_curvature, scaled=True, base_point=base_point,
                          tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b)

    def riemann_tensor(self, base_point: ArrayLike | None = None) -> NDArray:
        """Ambient :math:`R_{ijk}{}^l` (:func:`bngeom.geometry.riemann_tensor`)."""
        return self._core(geometry.riemann_tensor, base_point=base_point)

    def ricci_tensor(self, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`(d-2)G(u)^+` (:func:`bngeom.geometry.ricci_tensor`)."""
        return self._core(geometry.ricci_tensor, base_point=base_point)

    def scalar_curvature(self, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`(d-1)(d-2)/r^2` (:func:`bngeom.geometry.scalar_curvature`)."""
        return self._matrix(geometry.scalar_curvature, base_point)

    def curvature_derivative(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                             tangent_vec_c: ArrayLike, tangent_vec_d: ArrayLike,
                             base_point: ArrayLike | None = None) -> NDArray:
        r""":math:`(\nabla_H R)(X,Y)Z = 0` (:func:`bngeom.geometry.curvature_derivative`)."""
        return self._core(geometry.curvature_derivative, base_point=base_point,
                          tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b,
                          tangent_vec_c=tangent_vec_c, tangent_vec_d=tangent_vec_d)

    def directional_curvature_derivative(self, tangent_vec_a: ArrayLike,
                                         tangent_vec_b: ArrayLike,
                                         base_point: ArrayLike | None = None) -> NDArray:
        r""":math:`(\nabla_X R)(Y,X)Y = 0` (``geometry.directional_curvature_derivative``)."""
        return self.curvature_derivative(tangent_vec_a, tangent_vec_b, tangent_vec_a,
                                         tangent_vec_b, base_point)

    # metric --------------------------------------------------------------

    def inner_product(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                      base_point: ArrayLike | None = None) -> NDArray:
        """:math:`r^2 g_u(\\xi, \\eta)` (:func:`bngeom.geometry.inner_product`)."""
        return self._core(geometry.inner_product, scaled=True, base_point=base_point,
                          tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b)

    def squared_norm(self, vector: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`r^2 g_u(\\xi, \\xi)` (:func:`bngeom.geometry.squared_norm`)."""
        return self._core(geometry.squared_norm, scaled=True, base_point=base_point,
                          vector=vector)

    def norm(self, vector: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`r\\sqrt{g_u(\\xi, \\xi)}` (:func:`bngeom.geometry.norm`)."""
        return self._core(geometry.norm, scaled=True, base_point=base_point, vector=vector)

    def riemannian_gradient(self, euclidean_grad: ArrayLike, base_point: ArrayLike) -> NDArray:
        """Theorem 2: :math:`G(u)\\nabla/r^2` (:func:`bngeom.geometry.riemannian_gradient`).

        The cometric applied to a Euclidean gradient, in closed form (not part
        of geomstats' metric interface; equal to ``bn_cometric_matrix @ grad``, and
        to ``cometric_matrix @ to_tangent(grad)``).
        """
        return self._core(geometry.riemannian_gradient, scaled=True, base_point=base_point,
                          euclidean_grad=euclidean_grad)

    # geodesics -----------------------------------------------------------

    def exp(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> NDArray:
        """Riemannian exponential (:func:`bngeom.geometry.exp`)."""
        return self._core(geometry.exp, base_point=base_point, tangent_vec=tangent_vec)

    def log(self, point: ArrayLike, base_point: ArrayLike) -> NDArray:
        """Riemannian logarithm (:func:`bngeom.geometry.log`)."""
        return self._core(geometry.log, base_point=base_point, point=point)

    def dist(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        """Geodesic distance :math:`r\\angle(\\breve u, \\breve v)` (``geometry.dist``)."""
        return self._core(geometry.dist, scaled=True, point_a=point_a, point_b=point_b)

    def squared_dist(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        """Squared geodesic distance (:func:`bngeom.geometry.squared_dist`)."""
        return self._core(geometry.squared_dist, scaled=True, point_a=point_a, point_b=point_b)

    def geodesic(self, initial_point: ArrayLike, end_point: ArrayLike | None = None,
                 initial_tangent_vec: ArrayLike | None = None) -> Callable[[ArrayLike], NDArray]:
        """The geodesic as a function of time (:func:`bngeom.geometry.geodesic`).

        The returned function maps times ``t`` of shape ``(T,)`` to points of
        shape ``(T, d)`` for one initial condition, ``(..., T, d)`` for a batch
        (geomstats' convention).
        """
        u = self._u(initial_point, "initial_point")
        if end_point is not None and initial_tangent_vec is None:
            xi = self.log(end_point, u)
        elif end_point is None and initial_tangent_vec is not None:
            xi = self._u(initial_tangent_vec, "initial_tangent_vec")
        else:
            raise ValueError("geodesic needs exactly one of end_point and initial_tangent_vec")
        batch = np.broadcast_shapes(u.shape[:-1], xi.shape[:-1])
        u = np.broadcast_to(u, batch + u.shape[-1:])
        xi = np.broadcast_to(xi, u.shape)
        core_path = geometry.geodesic(u, self.cov, initial_tangent_vec=xi,
                                      validate=self._space.validate)

        def path(t: ArrayLike) -> NDArray:
            return _geodesic_output(core_path(_times(t)))

        return path

    def parallel_transport(self, tangent_vec: ArrayLike, base_point: ArrayLike,
                           direction: ArrayLike | None = None,
                           end_point: ArrayLike | None = None) -> NDArray:
        """Parallel transport along the geodesic (:func:`bngeom.geometry.parallel_transport`)."""
        d = self.cov.shape[0]
        return geometry.parallel_transport(
            self._u(base_point, "base_point"), self._u(tangent_vec, "tangent_vec"), self.cov,
            direction=None if direction is None else _array(direction, d, "direction", False),
            end_point=None if end_point is None else _array(end_point, d, "end_point", False),
            validate=self._space.validate)

    def injectivity_radius(self, base_point: ArrayLike | None = None) -> float | NDArray:
        """:math:`\\pi r` at every point (:func:`bngeom.geometry.injectivity_radius`)."""
        u = None if base_point is None else self._u(base_point, "base_point")
        return geometry.injectivity_radius(u, radius=self.radius)


# ---------------------------------------------------------------------------
# M = N_Sigma x R


@_backend_outputs
class BNSpace(ProductManifold):
    r"""The neuron manifold :math:`M = N_\Sigma\times\mathbb R` of Ma & Ying (Theorem 3).

    geomstats' product of :class:`SigmaSphere` and ``Euclidean(1)``: a point is
    a vector ``(u, a)`` of length ``d + 1`` (first-layer weights on
    :math:`N_\Sigma`, output weight), batched along leading axes. Equipped with
    :class:`BNMetric`: :math:`r^2 g` on ``u``, the standard metric on ``a``.

    Parameters
    ----------
    cov, radius, validate
        As for :class:`SigmaSphere`; the radius is the norm :math:`r = \|w\|` of the BN
        weights (default 1, the paper's choice).
    equip : bool
        Equip with :class:`BNMetric`.

    Examples
    --------
    >>> import numpy as np
    >>> space = BNSpace(np.diag([4.0, 1.0]), radius=2.0)
    >>> space.dim, space.shape
    (2, (3,))
    >>> p = np.array([0.5, 0.0, 1.0])
    >>> v = np.array([0.0, 1.0, 3.0])
    >>> float(space.metric.squared_norm(v, p))    # r^2 * 4 * 1 + 3^2
    25.0
    """

    def __init__(self, cov: ArrayLike, radius: float = 1.0, *, validate: bool = True,
                 equip: bool = True) -> None:
        sphere = SigmaSphere(cov, radius, validate=validate)
        self.sphere = sphere
        self.cov = sphere.cov
        self.radius = sphere.radius
        self.validate = sphere.validate
        super().__init__(factors=[sphere, Euclidean(1)], point_ndim=1, equip=equip)

    @staticmethod
    def default_metric() -> type:
        """Metric to equip the space with if ``equip`` is True."""
        return BNMetric

    # argument conventions ------------------------------------------------

    def _point(self, x: ArrayLike, name: str) -> tuple[NDArray, NDArray]:
        if x is None:
            raise ValueError(f"{name} is required")
        arr = _array(x, self.shape[0], name, self.validate)
        return arr[..., :-1], arr[..., -1]

    # membership and projections -----------------------------------------

    def belongs(self, point: ArrayLike, atol: float = gs.atol) -> NDArray:
        r"""Whether ``point = (u, a)`` has :math:`|u^\top\Sigma u - 1| \le` ``atol``.

        Points of the wrong length are not on the space (False), as in geomstats.
        """
        x = as_float_array(point, "point", min_ndim=1)
        if x.shape[-1] != self.shape[0]:
            return np.zeros(x.shape[:-1], dtype=bool)
        return self.sphere.belongs(x[..., :-1], atol=atol)

    def is_tangent(self, vector: ArrayLike, base_point: ArrayLike | None = None,
                   atol: float = gs.atol) -> NDArray:
        r"""Whether ``vector = (xi, alpha)`` has :math:`|\xi^\top\Sigma u| \le` ``atol``."""
        u, _ = self._point(base_point, "base_point")
        xi, _ = self._point(vector, "vector")
        return self.sphere.is_tangent(xi, u, atol=atol)

    def to_tangent(self, vector: ArrayLike, base_point: ArrayLike) -> NDArray:
        r"""Project ``(v, alpha)`` orthogonally onto :math:`T_u N_\Sigma\times\mathbb R`."""
        u, _ = self._point(base_point, "base_point")
        v, alpha = self._point(vector, "vector")
        return _join(self.sphere.to_tangent(v, u), alpha)

    def projection(self, point: ArrayLike) -> NDArray:
        r"""Map ``(w, a)`` to ``(phi(w), a)``: :math:`\varphi(w) = w/\|w\|_\Sigma`."""
        w, a = self._point(point, "point")
        return _join(self.sphere.projection(w), a)

    # sampling ------------------------------------------------------------

    def random_point(self, n_samples: int = 1, bound: float = 1.0,
                     rng: int | np.random.Generator | None = None) -> NDArray:
        r"""Random neurons: ``u`` uniform on :math:`N_\Sigma`, ``a`` uniform on ``[-bound, bound]``.

        This is the initialization of Theorem 5 (``a`` independent of ``u``).
        Shape ``(d + 1,)`` if ``n_samples == 1``, else ``(n_samples, d + 1)``.

        Examples
        --------
        >>> import numpy as np
        >>> BNSpace(np.eye(3)).random_point(4, rng=0).shape
        (4, 4)
        """
        n = check_positive_int(n_samples, "n_samples")
        bound = check_positive_scalar(bound, "bound")
        gen = _rng(rng)
        u = self.sphere.random_point(n, rng=gen)
        a = gen.uniform(-bound, bound, size=u.shape[:-1])
        return _join(u, a)

    def random_tangent_vec(self, base_point: ArrayLike, n_samples: int = 1,
                           rng: int | np.random.Generator | None = None) -> NDArray:
        r"""Tangent vectors standard Gaussian for :class:`BNMetric` (:math:`r^2 g\oplus da^2`).

        Examples
        --------
        >>> import numpy as np
        >>> space = BNSpace(np.diag([2.0, 1.0]))
        >>> p = space.random_point(3, rng=0)
        >>> bool(space.is_tangent(space.random_tangent_vec(p, rng=1), p).all())
        True
        """
        u, _ = self._point(base_point, "base_point")
        gen = _rng(rng)
        xi = self.sphere.random_tangent_vec(u, n_samples, rng=gen)
        return _join(xi, gen.standard_normal(xi.shape[:-1]))


@_backend_outputs
class BNMetric(ProductRiemannianMetric):
    r"""The metric of Proposition 1 on :math:`M = N_\Sigma\times\mathbb R`.

    :math:`\langle(\xi,\alpha),(\eta,\beta)\rangle_{(u,a)} = r^2\xi^\top G(u)^+\eta + \alpha\beta`:
    the product of :class:`SigmaSphereMetric` and the line's metric. The ``u``
    block is delegated to :class:`SigmaSphereMetric` (hence to
    :mod:`bngeom.geometry`), the ``a`` block is the flat line. Points and
    vectors split by slicing (``x[..., :d]``, ``x[..., d]``) rather than by
    geomstats' generic factor iteration, to keep the per-call overhead small.

    Examples
    --------
    >>> import numpy as np
    >>> space = BNSpace(np.eye(2))
    >>> p = np.array([1.0, 0.0, 0.0]); q = np.array([0.0, 1.0, 2.0])
    >>> round(float(space.metric.dist(p, q)) ** 2, 12) == round((np.pi / 2) ** 2 + 4, 12)
    True
    >>> space.metric.metric_matrix(p).round(12).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> space.metric.pinv_metric_matrix(p).round(12).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, space: BNSpace) -> None:
        if not isinstance(space, BNSpace):
            raise TypeError(f"space must be a BNSpace, got {type(space).__name__}")
        super().__init__(space)
        self._u_metric = space.sphere.metric

    def _split(self, x: ArrayLike, name: str) -> tuple[NDArray, NDArray]:
        return self._space._point(x, name)

    def _compiled(self, kernel: Callable, arrays: tuple, *extra: float) -> NDArray | None:
        """``kernel`` of :mod:`bngeom.geometry._checked` on plain float64 rows, else None.

        One compiled call checks and computes (row B6). None (the general path, which
        raises the precise error) for any other input, or rows the kernel did not pass.
        """
        first = arrays[0]
        shape = getattr(first, "shape", ())
        if (len(shape) not in (1, 2) or shape[-1] != self._space.shape[0] or shape[-1] < 3
                or shape[0] == 0 or not _checked.plain_float64(arrays, shape)):
            return None
        rows = arrays if len(shape) == 2 else tuple(x[None] for x in arrays)
        ok, out = kernel(*rows, self._space.cov, *extra, self._space.validate)
        if not ok:
            return None
        return out if len(shape) == 2 else out[0]

    # matrices ------------------------------------------------------------

    def _u_block(self, method: str, base_point: ArrayLike | None, corner: float = 1.0
                 ) -> NDArray:
        u, _ = self._split(base_point, "base_point")
        return _block_diagonal(getattr(self._u_metric, method)(u), corner)

    def metric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        r"""Block diag(:math:`r^2(G(u)^+ + nn^\top)`, 1): SPD, (..., d+1, d+1).

        The identity for :math:`\Sigma = I`, as geomstats' ``Hypersphere`` times a line.
        """
        return self._u_block("metric_matrix", base_point)

    def cometric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        r"""Block diag(:math:`(G(u) + nn^\top)/r^2`, 1), the inverse of :meth:`metric_matrix`."""
        return self._u_block("cometric_matrix", base_point)

    def pinv_metric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        """Block diag(:math:`r^2 G(u)^+`, 1), Proposition 1's pseudo-inverse definition."""
        return self._u_block("pinv_metric_matrix", base_point)

    def bn_cometric_matrix(self, base_point: ArrayLike | None = None) -> NDArray:
        """Block diag(:math:`G(u)/r^2`, 1), the paper's eq. (7)."""
        return self._u_block("bn_cometric_matrix", base_point)

    # curvature (MATH §9): the line is flat ---------------------------------

    def christoffels(self, base_point: ArrayLike | None = None) -> NDArray:
        """Not defined: the ``u`` factor is extrinsic (see ``SigmaSphereMetric.christoffels``)."""
        return self._u_metric.christoffels(self._split(base_point, "base_point")[0])

    def curvature(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                  tangent_vec_c: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        r""":math:`(g(Y_u,Z_u)X_u - g(X_u,Z_u)Y_u, 0)`: the sphere factor's, the line's is 0.

        geomstats' generic ``sectional_curvature`` and ``directional_curvature`` use it:
        :math:`\kappa = |X_u\wedge Y_u|^2_{r^2 g}/(r^2|X\wedge Y|^2)`.
        """
        u, _ = self._split(base_point, "base_point")
        parts = [self._split(v, name)[0] for v, name in (
            (tangent_vec_a, "tangent_vec_a"), (tangent_vec_b, "tangent_vec_b"),
            (tangent_vec_c, "tangent_vec_c"))]
        out = np.asarray(self._u_metric.curvature(*parts, u))
        return _join(out, np.zeros(out.shape[:-1], dtype=out.dtype))

    def riemann_tensor(self, base_point: ArrayLike | None = None) -> NDArray:
        """The sphere factor's ambient tensor in the ``u`` block, zero elsewhere."""
        u, _ = self._split(base_point, "base_point")
        t = np.asarray(self._u_metric.riemann_tensor(u))
        d = t.shape[-1]
        out = np.zeros(t.shape[:-4] + (d + 1,) * 4, dtype=t.dtype)
        out[..., :d, :d, :d, :d] = t
        return out

    def ricci_tensor(self, base_point: ArrayLike | None = None) -> NDArray:
        """Block diag(:math:`(d-2)G(u)^+`, 0): Ricci of the sphere factor, the line is flat."""
        return self._u_block("ricci_tensor", base_point, corner=0.0)

    def scalar_curvature(self, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`(d-1)(d-2)/r^2`, the sphere factor's."""
        u, _ = self._split(base_point, "base_point")
        return self._u_metric.scalar_curvature(u)

    def curvature_derivative(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                             tangent_vec_c: ArrayLike, tangent_vec_d: ArrayLike,
                             base_point: ArrayLike | None = None) -> NDArray:
        """Zero: both factors have parallel curvature (:func:`geometry.curvature_derivative`)."""
        u, _ = self._split(base_point, "base_point")
        parts = [self._split(v, name)[0] for v, name in (
            (tangent_vec_a, "tangent_vec_a"), (tangent_vec_b, "tangent_vec_b"),
            (tangent_vec_c, "tangent_vec_c"), (tangent_vec_d, "tangent_vec_d"))]
        out = np.asarray(self._u_metric.curvature_derivative(*parts, u))
        return _join(out, np.zeros(out.shape[:-1], dtype=out.dtype))

    def directional_curvature_derivative(self, tangent_vec_a: ArrayLike,
                                         tangent_vec_b: ArrayLike,
                                         base_point: ArrayLike | None = None) -> NDArray:
        """Zero: :meth:`curvature_derivative` at (X, Y, X, Y)."""
        return self.curvature_derivative(tangent_vec_a, tangent_vec_b, tangent_vec_a,
                                         tangent_vec_b, base_point)

    # metric --------------------------------------------------------------

    def inner_product(self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike,
                      base_point: ArrayLike | None = None) -> NDArray:
        """:math:`r^2 g_u(\\xi,\\eta) + \\alpha\\beta`."""
        arrays = (base_point, tangent_vec_a, tangent_vec_b)
        if (fast := self._compiled(_checked.space_inner_product, arrays,
                                   self._space.radius)) is not None:
            return fast
        u, _ = self._split(base_point, "base_point")
        xi, alpha = self._split(tangent_vec_a, "tangent_vec_a")
        eta, beta = self._split(tangent_vec_b, "tangent_vec_b")
        return self._u_metric.inner_product(xi, eta, u) + alpha * beta

    def squared_norm(self, vector: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`r^2 g_u(\\xi,\\xi) + \\alpha^2`."""
        u, _ = self._split(base_point, "base_point")
        xi, alpha = self._split(vector, "vector")
        return self._u_metric.squared_norm(xi, u) + alpha * alpha

    def norm(self, vector: ArrayLike, base_point: ArrayLike | None = None) -> NDArray:
        """:math:`\\sqrt{r^2 g_u(\\xi,\\xi) + \\alpha^2}`."""
        u, _ = self._split(base_point, "base_point")
        xi, alpha = self._split(vector, "vector")
        return np.hypot(self._u_metric.norm(xi, u), alpha)

    def riemannian_gradient(self, euclidean_grad: ArrayLike, base_point: ArrayLike) -> NDArray:
        """Theorem 2: :math:`(G(u)\\nabla_u/r^2, \\partial_a)`, the cometric applied in closed form.

        Not part of geomstats' metric interface; equal to
        ``bn_cometric_matrix(base_point) @ euclidean_grad`` at O(d) per point.

        Examples
        --------
        >>> import numpy as np
        >>> space = BNSpace(np.eye(2))
        >>> space.metric.riemannian_gradient(np.array([1.0, 2.0, 3.0]),
        ...                                  np.array([1.0, 0.0, 0.5])).tolist()
        [0.0, 2.0, 3.0]
        """
        u, _ = self._split(base_point, "base_point")
        grad_u, grad_a = self._split(euclidean_grad, "euclidean_grad")
        return _join(self._u_metric.riemannian_gradient(grad_u, u), grad_a)

    # geodesics -----------------------------------------------------------

    def exp(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> NDArray:
        """:math:`(\\exp_u\\xi, a + \\alpha)`."""
        if (fast := self._compiled(_checked.space_exp, (base_point, tangent_vec))) is not None:
            return fast
        u, a = self._split(base_point, "base_point")
        xi, alpha = self._split(tangent_vec, "tangent_vec")
        return _join(self._u_metric.exp(xi, u), a + alpha)

    def log(self, point: ArrayLike, base_point: ArrayLike) -> NDArray:
        """:math:`(\\log_u v, b - a)`."""
        if (fast := self._compiled(_checked.space_log, (point, base_point))) is not None:
            return fast
        u, a = self._split(base_point, "base_point")
        v, b = self._split(point, "point")
        return _join(self._u_metric.log(v, u), b - a)

    def squared_dist(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        """:math:`d_M^2 = r^2\\angle(\\breve u,\\breve v)^2 + (a - b)^2` (MATH §5)."""
        u, a = self._split(point_a, "point_a")
        v, b = self._split(point_b, "point_b")
        return self._u_metric.squared_dist(u, v) + (a - b) ** 2

    def dist(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        """:math:`d_M = \\sqrt{d_g(u, v)^2 + (a - b)^2}` (MATH §5)."""
        if (fast := self._compiled(_checked.space_dist, (point_a, point_b),
                                   self._space.radius)) is not None:
            return fast
        u, a = self._split(point_a, "point_a")
        v, b = self._split(point_b, "point_b")
        return np.hypot(self._u_metric.dist(u, v), a - b)

    def geodesic(self, initial_point: ArrayLike, end_point: ArrayLike | None = None,
                 initial_tangent_vec: ArrayLike | None = None) -> Callable[[ArrayLike], NDArray]:
        """The geodesic :math:`t\\mapsto(\\exp_u(t\\xi), a + t\\alpha)`.

        Times of shape ``(T,)`` map to points of shape ``(T, d + 1)`` for one
        initial condition and ``(..., T, d + 1)`` for a batch (geomstats'
        convention).
        """
        u, a = self._split(initial_point, "initial_point")
        if end_point is not None and initial_tangent_vec is None:
            v, b = self._split(end_point, "end_point")
            u_path = self._u_metric.geodesic(u, end_point=v)
            alpha = b - a
        elif end_point is None and initial_tangent_vec is not None:
            xi, alpha = self._split(initial_tangent_vec, "initial_tangent_vec")
            u_path = self._u_metric.geodesic(u, initial_tangent_vec=xi)
        else:
            raise ValueError("geodesic needs exactly one of end_point and initial_tangent_vec")

        def path(t: ArrayLike) -> NDArray:
            t = _times(t)
            points_u = u_path(t)                                   # (T, d) or (..., T, d)
            a_t = np.asarray(a)[..., None] + np.asarray(alpha)[..., None] * t  # (T,), (..., T)
            return _join(points_u, a_t)

        return path

    def parallel_transport(self, tangent_vec: ArrayLike, base_point: ArrayLike,
                           direction: ArrayLike | None = None,
                           end_point: ArrayLike | None = None) -> NDArray:
        """Transport :math:`(\\xi,\\alpha)`: the ``u`` part by the core, ``alpha`` unchanged."""
        u, _ = self._split(base_point, "base_point")
        xi, alpha = self._split(tangent_vec, "tangent_vec")
        if (direction is None) == (end_point is None):
            raise ValueError("parallel_transport needs exactly one of direction and end_point")
        if direction is not None:
            tau = self._u_metric.parallel_transport(
                xi, u, direction=self._split(direction, "direction")[0])
        else:
            tau = self._u_metric.parallel_transport(
                xi, u, end_point=self._split(end_point, "end_point")[0])
        return _join(tau, alpha)

    def injectivity_radius(self, base_point: ArrayLike | None = None) -> float | NDArray:
        r""":math:`\pi r`, the line does not bound it (``geometry.injectivity_radius``)."""
        u = None if base_point is None else self._split(base_point, "base_point")[0]
        return self._u_metric.injectivity_radius(u)
