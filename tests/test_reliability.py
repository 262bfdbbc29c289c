"""Reliability (issue 14): concurrent runs, file contents, the command line, resources,
masked and float16 input, extreme scales.

Each test states the class of the issue it covers; docs/bad_input.md has a row per class.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bngeom import cli, dynamics
from bngeom._io import LockedError, exclusive
from bngeom.dynamics.trajectory import checkpoint_lock
from bngeom.experiments import reproduce
from bngeom.nn.data import make_teacher_dataset

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


# --------------------------------------------------------------------------- 1. locks


def test_second_run_into_a_locked_out_is_refused_naming_dir_and_holder(tmp_path, capsys):
    with exclusive(tmp_path, what="output directory"):
        with pytest.raises(LockedError, match=rf"output directory {tmp_path} is in use by "
                                              rf"another bngeom run \(pid {os.getpid()}"):
            reproduce.run(tmp_path, quick=True, only=["prop1_positive_definite"],
                          progress=False)
        code = cli.main(["reproduce", "--quick", "--out", str(tmp_path), "--only",
                         "prop1_positive_definite", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--wait" in err and str(tmp_path) in err
    assert not (tmp_path / "report.json").exists()  # the refused run wrote nothing


def test_lock_held_by_another_process_is_seen(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from bngeom._io import exclusive
        with exclusive({str(tmp_path)!r}, what="output directory"):
            print("locked", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], env=ENV, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {holder.pid} "):
            reproduce.run(tmp_path, quick=True, only=["prop1_positive_definite"],
                          progress=False)
    finally:
        holder.communicate("\n", timeout=60)
    report = reproduce.run(tmp_path, quick=True, only=["prop1_positive_definite"],
                           progress=False)  # released when the holder exits
    assert report["complete"]


def test_wait_runs_after_the_holder_finishes(tmp_path):
    release = threading.Event()

    def hold():
        with exclusive(tmp_path, what="output directory"):
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    report = reproduce.run(tmp_path, quick=True, only=["prop1_positive_definite"],
                           progress=False, wait=True)
    holder.join()
    assert release.is_set() and report["complete"]


def test_report_records_run_id_and_figure_hashes(tmp_path):
    report = reproduce.run(tmp_path, quick=True, seed=1, only=["sec4_2_speed_ratio"],
                           progress=False)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["run_id"] == report["run_id"] and len(report["run_id"]) == 32
    fig = tmp_path / "figure2_magnitude.png"
    assert on_disk["figure_sha256"] == {fig.name: hashlib.sha256(fig.read_bytes()).hexdigest()}
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    # a figure replaced by another run's is not reused by --resume: it is measured again
    fig.write_bytes(b"another run's figure")
    again = reproduce.run(tmp_path, quick=True, seed=1, only=["sec4_2_speed_ratio"],
                          progress=False, resume=True)
    assert not again["claims"][0].get("reused")
    assert again["figure_sha256"][fig.name] == hashlib.sha256(fig.read_bytes()).hexdigest()


def _tiny_run(checkpoint):
    ds = make_teacher_dataset(16, [2.0, 1.0], teacher_width=2, rng=0)
    rng = np.random.default_rng(0)
    return dynamics.simulate(ds, rng.standard_normal((3, 2)), rng.standard_normal(3),
                             t_end=0.2, step=0.1, method="gd", checkpoint=checkpoint,
                             resume=True)


def test_checkpoint_lock(tmp_path):
    ckpt = tmp_path / "run.npz"
    with checkpoint_lock(ckpt):
        with pytest.raises(LockedError, match=f"checkpoint {ckpt} is in use"):
            _tiny_run(ckpt)
    assert not ckpt.exists()
    assert _tiny_run(ckpt).n_records == 3


# --------------------------------------------------------------------------- 4. CLI


@pytest.mark.parametrize("argv", [
    ["check", "--seed", "-1"], ["check", "--seed", "1.5"], ["check", "--tolerance", "nan"],
    ["check", "--tolerance", "-1"], ["check", "--tolerance", "inf"], ["check", "--bogus"],
    ["reproduce", "--seed", "-1"], ["reproduce", "--out", ""], ["reproduce", "--n-jobs", "0"],
    ["reproduce", "--only", "nope"], ["reproduce", "--seed", "x"], ["nosuch"], [],
    ["bench", "--repeats", "-1"], ["bench", "--threads", "0"], ["bench", "--out", ""],
    ["bench", "--out", "/no/such/dir/bench.json"], ["bench", "--bogus"],
])
def test_bad_arguments_are_one_line_and_exit_2(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_out_below_a_file_and_read_only_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["reproduce", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{blocker} is a file" in err
    assert cli.main(["reproduce", "--out", "/proc/bngeom-out"]) == 2  # a read-only file system
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/proc/bngeom-out is not a writable directory" in err
    with pytest.raises(ValueError, match="out must name a directory, got an empty path"):
        reproduce.run("")


def test_sigint_exits_130_with_one_line_and_complete_files(tmp_path):
    cmd = [sys.executable, "-m", "bngeom.cli", "reproduce", "--quick", "--no-progress",
           "--out", str(tmp_path), "--only", "prop1_positive_definite", "sec4_2_speed_ratio"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # interrupt once the first claim is on disk
        try:
            if json.loads((tmp_path / "report.json").read_text())["claims"]:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.send_signal(2)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # finished before the signal: nothing to check
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err
    assert err.strip().count("\n") == 0 and "interrupted" in err and "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is False and report["claims"][0]["passed"]
    assert not list(tmp_path.glob(".*.tmp"))


# --------------------------------------------------------------------------- 3. files


def _saved(tmp_path):
    from bngeom.dynamics.trajectory import Trajectory
    T, m, d = 3, 2, 2
    W = np.ones((T, m, d))
    traj = Trajectory(times=np.arange(3.0), loss=np.array([1.0, 0.5, 0.25]), W=W,
                      U=W / 2, a=np.zeros((T, m)), radius=np.full((T, m), 2.0),
                      speed_u=np.zeros((T, m)), speed_a=np.zeros((T, m)),
                      dissipation=np.zeros(T), meta={"chart": "bn"})
    path = tmp_path / "run.npz"
    traj.save(path)
    return traj, path


def _rewrite(path, **changes):
    """Rewrite a trajectory file with some entries changed and a valid checksum."""
    from bngeom.dynamics.trajectory import _read_npz, _write_npz
    arrays = _read_npz(path)
    arrays.update(changes)
    out = path.with_name("edited.npz")
    _write_npz(out, arrays)
    return out


@pytest.mark.parametrize(("change", "message"), [
    ({"loss": np.array([1.0, np.nan, 0.25])}, "loss must be finite"),
    ({"times": np.array([0.0, 2.0, 1.0])}, r"times must be strictly increasing.*times\[2\]"),
    ({"times": np.array([0.0, 1.0, 1.0])}, "times must be strictly increasing"),
    ({"W": np.ones((3, 2, 2)) + 1j}, "W must have a real floating dtype"),
    ({"W": np.full((3, 2, 2), "1.0")}, "W must have a real floating dtype"),
    ({"a": np.full((3, 2), np.inf)}, "a must be finite"),
    ({"radius": np.zeros((3, 2))}, "radius must be > 0"),
    ({"dissipation": -np.ones(3)}, "dissipation must be >= 0"),
    ({"dloss_dt": np.array([np.inf, 0.0, 0.0])}, "dloss_dt must be finite or NaN"),
    ({"U": np.ones((3, 2, 3))}, "U must have shape"),
    ({"meta": np.array([1.0])}, "meta must be a JSON string"),
    ({"format": np.array(3.0)}, "unknown format"),
])
def test_load_checks_contents_behind_a_valid_checksum(tmp_path, change, message):
    from bngeom.dynamics.trajectory import Trajectory
    _, path = _saved(tmp_path)
    bad = _rewrite(path, **change)
    with pytest.raises(ValueError, match=message) as info:
        Trajectory.load(bad)
    assert str(info.value).startswith(f"{bad}: ")


@pytest.mark.parametrize(("change", "message"), [
    ({"checkpoint_W": np.ones((2, 2)) * 1j}, "checkpoint W must have a real floating dtype"),
    ({"checkpoint_W": np.full((2, 2), np.nan)}, "checkpoint W must be finite"),
    ({"checkpoint_a": np.ones(3)}, "inconsistent shapes"),
    ({"checkpoint_position": np.array(-1)}, "position must be an integer >= 0"),
    ({"checkpoint_position": np.array(1.5)}, "position must be an integer >= 0"),
    ({"checkpoint_fingerprint": np.array(7)}, "fingerprint must be a string"),
    ({"checkpoint_complete": np.array("yes")}, "complete flag must be a bool"),
])
def test_checkpoint_state_is_checked(tmp_path, change, message):
    from bngeom.dynamics.trajectory import Checkpoint, load_checkpoint, save_checkpoint
    traj, _ = _saved(tmp_path)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, Checkpoint(traj, np.ones((2, 2)), np.ones(2), 3, "abc"))
    assert load_checkpoint(path).position == 3
    bad = _rewrite(path, **change)
    with pytest.raises(ValueError, match=message) as info:
        load_checkpoint(bad)
    assert str(info.value).startswith(f"{bad}: ")


def test_file_errors_name_the_users_path(tmp_path):
    from bngeom.dynamics.trajectory import Trajectory
    traj, _ = _saved(tmp_path)
    missing = tmp_path / "no" / "such" / "run.npz"
    with pytest.raises(FileNotFoundError, match="its directory .* does not exist") as info:
        traj.save(missing)
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
    with pytest.raises(IsADirectoryError, match="existing directory") as info:
        traj.save(tmp_path)
    assert info.value.filename == str(tmp_path)
    with pytest.raises(IsADirectoryError, match=f"{tmp_path}: is a directory"):
        Trajectory.load(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


# --------------------------------------------------------------------------- 5. resources


@pytest.fixture
def one_gigabyte(monkeypatch):
    """Pretend 1 GB is available, so that the refusals do not depend on this machine."""
    import bngeom._validation as validation
    monkeypatch.setattr(validation, "available_memory", lambda: 10**9)


@pytest.mark.parametrize(("call", "name", "need"), [
    (lambda g: g.metric_matrix(np.zeros((200, 2000)), np.eye(2000)), "base_point", "51.2 GB"),
    (lambda g: g.cometric_matrix(np.zeros((200, 2000)), np.eye(2000)), "base_point", "25.6 GB"),
    (lambda g: g.random_point(np.eye(3), 10**9), "n_samples", "72 GB"),
    (lambda g: g.geodesic(np.array([1.0, 0.0, 0.0]), np.eye(3),
                          initial_tangent_vec=np.array([0.0, 1.0, 0.0]))(
        np.broadcast_to(0.5, (10**9,))), "t", "96 GB"),
])
def test_impossible_requests_are_refused_up_front(one_gigabyte, call, name, need):
    from bngeom import geometry
    t0 = time.process_time()
    with pytest.raises(ValueError, match=rf"^{name} is too large: .* would need about {need}, "
                                         r"more than the 1 GB of memory available"):
        call(geometry)
    assert time.process_time() - t0 < 5.0  # refused before the work, not after it


def test_simulate_refuses_records_that_cannot_fit(one_gigabyte):
    ds = make_teacher_dataset(16, [2.0, 1.0, 0.5], teacher_width=2, rng=0)
    W0 = np.ones((2_000_000, 3))
    with pytest.raises(ValueError, match=r"^W0 \(width 2000000\) with 101 records is too "
                                         r"large: .* about 50 GB"):
        dynamics.simulate(ds, W0, np.ones(2_000_000), t_end=1.0, n_records=101)


def test_requests_that_fit_still_run(one_gigabyte):
    from bngeom import geometry
    assert geometry.metric_matrix(geometry.random_point(np.eye(3), 10, rng=0),
                                  np.eye(3)).shape == (10, 3, 3)


def test_available_memory_is_positive():
    from bngeom._validation import available_memory
    avail = available_memory()
    assert avail is None or avail > 0
