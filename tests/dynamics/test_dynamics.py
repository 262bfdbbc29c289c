"""The three dynamics of one width-m network (issue 4 item 1, MATH §2-3, §6)."""

from __future__ import annotations

import autograd
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bngeom import geometry
from bngeom.dynamics.flows import CHARTS, mean_field_step, simulate, velocity
from bngeom.geometry.charts import normalize_to_manifold, sphere_to_manifold_differential
from bngeom.nn.data import Dataset, make_teacher_dataset
from bngeom.nn.model import bn_loss_and_gradients, vanilla_loss

TIGHT = {"rtol": 1e-12, "atol": 1e-14}


def _problem(seed: int = 0, n: int = 64, d: int = 3, m: int = 6):
    rng = np.random.default_rng(seed)
    ds = make_teacher_dataset(n, np.geomspace(3.0, 0.3, d), teacher_width=2, rng=rng,
                              rotate=True)
    # radii spread over a decade: r != 1 is the case Theorem 2's 1/r^2 is about
    W0 = rng.standard_normal((m, d)) * np.exp(rng.uniform(-1.0, 1.0, (m, 1)))
    a0 = rng.standard_normal(m)
    return ds, W0, a0


def _initial(chart: str, ds: Dataset, W0: np.ndarray) -> tuple[np.ndarray, dict]:
    """The chart's initial parameters and extra keywords for the same network."""
    if chart == "riemannian":
        return normalize_to_manifold(W0, ds.cov), {"radius": np.linalg.norm(W0, axis=1)}
    if chart == "vanilla":
        return normalize_to_manifold(W0, ds.cov), {}
    return W0, {}


@pytest.fixture(scope="module")
def problem():
    return _problem()


# ---------------------------------------------------------------------------
# velocities


def test_velocity_is_minus_m_times_the_gradient(problem):
    """Mean-field time scaling: V(theta_k) = -m grad_{theta_k} L (eq. 10), vs autograd."""
    ds, W0, a0 = problem
    m = W0.shape[0]
    U = normalize_to_manifold(W0, ds.cov)
    dU, da, L = velocity(ds, U, a0, chart="vanilla")
    gu, ga = autograd.grad(lambda U, a: vanilla_loss(ds.X, ds.y, U, a), (0, 1))(U, a0)
    np.testing.assert_allclose(dU, -m * gu, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(da, -m * ga, rtol=1e-10, atol=1e-14)
    assert L == pytest.approx(float(vanilla_loss(ds.X, ds.y, U, a0)), rel=1e-12)


def test_velocity_charts_agree_theorem2(problem):
    ds, W0, a0 = problem
    r = np.linalg.norm(W0, axis=1)
    dW, da, L = velocity(ds, W0, a0, chart="bn")
    U = normalize_to_manifold(W0, ds.cov)
    dU, da_r, L_r = velocity(ds, U, a0, chart="riemannian", radius=r)
    np.testing.assert_allclose(np.sum(W0 * dW, axis=1), 0.0, atol=1e-13)
    np.testing.assert_allclose(dU, sphere_to_manifold_differential(W0, dW, ds.cov),
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(da, da_r, rtol=1e-13, atol=1e-15)
    assert L == pytest.approx(L_r, rel=1e-13)
    # with unit radii the Riemannian velocity is r^2 times faster
    dU1, _, _ = velocity(ds, U, a0, chart="riemannian")
    np.testing.assert_allclose(dU1, dU * r[:, None] ** 2, rtol=1e-12, atol=1e-14)


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 4), m=st.integers(1, 4))
def test_velocity_properties(seed, d, m):
    """w^T dw = 0; the Riemannian velocity is tangent and is d(phi) of the BN one."""
    ds, W0, a0 = _problem(seed, n=16, d=d, m=m)
    r = np.linalg.norm(W0, axis=1)
    dW, da, _ = velocity(ds, W0, a0)
    U = normalize_to_manifold(W0, ds.cov)
    dU, _, _ = velocity(ds, U, a0, chart="riemannian", radius=r)
    scale = np.linalg.norm(dW) * np.linalg.norm(W0) + 1e-300
    assert np.max(np.abs(np.sum(W0 * dW, axis=1))) <= 1e-12 * scale
    assert np.all(geometry.is_tangent(U, dU, ds.cov))
    np.testing.assert_allclose(dU, sphere_to_manifold_differential(W0, dW, ds.cov),
                               rtol=1e-9, atol=1e-12 * (1 + np.max(np.abs(dU))))


def test_mean_field_step():
    assert mean_field_step(0.3, 3) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        mean_field_step(0.0, 3)
    with pytest.raises(ValueError, match="width"):
        mean_field_step(0.1, 0)


# ---------------------------------------------------------------------------
# gradient flows


@pytest.fixture(scope="module")
def tight_flows(problem):
    ds, W0, a0 = problem
    out = {}
    for chart in CHARTS:
        W, kw = _initial(chart, ds, W0)
        out[chart] = simulate(ds, W, a0, t_end=1.5, n_records=7, chart=chart, **kw, **TIGHT)
    return out


@pytest.mark.parametrize("chart", CHARTS)
def test_flow_energy_identity_tight(tight_flows, chart):
    traj = tight_flows[chart]
    err = traj.energy_identity_error()
    assert err <= 1e-6
    assert traj.meta["energy_identity_error"] == err
    assert np.all(np.diff(traj.loss) < 0)          # dL/dt = -dissipation <= 0
    assert np.all(traj.dissipation > 0)


@pytest.mark.parametrize("chart", CHARTS)
def test_flow_energy_identity_default_tolerance(problem, chart):
    ds, W0, a0 = problem
    W, kw = _initial(chart, ds, W0)
    traj = simulate(ds, W, a0, t_end=1.0, n_records=3, chart=chart, **kw)
    assert traj.energy_identity_error() <= 1e-5
    assert traj.meta["integrator"] == "DOP853" and traj.meta["rtol"] == 1e-8


def test_energy_identity_from_the_loss_curve_alone(problem):
    """A fine record grid: a 7-point finite difference of the recorded loss."""
    ds, W0, a0 = problem
    traj = simulate(ds, W0, a0, t_end=0.25, n_records=101, **TIGHT)
    assert traj.energy_identity_error(from_records=True) <= 1e-6


def test_energy_identity_detects_a_wrong_dissipation(tight_flows):
    traj = tight_flows["bn"]
    traj2 = type(traj)(**{**traj.__dict__, "dissipation": 1.01 * traj.dissipation})
    assert traj2.energy_identity_error() > 5e-3


def test_bn_flow_keeps_the_radii(tight_flows, problem):
    _, W0, _ = problem
    traj = tight_flows["bn"]
    np.testing.assert_allclose(traj.radius, np.broadcast_to(np.linalg.norm(W0, axis=1),
                                                            traj.radius.shape), rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(traj.W, axis=2), traj.radius, rtol=0, atol=0)


def test_riemannian_flow_stays_on_the_manifold(tight_flows, problem):
    ds, W0, _ = problem
    traj = tight_flows["riemannian"]
    quad = np.einsum("tki,ij,tkj->tk", traj.W, ds.cov, traj.W)
    np.testing.assert_allclose(quad, 1.0, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(traj.radius[-1], np.linalg.norm(W0, axis=1))


def test_three_flows_bn_equals_riemannian(tight_flows, problem):
    """BN flow mapped through phi == Riemannian flow with r_k = |w_k| (Theorem 2, eq. 7)."""
    bn, rm = tight_flows["bn"], tight_flows["riemannian"]
    np.testing.assert_array_equal(bn.times, rm.times)
    np.testing.assert_allclose(rm.U, bn.U, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rm.a, bn.a, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rm.loss, bn.loss, rtol=1e-10)
    np.testing.assert_allclose(rm.speed_u, bn.speed_u, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(rm.dissipation, bn.dissipation, rtol=1e-8)
    # for BN, r sqrt(g(du, du)) is the Euclidean speed |dw|
    dW, _, _ = velocity(problem[0], bn.W[3], bn.a[3])
    np.testing.assert_allclose(bn.speed_u[3], np.linalg.norm(dW, axis=1), rtol=1e-10)


def test_vanilla_flow_is_a_different_dynamics(tight_flows, problem):
    """Eq. (8) starts from the same network but leaves N_Sigma and moves differently."""
    ds = problem[0]
    bn, va = tight_flows["bn"], tight_flows["vanilla"]
    np.testing.assert_allclose(va.loss[0], bn.loss[0], rtol=1e-13)
    quad = np.einsum("tki,ij,tkj->tk", va.W, ds.cov, va.W)
    assert np.max(np.abs(quad[-1] - 1.0)) > 1e-3
    assert np.max(np.abs(va.loss[-1] - bn.loss[-1])) > 1e-4
    np.testing.assert_allclose(va.radius, np.linalg.norm(va.W, axis=2))
    assert va.meta["speed_norm"] == "euclidean" and bn.meta["speed_norm"] == "g"


@pytest.mark.parametrize("integrator", ["RK45", "RK23"])
def test_other_integrators_agree(problem, tight_flows, integrator):
    ds, W0, a0 = problem
    traj = simulate(ds, W0, a0, t_end=1.5, n_records=7, integrator=integrator,
                    rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.W, tight_flows["bn"].W, atol=1e-7)


def test_record_times_and_t_end(problem):
    ds, W0, a0 = problem
    traj = simulate(ds, W0, a0, t_end=1.0, record_times=[0.25, 0.5])
    np.testing.assert_array_equal(traj.times, [0.25, 0.5])
    full = simulate(ds, W0, a0, t_end=0.5, record_times=[0.0, 0.25, 0.5])
    np.testing.assert_array_equal(traj.W, full.W[1:])
    assert np.all(np.isfinite(traj.dloss_dt))


def test_memory_budget_is_passed_through(problem):
    ds, W0, a0 = problem
    a = simulate(ds, W0, a0, t_end=0.3, n_records=2)
    b = simulate(ds, W0, a0, t_end=0.3, n_records=2, memory_budget=3 * 8 * 6 * 5)
    np.testing.assert_allclose(b.W, a.W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-12)


def test_meta_is_stored_as_json(problem):
    ds, W0, a0 = problem
    traj = simulate(ds, W0, a0, t_end=0.1, n_records=2, meta={"seed": np.int64(3)})
    assert traj.meta["seed"] == 3 and type(traj.meta["seed"]) is int


def test_deterministic(problem):
    ds, W0, a0 = problem
    a = simulate(ds, W0, a0, t_end=0.5, n_records=3, chart="bn")
    b = simulate(ds, W0, a0, t_end=0.5, n_records=3, chart="bn")
    for name in ("times", "loss", "W", "U", "a", "speed_u", "dissipation", "dloss_dt"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_progress_bar(problem, capsys):
    ds, W0, a0 = problem
    simulate(ds, W0, a0, t_end=0.2, n_records=3, progress=True)
    assert "2/2" in capsys.readouterr().err
    simulate(ds, W0, a0, t_end=0.2, n_records=3)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------
# gradient descent


def test_gd_is_gradient_descent_with_learning_rate_eta(problem):
    """method='gd' with step = eta/m is plain GD with learning rate eta on the width-m net."""
    ds, W0, a0 = problem
    m, eta, n = W0.shape[0], 0.3, 5
    traj = simulate(ds, W0, a0, t_end=n * mean_field_step(eta, m), method="gd",
                    step=mean_field_step(eta, m))
    W, a = W0.copy(), a0.copy()
    for _ in range(n):
        res = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov)
        W, a = W - eta * res.grad_w, a - eta * res.grad_a
    np.testing.assert_allclose(traj.W[-1], W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(traj.a[-1], a, rtol=1e-12, atol=1e-14)
    assert traj.meta["learning_rate"] == pytest.approx(eta)
    assert traj.meta["n_steps"] == n


def test_gd_radius_grows_by_eta_squared_grad_squared(problem):
    """|w_{k+1}|^2 = |w_k|^2 + eta^2 |grad_w L|^2 exactly (MATH §2, §8.3)."""
    ds, W0, a0 = problem
    m, step = W0.shape[0], 0.05
    traj = simulate(ds, W0, a0, t_end=1.0, method="gd", step=step,
                    record_times=np.arange(21) * step)
    r2 = traj.radius**2
    eta = m * step
    grads = np.stack([bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov).grad_w
                      for W, a in zip(traj.W[:-1], traj.a[:-1], strict=True)])
    expected = eta**2 * np.sum(grads**2, axis=2)
    np.testing.assert_allclose(r2[1:] - r2[:-1], expected, rtol=1e-8)
    # the same from the recorded speeds: speed_u = |dw| = m |grad_w L|
    np.testing.assert_allclose(r2[1:] - r2[:-1], (step * traj.speed_u[:-1]) ** 2, rtol=1e-8)
    assert np.all(r2[-1] > r2[0])


def test_gd_versions_agree_per_step(problem):
    """One BN GD step mapped through phi vs one Riemannian exp step.

    They agree to O(step^2) at least; in fact to O(step^3), because phi of the
    Euclidean step is the normalization retraction, which matches exp to second order.
    """
    ds, W0, a0 = problem
    r = np.linalg.norm(W0, axis=1)
    U0 = normalize_to_manifold(W0, ds.cov)
    gaps = []
    for step in (0.02, 0.01, 0.005):
        bn = simulate(ds, W0, a0, t_end=step, method="gd", step=step)
        rm = simulate(ds, U0, a0, t_end=step, method="gd", step=step, chart="riemannian",
                      radius=r)
        np.testing.assert_allclose(bn.a[-1], rm.a[-1], rtol=1e-13)
        np.testing.assert_allclose(bn.U[0], rm.U[0], rtol=1e-14)
        gaps.append(np.max(np.abs(rm.U[-1] - bn.U[-1])))
    assert gaps[0] < 1e-3
    ratios = np.array(gaps[:-1]) / np.array(gaps[1:])
    assert np.all((ratios > 7.0) & (ratios < 9.0)), ratios


@pytest.mark.parametrize("chart", CHARTS)
def test_gd_converges_to_the_flow_first_order(problem, tight_flows, chart):
    ds, W0, a0 = problem
    W, kw = _initial(chart, ds, W0)
    flow = tight_flows[chart]
    errors, eie = [], []
    for step in (0.05, 0.025):
        gd = simulate(ds, W, a0, t_end=1.5, method="gd", step=step, n_records=7, chart=chart,
                      **kw)
        np.testing.assert_allclose(gd.times, flow.times, rtol=1e-12)
        errors.append(np.max(np.abs(gd.U - flow.U)))
        eie.append(gd.energy_identity_error())
    assert 1.7 < errors[0] / errors[1] < 2.3
    assert 1.7 < eie[0] / eie[1] < 2.3        # the GD energy identity error is O(step)
    if chart == "riemannian":
        quad = np.einsum("tki,ij,tkj->tk", gd.W, ds.cov, gd.W)
        np.testing.assert_allclose(quad, 1.0, atol=1e-13)


def test_gd_record_times_snap_to_steps(problem):
    ds, W0, a0 = problem
    traj = simulate(ds, W0, a0, t_end=1.0, method="gd", step=0.1, record_times=[0.0, 0.33, 1.0])
    np.testing.assert_allclose(traj.times, [0.0, 0.3, 1.0])
    few = simulate(ds, W0, a0, t_end=0.3, method="gd", step=0.1)   # fewer steps than records
    np.testing.assert_allclose(few.times, [0.0, 0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="record_times"):
        simulate(ds, W0, a0, t_end=1.0, method="gd", step=0.1, record_times=[0.0, 0.01])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_gd_divergence_is_loud(problem):
    ds, W0, a0 = problem
    with pytest.raises(FloatingPointError, match="diverged"):
        simulate(ds, W0, a0, t_end=100.0, method="gd", step=1.0, chart="vanilla",
                 activation="relu", n_records=2)


# ---------------------------------------------------------------------------
# bad input


def _bad_calls(ds, W0, a0):
    U0 = normalize_to_manifold(W0, ds.cov)
    yield "dataset", TypeError, dict(dataset=(ds.X, ds.y))
    yield "W0", ValueError, dict(W0=W0[:, :2])
    yield "W0", ValueError, dict(W0=W0[0])
    yield "W0", ValueError, dict(W0=np.where(np.eye(*W0.shape) > 0, np.nan, W0))
    yield "W0", ValueError, dict(W0=np.zeros_like(W0))
    yield "W0", TypeError, dict(W0=W0.astype(complex))
    yield "a0", ValueError, dict(a0=a0[:-1])
    yield "t_end", ValueError, dict(t_end=0.0)
    yield "t_end", ValueError, dict(t_end=-1.0)
    yield "t_end", ValueError, dict(t_end=np.inf)
    yield "t_end", ValueError, dict(t_end=np.nan)
    yield "chart", ValueError, dict(chart="euclid")
    yield "method", ValueError, dict(method="adam")
    yield "integrator", ValueError, dict(integrator="Euler")
    yield "step", ValueError, dict(method="gd")
    yield "step", ValueError, dict(method="gd", step=0.0)
    yield "step", ValueError, dict(method="gd", step=np.nan)
    yield "step", ValueError, dict(method="gd", step=-0.1)
    yield "step", ValueError, dict(step=0.1)
    yield "t_end", ValueError, dict(method="gd", step=0.3)
    yield "rtol", ValueError, dict(rtol=0.0)
    yield "atol", ValueError, dict(atol=-1.0)
    yield "W0", ValueError, dict(chart="riemannian", W0=2.0 * U0)
    yield "radius", ValueError, dict(radius=2.0)
    yield "radius", ValueError, dict(chart="riemannian", W0=U0, radius=np.ones(2))
    yield "radius", ValueError, dict(chart="riemannian", W0=U0, radius=0.0)
    yield "record_times", ValueError, dict(record_times=[0.5, 0.2])
    yield "record_times", ValueError, dict(record_times=[0.0, 2.0])
    yield "record_times", ValueError, dict(record_times=[])
    yield "n_records", ValueError, dict(n_records=1)
    yield "checkpoint_every", ValueError, dict(checkpoint_every=0)
    yield "checkpoint", ValueError, dict(checkpoint="/nonexistent/dir/ckpt.npz")
    yield "memory_budget", ValueError, dict(memory_budget=0)
    yield "activation", ValueError, dict(activation="swish")
    yield "meta", TypeError, dict(meta={"seed": object()})


@pytest.mark.parametrize("case", range(35))
def test_simulate_rejects_bad_input(problem, case):
    ds, W0, a0 = problem
    name, exc, override = list(_bad_calls(ds, W0, a0))[case]
    kwargs = {"dataset": ds, "W0": W0, "a0": a0, "t_end": 1.0, **override}
    with pytest.raises(exc, match=name):
        simulate(**kwargs)


def test_bad_call_table_is_complete(problem):
    assert len(list(_bad_calls(*problem))) == 35


def test_velocity_rejects_bad_input(problem):
    ds, W0, a0 = problem
    with pytest.raises(TypeError, match="dataset"):
        velocity(None, W0, a0)
    with pytest.raises(ValueError, match="chart"):
        velocity(ds, W0, a0, chart="sphere")
    with pytest.raises(ValueError, match="W"):
        velocity(ds, W0, a0, chart="riemannian")          # W0 is off N_Sigma
    with pytest.raises(ValueError, match="radius"):
        velocity(ds, W0, a0, radius=1.0)
    with pytest.raises(ValueError, match="a"):
        velocity(ds, W0, a0[:2])
