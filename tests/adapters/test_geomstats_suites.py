"""geomstats' own test suites on bngeom's spaces (issue 12).

geomstats 2.8's generic test-case classes (``geomstats.test_cases``: ``LevelSetTestCase``,
``ProductManifoldTestCase``, ``RiemannianMetricTestCase``,
``RiemannianMetricComparisonTestCase``), paired with data by geomstats' own
``DataBasedParametrizer``, run on

* the N_Sigma factor :class:`bngeom.adapters.geomstats.SigmaSphere` and its metric,
* :class:`bngeom.BNSpace` and :class:`bngeom.BNMetric`,
* geomstats' generic ``ProductManifold([SigmaSphere(cov), Euclidean(1)])`` (its own
  product metric, iterating over the factors),

for d = 2, 3, 5, Sigma = I and anisotropic Sigma, radius 1 and radius != 1, the way
geomstats' test_hypersphere.py and test_product_manifold.py run them on its spaces;
and for Sigma = I against geomstats' own ``Hypersphere`` (and its product with a line).
The data classes are in geomstats_suite_data.py. The same module runs under
``GEOMSTATS_BACKEND=autograd`` and ``pytorch`` (test_geomstats_backends.py).
"""

from __future__ import annotations

import sys
import types

import geomstats.backend as gs
import numpy as np
import pytest

# geomstats.test.parametrizers imports nbformat and nbconvert for its notebook tests only;
# they are not dependencies of bngeom. Empty stand-ins let the parametrizer import.
_STAND_INS = []
try:
    import nbconvert.preprocessors  # noqa: F401
    import nbformat  # noqa: F401
except ImportError:
    for _name in ("nbformat", "nbconvert", "nbconvert.preprocessors"):
        if _name not in sys.modules:
            sys.modules[_name] = types.ModuleType(_name)
            _STAND_INS.append(_name)
    if not hasattr(sys.modules["nbconvert.preprocessors"], "ExecutePreprocessor"):
        sys.modules["nbconvert.preprocessors"].ExecutePreprocessor = None

from geomstats.geometry.euclidean import Euclidean  # noqa: E402
from geomstats.geometry.hypersphere import Hypersphere  # noqa: E402
from geomstats.geometry.product_manifold import ProductManifold  # noqa: E402
from geomstats.test.parametrizers import DataBasedParametrizer  # noqa: E402

for _name in _STAND_INS:          # nobody else sees the stand-ins
    del sys.modules[_name]
from geomstats.test_cases.geometry.base import LevelSetTestCase  # noqa: E402
from geomstats.test_cases.geometry.product_manifold import (  # noqa: E402
    ProductManifoldTestCase,
)
from geomstats.test_cases.geometry.riemannian_metric import (  # noqa: E402
    RiemannianMetricComparisonTestCase,
    RiemannianMetricTestCase,
)
from geomstats_suite_data import (  # noqa: E402
    COV,
    RADIUS,
    BNSpaceTestData,
    GenericProductMetricTestData,
    HypersphereComparisonTestData,
    HypersphereTimesLineComparisonTestData,
    MetricTestData,
    SigmaSphereTestData,
    SigmaSphereValuesTestData,
)

from bngeom.adapters.geomstats import BNSpace, SigmaSphere  # noqa: E402


def paired_only(cls: type) -> type:
    """Do not collect the tests without data.

    geomstats marks them ``ignore`` and deselects them in its own conftest. Here they stay
    callable (other tests call them, e.g. ``test_random_point_belongs`` calls
    ``test_belongs``) but ``__test__ = False`` keeps pytest from collecting them; they are
    the metaclass's copies, geomstats' functions are untouched.
    """
    for name in dir(cls):
        func = getattr(cls, name)
        marks = getattr(func, "pytestmark", [])
        if name.startswith("test_") and any(m.name == "ignore" for m in marks):
            func.__test__ = False
    return cls


def _anisotropic(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T / d + 0.2 * np.eye(d)


#: (d, Sigma, radius): the round sphere, anisotropic Sigma, radius != 1, d = 2, 3, 5.
SETTINGS = [
    pytest.param((2, np.eye(2), 1.0), id="d2-identity"),
    pytest.param((3, np.diag([4.0, 1.0, 0.25]), 1.0), id="d3-diagonal"),
    pytest.param((3, np.eye(3), 2.5), id="d3-identity-r2.5"),
    pytest.param((5, _anisotropic(5, 0), 0.7), id="d5-anisotropic-r0.7"),
]


def _param(request) -> tuple[int, np.ndarray, float]:
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    """geomstats' generators draw from the global state: one seed per test."""
    gs.random.seed(12)


@pytest.fixture(scope="class", params=SETTINGS)
def sigma_spheres(request):
    _, cov, radius = _param(request)
    request.cls.space = SigmaSphere(cov, radius)


@pytest.fixture(scope="class", params=SETTINGS)
def bn_spaces(request):
    _, cov, radius = _param(request)
    request.cls.space = BNSpace(cov, radius)


@pytest.fixture(scope="class", params=SETTINGS)
def generic_products(request):
    _, cov, radius = _param(request)
    request.cls.space = ProductManifold([SigmaSphere(cov, radius), Euclidean(1)])


@paired_only
@pytest.mark.usefixtures("sigma_spheres")
class TestSigmaSphere(LevelSetTestCase, metaclass=DataBasedParametrizer):
    testing_data = SigmaSphereTestData()


@paired_only
@pytest.mark.usefixtures("sigma_spheres")
class TestSigmaSphereMetric(RiemannianMetricTestCase, metaclass=DataBasedParametrizer):
    testing_data = MetricTestData()


@paired_only
@pytest.mark.usefixtures("bn_spaces")
class TestBNSpace(ProductManifoldTestCase, metaclass=DataBasedParametrizer):
    testing_data = BNSpaceTestData()


@paired_only
@pytest.mark.usefixtures("bn_spaces")
class TestBNMetric(RiemannianMetricTestCase, metaclass=DataBasedParametrizer):
    testing_data = MetricTestData()


@paired_only
@pytest.mark.usefixtures("generic_products")
class TestGenericProductMetric(RiemannianMetricTestCase, metaclass=DataBasedParametrizer):
    """geomstats' own ProductRiemannianMetric with the N_Sigma factor (its cometric, ...)."""

    testing_data = GenericProductMetricTestData()


# ---------------------------------------------------------------------------
# Sigma = I: the same spaces as geomstats' Hypersphere (times a line)


@pytest.fixture(scope="class", params=[2, 3, 5])
def round_spheres(request):
    d = request.param
    request.cls.space = SigmaSphere(np.eye(d))
    request.cls.other_space = Hypersphere(d - 1)


@pytest.fixture(scope="class", params=[2, 3, 5])
def round_products(request):
    d = request.param
    request.cls.space = BNSpace(np.eye(d))
    request.cls.other_space = ProductManifold([Hypersphere(d - 1), Euclidean(1)])


class _HypersphereComparison(RiemannianMetricComparisonTestCase):
    """geomstats' Hypersphere raises NotImplementedError for the circle's curvature."""

    def setup_method(self, method=None):
        super().setup_method()
        if self.space.dim == 1 and method is not None and "curvature" in method.__name__:
            pytest.skip("geomstats' Hypersphere raises NotImplementedError for the circle's "
                        "curvature; bngeom's is 0 (TestSigmaSphereMetric, test_curvature.py)")


@paired_only
@pytest.mark.usefixtures("round_spheres")
class TestSigmaSphereAgainstHypersphere(_HypersphereComparison,
                                        metaclass=DataBasedParametrizer):
    testing_data = HypersphereComparisonTestData()


@paired_only
@pytest.mark.usefixtures("round_products")
class TestBNMetricAgainstHypersphereTimesLine(_HypersphereComparison,
                                              metaclass=DataBasedParametrizer):
    testing_data = HypersphereTimesLineComparisonTestData()


# ---------------------------------------------------------------------------
# values written out by hand


@paired_only
class TestSigmaSphereValues(LevelSetTestCase, RiemannianMetricTestCase,
                            metaclass=DataBasedParametrizer):
    space = SigmaSphere(COV, RADIUS)
    testing_data = SigmaSphereValuesTestData()
