"""Theorem 4 as propagation of chaos (bngeom.experiments.chaos, claim thm4_propagation_of_chaos)."""

import dataclasses
import json

import numpy as np
import pytest

from bngeom import geometry
from bngeom.dynamics import simulate
from bngeom.experiments import reproduce
from bngeom.experiments.chaos import (
    PRESETS,
    ChaosOptions,
    ChaosResult,
    couple,
    coupled_squared_distance,
    effective_width,
    run_chaos,
)
from bngeom.experiments.theorem4 import _dataset, sample_initial_particles
from bngeom.wasserstein import pairwise_squared_dist

CID = "thm4_propagation_of_chaos"
TINY = ChaosOptions(widths=(8, 16), ref_width=64, n_blocks=2, n_seeds=2, n_samples=32,
                    t_end=0.2, n_records=3, w2_records=2)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """``bngeom reproduce --quick`` restricted to the claim (the quick preset, seed 0)."""
    out = tmp_path_factory.mktemp("chaos")
    reproduce.run(out, quick=True, seed=0, progress=False, only=[CID])
    return out, json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def small_problem():
    ds = _dataset(0, 48)
    U0, a0 = sample_initial_particles(ds.cov, 40, 1.0, np.random.default_rng(3))
    return ds, U0, a0


def test_quick_preset_claim_passes(quick_report):
    out, report = quick_report
    (claim,) = report["claims"]
    assert claim["id"] == CID and claim["passed"], claim["measured"]
    assert abs(claim["measured"] + 0.5) <= reproduce.THM4_CHAOS_TOLERANCE
    lo, hi = claim["details"]["slope_ci"]
    assert lo < claim["measured"] < hi and (hi - lo) / 2 <= reproduce.THM4_CHAOS_TOLERANCE
    assert len(claim["details"]["result"]["widths"]) >= 4
    png = (out / "thm4_propagation_of_chaos.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert "thm4_propagation_of_chaos.png" in report["figures"]


def test_result_round_trips_through_the_report(quick_report):
    _, report = quick_report
    (claim,) = report["claims"]
    result = ChaosResult.from_dict(claim["details"]["result"])
    assert result.options == PRESETS["quick"] and result.seed == 0
    assert isinstance(result.widths[0], int) and isinstance(result.sup_rms[0][0], float)
    # the claim recomputed from the stored result is the stored claim
    again = json.loads(json.dumps(reproduce.propagation_of_chaos_claim(result)))
    assert again == claim
    assert json.loads(json.dumps(result.to_dict())) == claim["details"]["result"]


def test_result_round_trip_is_exact_and_deterministic():
    res = run_chaos(options=TINY, seed=4)
    back = ChaosResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back == res and back.slope == res.slope and back.options == TINY
    assert run_chaos(options=TINY, seed=4) == res          # same seed, same numbers
    assert run_chaos(options=TINY, seed=5) != res


def test_coupling_is_exact_at_m_equal_M(small_problem):
    ds, U0, a0 = small_problem
    c = couple(ds, U0, a0, [10, 20, 40], n_blocks=3, t_end=0.5, n_records=6)
    assert c.n_blocks == (3, 2, 1)
    assert np.all(c.msd[2] == 0.0) and np.all(c.function_gap[2] == 0.0)   # m = M
    assert np.all(c.msd[:, 0] == 0.0)                                      # t = 0: shared
    assert np.all(c.msd[:2, 1:] > 0)                                       # m < M: coupled
    assert np.array_equal(c.first_blocks[2].U, c.reference.U)


def test_distance_is_the_product_distance_on_M(small_problem):
    ds, U0, a0 = small_problem
    ref = simulate(ds, U0, a0, t_end=0.3, chart="riemannian", method="gd", step=0.01,
                   n_records=4)
    small = simulate(ds, U0[10:20], a0[10:20], t_end=0.3, chart="riemannian", method="gd",
                     step=0.01, n_records=4)
    sq = coupled_squared_distance(small, ref, ds.cov, offset=10)
    assert sq.shape == (4, 10)
    for k in range(4):   # an independent implementation: W2's ground cost, diagonal pairs
        cost = pairwise_squared_dist(small.particles(k), ref.particles(k)[10:20], ds.cov)
        np.testing.assert_allclose(sq[k], np.diag(cost), rtol=1e-10, atol=1e-14)
    d_u = geometry.dist(small.U[-1], ref.U[-1, 10:20], ds.cov)
    np.testing.assert_allclose(sq[-1], d_u**2 + (small.a[-1] - ref.a[-1, 10:20]) ** 2)


def test_nested_distance_follows_the_effective_width(small_problem):
    """The coupled distance grows like sqrt(1/m - 1/M) in m at fixed M: m = M/2 < m = M/4."""
    ds, U0, a0 = small_problem
    c = couple(ds, U0, a0, [5, 10, 20], n_blocks=4, t_end=0.5, n_records=3)
    sup = np.sqrt(c.msd.max(axis=1))
    assert sup[0] > sup[1] > sup[2] > 0
    np.testing.assert_allclose(effective_width([10, 20, 40], 40), [40 / 3, 40.0, np.inf])


def test_claim_fails_off_the_rate_or_when_too_noisy():
    res = run_chaos(options=dataclasses.replace(TINY, widths=(4, 8, 12, 16)), seed=0)
    good = dataclasses.replace(res, slope=-0.5, slope_ci=(-0.55, -0.45))
    assert reproduce.propagation_of_chaos_claim(good)["passed"]
    for bad in (dataclasses.replace(good, slope=-0.35),                 # off the rate
                dataclasses.replace(good, slope=-0.62),
                dataclasses.replace(good, slope_ci=(-0.72, -0.28)),     # interval too wide
                dataclasses.replace(good, slope=float("nan"))):
        assert not reproduce.propagation_of_chaos_claim(bad)["passed"]
    few = run_chaos(options=TINY, seed=0)                               # only two widths
    assert not reproduce.propagation_of_chaos_claim(
        dataclasses.replace(few, slope=-0.5, slope_ci=(-0.55, -0.45)))["passed"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(widths=(50, 25)), ValueError, "strictly increasing"),
    (dict(widths=(25,)), ValueError, "at least two"),
    (dict(widths=(25, 3200)), ValueError, "smaller than ref_width"),
    (dict(widths="25,50"), TypeError, "widths must be a sequence"),
    (dict(widths=(25.0, 50)), TypeError, "widths must be an integer"),
    (dict(n_seeds=1), ValueError, "n_seeds must be >= 2"),
    (dict(n_blocks=0), ValueError, "n_blocks must be >= 1"),
    (dict(t_end=1.505), ValueError, "whole number of steps"),
    (dict(step=-0.01), ValueError, "step must be > 0"),
    (dict(w2_records=20), ValueError, "w2_records"),
    (dict(ref_width=True), TypeError, "ref_width must be an integer"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        ChaosOptions(**kwargs)


def test_bad_arguments(small_problem):
    ds, U0, a0 = small_problem
    with pytest.raises(ValueError, match="size must be one of"):
        run_chaos("huge")
    with pytest.raises(TypeError, match="options must be a ChaosOptions"):
        run_chaos(options={"widths": (1, 2)})
    with pytest.raises(ValueError, match="seed"):
        run_chaos(options=TINY, seed=-1)
    with pytest.raises(ValueError, match="widths must be a non-empty sequence of widths <= 40"):
        couple(ds, U0, a0, [80], t_end=0.1, n_records=2)
    ref = simulate(ds, U0, a0, t_end=0.1, chart="riemannian", n_records=2)
    other = simulate(ds, U0[:5], a0[:5], t_end=0.2, chart="riemannian", n_records=2)
    with pytest.raises(ValueError, match="offset must satisfy"):
        coupled_squared_distance(ref, ref, ds.cov, offset=1)
    with pytest.raises(TypeError, match="offset must be an integer"):
        coupled_squared_distance(ref, ref, ds.cov, offset=0.0)
    with pytest.raises(ValueError, match="same record times"):
        coupled_squared_distance(other, ref, ds.cov)
    with pytest.raises(TypeError, match="reference must be a bngeom Trajectory"):
        coupled_squared_distance(ref, ref.U, ds.cov)
    with pytest.raises(ValueError, match="width must hold integers"):
        effective_width([0.5], 10)
    with pytest.raises(ValueError, match="width must hold integers"):
        effective_width([np.nan], 10)
    with pytest.raises(TypeError, match="width must be an integer"):
        effective_width("ten", 10)
    with pytest.raises(ValueError, match="missing the ChaosResult fields: options"):
        ChaosResult.from_dict({})
    with pytest.raises(TypeError, match="data must be a mapping"):
        ChaosResult.from_dict([1, 2])


def test_options_accept_numpy_widths_and_presets_are_valid():
    assert ChaosOptions(widths=np.array([10, 20]), ref_width=80).widths == (10, 20)
    for name, opts in PRESETS.items():
        assert len(opts.widths) >= 4, name                      # the claim needs four widths
        assert opts.ref_width >= 16 * opts.widths[-1], name     # M/m >= 16 at every width
    assert PRESETS["full"].ref_width >= 64 * PRESETS["full"].widths[3]
