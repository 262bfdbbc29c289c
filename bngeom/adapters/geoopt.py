r"""The BN manifolds :math:`N_\Sigma` and :math:`M = N_\Sigma\times\mathbb R` for geoopt (torch).

A thin adapter: every geometric quantity is computed by :mod:`bngeom.geometry` on the torch
tensors themselves (closed form, batched, differentiable by torch's autograd); this module
only maps geoopt's calling conventions onto it. The classes are geoopt manifolds, so a
:class:`geoopt.ManifoldParameter` on them trains with :class:`geoopt.optim.RiemannianSGD` and
:class:`geoopt.optim.RiemannianAdam`:

* :class:`BNSphere`, a :class:`geoopt.manifolds.base.Manifold` for
  :math:`N_\Sigma = \{u : u^\top\Sigma u = 1\}` with the metric :math:`r^2 g` of
  Proposition 1: points and tangent vectors are tensors of shape ``(..., d)``, one point per
  row. Its Riemannian gradient is Theorem 2's :math:`G(u)\nabla_u/r^2`
  (:meth:`BNSphere.egrad2rgrad`), its retraction the second-order
  :math:`R_u(\xi) = \varphi(\breve u + d\psi_u\xi)` of pymanopt's ``BNManifold`` (one
  step of it along Theorem 2's gradient is :math:`\varphi` of the BN network's gradient
  step), its vector transport the parallel transport along the geodesic;
* :class:`BNSphereExact`, the same manifold retracting by the exponential map (as geoopt's
  ``SphereExact``);
* :class:`NeuronManifold` (and :class:`NeuronManifoldExact`), a
  :class:`geoopt.ProductManifold` of :class:`BNSphere` and the flat line: points are rows
  ``(u, a)`` of length ``d + 1`` (first-layer weights on :math:`N_\Sigma`, the output
  weight), so one ``ManifoldParameter`` of shape ``(m, d + 1)`` holds a width-m network on
  :math:`M^m`.

The radius. Neuron k of radius :math:`r_k = \|w_k\|` carries the metric :math:`r_k^2 g`
(MATH §4): ``radius`` is a float or an array of one radius per row (it must broadcast to the
points' batch shape). It scales inner products, norms and distances, and divides the
Riemannian gradient by :math:`r^2`; the exponential map, the logarithm and the transport do
not depend on it.

Checking inputs. As geoopt's own manifolds, the methods do not check their arguments
(the core runs with ``validate=False``): geoopt's ``assert_check_point_on_manifold`` and
``assert_check_vector_on_tangent`` check points and tangent vectors on request. Construct a
manifold with ``validate=True`` to have every call checked by the core (``ValueError`` or
``TypeError`` naming the core's argument: ``base_point``, ``tangent_vec``, ``point``,
``end_point``, ...). ``cov`` and ``radius`` are checked when the manifold is built, and
the points' shape whenever geoopt checks it (a ``ManifoldParameter`` is created, or
``assert_check_point`` called). The retraction and ``projx`` go through the checked charts
whatever ``validate``: a step on :math:`N_\Sigma` that is not finite raises ``ValueError``
instead of leaving NaN in the parameter.

Examples
--------
>>> import numpy as np
>>> import torch
>>> import geoopt
>>> from bngeom.adapters.geoopt import NeuronManifold
>>> manifold = NeuronManifold(np.diag([4.0, 1.0, 0.25]))
>>> _ = torch.manual_seed(0)
>>> p = geoopt.ManifoldParameter(manifold.random(5, 4, dtype=torch.float64),
...                              manifold=manifold)
>>> manifold.assert_check_point_on_manifold(p)
>>> v = manifold.proju(p, torch.randn(5, 4, dtype=torch.float64))
>>> q = manifold.expmap(p, v)
>>> bool(torch.allclose(manifold.logmap(p, q), v))
True
>>> bool(torch.allclose(manifold.dist(p, q), manifold.norm(p, v)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from geoopt.manifolds.base import Manifold
from geoopt.manifolds.euclidean import Euclidean
from geoopt.manifolds.product import ProductManifold
from geoopt.tensor import ManifoldTensor
from geoopt.utils import broadcast_shapes, size2shape
from numpy.typing import ArrayLike

from bngeom import geometry
from bngeom._validation import as_float_array, check_bool, check_radius
from bngeom.adapters._retraction import retraction
from bngeom.geometry.charts import chart, neuron_radii, normalize_to_manifold

__all__ = ["BNSphere", "BNSphereExact", "NeuronManifold", "NeuronManifoldExact"]


def _numpy(x: Any) -> Any:
    """A tensor as a numpy array (detached, on the CPU); anything else as it is."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def _core(function: Any, *args: Any, **options: Any) -> Any:
    """``function`` of the core on the arguments, geoopt's tensors handed over as plain tensors.

    geoopt's ``ManifoldParameter`` and ``ManifoldTensor`` are ``torch.Tensor`` subclasses;
    the core computes on torch tensors (differentiably) and returns torch tensors.
    """
    def plain(a: Any) -> Any:
        return a.as_subclass(torch.Tensor) if isinstance(a, torch.Tensor) else a

    return function(*map(plain, args), **{k: plain(v) for k, v in options.items()})


class BNSphere(Manifold):
    r""":math:`N_\Sigma = \{u : u^\top\Sigma u = 1\}` with the metric :math:`r^2 g` (Prop. 1).

    Points and tangent vectors are tensors of shape ``(..., d)`` (``ndim = 1``: the last
    axis is the manifold's, the leading ones a batch); float64 or float32, on the CPU. Every
    method calls :mod:`bngeom.geometry` (see the module notes).

    Parameters
    ----------
    cov : array_like, shape (d, d), or NSigma
        The data covariance :math:`\Sigma`, symmetric positive definite, d >= 2.
    radius : float or array_like, default 1.0
        The neurons' radii :math:`r > 0`: a scalar, or one per point (broadcasting to the
        points' batch shape).
    validate : bool, default False
        Keyword-only. Check every call's arguments fully (the core's ``validate``).

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite or smaller than 2 x 2, or ``radius`` is
        not finite and positive.
    TypeError
        If ``cov`` or ``radius`` is not real numeric, or ``validate`` is not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> sphere = BNSphere(np.diag([4.0, 1.0]), radius=2.0)
    >>> u = torch.tensor([0.5, 0.0], dtype=torch.float64)
    >>> xi = torch.tensor([0.0, 1.0], dtype=torch.float64)
    >>> sphere.inner(u, xi).item()            # r^2 |xi|^2 / |u|^2 = 4 * 1 / 0.25
    16.0
    >>> sphere.egrad2rgrad(u, torch.tensor([1.0, 1.0], dtype=torch.float64)).tolist()
    [0.0, 0.0625]
    """

    ndim = 1
    name = "BNSphere"
    reversible = False

    def __init__(self, cov: ArrayLike | geometry.NSigma, radius: ArrayLike = 1.0, *,
                 validate: bool = False) -> None:
        super().__init__()
        self.space = geometry.NSigma(cov)
        if self.space.dim < 2:
            raise ValueError(f"cov must be at least 2 x 2 (N_Sigma has dimension d - 1 >= 1), "
                             f"got shape {self.space.cov.shape}")
        self.radius = check_radius(radius)
        self.validate = check_bool(validate, "validate")

    @property
    def dim(self) -> int:
        """The ambient dimension ``d`` (points have shape ``(..., d)``)."""
        return self.space.dim

    @property
    def cov(self) -> np.ndarray:
        r"""The covariance :math:`\Sigma` (read-only float64)."""
        return self.space.cov

    def extra_repr(self) -> str:
        radius = self.radius if np.ndim(self.radius) == 0 else f"shape {np.shape(self.radius)}"
        return f"d={self.dim}, radius={radius}"

    # shapes and membership ------------------------------------------------

    def _check_shape(self, shape: tuple[int, ...], name: str) -> tuple[bool, str | None]:
        ok, reason = super()._check_shape(shape, name)
        if ok and shape[-1] != self.dim:
            ok, reason = False, f"`{name}` must have last dimension d = {self.dim}, got {shape[-1]}"
        if ok and np.ndim(self.radius):
            try:
                fits = np.broadcast_shapes(np.shape(self.radius), shape[:-1]) == shape[:-1]
            except ValueError:
                fits = False
            if not fits:
                ok, reason = False, (f"the manifold's radius of shape {np.shape(self.radius)} "
                                     f"does not broadcast to `{name}`'s batch shape "
                                     f"{tuple(shape[:-1])}")
        return ok, reason

    def _check_point_on_manifold(self, x: torch.Tensor, *, atol: float = 1e-5,
                                 rtol: float = 1e-5) -> tuple[bool, str | None]:
        if not bool(torch.isfinite(x).all()):
            return False, "`x` is not finite"
        ok = bool(np.all(geometry.belongs(_numpy(x), self.space, atol=atol + rtol)))
        return ok, None if ok else f"`x^T Sigma x != 1` with atol={atol}, rtol={rtol}"

    def _check_vector_on_tangent(self, x: torch.Tensor, u: torch.Tensor, *, atol: float = 1e-5,
                                 rtol: float = 1e-5) -> tuple[bool, str | None]:
        if not bool(torch.isfinite(u).all()):
            return False, "`u` is not finite"
        ok = bool(np.all(geometry.is_tangent(_numpy(x), _numpy(u), self.space, atol=atol)))
        return ok, None if ok else f"`u^T Sigma x != 0` with atol={atol}"

    # the metric -------------------------------------------------------------

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, *,
              keepdim: bool = False) -> torch.Tensor:
        r""":math:`r^2 g_x(u, v)` (:func:`bngeom.geometry.inner_product`), shape ``(...)``."""
        out = _core(geometry.inner_product, x, u, u if v is None else v, self.space,
                    radius=self.radius, validate=self.validate)
        out = out.expand(broadcast_shapes(x.shape[:-1], out.shape))
        return out.unsqueeze(-1) if keepdim else out

    def norm(self, x: torch.Tensor, u: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        r""":math:`r\sqrt{g_x(u, u)}`, scale-safe (:func:`bngeom.geometry.norm`)."""
        out = _core(geometry.norm, x, u, self.space, radius=self.radius,
                    validate=self.validate)
        return out.unsqueeze(-1) if keepdim else out

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        """Geodesic distance (:func:`bngeom.geometry.dist`), shape ``(...)``."""
        out = _core(geometry.dist, x, y, self.space, radius=self.radius,
                    validate=self.validate)
        return out.unsqueeze(-1) if keepdim else out

    # projections and the gradient --------------------------------------------

    def projx(self, x: torch.Tensor) -> torch.Tensor:
        r"""The chart :math:`\varphi(x) = x/\|x\|_\Sigma` onto :math:`N_\Sigma` (eq. 7).

        Raises ``ValueError`` if a row of ``x`` is zero or not finite (it has no image).
        """
        if not bool(torch.isfinite(x).all()) or bool((x == 0).all(dim=-1).any()):
            raise ValueError("x must have finite, non-zero rows to be projected onto N_Sigma")
        return _core(chart, x, self.space.cov)

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r"""Euclidean-orthogonal projection onto :math:`T_x N_\Sigma` (``geometry.to_tangent``).

        It is also :math:`g`-orthogonal for the SPD completion of the metric
        (:func:`bngeom.geometry.metric_matrix`).
        """
        return _core(geometry.to_tangent, x, u, self.space, validate=self.validate)

    def egrad2rgrad(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r"""Theorem 2: the Riemannian gradient :math:`G(x)\nabla/r^2` of a Euclidean gradient.

        :func:`bngeom.geometry.riemannian_gradient`: for the vanilla loss it is minus the
        velocity that batch normalization induces on :math:`N_\Sigma` (eq. 7).
        """
        return _core(geometry.riemannian_gradient, x, u, self.space, radius=self.radius,
                     validate=self.validate)

    # geodesics, retraction and transport ----------------------------------------

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The exponential map (:func:`bngeom.geometry.exp`); independent of the radius."""
        return _core(geometry.exp, x, u, self.space, validate=self.validate)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The logarithm (:func:`bngeom.geometry.log`; a fixed choice at the cut locus)."""
        return _core(geometry.log, x, y, self.space, validate=self.validate)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r"""The second-order retraction :math:`R_x(u) = \varphi(\breve x + d\psi_x u)`.

        The round sphere's projective retraction conjugated by the isometry :math:`\psi`
        (MATH §5), the one of pymanopt's ``BNManifold``: with radius :math:`r = \|w\|`
        and :math:`x = \varphi(w)`, the step along minus the Riemannian gradient lands on
        :math:`\varphi` of the BN network's gradient step on :math:`w`.
        :class:`BNSphereExact` retracts by :meth:`expmap` instead.
        """
        return _core(retraction, x, u, self.space.cov)

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Parallel transport of ``v`` from ``x`` to ``y`` along the geodesic.

        :func:`bngeom.geometry.parallel_transport`; it preserves the metric and is undefined
        (not finite) between antipodal points.
        """
        return _core(geometry.parallel_transport, x, v, self.space, end_point=y,
                     validate=self.validate)

    # sampling -------------------------------------------------------------------

    def random(self, *size: int | tuple[int, ...], dtype: torch.dtype | None = None,
               device: torch.device | None = None, **kwargs: Any) -> ManifoldTensor:
        r"""Points uniform for :math:`g`: :math:`\varphi` of standard Gaussian rows.

        Drawn from torch's global generator (``torch.manual_seed`` makes them reproducible,
        and geoopt's ``origin`` deterministic), as geoopt's own manifolds draw.

        Parameters
        ----------
        *size : int or tuple of int
            The shape ``(..., d)`` of the result.
        dtype, device
            Of the result (torch's defaults if None).

        Returns
        -------
        geoopt.ManifoldTensor
            Points on :math:`N_\Sigma`, attached to this manifold.
        """
        shape = size2shape(*size)
        self._assert_check_shape(shape, "x")
        w = torch.randn(*shape, dtype=dtype, device=device)
        return ManifoldTensor(_core(chart, w, self.space.cov), manifold=self)

    random_uniform = random


class BNSphereExact(BNSphere):
    r""":class:`BNSphere` retracting by the exponential map :math:`\exp_u` (as ``SphereExact``).

    geoopt's optimizers then step along geodesics: :meth:`retr` is :meth:`expmap` and the
    transport of momenta follows it.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> sphere = BNSphereExact(np.eye(2))
    >>> u = torch.tensor([1.0, 0.0], dtype=torch.float64)
    >>> step = torch.tensor([0.0, np.pi / 2], dtype=torch.float64)
    >>> sphere.retr(u, step).round(decimals=12).tolist()
    [0.0, 1.0]
    """

    name = "BNSphereExact"
    retr = BNSphere.expmap
    retr_transp = BNSphere.expmap_transp
    transp_follow_retr = BNSphere.transp_follow_expmap


class NeuronManifold(ProductManifold):
    r"""The neuron manifold :math:`M = N_\Sigma\times\mathbb R`: points ``(u, a)`` of length d + 1.

    geoopt's :class:`~geoopt.ProductManifold` of :class:`BNSphere` (the first ``d`` entries,
    metric :math:`r^2 g`) and the flat line (the last entry, the output weight ``a``), so a
    ``ManifoldParameter`` of shape ``(m, d + 1)`` is a width-m two-layer network on
    :math:`M^m`. ``unpack_tensor`` splits a point into ``(u, a)`` with shapes ``(..., d)``
    and ``(..., 1)``; ``pack_point`` joins them.

    Parameters
    ----------
    cov : array_like, shape (d, d), or NSigma
        The data covariance :math:`\Sigma`, symmetric positive definite, d >= 2.
    radius : float or array_like, default 1.0
        The neurons' radii :math:`r > 0` (scalar, or one per point).
    validate : bool, default False
        Keyword-only. Check every call's arguments fully (see the module notes).

    Raises
    ------
    ValueError, TypeError
        As :class:`BNSphere`.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> manifold = NeuronManifold(np.diag([4.0, 1.0]))
    >>> p = torch.tensor([[0.5, 0.0, 3.0]], dtype=torch.float64)
    >>> v = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    >>> manifold.inner(p, v).tolist()        # |xi|^2 / |u|^2 + alpha^2 = 4 + 4
    [8.0]
    >>> [t.shape for t in manifold.unpack_tensor(p)]
    [torch.Size([1, 2]), torch.Size([1, 1])]
    """

    _sphere = BNSphere

    def __init__(self, cov: ArrayLike | geometry.NSigma, radius: ArrayLike = 1.0, *,
                 validate: bool = False) -> None:
        radius = check_radius(radius)
        sphere = self._sphere(cov, validate=validate)
        # geoopt checks the factor's shape (d,), without batch axes, which one radius per row
        # would not fit: the radii are set once the product is built
        super().__init__((sphere, sphere.dim), (Euclidean(ndim=1), 1))
        sphere.radius = radius
        self.name = type(self).__name__

    @property
    def sphere(self) -> BNSphere:
        r"""The :math:`N_\Sigma` factor."""
        return self.manifolds[0]

    @property
    def cov(self) -> np.ndarray:
        r"""The covariance :math:`\Sigma`."""
        return self.sphere.cov

    @property
    def radius(self) -> float | np.ndarray:
        """The neurons' radii."""
        return self.sphere.radius

    def extra_repr(self) -> str:
        return self.sphere.extra_repr()

    @classmethod
    def from_bn_weights(cls, W: ArrayLike | torch.Tensor, a: ArrayLike | torch.Tensor,
                        cov: ArrayLike | geometry.NSigma, *, validate: bool = False
                        ) -> tuple[NeuronManifold, torch.Tensor]:
        r"""The manifold with radii :math:`r_k = \|w_k\|` and the point :math:`(\varphi(W), a)`.

        The neurons of a BN network with first-layer weights ``W`` (rows :math:`w_k`) and
        output weights ``a``, as one point of :math:`M^m` of shape ``(m, d + 1)``. From it,
        a ``RiemannianSGD`` step of learning rate :math:`\eta` is :math:`\varphi` of
        :math:`\eta`'s gradient step on the BN network (Theorem 2 and the retraction of
        :meth:`BNSphere.retr`); on :class:`NeuronManifoldExact` it agrees to
        :math:`O(\eta^3)`.

        Parameters
        ----------
        W : array_like or torch.Tensor, shape (m, d)
            Non-zero first-layer weights.
        a : array_like or torch.Tensor, shape (m,)
            Output weights.
        cov, validate
            As in the class.

        Returns
        -------
        manifold : NeuronManifold
            Of this class, with radii :math:`\|w_k\|`.
        point : torch.Tensor, shape (m, d + 1)
            :math:`(\varphi(w_k), a_k)` row by row; of ``W``'s dtype if it is a tensor,
            float64 otherwise.

        Raises
        ------
        ValueError
            If ``W`` is not a finite (m, d) matrix of non-zero rows, ``a`` not of shape
            (m,), or ``cov`` as in the class.

        Examples
        --------
        >>> import numpy as np
        >>> manifold, p = NeuronManifold.from_bn_weights([[3.0, 4.0]], [1.0], np.eye(2))
        >>> manifold.radius.tolist(), p.tolist()
        ([5.0], [[0.6, 0.8, 1.0]])
        """
        dtype = W.dtype if isinstance(W, torch.Tensor) else torch.float64
        W, a = (as_float_array(_numpy(x), name, min_ndim=ndim, max_ndim=ndim)
                for x, name, ndim in ((W, "W", 2), (a, "a", 1)))
        if a.shape != W.shape[:1]:
            raise ValueError(f"a must have shape (m,) = ({W.shape[0]},), got shape {a.shape}")
        if not W.any(axis=1).all():
            raise ValueError("W must have non-zero rows (a zero row has no direction on N_Sigma)")
        manifold = cls(cov, neuron_radii(W), validate=validate)
        point = np.column_stack([normalize_to_manifold(W, manifold.cov), a])
        return manifold, torch.as_tensor(point, dtype=dtype)


class NeuronManifoldExact(NeuronManifold):
    r""":class:`NeuronManifold` whose retraction is the exponential map of :math:`M`.

    Its :math:`N_\Sigma` factor is a :class:`BNSphereExact`; on the line, geoopt's retraction
    :math:`a + \alpha` is already the exponential map.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> manifold = NeuronManifoldExact(np.eye(2))
    >>> p = torch.tensor([[1.0, 0.0, 3.0]], dtype=torch.float64)
    >>> v = torch.tensor([[0.0, np.pi, -1.0]], dtype=torch.float64)
    >>> manifold.retr(p, v).round(decimals=12).tolist()
    [[-1.0, 0.0, 2.0]]
    """

    _sphere = BNSphereExact
