"""The geomstats adapter: BNSpace / BNMetric agree with the core, with Hypersphere x R, and
run geomstats' learning tools."""

from __future__ import annotations

import random

import geomstats.backend as gs
import numpy as np
import pytest
from geomstats.geometry.base import LevelSet
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.product_manifold import ProductManifold
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.learning.frechet_mean import FrechetMean
from geomstats.learning.kmeans import RiemannianKMeans
from geomstats.learning.pca import TangentPCA
from hypothesis import given
from hypothesis import strategies as st

from bngeom import geometry as geo
from bngeom import strategies as bst
from bngeom.adapters.geomstats import BNMetric, BNSpace, SigmaSphere, SigmaSphereMetric

RTOL = 1e-12


def close(actual, expected, rtol=RTOL, atol=1e-13):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


@st.composite
def cases(draw, max_norm=2.5, batch=None):
    """(space, p, v, w): points p = (u, a) and tangent vectors v, w at p, single or batched."""
    cov = draw(bst.covariances(bst.dimensions(2, 5), max_condition=50.0))
    radius = draw(bst.radii(min_value=0.3, max_value=3.0))
    shape = draw(st.sampled_from([None, 1, 4])) if batch is None else batch
    u = draw(bst.points(cov, shape))
    n = () if shape is None else (shape,)
    floats = st.floats(-2.0, 2.0, allow_nan=False)
    a = np.asarray(draw(st.lists(floats, min_size=int(np.prod(n)), max_size=int(np.prod(n)))))
    a = a.reshape(n)
    xi = draw(bst.tangent_vectors(u, cov, max_norm=max_norm))
    eta = draw(bst.tangent_vectors(u, cov, max_norm=max_norm))
    alpha = np.asarray(draw(st.lists(floats, min_size=2 * int(np.prod(n)),
                                     max_size=2 * int(np.prod(n))))).reshape((2,) + n)
    space = BNSpace(cov, radius)

    def join(x, y):
        return np.concatenate([x, np.asarray(y)[..., None]], axis=-1)

    return space, join(u, a), join(xi, alpha[0]), join(eta, alpha[1])


# --------------------------------------------------------------------------- structure


def test_built_from_geomstats_classes():
    space = BNSpace(np.diag([4.0, 1.0, 0.25]), radius=2.0)
    assert isinstance(space, ProductManifold)
    assert isinstance(space.factors[0], LevelSet) and isinstance(space.factors[0], SigmaSphere)
    assert isinstance(space.factors[1], Euclidean)
    assert isinstance(space.metric, BNMetric) and isinstance(space.metric, RiemannianMetric)
    assert isinstance(space.factors[0].metric, SigmaSphereMetric)
    assert space.dim == 3 and space.shape == (4,) and space.point_ndim == 1
    assert space.factors[0].dim == 2 and space.metric.signature == (3, 0)
    p = space.random_point(rng=0)
    assert p.shape == (4,)
    # the level set's own submersion vanishes on the space
    close(space.factors[0].submersion(p[:3]), 0.0, atol=1e-14)
    v = space.random_tangent_vec(p, rng=1)
    close(space.factors[0].tangent_submersion(v[:3], p[:3]), 0.0, atol=1e-13)


def test_constructor_rejects_bad_input():
    with pytest.raises(ValueError, match="cov"):
        BNSpace(np.array([[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(ValueError, match="radius"):
        BNSpace(np.eye(2), radius=0.0)
    with pytest.raises(ValueError, match="at least 2 x 2"):
        BNSpace(np.eye(1))
    with pytest.raises(TypeError, match="space must be a BNSpace"):
        BNMetric(Hypersphere(2))


def test_argument_checks():
    space = BNSpace(np.eye(3))
    p = space.random_point(rng=0)
    with pytest.raises(ValueError, match="tangent_vec_a must have last dimension 4"):
        space.metric.inner_product(np.ones(3), np.ones(4), p)
    with pytest.raises(ValueError, match="base_point is required"):
        space.metric.metric_matrix()
    with pytest.raises(ValueError, match="exactly one"):
        space.metric.geodesic(p)
    with pytest.raises(ValueError, match="exactly one"):
        space.metric.parallel_transport(np.zeros(4), p)
    assert space.belongs(np.ones((2, 5))).tolist() == [False, False]
    with pytest.raises(ValueError, match="finite"):
        space.belongs(np.full(4, np.nan))


def test_validate_mode_checks_points_and_vectors():
    cov = np.diag([4.0, 1.0])
    strict, lax = BNSpace(cov), BNSpace(cov, validate=False)
    assert strict.validate and not lax.validate
    p = np.array([0.5, 0.0, 1.0])
    off = np.array([1.0, 0.0, 1.0])
    normal = np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="N_Sigma"):
        strict.metric.exp(np.zeros(3), off)
    with pytest.raises(ValueError, match="tangent"):
        strict.metric.inner_product(normal, normal, p)
    with pytest.raises(ValueError, match="finite"):
        strict.metric.log(np.array([0.5, 0.0, np.nan]), p)
    # validate=False (geomstats' behaviour) does not check, and agrees exactly on valid
    # input, batches included (the configuration the benchmark times)
    lax.metric.exp(np.zeros(3), off)
    v = np.array([0.0, 1.0, 2.0])
    close(strict.metric.exp(v, p), lax.metric.exp(v, p))
    P = strict.random_point(5, rng=0)
    Q = strict.random_point(5, rng=1)
    V = strict.random_tangent_vec(P, rng=2)
    for name, args in (("exp", (V, P)), ("log", (Q, P)), ("dist", (P, Q)),
                       ("inner_product", (V, V, P)), ("riemannian_gradient", (V, P)),
                       ("parallel_transport", (V, P, strict.metric.log(Q, P)))):
        assert np.array_equal(getattr(strict.metric, name)(*args),
                              getattr(lax.metric, name)(*args)), name


# --------------------------------------------------------------------------- = the core


@given(cases())
def test_metric_is_the_core(case):
    """Every BNMetric method gives the core's numbers (u block) plus the line (a block)."""
    space, p, v, w = case
    cov, r, d = space.cov, space.radius, space.cov.shape[0]
    u, a, xi, alpha, eta, beta = p[..., :d], p[..., d], v[..., :d], v[..., d], w[..., :d], \
        w[..., d]
    m = space.metric
    close(m.inner_product(v, w, p), geo.inner_product(u, xi, eta, cov, radius=r) + alpha * beta)
    close(m.squared_norm(v, p), geo.squared_norm(u, xi, cov, radius=r) + alpha**2)
    close(m.norm(v, p), np.sqrt(geo.squared_norm(u, xi, cov, radius=r) + alpha**2))
    q = m.exp(v, p)
    close(q[..., :d], geo.exp(u, xi, cov))
    close(q[..., d], a + alpha)
    lg = m.log(q, p)
    close(lg[..., :d], geo.log(u, q[..., :d], cov))
    close(lg[..., d], q[..., d] - a)
    close(m.dist(p, q), np.hypot(geo.dist(u, q[..., :d], cov, radius=r), q[..., d] - a))
    close(m.squared_dist(p, q), geo.squared_dist(u, q[..., :d], cov, radius=r)
          + (q[..., d] - a) ** 2)
    pt = m.parallel_transport(w, p, direction=v)
    close(pt[..., :d], geo.parallel_transport(u, eta, cov, direction=xi))
    close(pt[..., d], beta)
    pt_end = m.parallel_transport(w, p, end_point=q)
    close(pt_end[..., :d], geo.parallel_transport(u, eta, cov, end_point=q[..., :d]))
    mm = m.metric_matrix(p)
    close(mm[..., :d, :d], geo.metric_matrix(u, cov, radius=r))
    close(mm[..., d, d], 1.0)
    close(mm[..., :d, d], 0.0)
    cm = m.cometric_matrix(p)
    close(cm[..., :d, :d], geo.cometric_matrix(u, cov, radius=r))
    close(cm[..., d, d], 1.0)
    close(m.injectivity_radius(p), geo.injectivity_radius(u, radius=r))
    grad = np.cos(np.arange(1, d + 2) * (1.0 + p))
    rg = m.riemannian_gradient(grad, p)
    close(rg[..., :d], geo.riemannian_gradient(u, grad[..., :d], cov, radius=r))
    close(rg[..., d], grad[..., d])
    t = np.array([0.0, 0.3, 1.0])
    path = m.geodesic(p, initial_tangent_vec=v)(t)
    core_path = geo.geodesic(u, cov, initial_tangent_vec=xi)(t)      # (T, ..., d)
    close(np.moveaxis(path, -2, 0)[..., :d] if p.ndim > 1 else path[..., :d], core_path)
    tan = space.to_tangent(w + 0.7 * np.concatenate([u @ cov, np.zeros_like(a)[..., None]], -1)
                           , p)
    close(tan[..., :d], geo.to_tangent(u, eta + 0.7 * (u @ cov), cov))
    close(tan[..., d], beta)
    assert np.all(space.belongs(p) == geo.belongs(u, cov, atol=gs.atol))
    assert np.all(space.is_tangent(v, p) == geo.is_tangent(u, xi, cov, atol=gs.atol))
    proj = space.projection(np.concatenate([3.0 * u, a[..., None]], -1))
    close(proj[..., :d], u)


# --------------------------------------------------------------------------- identities


@given(cases(max_norm=2.8))
def test_identities_through_the_adapter(case):
    """The core's identities hold through geomstats' interface (single points and batches)."""
    space, p, v, w = case
    m, d = space.metric, space.cov.shape[0]
    q = m.exp(v, p)
    assert np.all(space.belongs(q, atol=1e-10))
    assert np.all(space.is_tangent(m.log(q, p), p, atol=1e-9))
    # log o exp = id inside the injectivity radius, and d(p, exp_p v) = |v|
    close(m.log(q, p), v, rtol=1e-8, atol=1e-9)
    close(m.dist(p, q), m.norm(v, p), rtol=1e-9, atol=1e-10)
    close(m.dist(p, q), m.dist(q, p), rtol=1e-12)
    # exp o log = id
    close(m.exp(m.log(q, p), p), q, rtol=1e-9, atol=1e-10)
    # parallel transport preserves the metric
    pt_v, pt_w = m.parallel_transport(v, p, direction=v), m.parallel_transport(w, p, direction=v)
    close(m.inner_product(pt_v, pt_w, q), m.inner_product(v, w, p), rtol=1e-9, atol=1e-9)
    # the SPD metric matrix and the pseudo-inverse definition represent the inner product
    for mm in (m.metric_matrix(p), m.pinv_metric_matrix(p)):
        close(np.einsum("...i,...ij,...j->...", v, mm, w), m.inner_product(v, w, p),
              rtol=1e-8, atol=1e-8)
    # and the SPD cometric is its inverse
    close(m.cometric_matrix(p) @ m.metric_matrix(p), np.broadcast_to(np.eye(d + 1), (
        p.shape[:-1] + (d + 1, d + 1))), rtol=0, atol=1e-9)
    # eq. (7)'s G maps a Euclidean gradient to the Riemannian one: g(G grad, v) = <grad, v>
    grad = np.sin(np.arange(1, d + 2) * (1.0 + p))
    rgrad = np.einsum("...ij,...j->...i", m.bn_cometric_matrix(p), grad)
    close(m.riemannian_gradient(grad, p), rgrad, rtol=1e-9, atol=1e-10)
    assert np.all(space.is_tangent(rgrad, p, atol=1e-9))
    close(m.inner_product(rgrad, v, p), np.sum(grad * v, axis=-1), rtol=1e-9, atol=1e-9)
    # geodesic endpoints
    path = m.geodesic(p, end_point=q)(np.array([0.0, 1.0]))
    ends = np.moveaxis(path, -2, 0) if p.ndim > 1 else path
    close(ends[0], p, atol=1e-12)
    close(ends[1], q, rtol=1e-8, atol=1e-9)


@given(cases(max_norm=1.5, batch=3))
def test_triangle_inequality(case):
    space, p, v, w = case
    m = space.metric
    x, y, z = p, m.exp(v, p), m.exp(w, p)
    assert np.all(m.dist(x, z) <= m.dist(x, y) + m.dist(y, z) + 1e-12)


# --------------------------------------------------------------------------- Hypersphere x R


@pytest.mark.parametrize("d", [2, 3, 6])
def test_identity_covariance_is_hypersphere_times_line(d):
    rng = np.random.default_rng(d)
    ours = BNSpace(np.eye(d))
    theirs = ProductManifold([Hypersphere(d - 1), Euclidean(1)])
    n = 200
    p = ours.random_point(n, rng=rng)
    v = ours.random_tangent_vec(p, rng=rng)
    w = ours.random_tangent_vec(p, rng=rng)
    # keep clear of the cut locus and of arccos' loss of accuracy near 0
    scale = rng.uniform(0.1, 2.5, n) / np.linalg.norm(v[:, :d], axis=1)
    v[:, :d] *= scale[:, None]
    q = ours.metric.exp(v, p)
    om, tm = ours.metric, theirs.metric
    assert np.all(theirs.belongs(p)) and np.all(ours.belongs(p))
    assert np.all(theirs.is_tangent(v, p, atol=1e-12)) and np.all(ours.is_tangent(v, p))
    close(om.inner_product(v, w, p), tm.inner_product(v, w, p))
    close(om.squared_norm(v, p), tm.squared_norm(v, p))
    close(om.norm(v, p), tm.norm(v, p))
    close(q, tm.exp(v, p), rtol=1e-10, atol=1e-12)
    close(om.log(q, p), tm.log(q, p), rtol=1e-7, atol=1e-8)
    close(om.dist(p, q), tm.dist(p, q), rtol=1e-7, atol=1e-8)
    close(om.squared_dist(p, q), tm.squared_dist(p, q), rtol=1e-7, atol=1e-8)
    t = np.linspace(0.0, 1.0, 5)
    close(om.geodesic(p, initial_tangent_vec=v)(t), tm.geodesic(p, initial_tangent_vec=v)(t),
          rtol=1e-10, atol=1e-12)
    close(om.geodesic(p[0], end_point=q[0])(t), tm.geodesic(p[0], end_point=q[0])(t),
          rtol=1e-7, atol=1e-8)
    amb = rng.standard_normal((n, d + 1))
    close(ours.to_tangent(amb, p), theirs.to_tangent(amb, p))
    close(ours.projection(amb), theirs.projection(amb))
    # geomstats' product has no transport; its factors do (the line's is the identity)
    sphere = Hypersphere(d - 1)
    expected = sphere.metric.parallel_transport(w[:, :d], p[:, :d], direction=v[:, :d])
    got = om.parallel_transport(w, p, direction=v)
    close(got[:, :d], expected, rtol=1e-9, atol=1e-10)
    close(got[:, d], w[:, d])
    close(om.injectivity_radius(p), sphere.metric.injectivity_radius(p[:, :d]))
    # metric matrices are equal (the identity, as Hypersphere times a line)
    close(om.metric_matrix(p), tm.metric_matrix(p), rtol=0, atol=1e-12)
    close(om.cometric_matrix(p), tm.cometric_matrix(p), rtol=0, atol=1e-12)
    close(np.einsum("ni,nij,nj->n", v, om.cometric_matrix(p), w), tm.inner_product(v, w, p),
          rtol=1e-9, atol=1e-10)


def test_frechet_mean_matches_hypersphere_times_line():
    ours = BNSpace(np.eye(3))
    theirs = ProductManifold([Hypersphere(2), Euclidean(1)])
    centre = ours.random_point(rng=0)
    pts = ours.metric.exp(0.4 * ours.random_tangent_vec(centre, 12, rng=1), centre)
    m1 = FrechetMean(ours).set(epsilon=1e-28, max_iter=300).fit(pts).estimate_
    m2 = FrechetMean(theirs).set(epsilon=1e-28, max_iter=300).fit(pts).estimate_
    close(m1, m2, rtol=1e-7, atol=1e-8)


# --------------------------------------------------------------------------- learning tools


@pytest.mark.parametrize("radius", [1.0, 0.5])
def test_frechet_mean_closed_form(radius):
    """Points placed symmetrically on geodesics through c: the mean is c, a averages."""
    cov = np.array([[3.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.2]])
    space = BNSpace(cov, radius)
    c = space.random_point(rng=3)
    xi = space.random_tangent_vec(np.stack([c, c]), rng=4)
    xi[:, -1] = 0.0
    xi /= space.metric.norm(xi, c)[:, None]
    t = np.array([0.6, 0.3])[:, None]          # within a ball where the mean is unique
    pts = np.concatenate([space.metric.exp(t * xi, c), space.metric.exp(-t * xi, c)])
    a = np.array([0.3, -1.2, 2.0, 0.5])
    pts[:, -1] = a
    mean = FrechetMean(space).set(epsilon=1e-28, max_iter=200).fit(pts).estimate_
    close(mean[:-1], c[:-1], rtol=1e-8, atol=1e-9)
    close(mean[-1], a.mean(), rtol=1e-8, atol=1e-9)
    # the weighted mean of two points is on the geodesic between them, at the weight's ratio
    p, q = pts[0], pts[2]
    wmean = FrechetMean(space).set(epsilon=1e-28, max_iter=300).fit(
        np.stack([p, q]), weights=np.array([3.0, 1.0])).estimate_
    close(wmean, space.metric.geodesic(p, end_point=q)(0.25)[0], rtol=1e-7, atol=1e-8)


def _clustered_neurons(space, n_clusters=3, per_cluster=25, spread=0.12, seed=0):
    rng = np.random.default_rng(seed)
    centres = space.random_point(n_clusters, bound=2.0, rng=rng)
    base = np.repeat(centres, per_cluster, axis=0)
    noise = spread * space.random_tangent_vec(base, rng=rng)
    return space.metric.exp(noise, base), np.repeat(np.arange(n_clusters), per_cluster), centres


def test_kmeans_recovers_clusters_of_neurons():
    space = BNSpace(np.diag([5.0, 1.0, 0.2]))
    X, labels, centres = _clustered_neurons(space)
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 (geomstats' kmeans++ draws from it)
    km = RiemannianKMeans(space, n_clusters=3, init="kmeans++", tol=1e-8).fit(X)
    found = np.asarray(km.labels_)
    # a perfect partition up to relabelling
    mapping = {true: set(found[labels == true]) for true in range(3)}
    assert all(len(s) == 1 for s in mapping.values())
    assert len(set().union(*mapping.values())) == 3
    for true, (k,) in mapping.items():
        cluster = X[labels == true]
        mean = FrechetMean(space).set(epsilon=1e-28, max_iter=200).fit(cluster).estimate_
        close(km.cluster_centers_[k], mean, rtol=1e-3, atol=1e-3)
        assert space.metric.dist(km.cluster_centers_[k], centres[true]) < 0.1
    assert km.predict(X[::7]).tolist() == found[::7].tolist()


def test_tangent_pca_finds_the_geodesic_direction():
    space = BNSpace(np.diag([4.0, 1.0, 0.25]), radius=1.5)
    rng = np.random.default_rng(5)
    c = space.random_point(rng=rng)
    direction = space.random_tangent_vec(c, rng=rng)
    direction /= space.metric.norm(direction, c)
    s = np.linspace(-0.8, 0.8, 40)[:, None]
    base = space.metric.exp(s * direction, c)
    X = space.metric.exp(0.01 * space.random_tangent_vec(base, rng=rng), base)
    pca = TangentPCA(space, n_components=2).fit(X)
    assert pca.explained_variance_ratio_[0] > 0.99
    comp = pca.components_[0]
    # the principal axis is the geodesic's direction (tangent at the mean, ~ at c)
    cosine = abs(comp @ direction) / (np.linalg.norm(comp) * np.linalg.norm(direction))
    assert cosine > 0.99


# --------------------------------------------------------------------------- sampling


def test_random_point_and_tangent_vec():
    cov = np.diag([4.0, 1.0, 0.25])
    space = BNSpace(cov, radius=2.0)
    p = space.random_point(6, bound=0.5, rng=0)
    assert p.shape == (6, 4) and np.all(space.belongs(p)) and np.all(np.abs(p[:, 3]) <= 0.5)
    close(space.random_point(6, bound=0.5, rng=0), p, rtol=0, atol=0)
    v = space.random_tangent_vec(p[0], n_samples=20000, rng=1)
    assert v.shape == (20000, 4) and np.all(space.is_tangent(v, p[0]))
    # standard Gaussian for the metric r^2 g + da^2: E |v|^2 = dim = d
    assert abs(np.mean(space.metric.squared_norm(v, p[0])) - 3.0) < 0.15
    with pytest.raises(ValueError, match="n_samples"):
        space.random_tangent_vec(p, n_samples=3)
    # with rng=None, geomstats' seeding makes the draws reproducible
    gs.random.seed(7)
    first = space.random_point(3)
    gs.random.seed(7)
    close(space.random_point(3), first, rtol=0, atol=0)


@pytest.mark.parametrize("cov", [np.diag([4.0, 1.0, 0.25]), np.array([[2.0, 0.9], [0.9, 0.5]])])
def test_generic_product_with_the_sigma_sphere_factor_has_an_spd_cometric(cov):
    """geomstats' own product of SigmaSphere and a line inverts the SPD metric matrix."""
    d = len(cov)
    generic = ProductManifold([SigmaSphere(cov, 1.5), Euclidean(1)])
    ours = BNSpace(cov, 1.5)
    p = ours.random_point(6, rng=3)
    v, w = ours.random_tangent_vec(p, rng=4), ours.random_tangent_vec(p, rng=5)
    mm, cm = generic.metric.metric_matrix(p), generic.metric.cometric_matrix(p)
    assert np.all(np.linalg.eigvalsh(mm) > 0)
    close(cm @ mm, np.broadcast_to(np.eye(d + 1), mm.shape), rtol=0, atol=1e-10)
    close(cm, ours.metric.cometric_matrix(p), rtol=1e-10, atol=1e-12)
    close(generic.metric.inner_product(v, w, p), ours.metric.inner_product(v, w, p),
          rtol=1e-10, atol=1e-12)
