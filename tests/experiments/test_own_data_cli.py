"""Issue 13, item 1: `bngeom check --data` and `bngeom reproduce --data`, checks on a Dataset."""

import json

import numpy as np
import pytest

from bngeom.cli import main
from bngeom.experiments import checks, section4
from bngeom.experiments.reproduce import DATA_CLAIM_IDS, DATA_SKIPPED, run
from bngeom.nn.data import Dataset


def _table(n=150, seed=0):
    """Uncentred features on different scales, a constant column and a collinear one."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)) * [1.0, 4.0, 0.3, 2.0] + [3.0, 100.0, -1.0, 0.0]
    y = np.tanh(X[:, 0] - 3.0) + 0.01 * X[:, 1]
    return X, y


def _write_csv(path, X, y, names):
    rows = [",".join(names)] + [",".join(f"{v!r}" for v in (*r, t))
                                for r, t in zip(X.tolist(), y.tolist(), strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_checks_accept_a_dataset():
    X, y = _table()
    ds = Dataset.from_arrays(X, y)
    for loss in ("squared", "logistic"):
        claim = checks.check_theorem2(seed=1, width=5, loss=loss, dataset=ds)
        assert claim["passed"] and claim["measured"] < 1e-12
        assert claim["details"]["data"] == "dataset" and claim["details"]["dim"] == 4
    assert checks.check_proposition1(seed=1, n_points=4, dataset=ds)["passed"]
    with pytest.raises(TypeError, match="dataset must be a bngeom.Dataset"):
        checks.check_theorem2(dataset=(X, y))


def test_theorem2_on_a_projected_dataset_against_the_original_features():
    X, y = _table()
    X = np.column_stack([X, np.full(len(X), 7.0), X[:, 0] + 2.0 * X[:, 3]])
    ds = Dataset.from_arrays(X, y, singular="project")
    claim = checks.check_theorem2(seed=2, width=6, dataset=ds)
    assert ds.dim == 4 and claim["passed"] and claim["measured"] < 1e-11


def test_check_cli_on_a_csv(tmp_path, capsys):
    X, y = _table()
    path = _write_csv(tmp_path / "mine.csv", X, y, ["a", "b", "c", "d", "price"])
    assert main(["check", "--data", str(path), "--target", "price"]) == 0
    out = capsys.readouterr().out
    assert "mine.csv (target price): 150 samples, 4 features" in out
    assert "11 passed, 0 failed" in out


def test_check_cli_errors_name_the_file_and_the_fix(tmp_path, capsys):
    X, y = _table()
    X = np.column_stack([X, np.full(len(X), 7.0)])
    path = _write_csv(tmp_path / "flat.csv", X, y, ["a", "b", "c", "d", "flat", "y"])
    assert main(["check", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "flat.csv" in err and "'flat' (column 4)" in err and "--singular project" in err
    assert main(["check", "--data", str(path), "--singular", "project"]) == 0
    assert main(["check", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["check", "--data", "a", "b", "c"]) == 2


def test_reproduce_cli_with_data_writes_a_checked_report(tmp_path, capsys):
    X, y = _table()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "out"
    code = main(["reproduce", "--data", str(tmp_path / "X.npy"), str(tmp_path / "y.npy"),
                 "--quick", "--no-progress", "--out", str(out), "--only",
                 "thm2_gradient_equivalence", "norm_invariance", "sec4_3_first_step",
                 "thm5_global_convergence"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "skipped: thm5_global_convergence" in printed
    report = json.loads((out / "report.json").read_text())
    assert [c["id"] for c in report["claims"]] == ["thm2_gradient_equivalence",
                                                   "norm_invariance", "sec4_3_first_step"]
    assert all(c["passed"] for c in report["claims"])
    assert report["data"]["n_samples"] == 150 and report["data"]["n_features"] == 4
    assert [s["id"] for s in report["skipped"]] == ["thm5_global_convergence"]
    md = (out / "report.md").read_text()
    assert "## Skipped on your own data" in md and "X.npy " in md and "y.npy: 150 samples" in md
    assert (out / "figure3_first_step.png").stat().st_size > 0


def test_reproduce_resume_does_not_mix_data_and_synthetic_claims(tmp_path):
    X, y = _table()
    ds = Dataset.from_arrays(X, y)
    first = run(tmp_path, quick=True, progress=False, only=["norm_invariance"], dataset=ds,
                data_label="mine")
    again = run(tmp_path, quick=True, progress=False, only=["norm_invariance"], dataset=ds,
                resume=True)
    assert again["claims"][0].get("reused") and first["data"]["sha256"] == again["data"]["sha256"]
    synthetic = run(tmp_path, quick=True, progress=False, only=["norm_invariance"], resume=True)
    assert not synthetic["claims"][0].get("reused") and synthetic["data"] is None
    assert set(DATA_CLAIM_IDS) | set(DATA_SKIPPED) == {
        c["id"] for c in first["claims"]} | set(DATA_CLAIM_IDS) | set(DATA_SKIPPED)


def test_every_claim_runs_on_data_or_is_skipped_with_a_reason():
    from bngeom.experiments.reproduce import CLAIM_IDS, _data_tasks

    X, y = _table()
    tasks = [t.id for t in _data_tasks(Dataset.from_arrays(X, y))]
    assert tasks == list(DATA_CLAIM_IDS)
    assert set(CLAIM_IDS) == set(DATA_CLAIM_IDS) | set(DATA_SKIPPED)
    assert not set(DATA_CLAIM_IDS) & set(DATA_SKIPPED)
    assert all(isinstance(r, str) and len(r) > 40 for r in DATA_SKIPPED.values())


def test_section4_on_data():
    X, y = _table()
    ds = Dataset.from_arrays(X, y)
    run_ = section4.data_anisotropy_run(ds, quick=True, t_end=20.0)
    assert run_["sigma_angle"] and run_["n_samples"] == 128
    assert np.isclose(run_["spectrum"][0], 1.0) and np.all(np.diff(run_["spectrum"]) <= 0)
    # BN students turn to the first principal axis faster than vanilla ones (Section 4.1)
    assert np.median(run_["angles_bn"][-1]) < np.median(run_["angles_vanilla"][-1])
    claim = section4.first_step_claim(section4.first_step_experiment(quick=True, dataset=ds))
    assert claim["passed"]
    magnitude = section4.magnitude_experiment(quick=True, dataset=ds)
    assert magnitude["dim"] == 4 and magnitude["n_samples"] == 150
    assert section4.magnitude_claim(magnitude)["passed"]
    with pytest.raises(TypeError, match="dataset must be a bngeom.Dataset"):
        section4.data_anisotropy_run(X)
