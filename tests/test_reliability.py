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
    (lambda g: make_teacher_dataset(10**10, [1.0, 2.0]), "n_samples", "480 GB"),
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


# --------------------------------------------------------------------------- 2. scales

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bngeom import geometry  # noqa: E402
from bngeom.geometry import charts  # noqa: E402
from bngeom.nn import model  # noqa: E402
from bngeom.nn.data import Dataset  # noqa: E402

_DS = make_teacher_dataset(48, [3.0, 1.0, 0.3], teacher_width=2, rng=0)
_W = np.random.default_rng(1).standard_normal((4, 3))
_A = np.random.default_rng(2).standard_normal(4)
_REF = model.bn_loss_and_gradients(_DS.X, _DS.y, _W, _A, _DS.cov)
# scales 1e-300 .. 1e300, one per neuron: exponent and mantissa
_SCALES = st.lists(st.tuples(st.integers(-300, 300), st.floats(1.0, 9.99)), min_size=4,
                   max_size=4).map(lambda p: np.array([m * 10.0**e for e, m in p]))


@settings(max_examples=25, deadline=None)
@given(scales=_SCALES)
def test_fuzz_bn_loss_is_scale_invariant_from_1e_300_to_1e300(scales):
    res = model.bn_loss_and_gradients(_DS.X, _DS.y, _W * scales[:, None], _A, _DS.cov)
    assert res.loss == pytest.approx(_REF.loss, rel=1e-13)
    np.testing.assert_allclose(res.grad_a, _REF.grad_a, rtol=1e-12, atol=1e-15)
    # grad_w scales as 1/s (Theorem 2's 1/r): s * grad_w is the reference's
    np.testing.assert_allclose(res.grad_w * scales[:, None], _REF.grad_w, rtol=1e-12,
                               atol=1e-14 * np.abs(_REF.grad_w).max())


@settings(max_examples=25, deadline=None)
@given(scales=_SCALES)
def test_fuzz_charts_from_1e_300_to_1e300(scales):
    W = _W * scales[:, None]
    U = charts.normalize_to_manifold(W, _DS.cov)
    np.testing.assert_allclose(U, charts.normalize_to_manifold(_W, _DS.cov), rtol=1e-14,
                               atol=1e-15)
    assert geometry.belongs(U, _DS.cov).all()
    np.testing.assert_allclose(charts.covariance_norm(W, _DS.cov),
                               charts.covariance_norm(_W, _DS.cov) * scales, rtol=1e-14)
    np.testing.assert_allclose(charts.neuron_radii(W), np.linalg.norm(_W, axis=1) * scales,
                               rtol=1e-14)
    np.testing.assert_allclose(charts.normalize_to_sphere(W),
                               _W / np.linalg.norm(_W, axis=1, keepdims=True), rtol=1e-14)


@settings(max_examples=25, deadline=None)
# exponent <= 148: the entries of s * xi (|xi| up to a few units) stay below the core's
# 1e150 bound on tangent entries, which is refused (tests/bad_input_table.py).
@given(exponent=st.integers(-300, 148), mantissa=st.floats(1.0, 9.99))
def test_fuzz_geometry_norm_from_1e_300_to_1e150(exponent, mantissa):
    u = geometry.random_point(_DS.cov, 3, rng=0)
    xi = geometry.random_tangent_vector(u, _DS.cov, rng=1)
    s = mantissa * 10.0**exponent
    np.testing.assert_allclose(geometry.norm(u, s * xi, _DS.cov),
                               s * geometry.norm(u, xi, _DS.cov), rtol=1e-13)


def test_issue_scale_cases():
    cov = _DS.cov
    for w in ([1e200, 1e200, 0.0], [1e-200, 1e-200, 0.0], [1e-300, 0.0, 0.0]):
        u = charts.normalize_to_manifold(w, cov)
        assert float(u @ cov @ u) == pytest.approx(1.0, rel=1e-15)
        assert np.isfinite(charts.covariance_norm(w, cov)) and charts.covariance_norm(w, cov) > 0
        assert np.isfinite(charts.neuron_radii(w)) and charts.neuron_radii(w) > 0
    res = model.bn_loss_and_gradients(_DS.X, _DS.y, _W * 1e-300, _A, cov)
    assert res.loss == pytest.approx(_REF.loss, rel=1e-13)
    assert float(charts.neuron_radii([1e200, 1e200, 0.0])) == pytest.approx(np.sqrt(2) * 1e200)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: model.bn_loss_and_gradients(_DS.X, _DS.y, _W, _A * 1e300, _DS.cov),
     r"the loss overflows float64 .* output weights a"),
    (lambda: model.vanilla_loss_and_gradients(_DS.X, _DS.y, _W, _A * 1e300),
     r"the loss overflows float64 .* output weights a"),
    (lambda: model.bn_loss_and_gradients(_DS.X, _DS.y, _W * 1e-320, _A, _DS.cov),
     r"W has a row whose entries are all subnormal"),
    (lambda: charts.normalize_to_manifold(np.full(3, 1e-320), _DS.cov),
     r"w has a row whose entries are all subnormal"),
    (lambda: geometry.random_point(_DS.cov * 1e-310),
     r"cov is too small: its smallest eigenvalue .* is subnormal"),
    (lambda: geometry.dist(np.eye(3)[0], np.eye(3)[1], np.eye(3) * 1e-310),
     r"cov is too small"),
    (lambda: Dataset.from_arrays(_DS.X * 1e-160, _DS.y),
     r"covariance of X is too small|X's centred columns .* outside \[1e-150, 1e\+150\]"),
    (lambda: dynamics.simulate(_DS, _W, _A * 1e154, t_end=0.1, n_records=2),
     r"a0 must have entries of magnitude <= 1e\+75"),
    (lambda: dynamics.simulate(_DS, _W * 1e-300, _A, t_end=0.1, n_records=2),
     r"the velocity of W0 overflows float64"),
])
def test_unrepresentable_results_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_simulate_at_1e300_equals_the_unscaled_run():
    kw = dict(t_end=0.2, n_records=3, method="gd", step=0.05)
    ref = dynamics.simulate(_DS, _W, _A, **kw)
    big = dynamics.simulate(_DS, _W * 1e300, _A, **kw)
    # the velocity of w is 1/|w|^2 slower at radius 1e300: the neurons do not move, and the
    # loss is the initial one (only a moves, as in the unscaled run's a-part)
    assert big.loss[0] == pytest.approx(ref.loss[0], rel=1e-13)
    np.testing.assert_allclose(big.U[-1], big.U[0], rtol=1e-12)
    assert np.all(np.isfinite(big.dissipation)) and np.all(np.isfinite(big.radius))


def test_checkpoint_onto_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match=f"checkpoint {tmp_path} is a directory"):
        _tiny_run(tmp_path)


def test_tiny_non_tangent_vectors_are_refused():
    u = geometry.random_point(_DS.cov, 3, rng=0)
    xi = geometry.random_tangent_vector(u, _DS.cov, rng=1)
    assert np.all(geometry.norm(u, 1e-200 * xi, _DS.cov) > 0)
    with pytest.raises(ValueError, match="tangent_vec must be tangent"):
        geometry.norm(u, 1e-200 * (xi + u), _DS.cov)
