"""Quick runs of the Theorem 4 and Theorem 5 experiments (MATH §7)."""

import json

import numpy as np
import pytest

from bngeom import geometry as geo
from bngeom.experiments.theorem4 import run_theorem4, sample_initial_particles
from bngeom.experiments.theorem5 import initial_particles, run_theorem5


@pytest.fixture(scope="module")
def thm4():
    return run_theorem4(quick=True, seed=0, n_jobs=1)


@pytest.fixture(scope="module")
def thm5():
    return run_theorem5(quick=True, seed=0, n_jobs=1)


def test_theorem4_w2_and_l2_shrink_with_width(thm4):
    w2 = np.array(thm4["mean_sup_w2"])
    l2 = np.array(thm4["mean_sup_l2"])
    assert len(w2) == len(thm4["widths"]) == 3
    assert np.all(np.diff(w2) < 0), w2            # seed-mean sup W2 decreases in m
    assert l2[-1] < l2[0], l2
    assert thm4["w2_slope"] < -0.2 and thm4["l2_slope"] < -0.1
    # the reference run trains: its loss decreases
    assert thm4["reference_loss"][-1] < thm4["reference_loss"][0]
    json.dumps(thm4)                               # the report is JSON-serializable


def test_theorem4_sup_over_time_bounds_every_record(thm4):
    sup = np.array(thm4["sup_w2"]).mean(axis=1)
    curves = np.array(thm4["w2_curves"])
    assert curves.shape == (3, len(thm4["times"]))
    assert np.all(curves.max(axis=1) <= sup + 1e-12)


def test_theorem5_separated_start_reaches_target(thm5):
    main = thm5["runs"]["separated"]
    assert thm5["converged"] and main["loss_ratio"] < 1e-3
    assert main["time_to_target"] is not None
    loss = np.array(main["loss"])
    assert np.all(np.diff(loss) <= 1e-12 * loss[0])   # gradient descent decreases the loss
    json.dumps(thm5)


def test_theorem5_dirac_start_cannot_split(thm5):
    dirac = thm5["runs"]["dirac"]
    assert dirac["distinct_particles"] == 1
    assert dirac["loss_ratio"] > 10 * thm5["loss_ratio"]


def test_initializations():
    cov = np.diag([4.0, 1.0, 0.25])
    U, a = sample_initial_particles(cov, 200, 0.5, rng=1)
    assert np.allclose(np.einsum("ni,ij,nj->n", U, cov, U), 1.0) and np.all(np.abs(a) <= 0.5)
    U, a = initial_particles("cap", cov, 100, 1.0, rng=2, cap_angle=0.2)
    centre_dist = geo.dist(U[:, None], U[None], cov).max()
    assert centre_dist <= 0.4 + 1e-9                    # inside a cap of radius 0.2
    U, a = initial_particles("equal_a", cov, 10, 1.0, rng=3)
    assert np.all(a == 0.1)
    with pytest.raises(ValueError, match="variant"):
        initial_particles("uniform", cov, 10, 1.0, rng=0)


def test_bad_presets():
    with pytest.raises(ValueError, match="size"):
        run_theorem4(size="huge")
    with pytest.raises(ValueError, match="unknown Theorem 4 settings"):
        run_theorem4(quick=True, width=3)
    with pytest.raises(ValueError, match="unknown Theorem 5 settings"):
        run_theorem5(quick=True, widths=(3,))
    with pytest.raises(ValueError, match="variants"):
        run_theorem5(quick=True, variants=("separated", "bogus"))
