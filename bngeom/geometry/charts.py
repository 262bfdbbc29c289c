r"""Charts between BN parameters, the manifold :math:`N_\Sigma` and the unit sphere.

Three spaces carry the parameters of one neuron (MATH §3, §5):

* BN parameters :math:`w \in \mathbb{R}^d \setminus \{0\}` (the network only sees
  the direction of ``w``; its Euclidean length is the neuron's *radius*);
* the vanilla parameters :math:`u \in N_\Sigma = \{u : u^\top \Sigma u = 1\}`;
* the round unit sphere :math:`S^{d-1}`.

:math:`\varphi(w) = w / \|w\|_\Sigma` maps BN parameters to :math:`N_\Sigma`
(eq. 7's chart), and :math:`\psi(u) = u / \|u\|` maps :math:`N_\Sigma` isometrically
onto the round sphere (MATH §5); :math:`\varphi` restricted to the sphere is its
inverse. Every function works row-wise over any leading batch axes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._covariance import checked_covariance
from bngeom._validation import as_float_array, check_dimension

__all__ = [
    "covariance_norm",
    "neuron_radii",
    "normalize_to_manifold",
    "normalize_to_sphere",
    "sphere_to_manifold_differential",
    "manifold_to_sphere_differential",
]


def _points(w: ArrayLike, name: str, cov: NDArray | None = None) -> NDArray:
    arr = as_float_array(w, name, min_ndim=1)
    if cov is not None:
        check_dimension(arr, cov.shape[0], name)
    norms = np.linalg.norm(arr, axis=-1)
    if np.any(norms == 0):
        raise ValueError(f"{name} must have non-zero rows: a zero vector has no direction")
    return arr


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
    w = as_float_array(w, "w", min_ndim=1)
    check_dimension(w, cov.shape[0], "w")
    return np.sqrt(np.einsum("...i,...i->...", w @ cov, w))


def neuron_radii(w: ArrayLike) -> NDArray:
    r"""Euclidean radius :math:`r_k = \|w_k\|` of each neuron (MATH §2).

    The BN network does not depend on it; it scales the neuron's metric by
    :math:`r^2` and its speed by :math:`1/r^2` (Theorem 2).

    Examples
    --------
    >>> neuron_radii([[3.0, 4.0], [0.0, 2.0]]).tolist()
    [5.0, 2.0]
    """
    return np.linalg.norm(as_float_array(w, "w", min_ndim=1), axis=-1)


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
    w = _points(w, "w", cov)
    return w / np.sqrt(np.einsum("...i,...i->...", w @ cov, w))[..., None]


def normalize_to_sphere(u: ArrayLike) -> NDArray:
    r"""The isometry :math:`\psi(u) = u / \|u\|` onto the round unit sphere (MATH §5).

    Examples
    --------
    >>> normalize_to_sphere([[0.0, 2.0]]).tolist()
    [[0.0, 1.0]]
    """
    u = _points(u, "u")
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


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
    zeta = as_float_array(tangent_vec, "tangent_vec", min_ndim=1)
    check_dimension(zeta, cov.shape[0], "tangent_vec")
    norm_w = np.sqrt(np.einsum("...i,...i->...", w @ cov, w))[..., None]
    u = w / norm_w
    return (zeta - u * np.einsum("...i,...i->...", u @ cov, zeta)[..., None]) / norm_w


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
    xi = as_float_array(tangent_vec, "tangent_vec", min_ndim=1)
    check_dimension(xi, u.shape[-1], "tangent_vec", "u")
    norm_u = np.linalg.norm(u, axis=-1, keepdims=True)
    unit = u / norm_u
    return (xi - unit * np.sum(unit * xi, axis=-1, keepdims=True)) / norm_u
