"""The docs/math.md §11 claims of ``bngeom reproduce`` at their quick sizes."""

import numpy as np
import pytest

from bngeom.experiments import sgd_reference


def test_sgd_reference_quick_claim_passes():
    res = sgd_reference.run_sgd_reference(seed=1, size="quick")
    claim = sgd_reference.sgd_reference_claim(res)
    assert claim["passed"], claim
    assert claim["measured"] <= 1e-10 and len(res.configs) == 16


def test_sgd_reference_detects_a_different_rule():
    """The oracle is sensitive: a Nesterov-like change of the rule is caught."""
    res = sgd_reference.run_sgd_reference(seed=0, size="quick")
    bad = sgd_reference.SGDReferenceResult(res.configs, [*res.differences[:-1], 1e-6],
                                           res.displacements, res.config)
    assert not sgd_reference.sgd_reference_claim(bad)["passed"]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    W0, a0 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    kw = dict(lr=0.5, steps=5, seed=0)
    opts = sgd_reference.TrainOptions(batch_norm="batch")
    W1, _ = sgd_reference.reference_sgd(X, y, W0, a0, options=opts, **kw)
    W2, _ = sgd_reference.reference_sgd(
        X, y, W0, a0, options=sgd_reference.TrainOptions(batch_norm="batch", momentum=0.9), **kw)
    assert np.max(np.abs(W1 - W2)) > 1e-3


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="size must be one of"):
        sgd_reference.run_sgd_reference(size="huge")


# ---------------------------------------------------------------------------
# exp_lr_equivalence


@pytest.fixture(scope="module")
def exp_lr_result():
    from bngeom.experiments import exp_lr

    return exp_lr.run_exp_lr(seed=0, size="quick")


def test_exp_lr_claim_passes(exp_lr_result, tmp_path):
    from bngeom.experiments import exp_lr

    claim = exp_lr.exp_lr_claim(exp_lr_result)
    assert claim["passed"], claim
    assert claim["measured"] <= 1e-10 and claim["details"]["one_step_gap"] <= 1e-13
    exp_lr.plot_exp_lr(exp_lr_result, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_exp_lr_large_eta_lambda_amplifies_rounding(exp_lr_result):
    """At large eta*lambda/(1-alpha) the identity still holds after one step, but over 10^3
    steps the gap exceeds 1e-10: the dynamics amplifies rounding. Process A perturbed by
    1e-15 drifts from itself by the same order, so the gap is sensitivity, not an error."""
    large = [r for r in exp_lr_result.runs if not r.small]
    assert len(large) >= 2
    for r in large:
        assert r.gap[1] <= 1e-13
        assert np.max(r.gap) > 1e-10
        assert np.max(r.sensitivity) > 1e-3 * np.max(r.gap)


def test_exp_lr_factor():
    from bngeom.experiments.exp_lr import exp_lr_factor

    assert exp_lr_factor(0.1, 0.5) == pytest.approx(0.95, abs=1e-15)
    c = exp_lr_factor(1.0, 1e-3, 0.9)
    assert c * c - (1 + 0.9 - 1e-3) * c + 0.9 == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="no real exponential schedule"):
        exp_lr_factor(1.0, 0.1, 0.9)


# ---------------------------------------------------------------------------
# smd_angular_equilibrium


def test_smd_quick_claim_passes_and_plots(tmp_path):
    from bngeom.experiments import spherical_motion as smd

    res = smd.run_smd_angular_equilibrium(seed=0, size="quick")
    claim = smd.smd_angular_equilibrium_claim(res)
    assert claim["passed"], claim["details"]["runs"]
    assert res.config["width"] >= 1000
    for r in res.runs:
        assert abs(r.ratio - 1.0) <= 0.02
        if r.momentum == 0.0:  # the norm sits at its equilibrium r* too
            assert abs(r.norm_ratio - 1.0) <= 0.02
    # approach time scales like 1/(eta lambda) (up to a logarithm), as weight decay alone
    assert 0.8 <= res.approach_slope <= 1.1
    for tau, pred in zip(res.approach_steps, res.approach_predicted, strict=True):
        assert 0.7 <= tau / pred <= 1.3
    smd.plot_smd_angular_equilibrium(res, tmp_path / "smd.png")
    assert (tmp_path / "smd.png").stat().st_size > 10_000


def test_smd_claim_fails_for_a_wrong_prediction():
    from bngeom.experiments import spherical_motion as smd

    res = smd.run_smd_angular_equilibrium(seed=0, size="quick", width=1000,
                                          settings=((0.5, 1e-2, 0.0, 16),),
                                          approach_lambdas=(2e-2, 4e-2))
    r = res.runs[0]
    wrong = smd.SMDRun(r.lr, r.weight_decay, r.momentum, r.batch_size, r.predicted * 1.05,
                       r.rms_angle, r.norm_ratio, r.angle_curve, r.norm_curve,
                       r.norm_prediction)
    assert not smd.smd_angular_equilibrium_claim(
        smd.SMDResult([wrong], res.approach_eta_lambda, res.approach_steps,
                      res.approach_predicted, res.approach_slope, res.config))["passed"]


# ---------------------------------------------------------------------------
# minibatch_bn_bias


def test_minibatch_quick_claim_passes_and_plots(tmp_path):
    from bngeom.experiments import minibatch

    res = minibatch.run_minibatch_bn_bias(seed=0, size="quick")
    claim = minibatch.minibatch_bn_bias_claim(res)
    assert claim["passed"], claim
    assert abs(res.bias_slope + 1) <= 0.1 and abs(res.variance_slope + 1) <= 0.1
    minibatch.plot_minibatch_bn_bias(res, tmp_path / "mb.png")
    assert (tmp_path / "mb.png").stat().st_size > 10_000


def test_minibatch_bias_shrinks_with_batch_size():
    """The batch-BN bias is resolved at B = 32 and far smaller near B = n, as the variance."""
    from bngeom.experiments import minibatch
    from bngeom.nn.data import make_teacher_dataset

    rng = np.random.default_rng(3)
    ds = make_teacher_dataset(512, [2.0, 1.0, 0.5], teacher_width=2, rng=rng)
    W, a = rng.standard_normal((5, 3)), rng.standard_normal(5)
    bias, err, var = minibatch.batch_gradient_moments(ds, W, a, 32, 800, rng)
    assert bias > 2 * err and var > 0
    bias_big, err_big, var_big = minibatch.batch_gradient_moments(ds, W, a, 480, 800, rng)
    assert bias_big < bias / 5 and var_big < var / 5


def test_minibatch_bad_batch_sizes():
    from bngeom.experiments import minibatch

    with pytest.raises(ValueError, match="batch_sizes must lie in"):
        minibatch.run_minibatch_bn_bias(size="quick", batch_sizes=(16, 1024))
