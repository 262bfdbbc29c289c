"""`bngeom reproduce --quick`: the report's schema, every claim passing, figures, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bngeom import reproduce

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_IDS = {
    "prop1_positive_definite", "thm2_gradient_equivalence", "energy_identity",
    "norm_invariance", "sec4_1_anisotropic_speed", "sec4_2_speed_ratio", "sec4_3_first_step",
    "thm4_width_convergence", "thm4_propagation_of_chaos", "thm5_global_convergence",
    "sgd_reference_equivalence", "exp_lr_equivalence", "smd_angular_equilibrium",
    "minibatch_bn_bias",
}
FIGURES = ("figure1_anisotropy.png", "figure2_magnitude.png", "figure3_first_step.png",
           "theorem4_width.png", "theorem5_convergence.png", "exp_lr_equivalence.png",
           "smd_angular_equilibrium.png", "minibatch_bn_bias.png",
           "thm4_propagation_of_chaos.png")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    proc = subprocess.run(
        [sys.executable, "-m", "bngeom.cli", "reproduce", "--quick", "--out", str(out),
         "--seed", "0"], cwd=out, capture_output=True, text=True, timeout=600)
    return out, proc


def test_quick_run_exits_zero_and_all_claims_pass(quick_run):
    out, proc = quick_run
    report = json.loads((out / "report.json").read_text())
    failed = [(c["id"], c.get("details", {}).get("error", c["measured"]))
              for c in report["claims"] if not c["passed"]]
    assert not failed, failed
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report["complete"] and report["all_passed"]
    assert "claims passed" in proc.stdout


def test_report_schema(quick_run):
    out, _ = quick_run
    report = json.loads((out / "report.json").read_text())
    ids = [c["id"] for c in report["claims"]]
    assert REQUIRED_IDS <= set(ids) and len(ids) == len(set(ids))
    for c in report["claims"]:
        for key in reproduce.REPORT_KEYS:
            assert key in c, (c["id"], key)
        assert isinstance(c["description"], str) and c["description"]
        assert isinstance(c["passed"], bool)
        for key in ("measured", "predicted", "tolerance"):
            assert isinstance(c[key], (int, float)) and np.isfinite(c[key]), (c["id"], key)
    assert report["seed"] == 0 and report["quick"] is True


def test_figures_and_markdown_report(quick_run):
    out, _ = quick_run
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
    md = (out / "report.md").read_text()
    for cid in REQUIRED_IDS:
        assert f"`{cid}`" in md
    for name in FIGURES:
        assert f"]({name})" in md
    assert "FAIL" not in md


def test_failing_claim_gives_nonzero_exit_and_is_recorded(tmp_path, monkeypatch):
    def broken(seed=0, quick=False):
        claim = reproduce.check_norm_invariance(seed=seed, quick=True)
        return dict(claim, measured=1.0, passed=False)

    monkeypatch.setattr(reproduce, "_TASKS", tuple(
        reproduce._Task(t.id, t.label, reproduce._local_task(broken))
        if t.id == "norm_invariance" else t for t in reproduce._TASKS))
    parser = reproduce.add_arguments(__import__("argparse").ArgumentParser())
    args = parser.parse_args(["--quick", "--out", str(tmp_path), "--only", "norm_invariance",
                              "sec4_3_first_step", "--no-progress"])
    assert reproduce.run_from_args(args) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["passed"] for c in report["claims"]] == [False, True]
    assert "**FAIL**" in (tmp_path / "report.md").read_text()


def test_a_raising_claim_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    def boom(seed=0, quick=False):
        raise RuntimeError("deliberate failure")

    monkeypatch.setattr(reproduce, "_TASKS", tuple(
        reproduce._Task(t.id, t.label, reproduce._local_task(boom))
        if t.id == "energy_identity" else t for t in reproduce._TASKS))
    report = reproduce.run(tmp_path, quick=True, progress=False,
                           only=["energy_identity", "norm_invariance"])
    first, second = report["claims"]
    assert not first["passed"] and "deliberate failure" in first["details"]["error"]
    assert second["passed"] and not report["all_passed"]


def test_report_is_written_after_every_claim(tmp_path, monkeypatch):
    """An interrupted run keeps what it measured, and --resume reuses it."""

    def interrupt(seed=0, quick=False):
        raise KeyboardInterrupt

    only = ["sec4_2_speed_ratio", "sec4_3_first_step"]
    original = reproduce._TASKS
    monkeypatch.setattr(reproduce, "_TASKS", tuple(
        reproduce._Task(t.id, t.label, reproduce._local_task(interrupt))
        if t.id == "sec4_3_first_step" else t for t in original))
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(tmp_path, quick=True, progress=False, only=only)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert not saved["complete"]
    assert [c["id"] for c in saved["claims"]] == ["sec4_2_speed_ratio"]
    assert saved["claims"][0]["passed"]
    assert (tmp_path / "figure2_magnitude.png").exists()
    assert "INCOMPLETE" in (tmp_path / "report.md").read_text()
    monkeypatch.setattr(reproduce, "_TASKS", original)
    report = reproduce.run(tmp_path, quick=True, progress=False, resume=True, only=only)
    assert report["complete"] and report["all_passed"]
    assert report["claims"][0].get("reused") is True
    assert "reused" not in report["claims"][1]
    assert report["claims"][0]["measured"] == saved["claims"][0]["measured"]
    assert report["figures"] == ["figure2_magnitude.png", "figure3_first_step.png"]


def test_claims_are_deterministic_given_the_seed(tmp_path):
    only = ["norm_invariance", "sec4_2_speed_ratio"]
    a = reproduce.run(tmp_path / "a", quick=True, seed=3, progress=False, only=only)
    b = reproduce.run(tmp_path / "b", quick=True, seed=3, progress=False, only=only)
    c = reproduce.run(tmp_path / "c", quick=True, seed=4, progress=False, only=only)
    assert json.dumps(a["claims"], default=str) == json.dumps(b["claims"], default=str)
    assert a["claims"][0]["details"] != c["claims"][0]["details"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown claim"):
        reproduce.run(tmp_path, only=["no_such_claim"], progress=False)
    with pytest.raises(ValueError, match="seed"):
        reproduce.run(tmp_path, seed=-1, progress=False)
    with pytest.raises(TypeError, match="seed"):
        reproduce.run(tmp_path, seed=1.5, progress=False)


def test_resume_measures_again_what_is_not_a_complete_claim(tmp_path):
    settings = {"seed": 0, "quick": True, "bngeom_version": reproduce.__version__}
    (tmp_path / "report.json").write_text(json.dumps({**settings, "claims": [
        {"id": "norm_invariance", "passed": True},                       # hand-edited
        {"id": "prop1_positive_definite", "description": "x", "measured": 0.0,
         "predicted": 0.0, "tolerance": 1.0, "passed": "yes"}]}))
    report = reproduce.run(tmp_path, quick=True, progress=False, resume=True,
                           only=["norm_invariance", "prop1_positive_definite"])
    assert report["complete"] and report["all_passed"]
    assert not any(c.get("reused") for c in report["claims"])
    assert all(isinstance(c["description"], str) and c["measured"] < 1e-6
               for c in report["claims"])


def test_cli_bad_arguments_are_one_line_errors(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for args in (["--seed", "-3"], ["--out", str(a_file)]):
        proc = subprocess.run([sys.executable, "-m", "bngeom.cli", "reproduce", "--quick",
                               "--only", "norm_invariance", "--no-progress", *args],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert ("seed" if "--seed" in args else "out") in proc.stderr.splitlines()[-1]


def test_cli_help_explains_itself():
    proc = subprocess.run([sys.executable, "-m", "bngeom.cli", "reproduce", "--help"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0
    for option in ("--out", "--quick", "--seed", "--resume"):
        assert option in proc.stdout


def test_theorem_claims_can_fail():
    base = {"widths": [50, 200, 800], "mean_sup_w2": [0.4, 0.28, 0.15],
            "mean_sup_l2": [0.06, 0.03, 0.01], "w2_slope": -0.35, "l2_slope": -0.67,
            "ref_width": 3200, "config": {}}
    assert reproduce.theorem4_claim(base)["passed"]
    assert not reproduce.theorem4_claim(dict(base, w2_slope=-0.02))["passed"]
    assert not reproduce.theorem4_claim(dict(base, mean_sup_w2=[0.4, 0.41, 0.15]))["passed"]
    assert not reproduce.theorem4_claim(dict(base, mean_sup_l2=[0.06, 0.03, 0.07]))["passed"]
    assert reproduce.theorem4_claim(dict(base, mean_sup_l2=[0.06, 0.03, 0.04]))["passed"]
    five = {"loss_ratio": 1e-4, "converged": True, "variant_ratios": {"separated": 1e-4},
            "config": {"target_ratio": 1e-3, "width": 500}, "runs": {}}
    assert reproduce.theorem5_claim(five)["passed"]
    assert not reproduce.theorem5_claim(dict(five, loss_ratio=2e-3, converged=False))["passed"]
