"""Section 4 experiments (MATH §8): the measured effects, their claims, figures and bad input."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bngeom.experiments import section4 as s4
from bngeom.nn.data import make_teacher_dataset
from bngeom.nn.model import bn_loss_and_gradients, vanilla_loss_and_gradients


@pytest.fixture(scope="module")
def anisotropy():
    return s4.anisotropy_experiment(quick=True, seed=0)


@pytest.fixture(scope="module")
def magnitude():
    return s4.magnitude_experiment(quick=True, seed=0)


@pytest.fixture(scope="module")
def first_step():
    return s4.first_step_experiment(quick=True, seed=0)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    ds = make_teacher_dataset(96, [3.0, 1.0, 0.3], teacher_width=2, rng=rng)
    return ds, rng.standard_normal((5, 3)), rng.standard_normal(5)


# ---------------------------------------------------------------------------
# 4.1


def test_bn_gathers_sooner_in_both_runs(anisotropy):
    for key in ("planar", "high_dim"):
        run = anisotropy[key]
        assert run["t_gather_bn"] is not None and run["t_gather_vanilla"] is not None
        assert run["t_gather_bn"] < run["t_gather_vanilla"]
        assert run["speedup"] > 1.5
        # Both students actually learn the teacher.
        assert run["final_loss_bn"] < 1e-3 and run["final_loss_vanilla"] < 1e-3
    claim = s4.anisotropy_claim(anisotropy)
    assert claim["passed"] and claim["measured"] == anisotropy["speedup"]


def test_anisotropy_same_initial_directions_and_gathering_curve(anisotropy):
    run = anisotropy["planar"]
    np.testing.assert_allclose(run["angles_bn"][0], run["angles_vanilla"][0], atol=1e-12)
    # The gathering time is the first time the fraction reaches the criterion.
    k = int(np.flatnonzero(run["times"] == run["t_gather_bn"])[0])
    assert run["fraction_bn"][k] >= run["fraction"] > run["fraction_bn"][k - 1]
    frac = np.mean(run["angles_bn"][k] <= run["angle_deg"])
    assert frac == run["fraction_bn"][k]


def test_bn_speed_factor_grows_in_insignificant_directions(anisotropy):
    """Eq. 21's factor: the BN/vanilla speed ratio follows 1/w^T Sigma w across directions."""
    run = anisotropy["planar"]
    ratio = run["initial_speed_bn"] / run["initial_speed_vanilla"]
    factor = 1.0 / run["sigma_norm_sq"]
    assert np.corrcoef(np.log(ratio), np.log(factor))[0, 1] > 0.95
    edge = np.argmax(run["initial_angle"])
    assert ratio[edge] > 3.0   # near the insignificant direction BN is much faster


def test_anisotropy_claim_fails_when_vanilla_is_not_slower(anisotropy):
    fake = copy.deepcopy(anisotropy)
    fake["high_dim"]["speedup"] = 0.8
    fake["speedup"] = 0.8
    assert not s4.anisotropy_claim(fake)["passed"]
    fake["high_dim"]["speedup"] = None
    assert not s4.anisotropy_claim(fake)["passed"]


def test_anisotropy_deterministic_and_seed_dependent():
    kw = dict(n_neurons=3, n_samples=48, t_end=4.0)
    a = s4.anisotropy_run([1.0, 0.2, 0.2], seed=5, **kw)
    b = s4.anisotropy_run([1.0, 0.2, 0.2], seed=5, **kw)
    c = s4.anisotropy_run([1.0, 0.2, 0.2], seed=6, **kw)
    np.testing.assert_array_equal(a["angles_bn"], b["angles_bn"])
    np.testing.assert_array_equal(a["angles_vanilla"], b["angles_vanilla"])
    assert not np.array_equal(a["angles_bn"], c["angles_bn"])


def test_spectrum_is_rescaled_to_unit_significant_variance():
    """Only the shape of the spectrum matters: its first eigenvalue is rescaled to 1."""
    kw = dict(n_neurons=3, n_samples=48, t_end=4.0, seed=1)
    a = s4.anisotropy_run([1.0, 0.1], **kw)
    b = s4.anisotropy_run([5.0, 0.5], **kw)
    np.testing.assert_allclose(a["angles_bn"], b["angles_bn"], atol=1e-9)
    np.testing.assert_allclose(a["angles_vanilla"], b["angles_vanilla"], atol=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(spectrum=[1.0]), "at least 2"),
    (dict(spectrum=[0.1, 1.0]), "largest"),
    (dict(spectrum=[1.0, -1.0]), "> 0"),
    (dict(spectrum=[1.0, 0.1], fraction=1.5), "fraction"),
    (dict(spectrum=[1.0, 0.1], learning_rate=0.0), "learning_rate"),
    (dict(spectrum=[1.0, np.nan]), "finite"),
])
def test_anisotropy_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        s4.anisotropy_run(**kwargs)


def test_anisotropy_experiment_bad_input():
    with pytest.raises(ValueError, match="dim"):
        s4.anisotropy_experiment(dim=2)
    with pytest.raises(ValueError, match="minor_variance"):
        s4.anisotropy_experiment(minor_variance=2.0)
    with pytest.raises(TypeError, match="n_neurons"):
        s4.anisotropy_run([1.0, 0.1], n_neurons=2.5)


# ---------------------------------------------------------------------------
# 4.2


def test_speed_ratios_follow_the_paper(magnitude):
    cases = magnitude["cases"]
    cs = magnitude["c_values"]
    np.testing.assert_allclose(cases["bn/tanh"]["ratio_euclidean"], 1 / cs, rtol=1e-12)
    np.testing.assert_allclose(cases["bn/tanh"]["ratio_angular"], 1 / cs**2, rtol=1e-12)
    np.testing.assert_allclose(cases["bn/relu"]["ratio_euclidean"], 1 / cs, rtol=1e-12)
    np.testing.assert_allclose(cases["vanilla/relu"]["ratio_euclidean"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(cases["vanilla/relu"]["ratio_angular"], 1 / cs, rtol=1e-12)
    # Without BN and with tanh (not homogeneous) no such law holds.
    assert np.max(np.abs(cases["vanilla/tanh"]["ratio_euclidean"] - 1.0)) > 0.1
    assert np.max(np.abs(cases["vanilla/tanh"]["ratio_euclidean"] * cs - 1.0)) > 0.1
    assert s4.magnitude_claim(magnitude)["passed"]


def test_radii_are_learning_rates(magnitude):
    rs, eff = magnitude["radii"], magnitude["effective_step"]
    order = np.argsort(rs)
    assert np.all(np.diff(eff[order]) < 0)                # smaller neurons take bigger steps
    assert magnitude["effective_step_slope"] == pytest.approx(-2.0, abs=2e-3)
    np.testing.assert_allclose(eff, magnitude["effective_step_exact"], rtol=1e-9)
    ens = magnitude["ensemble"]
    assert ens["max_rel_gap"] <= 1e-9
    # Same function at every radius: the curves start at the same loss and the
    # smallest radius has descended furthest after a few steps.
    np.testing.assert_allclose(ens["loss"][:, 0], ens["loss"][0, 0])
    order = np.argsort(ens["radii"])
    assert np.all(np.diff(ens["loss"][order, 5]) > 0)


def test_magnitude_claim_detects_a_wrong_law(magnitude):
    fake = copy.deepcopy(magnitude)
    fake["cases"]["bn/tanh"]["max_rel_error_angular"] = 0.3
    assert not s4.magnitude_claim(fake)["passed"]
    fake = copy.deepcopy(magnitude)
    fake["ensemble"]["max_rel_gap"] = 1e-3
    assert not s4.magnitude_claim(fake)["passed"]


@settings(max_examples=25)
@given(c=st.floats(1e-3, 1e3), act=st.sampled_from(["tanh", "relu", "softplus"]))
def test_bn_gradient_of_scaled_neuron_property(problem, c, act):
    """grad_{c w} L = grad_w L / c for BN, for every c > 0 and activation (eq. 21)."""
    ds, W, a = problem
    W2 = W.copy()
    W2[0] *= c
    g1 = bn_loss_and_gradients(ds.X, ds.y, W, a, ds.cov, act).grad_w
    g2 = bn_loss_and_gradients(ds.X, ds.y, W2, a, ds.cov, act).grad_w
    np.testing.assert_allclose(g2[0] * c, g1[0], rtol=1e-10, atol=1e-14)


@settings(max_examples=25)
@given(c=st.floats(1e-3, 1e3))
def test_vanilla_relu_equal_speed_property(problem, c):
    """Without BN, with ReLU: neurons u and c u in one network have equal gradients."""
    ds, W, a = problem
    U = np.vstack((W, c * W[:1]))
    aa = np.concatenate((a, a[:1]))
    g = vanilla_loss_and_gradients(ds.X, ds.y, U, aa, "relu").grad_w
    np.testing.assert_allclose(g[-1], g[0], rtol=1e-12, atol=1e-15)


def test_magnitude_bad_input():
    with pytest.raises(ValueError, match="c_values"):
        s4.magnitude_experiment(c_values=[1.0, -2.0])
    with pytest.raises(ValueError, match="radii"):
        s4.magnitude_experiment(radii=[0.0, 1.0])
    with pytest.raises(ValueError, match="learning_rate"):
        s4.magnitude_experiment(learning_rate=-1.0)


# ---------------------------------------------------------------------------
# 4.3


def test_first_step_matches_prediction_and_floor(first_step):
    res = first_step
    assert res["norms"].min() == pytest.approx(1e-4) and res["norms"].max() == pytest.approx(10)
    np.testing.assert_allclose(res["w1_norm"], res["predicted"], rtol=1e-12)
    assert res["min_ratio_to_floor"] >= 1.0 - 1e-12
    # The floor is nearly attained on the grid (its minimizer sqrt(eta K) is inside).
    assert res["min_ratio_to_floor"] < 1.1
    assert res["decreasing_below_minimizer"]
    assert s4.first_step_claim(res)["passed"]


def test_after_the_first_step_small_neurons_are_large(first_step):
    floor = np.mean(first_step["floor"])
    for tr in first_step["trajectories"]:
        assert np.all(tr["mean_radius"][1:] >= 0.5 * floor)
        # Later steps change the radius only slightly (they are orthogonal, second order).
        assert np.all(np.diff(tr["mean_radius"][1:]) >= 0)
        assert tr["mean_radius"][-1] / tr["mean_radius"][1] < 1.1


@settings(max_examples=30)
@given(s=st.floats(1e-4, 10.0), eta=st.floats(1e-3, 10.0))
def test_first_step_norm_property(problem, s, eta):
    """||w1||^2 = ||w0||^2 + eta^2 K^2 / ||w0||^2 >= 2 eta K for every neuron."""
    ds, W, a = problem
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    K = np.linalg.norm(bn_loss_and_gradients(ds.X, ds.y, unit, a, ds.cov).grad_w, axis=1)
    W0 = s * unit
    W1 = W0 - eta * bn_loss_and_gradients(ds.X, ds.y, W0, a, ds.cov).grad_w
    w1 = np.linalg.norm(W1, axis=1)
    np.testing.assert_allclose(w1, np.sqrt(s**2 + (eta * K) ** 2 / s**2), rtol=1e-10)
    assert np.all(w1 >= np.sqrt(2 * eta * K) * (1 - 1e-12))


def test_first_step_claim_detects_a_violation(first_step):
    fake = copy.deepcopy(first_step)
    fake["min_ratio_to_floor"] = 0.9
    assert not s4.first_step_claim(fake)["passed"]
    fake = copy.deepcopy(first_step)
    fake["max_rel_error"] = 1e-3
    assert not s4.first_step_claim(fake)["passed"]


def test_first_step_bad_input():
    with pytest.raises(ValueError, match="norms"):
        s4.first_step_experiment(norms=[1.0, 0.0])
    with pytest.raises(ValueError, match="learning_rate"):
        s4.first_step_experiment(learning_rate=np.inf)
    with pytest.raises(TypeError, match="n_steps"):
        s4.first_step_experiment(n_steps=1.5)


# ---------------------------------------------------------------------------
# figures


def test_figures_are_written(tmp_path, anisotropy, magnitude, first_step):
    import matplotlib.image as mpimg

    paths = [s4.plot_anisotropy(anisotropy, tmp_path / "f1.png"),
             s4.plot_magnitude(magnitude, tmp_path / "f2.png"),
             s4.plot_first_step(first_step, tmp_path / "sub" / "f3.png")]
    for path in paths:
        img = mpimg.imread(path)
        assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 600
        assert img[..., :3].std() > 0.05     # not a blank canvas
