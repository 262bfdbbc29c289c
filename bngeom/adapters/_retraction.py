r"""The retraction of :math:`N_\Sigma` the adapters step with (MATH §5), written once.

The round sphere's projective retraction conjugated by the isometry :math:`\psi`, through
the charts of :mod:`bngeom.geometry.charts`; pymanopt's ``BNManifold.retraction`` and
geoopt's ``BNSphere.retr`` are this function.
"""

from __future__ import annotations

from typing import Any

from bngeom.geometry.charts import (
    manifold_to_sphere_differential,
    normalize_to_manifold,
    normalize_to_sphere,
)


def retraction(u: Any, xi: Any, cov: Any) -> Any:
    r"""Second-order retraction :math:`R_u(\xi) = \varphi(\breve u + d\psi_u\xi)` (MATH §5).

    It is second order because :math:`\psi` is an isometry and the sphere's projective
    retraction is: :math:`d_g(\exp_u(t\xi), R_u(t\xi)) = O(t^3)`. With :math:`u =
    \varphi(w)` and :math:`\xi` the Riemannian gradient step of radius :math:`\|w\|`, it is
    :math:`\varphi` of the BN network's gradient step on :math:`w` (Theorem 2). The rows of
    ``u`` must be non-zero and finite (the charts check them); ``xi`` is not checked to be
    tangent.

    Examples
    --------
    >>> import numpy as np
    >>> retraction(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.eye(2)).round(12).tolist()
    [0.707106781187, 0.707106781187]
    """
    return normalize_to_manifold(normalize_to_sphere(u) + manifold_to_sphere_differential(u, xi),
                                 cov)
