"""simulate's options as dataclasses: checked when built, and equal to the 0.1 keywords."""

import numpy as np
import pytest

from bngeom.dynamics import Checkpointing, Model, Recording, Solver, simulate
from bngeom.nn.data import make_teacher_dataset


@pytest.fixture(scope="module")
def problem():
    ds = make_teacher_dataset(40, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
    rng = np.random.default_rng(3)
    return ds, rng.standard_normal((5, 3)), rng.standard_normal(5)


def test_options_give_the_same_run_as_the_01_keywords(problem, tmp_path):
    ds, W0, a0 = problem
    old = simulate(ds, W0, a0, t_end=0.4, method="gd", step=0.02, n_records=3,
                   activation="relu", loss="squared", meta={"seed": 1})
    new = simulate(ds, W0, a0, t_end=0.4, model=Model("relu"), solver=Solver("gd", step=0.02),
                   recording=Recording(n_records=3, meta={"seed": 1}))
    assert np.array_equal(old.W, new.W) and np.array_equal(old.loss, new.loss)
    assert old.meta == new.meta and new.meta["seed"] == 1
    flow = simulate(ds, W0, a0, t_end=0.3, n_records=4, rtol=1e-9, atol=1e-11,
                    checkpoint=tmp_path / "a.npz")
    same = simulate(ds, W0, a0, t_end=0.3, solver=Solver(rtol=1e-9, atol=1e-11),
                    recording=Recording(n_records=4),
                    checkpointing=Checkpointing(tmp_path / "b.npz"))
    assert np.array_equal(flow.W, same.W)


def test_keywords_override_the_options_objects(problem):
    ds, W0, a0 = problem
    base = Solver("gd", step=0.1)
    traj = simulate(ds, W0, a0, t_end=0.2, solver=base, step=0.05)
    assert traj.meta["step"] == 0.05 and traj.meta["n_steps"] == 4
    assert base.step == 0.1  # frozen: the caller's object is not changed


@pytest.mark.parametrize("build, error, match", [
    (lambda: Solver("euler"), ValueError, "method must be one of"),
    (lambda: Solver("gd"), ValueError, "step is required"),
    (lambda: Solver(step=0.1), ValueError, "step applies to method='gd' only"),
    (lambda: Solver(rtol=-1.0), ValueError, "rtol"),
    (lambda: Solver(integrator="LSODA"), ValueError, "integrator must be one of"),
    (lambda: Model("swish"), ValueError, "swish"),
    (lambda: Model(memory_budget=0), ValueError, "memory_budget"),
    (lambda: Recording(n_records=1), ValueError, "n_records must be >= 2"),
    (lambda: Recording(times=[0.0, 0.5, 0.5]), ValueError, "strictly increasing"),
    (lambda: Recording(progress="yes"), TypeError, "progress must be a bool"),
    (lambda: Recording(meta={"f": object()}), TypeError, "JSON-serializable"),
    (lambda: Checkpointing("/no/such/dir/x.npz"), ValueError, "does not exist"),
    (lambda: Checkpointing(3), TypeError, "checkpoint must be a path"),
    (lambda: Checkpointing(every=0), ValueError, "checkpoint_every"),
])
def test_bad_options_fail_where_they_are_written(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_unknown_keyword_and_wrong_option_type(problem):
    ds, W0, a0 = problem
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_step'"):
        simulate(ds, W0, a0, t_end=0.2, n_step=3)
    with pytest.raises(TypeError, match="solver must be a bngeom.dynamics.Solver"):
        simulate(ds, W0, a0, t_end=0.2, solver={"method": "gd"})
    with pytest.raises(ValueError, match=r"record_times must lie within \[0, t_end\]"):
        simulate(ds, W0, a0, t_end=0.2, recording=Recording(times=[0.0, 0.5]))
