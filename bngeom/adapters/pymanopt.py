r"""Width-m BN networks as pymanopt problems on :math:`(N_\Sigma\times\mathbb R)^m` (MATH §4-5).

A thin adapter over :mod:`bngeom.geometry`: :class:`BNManifold` is one pymanopt
:class:`~pymanopt.manifolds.manifold.Manifold` (``point_layout = 2``) made of two blocks,

* :class:`SigmaSphereRows`, the m first-layer rows ``U`` (shape ``(m, d)``),
  each on :math:`N_\Sigma` with the metric :math:`r_k^2 g` of Proposition 1
  (``r_k`` is neuron k's radius :math:`\|w_k\|`), and
* :class:`OutputWeights`, pymanopt's ``Euclidean(m)`` for the output weights ``a``.

Points are pairs ``[U, a]`` and tangent vectors :class:`BNTangentVector` pairs
``[xi, alpha]`` (pymanopt's product conventions), so its optimizers
(``SteepestDescent``, ``ConjugateGradient``, ``TrustRegions``, ...) and
diagnostics (``check_gradient``, ``check_hessian``, ``check_retraction``) run
unchanged, and ``BNManifold`` nests in pymanopt's ``Product`` like any factor.
Theorem 2 is :meth:`SigmaSphereRows.euclidean_to_riemannian_gradient`: the
Riemannian gradient of the vanilla loss is :math:`(G(u_k)\nabla_{u_k}\tilde L/r_k^2,
\partial_{a_k}\tilde L)`, the (negative) velocity that batch normalization
induces.

:func:`make_problem` builds the :class:`pymanopt.Problem` whose cost is the
vanilla loss :math:`\tilde L(U, a)` (:func:`bngeom.model.vanilla_loss`) through
pymanopt's autograd backend, optionally with the closed-form Euclidean gradient
of :func:`bngeom.model.vanilla_loss_and_gradients`.

Checking inputs. By default every call checks that the rows lie on
:math:`N_\Sigma`, that tangent vectors are tangent and that all values are
finite (``ValueError`` or ``TypeError`` naming the argument otherwise).
Construct the manifold with ``validate=False`` to check only the shapes of the
arguments (O(1)) and call the core with ``validate=False``, like pymanopt's own
manifolds, in hot loops.

Random numbers. ``random_point`` and ``random_tangent_vector`` draw from the
manifold's ``rng`` (int or ``numpy.random.Generator``); with ``rng=None`` they
seed from numpy's global random state, like pymanopt's own manifolds, so
``np.random.seed`` makes them reproducible.

Examples
--------
>>> import numpy as np
>>> from bngeom.nn import data
>>> from bngeom.adapters.pymanopt import make_problem
>>> from pymanopt.optimizers import SteepestDescent
>>> ds = data.make_teacher_dataset(100, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
>>> problem, manifold = make_problem(ds.X, ds.y, width=4, rng=1)
>>> x0 = manifold.random_point()
>>> result = SteepestDescent(max_iterations=20, verbosity=0).run(problem, initial_point=x0)
>>> bool(result.cost < problem.cost(x0))
True
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymanopt
from numpy.typing import ArrayLike, NDArray
from pymanopt.manifolds.euclidean import Euclidean
from pymanopt.manifolds.manifold import Manifold
from pymanopt.tools import ndarraySequenceMixin

from bngeom import geometry
from bngeom._validation import (
    as_float_array,
    check_bool,
    check_centered,
    check_covariance,
    check_dimension,
    check_on_manifold,
    check_positive_int,
    check_positive_scalar,
    check_radius,
    check_signed_labels,
    check_tangent,
)
from bngeom.adapters._retraction import retraction
from bngeom.geometry import _checked
from bngeom.geometry.charts import neuron_radii, normalize_to_manifold
from bngeom.nn.data import covariance
from bngeom.nn.functions import LOSSES, get_activation, get_loss
from bngeom.nn.model import (
    DEFAULT_MEMORY_BUDGET,
    vanilla_hessian_vector_product,
    vanilla_loss,
    vanilla_loss_and_gradients,
)

__all__ = ["SigmaSphereRows", "OutputWeights", "BNManifold", "BNTangentVector", "ProblemOptions",
           "make_problem"]

_GRADIENTS = ("autograd", "closed_form")
_BACKENDS = ("autograd", "numpy", "pytorch", "jax")


def _rng(rng: int | np.random.Generator | None) -> np.random.Generator | None:
    """A Generator, or None meaning: seed from numpy's global state at each draw."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _draw_rng(rng: np.random.Generator | None) -> np.random.Generator:
    if rng is not None:
        return rng
    # the legacy global state on purpose: pymanopt's manifolds draw from it
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))  # noqa: NPY002


def _radii(radii: ArrayLike | None, width: int) -> NDArray:
    if radii is None:
        return np.ones(width)
    r = check_radius(radii, "radii")
    r = np.broadcast_to(np.asarray(r, dtype=float), (width,)) if np.ndim(r) == 0 else r
    if r.shape != (width,):
        raise ValueError(f"radii must have shape (width,) = ({width},), got shape {r.shape}")
    return np.array(r, dtype=float)


class SigmaSphereRows(Manifold):
    r"""The m rows of ``U`` on :math:`N_\Sigma`, row k with the metric :math:`r_k^2 g` (Prop. 1).

    The power manifold :math:`N_\Sigma^m` with the product metric
    :math:`\sum_k r_k^2 g_{u_k}`; every method calls :mod:`bngeom.geometry`
    on all rows at once. Points and tangent vectors are arrays of shape
    ``(m, d)``.

    Parameters
    ----------
    cov : array_like, shape (d, d)
        Data covariance :math:`\Sigma`.
    width : int
        Number of neurons ``m``.
    radii : array_like, shape (m,) or float, optional
        Neuron radii :math:`r_k > 0` (default 1).
    rng : int, Generator or None
        Random source of ``random_point`` / ``random_tangent_vector``.
    validate : bool
        Check inputs fully at every call (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> rows = SigmaSphereRows(np.eye(2), 2, radii=[1.0, 2.0])
    >>> U = np.eye(2); xi = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> rows.inner_product(U, xi, xi)      # 1^2 * 1 + 2^2 * 1
    5.0
    """

    def __init__(self, cov: ArrayLike, width: int, radii: ArrayLike | None = None, *,
                 rng: int | np.random.Generator | None = None, validate: bool = True) -> None:
        self.cov = check_covariance(cov)
        if self.cov.shape[0] < 2:
            raise ValueError(f"cov must be at least 2 x 2 (N_Sigma has dimension d - 1 >= 1), "
                             f"got shape {self.cov.shape}")
        self.width = check_positive_int(width, "width")
        self.radii = _radii(radii, self.width)
        self.radii.flags.writeable = False  # _radii_col and _radii_sq are derived from it
        self._radii_col = self.radii[:, None]
        self._radii_sq = self.radii ** 2
        self._rng = _rng(rng)
        self.validate = bool(validate)
        d = self.cov.shape[0]
        super().__init__(f"{self.width} rows on N_Sigma in R^{d}", self.width * (d - 1))

    # argument conventions ------------------------------------------------

    def _rows(self, x: ArrayLike, name: str) -> NDArray:
        arr = as_float_array(x, name, min_ndim=2, max_ndim=2) if self.validate \
            else np.asarray(x)
        if arr.shape != (self.width, self.cov.shape[0]):
            raise ValueError(f"{name} must have shape (width, d) = ({self.width}, "
                             f"{self.cov.shape[0]}), got shape {arr.shape}")
        return arr

    @property
    def typical_dist(self) -> float:
        r""":math:`\pi\sqrt{\sum_k r_k^2}`, the diameter of :math:`(N_\Sigma^m, \oplus r_k^2 g)`."""
        return float(np.pi * np.sqrt(np.sum(self.radii**2)))

    # metric --------------------------------------------------------------

    def inner_product(self, point: ArrayLike, tangent_vector_a: ArrayLike,
                      tangent_vector_b: ArrayLike) -> float:
        """:math:`\\sum_k r_k^2 g_{u_k}(\\xi_k, \\eta_k)` (``geometry.inner_product``)."""
        return float(np.sum(geometry.inner_product(
            self._rows(point, "point"), self._rows(tangent_vector_a, "tangent_vector_a"),
            self._rows(tangent_vector_b, "tangent_vector_b"), self.cov, radius=self.radii,
            validate=self.validate)))

    def norm(self, point: ArrayLike, tangent_vector: ArrayLike) -> float:
        """Length of ``tangent_vector`` in the product metric."""
        return float(np.sqrt(max(self.inner_product(point, tangent_vector, tangent_vector),
                                 0.0)))

    def projection(self, point: ArrayLike, vector: ArrayLike) -> NDArray:
        """Euclidean-orthogonal projection onto the tangent space (``geometry.to_tangent``)."""
        return geometry.to_tangent(self._rows(point, "point"), self._rows(vector, "vector"),
                                   self.cov, validate=self.validate)

    to_tangent_space = projection

    def dist(self, point_a: ArrayLike, point_b: ArrayLike) -> float:
        """Geodesic distance :math:`\\sqrt{\\sum_k d_{r_k^2 g}(u_k, v_k)^2}` (core)."""
        return float(np.sqrt(np.sum(geometry.squared_dist(
            self._rows(point_a, "point_a"), self._rows(point_b, "point_b"), self.cov,
            radius=self.radii, validate=self.validate))))

    # gradients and Hessians ---------------------------------------------

    def euclidean_to_riemannian_gradient(self, point: ArrayLike,
                                         euclidean_gradient: ArrayLike) -> NDArray:
        """Theorem 2: :math:`G(u_k)\\nabla_{u_k}/r_k^2` (``geometry.riemannian_gradient``)."""
        return geometry.riemannian_gradient(
            self._rows(point, "point"), self._rows(euclidean_gradient, "euclidean_gradient"),
            self.cov, radius=self.radii, validate=self.validate)

    def euclidean_to_riemannian_hessian(self, point: ArrayLike, euclidean_gradient: ArrayLike,
                                        euclidean_hessian: ArrayLike,
                                        tangent_vector: ArrayLike) -> NDArray:
        """Riemannian Hessian-vector product (:func:`bngeom.geometry.riemannian_hessian`)."""
        return geometry.riemannian_hessian(
            self._rows(point, "point"), self._rows(euclidean_gradient, "euclidean_gradient"),
            self._rows(euclidean_hessian, "euclidean_hessian"),
            self._rows(tangent_vector, "tangent_vector"), self.cov, radius=self.radii,
            validate=self.validate)

    # geodesics and retraction -------------------------------------------

    def exp(self, point: ArrayLike, tangent_vector: ArrayLike) -> NDArray:
        """Riemannian exponential, row-wise (:func:`bngeom.geometry.exp`)."""
        return geometry.exp(self._rows(point, "point"),
                            self._rows(tangent_vector, "tangent_vector"), self.cov,
                            validate=self.validate)

    def retraction(self, point: ArrayLike, tangent_vector: ArrayLike) -> NDArray:
        r"""Second-order retraction :math:`R_u(\xi) = \varphi(\breve u + d\psi_u\xi)`.

        The round sphere's projective retraction conjugated by the isometry
        :math:`\psi` (MATH §5), through :mod:`bngeom.charts`; shared with geoopt's
        ``BNSphere.retr`` (``bngeom.adapters._retraction``).
        """
        u = self._rows(point, "point")
        xi = self._rows(tangent_vector, "tangent_vector")
        if self.validate:
            cov_u = u @ self.cov
            check_on_manifold(u, cov_u, "point")
            check_tangent(xi, cov_u, "tangent_vector")
        return retraction(u, xi, self.cov)

    def log(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        """Riemannian logarithm, row-wise (:func:`bngeom.geometry.log`)."""
        return geometry.log(self._rows(point_a, "point_a"), self._rows(point_b, "point_b"),
                            self.cov, validate=self.validate)

    def transport(self, point_a: ArrayLike, point_b: ArrayLike,
                  tangent_vector_a: ArrayLike) -> NDArray:
        """Parallel transport along the geodesics (:func:`bngeom.geometry.parallel_transport`).

        Raises ``ValueError`` if a row of ``point_b`` is antipodal to the one of
        ``point_a`` (:math:`\\breve v = -\\breve u`), where it is undefined.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            out = geometry.parallel_transport(
                self._rows(point_a, "point_a"),
                self._rows(tangent_vector_a, "tangent_vector_a"), self.cov,
                end_point=self._rows(point_b, "point_b"), validate=self.validate)
        if not np.all(np.isfinite(out)):
            raise ValueError("transport is undefined between antipodal rows of point_a and "
                             "point_b (a row of point_b is on the cut locus of point_a's)")
        return out

    def pair_mean(self, point_a: ArrayLike, point_b: ArrayLike) -> NDArray:
        r"""Geodesic midpoints :math:`\exp_u(\tfrac12\log_u v)`, row-wise."""
        u = self._rows(point_a, "point_a")
        return geometry.exp(u, 0.5 * self.log(u, point_b), self.cov, validate=False)

    # sampling ------------------------------------------------------------

    def random_point(self) -> NDArray:
        """Rows uniform on :math:`N_\\Sigma` (:func:`bngeom.geometry.random_point`)."""
        return geometry.random_point(self.cov, self.width, rng=_draw_rng(self._rng))

    def random_tangent_vector(self, point: ArrayLike) -> NDArray:
        """A random tangent vector of unit norm (Gaussian direction for the metric)."""
        u = self._rows(point, "point")
        xi = geometry.random_tangent_vector(u, self.cov, rng=_draw_rng(self._rng),
                                            scale=1.0 / self._radii_col)
        return xi / self.norm(u, xi)

    def zero_vector(self, point: ArrayLike) -> NDArray:
        """The zero tangent vector, shape ``(m, d)``."""
        return np.zeros((self.width, self.cov.shape[0]))


class OutputWeights(Euclidean):
    """pymanopt's ``Euclidean(m)`` for the output weights ``a``, drawing from a given ``rng``.

    With ``validate=True`` (the default) every method checks that its array
    arguments are finite real vectors of shape ``(m,)``.

    Examples
    --------
    >>> OutputWeights(3, rng=0).random_point().shape
    (3,)
    """

    def __init__(self, width: int, *, rng: int | np.random.Generator | None = None,
                 validate: bool = True) -> None:
        super().__init__(check_positive_int(width, "width"))
        self._rng = _rng(rng)
        self.validate = bool(validate)

    def random_point(self) -> NDArray:
        """Standard Gaussian output weights."""
        return _draw_rng(self._rng).standard_normal(self._shape)

    def _check(self, x: Any, name: str) -> NDArray:
        arr = as_float_array(x, name, min_ndim=1, max_ndim=1)
        if arr.shape != self._shape:
            raise ValueError(f"{name} must have shape (width,) = {self._shape}, "
                             f"got shape {arr.shape}")
        return arr


def _validated(method_name: str):
    """Wrap ``Euclidean.<method_name>`` so that it checks its arrays when ``validate``."""
    base = getattr(Euclidean, method_name)
    names = [p for p in inspect.signature(base).parameters if p != "self"]

    def method(self: OutputWeights, *args: Any) -> Any:
        if self.validate:
            args = tuple(self._check(x, f"{name} (output weights a)")
                         for x, name in zip(args, names, strict=False))
        return base(self, *args)

    method.__name__ = method_name
    method.__doc__ = base.__doc__
    return method


for _name in ("inner_product", "norm", "dist", "projection", "to_tangent_space", "exp",
              "retraction", "log", "transport", "pair_mean", "random_tangent_vector",
              "zero_vector", "euclidean_to_riemannian_gradient",
              "euclidean_to_riemannian_hessian"):
    setattr(OutputWeights, _name, _validated(_name))


class BNTangentVector(ndarraySequenceMixin, list):
    """A tangent vector ``[xi, alpha]`` of :class:`BNManifold`: a list with vector arithmetic.

    ``+``, ``-`` (with another ``[xi, alpha]``), ``*`` and ``/`` by a scalar and
    unary ``-`` act block-wise, as on pymanopt's product tangent vectors, so
    pymanopt's optimizers combine them; it stays a list ``[xi, alpha]`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> v = BNTangentVector([np.ones((1, 2)), np.ones(1)])
    >>> [x.tolist() for x in 2.0 * v - v]
    [[[1.0, 1.0]], [1.0]]
    """

    #: The rows ``U`` of the point that :meth:`BNManifold.transport` moved this vector
    #: from (None for any other vector); see :meth:`BNManifold.inner_product`.
    transported_from: Any = None

    def _pair(self, other: Any) -> tuple[Any, Any]:
        if not isinstance(other, (list, tuple)) or len(other) != 2:
            raise TypeError("a BNManifold tangent vector combines only with another "
                            f"[xi, alpha] pair, got {type(other).__name__}")
        return other[0], other[1]

    def __add__(self, other: Any) -> BNTangentVector:
        xi, alpha = self._pair(other)
        return BNTangentVector([self[0] + xi, self[1] + alpha])

    __radd__ = __add__

    def __sub__(self, other: Any) -> BNTangentVector:
        xi, alpha = self._pair(other)
        return BNTangentVector([self[0] - xi, self[1] - alpha])

    def __rsub__(self, other: Any) -> BNTangentVector:
        xi, alpha = self._pair(other)
        return BNTangentVector([xi - self[0], alpha - self[1]])

    def __mul__(self, scalar: Any) -> BNTangentVector:
        return BNTangentVector([scalar * self[0], scalar * self[1]])

    __rmul__ = __mul__

    def __truediv__(self, scalar: Any) -> BNTangentVector:
        return BNTangentVector([self[0] / scalar, self[1] / scalar])

    def __neg__(self) -> BNTangentVector:
        return BNTangentVector([-self[0], -self[1]])


#: The containers of a point ``[U, a]`` or tangent vector ``[xi, alpha]`` the compiled path takes.
_PAIR_TYPES = (list, tuple, BNTangentVector)


def _pair(x: Any, name: str) -> tuple[Any, Any]:
    """Split a point or tangent vector ``[U, a]`` of BNManifold, or raise naming ``name``."""
    if isinstance(x, (str, bytes)) or not isinstance(x, (list, tuple)) or len(x) != 2:
        raise TypeError(f"{name} must be a pair [U, a] (first-layer rows, output weights), "
                        f"got {type(x).__name__}"
                        + (f" of length {len(x)}" if isinstance(x, (list, tuple)) else ""))
    return x[0], x[1]


class BNManifold(Manifold):
    r"""The parameter manifold :math:`(N_\Sigma\times\mathbb R)^m` of a width-m BN network.

    One pymanopt :class:`~pymanopt.manifolds.manifold.Manifold` with
    ``point_layout = 2``: points are pairs ``[U, a]`` (rows ``U`` of shape
    ``(m, d)`` on :math:`N_\Sigma`, output weights ``a`` of shape ``(m,)``) and
    tangent vectors :class:`BNTangentVector` pairs ``[xi, alpha]``. Every
    method acts block-wise through :class:`SigmaSphereRows` (``rows``) and
    :class:`OutputWeights` (``outputs``). Neuron k of radius :math:`r_k` carries
    the metric :math:`r_k^2 g`; the dimension is ``m * d``. Not being a
    pymanopt ``Product``, it nests in one: ``Product([BNManifold(...),
    Euclidean(3)])`` has points ``[[U, a], z]``.

    Parameters
    ----------
    cov, width, radii, rng, validate
        As for :class:`SigmaSphereRows`; the radii are the norms :math:`r_k = \|w_k\|` of
        the BN weights (default 1).

    Attributes
    ----------
    rows, outputs : SigmaSphereRows, OutputWeights
        The two blocks, in the order of a point ``[U, a]`` (also ``manifolds``).
    cov, width, radii
        The checked covariance (float64), width and radii (shape ``(m,)``, read-only) of
        ``rows``.

    Examples
    --------
    >>> import numpy as np
    >>> manifold = BNManifold(np.diag([4.0, 1.0, 0.25]), width=5, rng=0)
    >>> manifold.dim, manifold.point_layout
    (15, 2)
    >>> x = manifold.random_point()
    >>> v = manifold.random_tangent_vector(x)
    >>> y = manifold.exp(x, v)
    >>> round(manifold.dist(x, y), 12) == round(manifold.norm(x, v), 12)
    True
    """

    def __init__(self, cov: ArrayLike, width: int, radii: ArrayLike | None = None, *,
                 rng: int | np.random.Generator | None = None, validate: bool = True) -> None:
        gen = _rng(rng)
        self.rows = SigmaSphereRows(cov, width, radii, rng=gen, validate=validate)
        self.outputs = OutputWeights(self.rows.width, rng=gen, validate=validate)
        self.validate = bool(validate)
        self.cov, self.width, self.radii = self.rows.cov, self.rows.width, self.rows.radii
        super().__init__(f"BN manifold (N_Sigma x R)^{self.width} with d = {self.cov.shape[0]}",
                         int(self.rows.dim + self.outputs.dim), point_layout=2)

    @property
    def manifolds(self) -> tuple[SigmaSphereRows, OutputWeights]:
        """The two blocks ``(rows, outputs)``, in the order of a point ``[U, a]``."""
        return (self.rows, self.outputs)

    @property
    def typical_dist(self) -> float:
        """:math:`\\sqrt{\\pi^2\\sum_k r_k^2 + m}`, as pymanopt's product of the two blocks."""
        return float(np.sqrt(self.rows.typical_dist ** 2 + self.outputs.typical_dist ** 2))

    # block-wise dispatch ---------------------------------------------------

    def _compiled(self, kernel: Any, pairs: tuple, *extra: NDArray) -> tuple | None:
        """``kernel`` of :mod:`bngeom.geometry._checked` on plain float64 pairs, else None.

        One compiled call checks and computes (row B6); the results after the status.
        None (the block-wise path, which raises the precise error) for any other input,
        for a vector that :meth:`transport` moved, or for rows the kernel did not pass.
        """
        flat = []
        for pair in pairs:
            if (type(pair) not in _PAIR_TYPES or len(pair) != 2
                    or getattr(pair, "transported_from", None) is not None):
                return None
            flat.extend(pair)
        rows = self.rows
        if not (_checked.plain_float64(flat[::2], (rows.width, rows.cov.shape[0]))
                and _checked.plain_float64(flat[1::2], (rows.width,))):
            return None
        out = kernel(*flat, rows.cov, *extra, self.validate)
        return out[1:] if out[0] else None

    def _both(self, method: str, names: tuple[str, ...], args: tuple[Any, ...]
              ) -> tuple[Any, Any]:
        pairs = [_pair(x, name) for x, name in zip(args, names, strict=True)]
        return (getattr(self.rows, method)(*(p[0] for p in pairs)),
                getattr(self.outputs, method)(*(p[1] for p in pairs)))

    def _vector(self, method: str, names: tuple[str, ...], *args: Any) -> BNTangentVector:
        return BNTangentVector(self._both(method, names, args))

    # metric ------------------------------------------------------------------

    def inner_product(self, point: Any, tangent_vector_a: Any, tangent_vector_b: Any) -> float:
        r"""The metric :math:`\sum_k (r_k^2 g_{u_k}(\xi_k,\eta_k) + \alpha_k\beta_k)`.

        Both vectors must be tangent at ``point`` (with ``validate``), with one
        exception: a vector that :meth:`transport` returned *from* ``point``
        enters through its tangent projection :math:`P_u\eta` at ``point``, as
        on pymanopt's own embedded manifolds (exact for Proposition 1's
        :math:`\xi^\top G(u)^+\eta`, whose null space is the normal
        :math:`\Sigma u`). pymanopt's ``ConjugateGradient(beta_rule="LiuStorey")``
        pairs the gradient at ``x`` with the direction it has just transported
        from ``x`` to the next point. Any other non-tangent vector raises.
        """
        arrays = (point, tangent_vector_a, tangent_vector_b)
        if (fast := self._compiled(_checked.rows_inner_product, arrays,
                                   self.rows._radii_sq)) is not None:
            return float(fast[0])
        U = _pair(point, "point")[0]
        a_vec, b_vec = (self._from_here(v, U) for v in (tangent_vector_a, tangent_vector_b))
        rows, outs = self._both("inner_product", ("point", "tangent_vector_a",
                                                  "tangent_vector_b"),
                                (point, a_vec, b_vec))
        return float(rows + outs)

    def _from_here(self, vector: Any, U: Any) -> Any:
        """``vector`` projected at ``U`` if :meth:`transport` moved it away from ``U``."""
        origin = getattr(vector, "transported_from", None)
        if origin is None or not (origin is U or np.array_equal(origin, U)):
            return vector
        return BNTangentVector([self.rows.projection(U, vector[0]), vector[1]])

    def norm(self, point: Any, tangent_vector: Any) -> float:
        """Length of ``tangent_vector`` (clipped at 0 against rounding before the square root)."""
        return float(np.sqrt(max(self.inner_product(point, tangent_vector, tangent_vector),
                                 0.0)))

    def dist(self, point_a: Any, point_b: Any) -> float:
        """Geodesic distance, :math:`\\sqrt{d_{rows}^2 + \\|a - b\\|^2}` (MATH §5)."""
        if (fast := self._compiled(_checked.rows_dist, (point_a, point_b), self.radii)) is not None:
            return float(fast[0])
        rows, outs = self._both("dist", ("point_a", "point_b"), (point_a, point_b))
        return float(np.sqrt(rows ** 2 + outs ** 2))

    def projection(self, point: Any, vector: Any) -> BNTangentVector:
        """Euclidean-orthogonal projection onto the tangent space, block-wise."""
        return self._vector("projection", ("point", "vector"), point, vector)

    def to_tangent_space(self, point: Any, vector: Any) -> BNTangentVector:
        """Same as :meth:`projection`."""
        return self._vector("to_tangent_space", ("point", "vector"), point, vector)

    # gradients and Hessians ---------------------------------------------------

    def euclidean_to_riemannian_gradient(self, point: Any, euclidean_gradient: Any
                                         ) -> BNTangentVector:
        """Theorem 2: :math:`(G(u_k)\\nabla_{u_k}/r_k^2, \\partial_{a_k})` (``rows``, ``a``)."""
        return self._vector("euclidean_to_riemannian_gradient",
                            ("point", "euclidean_gradient"), point, euclidean_gradient)

    def euclidean_to_riemannian_hessian(self, point: Any, euclidean_gradient: Any,
                                        euclidean_hessian: Any, tangent_vector: Any
                                        ) -> BNTangentVector:
        """Riemannian Hessian-vector product, block-wise (:meth:`SigmaSphereRows` on ``U``)."""
        return self._vector("euclidean_to_riemannian_hessian",
                            ("point", "euclidean_gradient", "euclidean_hessian",
                             "tangent_vector"),
                            point, euclidean_gradient, euclidean_hessian, tangent_vector)

    # geodesics, retraction, transport -----------------------------------------

    def exp(self, point: Any, tangent_vector: Any) -> list[NDArray]:
        """Riemannian exponential ``[exp_U(xi), a + alpha]``."""
        if (fast := self._compiled(_checked.rows_step, (point, tangent_vector), False)) is not None:
            return list(fast)
        return list(self._both("exp", ("point", "tangent_vector"), (point, tangent_vector)))

    def retraction(self, point: Any, tangent_vector: Any) -> list[NDArray]:
        """Second-order retraction (:meth:`SigmaSphereRows.retraction`) and ``a + alpha``."""
        if (fast := self._compiled(_checked.rows_step, (point, tangent_vector), True)) is not None:
            return list(fast)
        return list(self._both("retraction", ("point", "tangent_vector"),
                               (point, tangent_vector)))

    def log(self, point_a: Any, point_b: Any) -> BNTangentVector:
        """Riemannian logarithm ``[log_U(V), b - a]``."""
        if (fast := self._compiled(_checked.rows_log, (point_a, point_b))) is not None:
            return BNTangentVector(fast)
        return self._vector("log", ("point_a", "point_b"), point_a, point_b)

    def transport(self, point_a: Any, point_b: Any, tangent_vector_a: Any) -> BNTangentVector:
        """Parallel transport along the geodesics (raises between antipodal rows).

        The result records its origin (``transported_from``, the rows of
        ``point_a``) for :meth:`inner_product`; arithmetic on it drops the record.
        """
        out = self._vector("transport", ("point_a", "point_b", "tangent_vector_a"),
                           point_a, point_b, tangent_vector_a)
        out.transported_from = _pair(point_a, "point_a")[0]
        return out

    def pair_mean(self, point_a: Any, point_b: Any) -> list[NDArray]:
        """Geodesic midpoint, block-wise."""
        return list(self._both("pair_mean", ("point_a", "point_b"), (point_a, point_b)))

    # sampling ------------------------------------------------------------------

    def random_point(self) -> list[NDArray]:
        """``[U, a]``: rows uniform on :math:`N_\\Sigma`, standard Gaussian ``a``."""
        return [self.rows.random_point(), self.outputs.random_point()]

    def random_tangent_vector(self, point: Any) -> BNTangentVector:
        """A random tangent vector of unit norm (each block of norm :math:`1/\\sqrt2`)."""
        U, a = _pair(point, "point")
        scale = 2 ** -0.5
        return BNTangentVector([scale * self.rows.random_tangent_vector(U),
                                scale * self.outputs.random_tangent_vector(a)])

    def zero_vector(self, point: Any) -> BNTangentVector:
        """The zero tangent vector ``[0 (m, d), 0 (m,)]``."""
        return self._vector("zero_vector", ("point",), point)

    # BN parameters -------------------------------------------------------------

    def point_from_bn(self, W: ArrayLike, a: ArrayLike) -> list[NDArray]:
        r"""The point ``[phi(W), a]`` of BN parameters (``phi(w) = w/||w||_Sigma``, eq. 7).

        Examples
        --------
        >>> import numpy as np
        >>> M = BNManifold(np.diag([4.0, 1.0]), 1)
        >>> [x.tolist() for x in M.point_from_bn([[2.0, 0.0]], [3.0])]
        [[[0.5, 0.0]], [3.0]]
        """
        U = normalize_to_manifold(W, self.cov)
        if U.shape != (self.width, self.cov.shape[0]):
            raise ValueError(f"W must have shape (width, d) = ({self.width}, "
                             f"{self.cov.shape[0]}), got shape {U.shape}")
        a = as_float_array(a, "a", min_ndim=1, max_ndim=1)
        if a.shape != (self.width,):
            raise ValueError(f"a must have shape (width,) = ({self.width},), got {a.shape}")
        return [U, a.astype(float)]

    @classmethod
    def from_bn_weights(cls, W: ArrayLike, a: ArrayLike, cov: ArrayLike, *,
                        rng: int | np.random.Generator | None = None,
                        validate: bool = True) -> tuple[BNManifold, list[NDArray]]:
        r"""The manifold with radii :math:`\|w_k\|` and the point ``[phi(W), a]`` of a BN network.

        Riemannian gradient descent from this point follows Euclidean gradient
        descent on the BN network from ``(W, a)`` to :math:`O(\eta^2)` per step
        (Theorem 2; ``examples/gd_equivalence.py``).

        Examples
        --------
        >>> import numpy as np
        >>> M, x = BNManifold.from_bn_weights([[3.0, 4.0]], [1.0], np.eye(2))
        >>> M.radii.tolist(), x[0].tolist()
        ([5.0], [[0.6, 0.8]])
        """
        W = as_float_array(W, "W", min_ndim=2, max_ndim=2)
        manifold = cls(cov, W.shape[0], neuron_radii(W), rng=rng, validate=validate)
        return manifold, manifold.point_from_bn(W, a)


@dataclass(frozen=True)
class ProblemOptions:
    """Settings of :func:`make_problem` beyond the data, the network and the backend.

    Parameters
    ----------
    euclidean_gradient : {None, "autograd", "closed_form"}
        For ``backend="autograd"`` only: the Euclidean gradient from autograd
        (None, the default) or from :func:`bngeom.nn.model.vanilla_loss_and_gradients`
        (``"closed_form"``; the Hessian still from autograd). The other backends
        always use the closed forms.
    memory_budget : float
        Bytes for the ``n x m`` temporaries of the closed forms.
    validate : bool
        Passed to :class:`BNManifold`.

    Examples
    --------
    >>> ProblemOptions(euclidean_gradient="closed_form").validate
    True
    """

    euclidean_gradient: str | None = None
    memory_budget: float = DEFAULT_MEMORY_BUDGET
    validate: bool = True

    def __post_init__(self) -> None:
        if self.euclidean_gradient not in (None, *_GRADIENTS):
            raise ValueError(f"euclidean_gradient must be one of {_GRADIENTS}, got "
                             f"{self.euclidean_gradient!r}")
        check_positive_scalar(self.memory_budget, "memory_budget")
        check_bool(self.validate, "validate")


class _ClosedForms:
    """The vanilla loss, its gradient and Hessian-vector product on fixed data (numpy)."""

    def __init__(self, X: NDArray, y: NDArray, act: Any, lo: Any, memory_budget: float
                 ) -> None:
        self.X, self.y, self.act, self.lo, self.budget = X, y, act, lo, memory_budget

    def value(self, U: NDArray, a: NDArray) -> float:
        return vanilla_loss(self.X, self.y, U, a, self.act, self.lo, memory_budget=self.budget)

    def gradient(self, U: NDArray, a: NDArray) -> list[NDArray]:
        res = vanilla_loss_and_gradients(self.X, self.y, U, a, self.act, self.lo,
                                         memory_budget=self.budget, validate=False)
        return [res.grad_w, res.grad_a]

    def hvp(self, U: NDArray, a: NDArray, V: NDArray, b: NDArray) -> list[NDArray]:
        return list(vanilla_hessian_vector_product(self.X, self.y, U, a, V, b, self.act,
                                                   self.lo, memory_budget=self.budget))


def make_problem(X: ArrayLike, y: ArrayLike, width: int, activation: str = "tanh",
                 loss: str = "squared", *, cov: ArrayLike | None = None,
                 radii: ArrayLike | None = None, backend: str = "autograd",
                 rng: int | np.random.Generator | None = None,
                 **options: Any) -> tuple[pymanopt.Problem, BNManifold]:
    r"""The training problem of a width-m BN network as a pymanopt problem on :math:`M^m`.

    The cost is the vanilla loss :math:`\tilde L(U, a) = \frac1n\sum_i
    \ell(\frac1m\sum_k a_k\sigma(u_k^\top x_i), y_i)` on
    ``BNManifold(cov, width, radii)``, which equals the BN loss at
    :math:`U = \varphi(W)` (MATH §3), as a cost of pymanopt's ``backend``:

    * ``"autograd"`` (default): written in ``autograd.numpy``, differentiated by
      autograd (or with ``euclidean_gradient="closed_form"``, the gradient of
      :func:`bngeom.nn.model.vanilla_loss_and_gradients`);
    * ``"numpy"``: the closed-form gradient and the closed-form Hessian-vector
      product :func:`bngeom.nn.model.vanilla_hessian_vector_product`;
    * ``"pytorch"`` and ``"jax"``: a torch / jax function of ``(U, a)`` whose
      derivatives (first and second) are those closed forms, so that the cost
      composes with the library's own automatic differentiation (float64).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Centred data (Assumption 1), also when ``cov`` is given: uncentred data raises
        ``ValueError`` (centre it with :func:`bngeom.center`, or build
        :meth:`bngeom.Dataset.from_arrays`).
    y : array_like, shape (n,)
        Targets (labels -1 and +1 for the logistic loss, ``ValueError`` otherwise;
        :func:`bngeom.nn.data.signed_labels` maps 0/1 labels).
    width : int
        Number of neurons ``m``.
    activation, loss : str
        Names from :mod:`bngeom.functions`.
    cov : array_like, shape (d, d), optional
        :math:`\Sigma`; default :math:`X^\top X/n` (then ``X`` must be centred).
    radii : array_like, shape (m,) or float, optional
        Neuron radii :math:`r_k = \|w_k\|` (Euclidean norms of the BN weights; default 1),
        which scale the metric :math:`r_k^2 g`. To start from given BN weights ``W``, use
        :meth:`BNManifold.from_bn_weights`, which takes the radii and the point from ``W``.
    backend : {"autograd", "numpy", "pytorch", "jax"}
        pymanopt's backend of the cost (``"pytorch"`` needs torch, ``"jax"`` jax).
    rng : int, Generator or None
        Random source of the manifold's ``random_point``.
    **options
        Fields of :class:`ProblemOptions`: ``euclidean_gradient``,
        ``memory_budget``, ``validate``.

    Returns
    -------
    problem : pymanopt.Problem
    manifold : BNManifold

    Raises
    ------
    ValueError, TypeError
        On bad data, an unknown backend, activation, loss or option; ``ImportError``
        if the backend's library is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom.nn import data
    >>> ds = data.make_teacher_dataset(50, [2.0, 1.0], teacher_width=2, rng=0)
    >>> problem, M = make_problem(ds.X, ds.y, 3, backend="numpy", rng=0)
    >>> x = M.random_point()
    >>> g = problem.riemannian_gradient(x)
    >>> [v.shape for v in g]
    [(3, 2), (3,)]
    """
    unknown = sorted(set(options) - set(ProblemOptions.__dataclass_fields__))
    if unknown:
        raise TypeError(f"make_problem got unknown keyword argument(s) {unknown}; the options "
                        f"are {sorted(ProblemOptions.__dataclass_fields__)}")
    opts = ProblemOptions(**options)
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if backend != "autograd" and opts.euclidean_gradient is not None:
        raise ValueError(f"euclidean_gradient applies to backend='autograd' only, got "
                         f"{opts.euclidean_gradient!r} with backend={backend!r}")
    memory_budget = opts.memory_budget
    X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
    y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} "
                         f"and {y.shape[0]}")
    act, lo = get_activation(activation), get_loss(loss)
    # Centred data whether or not cov is given: the vanilla cost on uncentred X is not the
    # loss of the BN network (which subtracts the mean), and the labels must fit the loss.
    check_centered(X)
    if lo is LOSSES["logistic"]:
        check_signed_labels(y)
    cov = covariance(X, centered=True) if cov is None else check_covariance(cov)
    check_dimension(X, cov.shape[0], "X")
    manifold = BNManifold(cov, width, radii, rng=rng, validate=opts.validate)
    forms = _ClosedForms(X, y, act, lo, memory_budget)
    if backend == "numpy":
        return pymanopt.Problem(
            manifold, pymanopt.function.numpy(manifold)(forms.value),
            euclidean_gradient=pymanopt.function.numpy(manifold)(forms.gradient),
            euclidean_hessian=pymanopt.function.numpy(manifold)(forms.hvp)), manifold
    if backend in ("pytorch", "jax"):
        build = _torch_cost if backend == "pytorch" else _jax_cost
        decorator = getattr(pymanopt.function, backend)
        return pymanopt.Problem(manifold, decorator(manifold)(build(forms))), manifold

    @pymanopt.function.autograd(manifold)
    def cost(U, a):
        return vanilla_loss(X, y, U, a, act, lo, memory_budget=memory_budget)

    if opts.euclidean_gradient != "closed_form":
        return pymanopt.Problem(manifold, cost), manifold
    return pymanopt.Problem(manifold, cost, euclidean_gradient=pymanopt.function.numpy(
        manifold)(forms.gradient)), manifold


def _torch_cost(forms: _ClosedForms) -> Any:
    """``cost(U, a)`` on torch tensors, differentiable twice through the closed forms."""
    import torch

    def numpy(*tensors: Any) -> list[NDArray]:
        return [t.detach().cpu().numpy().astype(np.float64) for t in tensors]

    class Gradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, U: Any, a: Any) -> Any:
            ctx.save_for_backward(U, a)
            return tuple(torch.from_numpy(g).to(U.dtype) for g in forms.gradient(*numpy(U, a)))

        @staticmethod
        def backward(ctx: Any, dU: Any, da: Any) -> Any:  # the Hessian is symmetric
            U, a = ctx.saved_tensors
            dU = torch.zeros_like(U) if dU is None else dU
            da = torch.zeros_like(a) if da is None else da
            return tuple(torch.from_numpy(h).to(U.dtype)
                         for h in forms.hvp(*numpy(U, a, dU, da)))

    class Cost(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, U: Any, a: Any) -> Any:
            ctx.save_for_backward(U, a)
            return torch.tensor(forms.value(*numpy(U, a)), dtype=U.dtype)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            U, a = ctx.saved_tensors
            gU, ga = Gradient.apply(U, a)
            return grad_output * gU, grad_output * ga

    def cost(U: Any, a: Any) -> Any:
        return Cost.apply(U, a)

    return cost


def _jax_cost(forms: _ClosedForms) -> Any:
    """``cost(U, a)`` on jax arrays (custom JVPs: gradient, then Hessian-vector product)."""
    import jax
    import jax.numpy as jnp

    def shapes(*arrays: Any) -> tuple[Any, ...]:
        return tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in arrays)

    def call(fn: Any, out: Any, *args: Any) -> Any:
        return jax.pure_callback(lambda *v: tuple(np.asarray(r, dtype=np.float64) for r in
                                                  fn(*(np.asarray(t) for t in v))),
                                 out, *args)

    @jax.custom_jvp
    def gradient(U: Any, a: Any) -> Any:
        return call(forms.gradient, shapes(U, a), U, a)

    @gradient.defjvp
    def gradient_jvp(primals: Any, tangents: Any) -> Any:
        return gradient(*primals), call(forms.hvp, shapes(*primals), *primals, *tangents)

    @jax.custom_jvp
    def loss(U: Any, a: Any) -> Any:
        (value,) = call(lambda *v: (forms.value(*v),), (jax.ShapeDtypeStruct((), U.dtype),),
                        U, a)
        return value

    @loss.defjvp
    def loss_jvp(primals: Any, tangents: Any) -> Any:
        gU, ga = gradient(*primals)
        return loss(*primals), jnp.sum(gU * tangents[0]) + jnp.sum(ga * tangents[1])

    def cost(U: Any, a: Any) -> Any:
        return loss(U, a)

    return cost
