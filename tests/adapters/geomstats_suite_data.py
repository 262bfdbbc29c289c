"""Data for geomstats' own generic test cases run on bngeom's spaces (test_geomstats_suites.py).

geomstats pairs each test ``test_<name>`` of its test-case classes
(``geomstats.test_cases``) with a data method ``<name>_test_data`` of a
``geomstats.test.data.TestData`` object; a data method named ``<name>_vec_test_data``
asks for geomstats' automatic vectorization test of ``test_<name>``. Its own data
classes live in its repository's tests, which are not installed, so the classes here
are written for bngeom: the generic generators (random points, vectorization) for
every test geomstats defines on a level set, a product manifold and a Riemannian
metric, plus closed-form values of N_Sigma's geometry.

Differences from geomstats' conventions, on purpose:

* the batch sizes are fixed (geomstats draws them at random at import), so the number
  of collected tests does not move between runs;
* ``trials = 1`` (a failure is not retried), and exceptions are never swallowed:
  ``fail_for_not_implemented_errors`` and ``fail_for_autodiff_exceptions`` stay True;
* a test that cannot run is skipped with its reason in the marker (:func:`skip`).
"""

from __future__ import annotations

import geomstats.backend as gs
import numpy as np
import pytest
from geomstats.test.data import TestData

# ---------------------------------------------------------------------------
# the generic generators, by kind


def _make(kind: str):
    def data(self):
        return getattr(self, kind)()

    return data


def _make_skipped(kind: str, reason: str):
    def data(self):
        return getattr(self, kind)(marks=skip(reason))

    return data


def _with(names: dict[str, str] | list[str], reason: str | None = None):
    """Class decorator: add ``<name>_test_data`` methods drawing from ``generate_<kind>``.

    With a ``reason``, the tests are skipped with it. A list of names takes the kinds of
    the tables below.
    """

    def decorate(cls):
        for name in names:
            kind = names[name] if isinstance(names, dict) else _KINDS[name]
            method = (_make(f"generate_{kind}") if reason is None
                      else _make_skipped(f"generate_{kind}", reason))
            setattr(cls, f"{name}_test_data", method)
        return cls

    return decorate


def skip(reason: str) -> pytest.MarkDecorator:
    """A skip mark that carries its reason (geomstats' ``skips`` tuple has none)."""
    return pytest.mark.skip(reason=reason)


#: Tests geomstats implements generically through the Christoffel symbols in the
#: coordinates of ``space.shape``. N_Sigma is represented extrinsically (points in R^d),
#: where no Christoffel symbols of the manifold exist: the symbols of the ambient SPD
#: completion describe a metric on R^d whose geodesics leave N_Sigma. geomstats' own
#: extrinsic ``Hypersphere`` raises NotImplementedError for the same reason.
CHRISTOFFEL_REASON = ("Christoffel symbols need intrinsic coordinates; N_Sigma is extrinsic "
                      "in R^d, as geomstats' extrinsic Hypersphere (NotImplementedError)")
#: geomstats differentiates the metric matrix with its autodiff module.
AUTODIFF_REASON = {
    "numpy": ("geomstats computes the derivative of the metric matrix by automatic "
              "differentiation: not available on the numpy backend"),
    "pytorch": ("geomstats differentiates the metric matrix with torch.autograd; bngeom's "
                "core computes in numpy (tensors are read as arrays), which torch cannot "
                "trace: run it under GEOMSTATS_BACKEND=autograd"),
}


def _backend() -> str:
    return gs.__name__.rsplit(".", 1)[-1]

_MANIFOLD = {
    "belongs_vec": "vec_data", "is_tangent_vec": "vec_data", "to_tangent_vec": "vec_data",
    "regularize_vec": "vec_data", "not_belongs": "random_data",
    "random_point_belongs": "random_data", "to_tangent_is_tangent": "random_data",
    "regularize_belongs": "random_data", "random_tangent_vec_is_tangent": "random_data",
    "random_point_shape": "shape_data", "random_tangent_vec_shape": "shape_data",
}
_LEVEL_SET = {
    "projection_vec": "vec_data", "projection_belongs": "random_data",
    "submersion_vec": "vec_data", "tangent_submersion_vec": "vec_data",
}
_PRODUCT = {"embed_to_product_after_project_from_product": "random_data"}
_METRIC = {
    # Dist and geodesic boundary-value mixins
    "dist_vec": "vec_data", "dist_is_symmetric": "random_data",
    "dist_is_positive": "random_data", "dist_point_to_itself_is_zero": "random_data",
    "dist_triangle_inequality": "random_data", "geodesic_bvp_vec": "vec_data_with_time",
    "geodesic_boundary_points": "random_data",
    "geodesic_bvp_reverse": "random_data_with_time",
    "geodesic_bvp_belongs": "random_data_with_time",
    # connection
    "exp_vec": "vec_data", "exp_belongs": "random_data", "log_vec": "vec_data",
    "log_is_tangent": "random_data", "exp_after_log": "random_data",
    "log_after_exp": "random_data", "riemann_tensor_vec": "vec_data",
    "curvature_vec": "vec_data", "ricci_tensor_vec": "vec_data",
    "directional_curvature_vec": "vec_data", "curvature_derivative_vec": "vec_data",
    "directional_curvature_derivative_vec": "vec_data",
    "geodesic_ivp_vec": "vec_data_with_time", "geodesic_ivp_belongs": "random_data_with_time",
    "exp_geodesic_ivp": "random_data", "parallel_transport_ivp_vec": "vec_data",
    "parallel_transport_bvp_vec": "vec_data",
    "parallel_transport_bvp_transported_is_tangent": "random_data",
    "parallel_transport_ivp_transported_is_tangent": "random_data",
    # Riemannian metric
    "metric_matrix_vec": "vec_data", "metric_matrix_is_spd": "random_data",
    "cometric_matrix_vec": "vec_data", "inner_product_vec": "vec_data",
    "inner_product_is_symmetric": "random_data", "inner_coproduct_vec": "vec_data",
    "squared_norm_vec": "vec_data", "norm_vec": "vec_data", "norm_is_positive": "random_data",
    "normalize_vec": "vec_data", "normalize_is_unitary": "random_data",
    "squared_dist_vec": "vec_data", "squared_dist_is_symmetric": "random_data",
    "squared_dist_is_positive": "random_data", "dist_is_log_norm": "random_data",
    "covariant_riemann_tensor_vec": "vec_data",
    "covariant_riemann_tensor_is_skew_symmetric_1": "random_data",
    "covariant_riemann_tensor_is_skew_symmetric_2": "random_data",
    "covariant_riemann_tensor_bianchi_identity": "random_data",
    "covariant_riemann_tensor_is_interchange_symmetric": "random_data",
    "sectional_curvature_vec": "vec_data", "scalar_curvature_vec": "vec_data",
    "parallel_transport_ivp_norm": "random_data", "parallel_transport_bvp_norm": "random_data",
    "injectivity_radius_vec": "vec_data",
}
_COMPARISON = {
    "exp_random": "random_data", "log_random": "random_data",
    "riemann_tensor_random": "random_data", "curvature_random": "random_data",
    "ricci_tensor_random": "random_data", "directional_curvature_random": "random_data",
    "curvature_derivative_random": "random_data",
    "directional_curvature_derivative_random": "random_data",
    "geodesic_bvp_random": "random_data_with_time",
    "geodesic_ivp_random": "random_data_with_time",
    "parallel_transport_ivp_random": "random_data",
    "parallel_transport_bvp_random": "random_data",
    "metric_matrix_random": "random_data", "cometric_matrix_random": "random_data",
    "inner_product_random": "random_data", "inner_coproduct_random": "random_data",
    "squared_norm_random": "random_data", "norm_random": "random_data",
    "normalize_random": "random_data", "squared_dist_random": "random_data",
    "dist_random": "random_data", "covariant_riemann_tensor_random": "random_data",
    "sectional_curvature_random": "random_data", "scalar_curvature_random": "random_data",
    "injectivity_radius_random": "random_data",
}


_KINDS = {**_MANIFOLD, **_LEVEL_SET, **_PRODUCT, **_METRIC, **_COMPARISON}

#: geomstats' generic ProductRiemannianMetric (and Connection) lack these: parallel
#: transport and the injectivity radius raise NotImplementedError, the curvature family
#: goes through Christoffel symbols (autodiff, and intrinsic coordinates).
GENERIC_PRODUCT_REASON = ("geomstats' generic ProductRiemannianMetric has no {what}; "
                          "BNMetric's closed form is tested in TestBNMetric")
_PRODUCT_TRANSPORT = ["parallel_transport_ivp_vec", "parallel_transport_bvp_vec",
                      "parallel_transport_bvp_transported_is_tangent",
                      "parallel_transport_ivp_transported_is_tangent",
                      "parallel_transport_ivp_norm", "parallel_transport_bvp_norm"]
_PRODUCT_CURVATURE = ["riemann_tensor_vec", "curvature_vec", "ricci_tensor_vec",
                      "directional_curvature_vec", "covariant_riemann_tensor_vec",
                      "covariant_riemann_tensor_is_skew_symmetric_1",
                      "covariant_riemann_tensor_is_skew_symmetric_2",
                      "covariant_riemann_tensor_bianchi_identity",
                      "covariant_riemann_tensor_is_interchange_symmetric",
                      "sectional_curvature_vec", "scalar_curvature_vec"]
_PRODUCT_DERIVATIVE = ["curvature_derivative_vec", "directional_curvature_derivative_vec"]
#: geomstats' extrinsic Hypersphere has no Christoffel symbols, hence none of these.
HYPERSPHERE_REASON = ("geomstats' extrinsic Hypersphere computes the {what} from Christoffel "
                      "symbols, which it does not have (NotImplementedError); bngeom's closed "
                      "form is checked by TestSigmaSphereMetric and test_curvature.py")


class _FixedSizes(TestData):
    """Fixed batch sizes, no retries, no swallowed exceptions."""

    trials = 1
    fail_for_autodiff_exceptions = True
    fail_for_not_implemented_errors = True
    N_VEC_REPS = [3]
    N_SHAPE_POINTS = [1, 3]
    N_RANDOM_POINTS = [1, 3]
    N_TIME_POINTS = [1, 3]


@_with({**_MANIFOLD, **_LEVEL_SET})
class SigmaSphereTestData(_FixedSizes):
    """geomstats' LevelSet tests on :class:`bngeom.SigmaSphere`."""


@_with({**_MANIFOLD, **_PRODUCT})
class BNSpaceTestData(_FixedSizes):
    """geomstats' ProductManifold tests on :class:`bngeom.BNSpace`."""


@_with(_METRIC)
class MetricTestData(_FixedSizes):
    """geomstats' RiemannianMetric tests (every generic one) on N_Sigma, M and products."""

    def christoffels_vec_test_data(self):
        return self.generate_vec_data(marks=skip(CHRISTOFFEL_REASON))

    def geodesic_equation_vec_test_data(self):
        return self.generate_vec_data(marks=skip(CHRISTOFFEL_REASON))

    def inner_product_derivative_matrix_vec_test_data(self):
        if _backend() in AUTODIFF_REASON:
            return self.generate_vec_data(marks=skip(AUTODIFF_REASON[_backend()]))
        return self.generate_vec_data()


@_with(_COMPARISON)
class ComparisonTestData(_FixedSizes):
    """geomstats' comparison tests: bngeom's space against geomstats' own for Sigma = I."""

    def christoffels_random_test_data(self):
        return self.generate_random_data(marks=skip(CHRISTOFFEL_REASON))

    def inner_product_derivative_matrix_random_test_data(self):
        if _backend() in AUTODIFF_REASON:
            return self.generate_random_data(marks=skip(AUTODIFF_REASON[_backend()]))
        return self.generate_random_data()


@_with(["parallel_transport_ivp_random", "parallel_transport_bvp_random"],
       GENERIC_PRODUCT_REASON.format(what="parallel transport (NotImplementedError)"))
@_with(["curvature_random", "directional_curvature_random", "sectional_curvature_random"],
       GENERIC_PRODUCT_REASON.format(what="curvature (it needs Christoffel symbols)"))
@_with(["curvature_derivative_random", "directional_curvature_derivative_random"],
       GENERIC_PRODUCT_REASON.format(what="curvature derivative (NotImplementedError)"))
@_with(["injectivity_radius_random"],
       GENERIC_PRODUCT_REASON.format(what="injectivity radius (NotImplementedError)"))
@_with(["riemann_tensor_random", "ricci_tensor_random", "covariant_riemann_tensor_random",
        "scalar_curvature_random"], HYPERSPHERE_REASON.format(what="curvature tensors"))
class HypersphereTimesLineComparisonTestData(ComparisonTestData):
    """Against geomstats' ``ProductManifold([Hypersphere(d - 1), Euclidean(1)])``."""


@_with(["riemann_tensor_random", "ricci_tensor_random", "covariant_riemann_tensor_random",
        "scalar_curvature_random"], HYPERSPHERE_REASON.format(what="curvature tensors"))
class HypersphereComparisonTestData(ComparisonTestData):
    """Against geomstats' ``Hypersphere(d - 1)``."""


@_with(_PRODUCT_TRANSPORT,
       GENERIC_PRODUCT_REASON.format(what="parallel transport (NotImplementedError)"))
@_with(_PRODUCT_CURVATURE,
       GENERIC_PRODUCT_REASON.format(what="curvature (it needs Christoffel symbols)"))
@_with(_PRODUCT_DERIVATIVE,
       GENERIC_PRODUCT_REASON.format(what="curvature derivative (NotImplementedError)"))
@_with(["injectivity_radius_vec"],
       GENERIC_PRODUCT_REASON.format(what="injectivity radius (NotImplementedError)"))
class GenericProductMetricTestData(MetricTestData):
    """geomstats' own product metric over [SigmaSphere(cov), Euclidean(1)]."""

    def inner_product_derivative_matrix_vec_test_data(self):
        if _backend() == "autograd":
            return self.generate_vec_data(marks=skip(
                "geomstats' generic ProductRiemannianMetric does not split autograd's traced "
                "points between its factors (gs.is_array is False for an ArrayBox); "
                "BNMetric's derivative is tested in TestBNMetric"))
        return super().inner_product_derivative_matrix_vec_test_data()


# ---------------------------------------------------------------------------
# closed-form values on one space: Sigma = diag(4, 1, 1/4), radius 2 (docs/math.md §10)

COV = np.diag([4.0, 1.0, 0.25])
RADIUS = 2.0
_U = np.array([0.5, 0.0, 0.0])          # on N_Sigma: 4 * 0.25 = 1
_V = np.array([0.0, 1.0, 0.0])
_W = np.array([0.0, 0.0, 2.0])


def _oracle_metric_matrix(u: np.ndarray) -> np.ndarray:
    """r^2 (pinv(G(u)) + n n^T), written out from eq. (7) with numpy's pinv."""
    normal = COV @ u
    p = np.eye(3) - np.outer(u, normal)
    g = (u @ u) * p @ p.T
    n = normal / np.linalg.norm(normal)
    return RADIUS**2 * (np.linalg.pinv(g) + np.outer(n, n))


class SigmaSphereValuesTestData(TestData):
    """Values of N_Sigma's metric written out by hand (e_2, e_3 are tangent at u = e_1/2)."""

    trials = 1

    def dim_test_data(self):
        return self.generate_tests([dict(expected=2)])

    def belongs_test_data(self):
        return self.generate_tests([
            dict(point=np.stack([_U, _V, _W, np.array([1.0, 0.0, 0.0])]),
                 expected=np.array([True, True, True, False]))])

    def submersion_test_data(self):
        return self.generate_tests([dict(point=np.array([1.0, 1.0, 2.0]), expected=5.0)])

    def metric_matrix_test_data(self):
        return self.generate_tests([dict(base_point=p, expected=_oracle_metric_matrix(p))
                                    for p in (_U, _V, _W, np.array([0.3, 0.8, 0.0]))])

    def cometric_matrix_test_data(self):
        return self.generate_tests([
            dict(base_point=p, expected=np.linalg.inv(_oracle_metric_matrix(p)))
            for p in (_U, np.array([0.3, 0.8, 0.0]))])

    def inner_product_test_data(self):
        # at u = e1/2: g(xi, eta) = xi.eta / |u|^2 on T_u = span(e2, e3); times r^2
        return self.generate_tests([
            dict(tangent_vec_a=np.array([0.0, 1.0, 2.0]), tangent_vec_b=np.array([0.0, 3.0, 1.0]),
                 base_point=_U, expected=RADIUS**2 * 5.0 / 0.25)])

    def dist_test_data(self):
        # the unit vectors of u and v are orthogonal: r * pi / 2
        return self.generate_tests([dict(point_a=_U, point_b=_V, expected=RADIUS * np.pi / 2),
                                    dict(point_a=_U, point_b=-_U, expected=RADIUS * np.pi)])

    def sectional_curvature_test_data(self):
        return self.generate_tests([dict(tangent_vec_a=np.array([0.0, 1.0, 0.0]),
                                         tangent_vec_b=np.array([0.0, 0.0, 1.0]),
                                         base_point=_U, expected=1.0 / RADIUS**2)])

    def scalar_curvature_test_data(self):
        return self.generate_tests([dict(base_point=_U, expected=2.0 / RADIUS**2)])

    def ricci_tensor_test_data(self):
        # (d - 2) G^+ at u = e1/2: G^+ = diag(0, 4, 4)
        return self.generate_tests([dict(base_point=_U, expected=np.diag([0.0, 4.0, 4.0]))])

    def curvature_test_data(self):
        # R(X, Y)Y = g(Y, Y) X - g(X, Y) Y = 4 X for X = e2, Y = e3 at u = e1/2
        x, y = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
        return self.generate_tests([dict(tangent_vec_a=x, tangent_vec_b=y, tangent_vec_c=y,
                                         base_point=_U, expected=4.0 * x)])

    def injectivity_radius_test_data(self):
        return self.generate_tests([dict(base_point=_U, expected=RADIUS * np.pi)])
