r"""Charts between BN parameters, the manifold :math:`N_\Sigma` and the unit sphere.

Three spaces carry the parameters of one neuron (MATH §3, §5):

* BN parameters :math:`w \in \mathbb{R}^d \setminus \{0\}` (the network only sees
  the direction of ``w``; its Euclidean length is the neuron's *radius*);
* the vanilla parameters :math:`u \in N_\Sigma = \{u : u^\top \Sigma u = 1\}`;
* the round unit sphere :math:`S^{d-1}`.

:math:`\varphi(w) = w / \|w\|_\Sigma` maps BN parameters to :math:`N_\Sigma`
(eq. 7's chart), and :math:`\psi(u) = u / \|u\|` maps :math:`N_\Sigma` isometrically
onto the round sphere (MATH §5); :math:`\varphi` restricted to the sphere is its
inverse. Every function works row-wise over any leading batch axes, on numpy arrays and,
unchanged, on torch tensors, jax arrays and autograd's traced arrays (:mod:`bngeom._xp`):
the result has the input's type and dtype, and automatic derivatives flow through it.

Every norm here is computed scale-safely (MATH §8, "Scale"): each row is first
divided by its largest magnitude (entries in [-1, 1], one rounding each; an
entry that underflows is below 1e-308 of the largest and adds nothing to the
norm), squared and summed, and the scale is multiplied back afterwards, as
:func:`math.hypot` does. So :math:`\varphi(w)` is right for
rows of any magnitude from 1e-300 to 1e300 (it does not depend on the scale at
all), and :math:`\|w\|`, :math:`\|w\|_\Sigma` are finite wherever the result is
representable.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._covariance import checked_covariance
from bngeom._validation import as_float_array, check_dimension, check_rows
from bngeom._xp import NUMPY, ArrayNamespace, is_numpy, namespace, to_numpy

__all__ = [
    "chart",
    "row_scale",
    "safe_squares",
    "scaled_norm",
    "covariance_norm",
    "neuron_radii",
    "normalize_to_manifold",
    "normalize_to_sphere",
    "sphere_to_manifold_differential",
    "manifold_to_sphere_differential",
]


def row_scale(w: NDArray, xp: ArrayNamespace = NUMPY) -> NDArray:
    """The largest magnitude of each row, shape ``(..., 1)``; 1 for a zero row.

    Dividing a row by it gives entries in [-1, 1] with at least one of magnitude 1,
    whose squares neither overflow nor all underflow (MATH §8, "Scale").

    Examples
    --------
    >>> import numpy as np
    >>> row_scale(np.array([[3e200, -4e200], [0.0, 0.0]])).tolist()
    [[4e+200], [1.0]]
    """
    if not w.shape[-1]:
        return xp.ones(w.shape[:-1] + (1,), dtype=w.dtype)
    s = xp.max(xp.abs(w), axis=-1, keepdims=True)
    return xp.where(s > 0, s, 1.0)


def safe_squares(dtype: np.dtype, xp: ArrayNamespace = NUMPY) -> tuple[float, float]:
    """The range of squared norms computed directly, ``(smallest normal / eps, max * eps)``.

    Rows whose (Sigma-)squared norm lies in it are computed as ``w / sqrt(w^T Sigma w)``
    (every digit kept: the sum is normal, and a square that underflows is below eps of
    it); outside it (overflow, underflow, subnormal sums) they are rescaled by their
    largest magnitude first (MATH §8, "Scale"). About (1e-292, 4e292) in float64.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = safe_squares(np.dtype(np.float64))
    >>> f"{lo:.1e} {hi:.1e}"
    '1.0e-292 4.0e+292'
    """
    if is_numpy(xp):
        dtype = dtype if np.dtype(dtype).kind == "f" else np.float64
    info = xp.finfo(dtype)
    return float(info.smallest_normal / info.eps), float(info.max * info.eps)


def _quad(w: NDArray, cov: NDArray | None, xp: ArrayNamespace) -> NDArray:
    """Row-wise w^T Sigma w (or w^T w), may overflow."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # without cov, summed as numpy.linalg.norm does
        return xp.sum(w * w, axis=-1) if cov is None else xp.rowdot(w @ cov, w)


def _unsafe(quad: NDArray, xp: ArrayNamespace) -> NDArray:
    """Rows whose squared norm is outside :func:`safe_squares` (or not finite)."""
    lo, hi = safe_squares(quad.dtype, xp)
    return ~((quad >= lo) & (quad <= hi))


def _rescaled(w: NDArray, cov: NDArray | None, bad: NDArray, direct: NDArray,
              xp: ArrayNamespace, norm: bool) -> NDArray:
    r"""``direct`` with its ``bad`` rows recomputed from ``w / s``, s = :func:`row_scale` (MATH §8).

    The norm (``norm=True``) is :math:`s\|w/s\|_\Sigma`; the chart :math:`\varphi(w/s)`.
    """
    s = row_scale(w, xp)
    unit = w / s
    root = xp.sqrt(_quad(unit, cov, xp))[..., None]
    return xp.where(bad[..., None], s * root if norm else unit / root, direct)


def scaled_norm(w: NDArray, cov: NDArray | None = None) -> NDArray:
    r"""Row norms :math:`\|w\|` (``cov`` None) or :math:`\|w\|_\Sigma`, scale-safe, shape (..., 1).

    Rows outside :func:`safe_squares` are computed as :math:`s\sqrt{\hat w^\top\Sigma\hat w}`
    with :math:`s` = :func:`row_scale` and :math:`\hat w = w/s`: finite wherever the
    norm is representable. No checks.

    Examples
    --------
    >>> import numpy as np
    >>> scaled_norm(np.array([[3e-200, 4e-200], [3e200, 4e200]])).ravel().tolist()
    [5e-200, 5e+200]
    """
    xp = namespace(w)
    cov = None if cov is None else xp.like(cov, w)
    quad = _quad(w, cov, xp)
    out = xp.sqrt(quad)[..., None]
    bad = _unsafe(quad, xp)
    return _rescaled(w, cov, bad, out, xp, norm=True) if xp.maybe_any(bad) else out


def chart(w: NDArray, cov: NDArray | None) -> NDArray:
    r""":math:`\varphi(w) = w/\|w\|_\Sigma`, scale-safe and unchecked (eq. 7).

    ``cov=None`` stands for the identity: :math:`\psi(w) = w/\|w\|` (MATH §5).

    Rows outside :func:`safe_squares` are computed as :math:`\hat w/\|\hat w\|_\Sigma`
    with :math:`\hat w = w/s` (:func:`row_scale`): :math:`\varphi` is invariant under
    :math:`w \mapsto sw`, so rescaling first loses nothing and never overflows or
    underflows. The one implementation of :math:`\varphi` (the checked
    :func:`normalize_to_manifold`, the models and the geometry core call it).

    Examples
    --------
    >>> import numpy as np
    >>> chart(np.array([[1e200, 1e200, 0.0]]), np.eye(3)).round(12).tolist()
    [[0.707106781187, 0.707106781187, 0.0]]
    """
    xp = namespace(w)
    cov = None if cov is None else xp.like(cov, w)
    quad = _quad(w, cov, xp)
    bad = _unsafe(quad, xp)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = w / xp.sqrt(quad)[..., None]
    return _rescaled(w, cov, bad, out, xp, norm=False) if xp.maybe_any(bad) else out


def _points(w: ArrayLike, name: str, cov: NDArray | None = None) -> NDArray:
    """``w`` checked (on its numpy view); a foreign array (torch, jax, ...) is returned as is."""
    arr = as_float_array(to_numpy(w), name, min_ndim=1)
    if cov is not None:
        check_dimension(arr, cov.shape[0], name)
    check_rows(arr, name)
    return arr if is_numpy(namespace(w)) else w


def _vectors(xi: ArrayLike, name: str, d: int, source: str = "cov") -> NDArray:
    """``xi`` checked as :func:`_points` does, without the row check."""
    arr = as_float_array(to_numpy(xi), name, min_ndim=1)
    check_dimension(arr, d, name, source)
    return arr if is_numpy(namespace(xi)) else xi


def covariance_norm(w: ArrayLike, cov: ArrayLike) -> NDArray:
    r"""The data-covariance norm :math:`\|w\|_\Sigma = \sqrt{w^\top \Sigma w}` (MATH §1).

    Parameters
    ----------
    w : array_like, shape (..., d)
    cov : array_like, shape (d, d), symmetric positive definite

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> float(covariance_norm(np.array([1.0, 0.0]), np.diag([4.0, 1.0])))
    2.0
    """
    cov = checked_covariance(cov)
    return scaled_norm(_vectors(w, "w", cov.shape[0]), cov)[..., 0]


def neuron_radii(w: ArrayLike) -> NDArray:
    r"""Euclidean radius :math:`r_k = \|w_k\|` of each neuron (MATH §2).

    The BN network does not depend on it; it scales the neuron's metric by
    :math:`r^2` and its speed by :math:`1/r^2` (Theorem 2).

    Examples
    --------
    >>> neuron_radii([[3.0, 4.0], [0.0, 2.0]]).tolist()
    [5.0, 2.0]
    """
    return scaled_norm(as_float_array(w, "w", min_ndim=1))[..., 0]


def normalize_to_manifold(w: ArrayLike, cov: ArrayLike) -> NDArray:
    r"""The chart :math:`\varphi(w) = w / \|w\|_\Sigma` onto :math:`N_\Sigma` (eq. 7).

    Parameters
    ----------
    w : array_like, shape (..., d)
        Non-zero BN weight vectors, one per row.
    cov : array_like, shape (d, d)
        Data covariance :math:`\Sigma`.

    Returns
    -------
    u : ndarray, shape (..., d)
        Points with :math:`u^\top \Sigma u = 1`.

    Examples
    --------
    >>> import numpy as np
    >>> u = normalize_to_manifold(np.array([[2.0, 0.0]]), np.diag([4.0, 1.0]))
    >>> u.tolist()
    [[0.5, 0.0]]
    """
    cov = checked_covariance(cov)
    return chart(_points(w, "w", cov), cov)


def normalize_to_sphere(u: ArrayLike) -> NDArray:
    r"""The isometry :math:`\psi(u) = u / \|u\|` onto the round unit sphere (MATH §5).

    Examples
    --------
    >>> normalize_to_sphere([[0.0, 2.0]]).tolist()
    [[0.0, 1.0]]
    """
    return chart(_points(u, "u"), None)


def sphere_to_manifold_differential(w: ArrayLike, tangent_vec: ArrayLike,
                                    cov: ArrayLike) -> NDArray:
    r"""Differential of :math:`\varphi` (MATH §5).

    :math:`d\varphi_w(\zeta) = (\zeta - u\,u^\top\Sigma\zeta)/\|w\|_\Sigma` with
    :math:`u = \varphi(w)`. This is also the map taking Euclidean BN velocities
    :math:`\dot w` to velocities :math:`\dot u` on :math:`N_\Sigma`.

    Examples
    --------
    >>> import numpy as np
    >>> sphere_to_manifold_differential([1.0, 0.0], [0.0, 1.0], np.diag([4.0, 1.0])).tolist()
    [0.0, 0.5]
    """
    cov = checked_covariance(cov)
    w = _points(w, "w", cov)
    zeta = _vectors(tangent_vec, "tangent_vec", cov.shape[0])
    xp = namespace(w, zeta)
    norm_w = scaled_norm(w, cov)
    u = chart(w, cov)
    return (zeta - u * xp.rowdot(u @ xp.like(cov, u), zeta)[..., None]) / norm_w


def manifold_to_sphere_differential(u: ArrayLike, tangent_vec: ArrayLike) -> NDArray:
    r"""Differential of :math:`\psi` (MATH §5).

    :math:`d\psi_u(\xi) = (\xi - \breve u\,\breve u^\top\xi)/\|u\|` with
    :math:`\breve u = u/\|u\|`.

    Examples
    --------
    >>> manifold_to_sphere_differential([2.0, 0.0], [1.0, 1.0]).tolist()
    [0.0, 0.5]
    """
    u = _points(u, "u")
    xi = _vectors(tangent_vec, "tangent_vec", u.shape[-1], "u")
    xp = namespace(u, xi)
    norm_u = scaled_norm(u)
    unit = chart(u, None)
    return (xi - unit * xp.rowdot(unit, xi)[..., None]) / norm_u
