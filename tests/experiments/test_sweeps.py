"""Tests of bngeom.sweeps: grids, joblib and Dask backends, failures."""

import pytest

from bngeom.experiments.sweeps import SweepError, make_grid, run_sweep


def power(width, seed, offset=0):
    return width**seed + offset


def fail_on_seven(width, seed):
    if width == 7:
        raise ValueError("width seven is cursed")
    return width + seed


def test_make_grid_order_and_validation():
    grid = make_grid(width=[1, 2], seed=[0, 1, 2])
    assert [(p["width"], p["seed"]) for p in grid] == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    with pytest.raises(ValueError, match="at least one"):
        make_grid()
    with pytest.raises(ValueError, match="'seed' must not be empty"):
        make_grid(width=[1], seed=[])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_joblib_results_in_grid_order(n_jobs):
    grid = make_grid(width=[2, 3, 5], seed=[0, 1, 2, 3])
    expected = [p["width"] ** p["seed"] + 10 for p in grid]
    assert run_sweep(power, grid, n_jobs=n_jobs, fixed={"offset": 10}) == expected


def test_failure_names_the_grid_point():
    grid = make_grid(width=[5, 7, 9], seed=[1])
    with pytest.raises(SweepError, match=r"point 1 \{'width': 7, 'seed': 1\}.*cursed") as info:
        run_sweep(fail_on_seven, grid, n_jobs=2)
    assert info.value.point == {"width": 7, "seed": 1}
    assert isinstance(info.value.__cause__, ValueError)


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        run_sweep(power, make_grid(width=[1], seed=[1]), backend="ray")
    with pytest.raises(ValueError, match="n_jobs"):
        run_sweep(power, make_grid(width=[1], seed=[1]), n_jobs=0)
    assert run_sweep(power, []) == []


def test_dask_local_cluster_matches_joblib():
    distributed = pytest.importorskip("dask.distributed")
    grid = make_grid(width=[2, 3], seed=[0, 1, 2])
    expected = run_sweep(power, grid, n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert run_sweep(power, grid, backend="dask", client=client) == expected
        with pytest.raises(SweepError, match="width': 7"):
            run_sweep(fail_on_seven, make_grid(width=[7], seed=[0]), backend="dask",
                      client=client)
        # connecting by address works too
        assert run_sweep(power, grid, backend="dask",
                         address=cluster.scheduler_address) == expected


def test_dask_without_client_starts_and_closes_its_own_process_cluster():
    pytest.importorskip("dask.distributed")
    from bngeom.experiments.sweeps import (
        _example_area,  # importable in the spawned worker processes
    )

    grid = make_grid(width=[2, 3], seed=[1, 4])
    expected = run_sweep(_example_area, grid, n_jobs=1)
    assert expected == [2, 8, 3, 12]
    assert run_sweep(_example_area, grid, backend="dask", n_jobs=2) == expected
