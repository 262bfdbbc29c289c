"""Trajectories, their files and checkpoints (issue 4 item 2, issue 7 item 3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import bngeom.dynamics.flows as dynamics
import bngeom.trajectory as trajectory_module
from bngeom.dynamics.flows import simulate
from bngeom.dynamics.trajectory import (
    Checkpoint,
    Trajectory,
    finite_difference_derivative,
    load_checkpoint,
    save_checkpoint,
)
from bngeom.geometry.charts import normalize_to_manifold
from bngeom.nn.data import make_teacher_dataset

FIELDS = ("times", "loss", "W", "U", "a", "radius", "speed_u", "speed_a", "dissipation",
          "dloss_dt")


def _problem(seed: int = 0, n: int = 48, d: int = 3, m: int = 5):
    rng = np.random.default_rng(seed)
    ds = make_teacher_dataset(n, [2.0, 1.0, 0.4][:d], teacher_width=2, rng=rng)
    W0 = rng.standard_normal((m, d)) * np.exp(rng.uniform(-0.5, 0.5, (m, 1)))
    return ds, W0, rng.standard_normal(m)


@pytest.fixture(scope="module")
def problem():
    return _problem()


@pytest.fixture(scope="module")
def traj(problem):
    ds, W0, a0 = problem
    return simulate(ds, W0, a0, t_end=0.5, n_records=4, meta={"seed": 0})


def assert_identical(a: Trajectory, b: Trajectory) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), f"{name} differs"


# ---------------------------------------------------------------------------
# the Trajectory object


def test_trajectory_fields(traj, problem):
    ds, W0, a0 = problem
    T, (m, d) = 4, W0.shape
    assert traj.W.shape == traj.U.shape == (T, m, d)
    assert traj.a.shape == traj.radius.shape == traj.speed_u.shape == (T, m)
    assert traj.times.shape == traj.loss.shape == traj.dissipation.shape == (T,)
    assert (traj.n_records, traj.width, traj.dim) == (T, m, d)
    np.testing.assert_allclose(traj.U, normalize_to_manifold(traj.W, ds.cov), rtol=1e-15)
    np.testing.assert_allclose(traj.dissipation,
                               np.mean(traj.speed_u**2 + traj.speed_a**2, axis=1), rtol=1e-14)
    p = traj.particles(2)
    assert p.shape == (m, d + 1)
    np.testing.assert_array_equal(p[:, :d], traj.U[2])
    np.testing.assert_array_equal(p[:, d], traj.a[2])
    for key in ("chart", "method", "activation", "loss", "m", "d", "step", "rtol", "atol",
                "energy_identity_error", "seed"):
        assert key in traj.meta
    assert traj.meta["m"] == m and traj.meta["seed"] == 0


def test_trajectory_rejects_inconsistent_shapes(traj):
    with pytest.raises(ValueError, match="loss"):
        Trajectory(**{**traj.__dict__, "loss": traj.loss[:-1]})
    with pytest.raises(ValueError, match="W"):
        Trajectory(**{**traj.__dict__, "W": traj.W[0]})
    with pytest.raises(TypeError, match="meta"):
        Trajectory(**{**traj.__dict__, "meta": "chart=bn"})


def test_finite_difference_derivative():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 2.0, 15))
    t[0], t[-1] = 0.0, 2.0
    coeffs = rng.standard_normal(7)
    vals = np.polyval(coeffs, t)
    np.testing.assert_allclose(finite_difference_derivative(t, vals),
                               np.polyval(np.polyder(coeffs), t), rtol=1e-7, atol=1e-7)
    tt = np.linspace(0.0, 1.0, 41)
    np.testing.assert_allclose(finite_difference_derivative(tt, np.exp(-tt)), -np.exp(-tt),
                               rtol=1e-8)
    with pytest.raises(ValueError, match="increasing"):
        finite_difference_derivative([0.0, 0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="same length"):
        finite_difference_derivative([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="points"):
        finite_difference_derivative([0.0, 1.0], [1.0, 2.0], points=1)


def test_energy_identity_error_on_known_curves(traj):
    t = np.linspace(0.0, 1.0, 51)
    base = {**traj.__dict__}
    T, m, d = 51, 1, 2
    base.update(times=t, loss=np.exp(-t), dissipation=np.exp(-t), W=np.ones((T, m, d)),
                U=np.ones((T, m, d)), a=np.ones((T, m)), radius=np.ones((T, m)),
                speed_u=np.ones((T, m)), speed_a=np.ones((T, m)), dloss_dt=None)
    good = Trajectory(**base)
    assert good.energy_identity_error() < 1e-8
    bad = Trajectory(**{**base, "dissipation": 1.1 * np.exp(-t)})
    assert bad.energy_identity_error() == pytest.approx(0.1 / 1.1, rel=1e-6)
    probed = Trajectory(**{**base, "dloss_dt": np.full(T, np.nan)})
    assert np.isnan(probed.energy_identity_error())
    assert probed.energy_identity_error(from_records=True) < 1e-8


# ---------------------------------------------------------------------------
# files


def test_save_load_round_trip(traj, tmp_path):
    path = tmp_path / "traj.npz"
    traj.save(path)
    back = Trajectory.load(path)
    assert_identical(back, traj)
    assert back.meta == json.loads(json.dumps(traj.meta))
    assert back.energy_identity_error() == traj.energy_identity_error()
    assert [p.name for p in tmp_path.iterdir()] == ["traj.npz"]     # no temp files left
    with np.load(path, allow_pickle=False) as data:                   # an open format
        assert set(FIELDS) <= set(data.files)
        assert json.loads(str(data["meta"]))["chart"] == "bn"
        assert all(data[k].dtype != object for k in data.files)


def test_save_is_atomic(traj, tmp_path, monkeypatch):
    """A write that fails half-way leaves the previous file intact and no temp file."""
    path = tmp_path / "traj.npz"
    traj.save(path)
    before = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(trajectory_module.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        traj.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["traj.npz"]
    assert_identical(Trajectory.load(path), traj)


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        Trajectory.load(path)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_load_truncated_file(traj, tmp_path, cut):
    path = tmp_path / "traj.npz"
    traj.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data))])
    with pytest.raises(ValueError, match=str(path)):
        Trajectory.load(path)


@pytest.mark.parametrize("where", [0.05, 0.3, 0.6, 0.95])
def test_load_corrupted_file(traj, tmp_path, where):
    path = tmp_path / "traj.npz"
    traj.save(path)
    data = bytearray(path.read_bytes())
    i = int(where * len(data))
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=str(path)):
        Trajectory.load(path)


def _rewrite(path, drop=(), **replace):
    """Rewrite an npz without its checksum bookkeeping (a file from another tool)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k not in drop}
    arrays.update(replace)
    arrays.pop("checksum", None)
    arrays["checksum"] = np.array(trajectory_module._checksum(arrays))
    np.savez(path, **arrays)


def test_load_rejects_missing_entries_and_bad_meta(traj, tmp_path):
    path = tmp_path / "traj.npz"
    traj.save(path)
    _rewrite(path, drop=("speed_u",))
    with pytest.raises(ValueError, match=r"traj\.npz.*speed_u"):
        Trajectory.load(path)
    traj.save(path)
    _rewrite(path, meta=np.array("{not json"))
    with pytest.raises(ValueError, match=r"traj\.npz.*JSON"):
        Trajectory.load(path)
    traj.save(path)
    _rewrite(path, W=traj.W[:, :2])
    with pytest.raises(ValueError, match=r"traj\.npz.*inconsistent"):
        Trajectory.load(path)
    traj.save(path)
    _rewrite(path, drop=("checksum",))
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "checksum"}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"traj\.npz.*checksum"):
        Trajectory.load(path)


def test_load_rejects_pickles_and_foreign_files(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, times=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="evil.npz"):
        Trajectory.load(path)
    npy = tmp_path / "plain.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="plain.npy"):
        Trajectory.load(npy)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="junk.npz"):
        Trajectory.load(junk)
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(ValueError, match="empty.npz"):
        Trajectory.load(tmp_path / "empty.npz")


def test_checkpoint_round_trip(traj, tmp_path):
    path = tmp_path / "ckpt.npz"
    ckpt = Checkpoint(traj, traj.W[-1] + 1.0, traj.a[-1], 12, "f" * 64, False)
    save_checkpoint(path, ckpt)
    back = load_checkpoint(path)
    assert_identical(back.trajectory, traj)
    np.testing.assert_array_equal(back.W, ckpt.W)
    np.testing.assert_array_equal(back.a, ckpt.a)
    assert (back.position, back.fingerprint, back.complete) == (12, "f" * 64, False)
    assert_identical(Trajectory.load(path), traj)          # a checkpoint is a trajectory file
    traj.save(path)
    with pytest.raises(ValueError, match=r"ckpt\.npz.*not a bngeom checkpoint"):
        load_checkpoint(path)


# ---------------------------------------------------------------------------
# checkpoint and resume, in process


class _Interrupt(Exception):
    pass


def _count_rates(monkeypatch, limit: float = np.inf) -> dict:
    """Count evaluations of the vector field; the one after ``limit`` raises, like a crash."""
    original = dynamics._System.rates
    count = {"n": 0}

    def rates(self, W, a):
        count["n"] += 1
        if count["n"] > limit:
            raise _Interrupt
        return original(self, W, a)

    monkeypatch.setattr(dynamics._System, "rates", rates)
    return count


RESUME_CASES = [
    # (chart, method, keywords, fraction of the run done before the crash)
    ("bn", "gd", {"step": 0.02, "n_records": 6, "checkpoint_every": 7}, 0.45),
    ("bn", "gd", {"step": 0.02, "n_records": 6, "checkpoint_every": 10}, 0.8),
    ("bn", "gd", {"step": 0.02, "n_records": 6}, 0.6),
    ("riemannian", "gd", {"step": 0.02, "n_records": 6, "checkpoint_every": 3}, 0.33),
    ("vanilla", "gd", {"step": 0.02, "record_times": [0.0, 0.3, 0.32, 0.8]}, 0.4),
    ("bn", "flow", {"n_records": 6}, 0.5),
    ("riemannian", "flow", {"n_records": 6, "checkpoint_every": 2}, 0.7),
    ("vanilla", "flow", {"record_times": [0.1, 0.5]}, 0.5),
]


@pytest.mark.parametrize("chart, method, kwargs, fraction", RESUME_CASES)
def test_resume_is_bit_identical(problem, tmp_path, monkeypatch, chart, method, kwargs,
                                 fraction):
    ds, W0, a0 = problem
    if chart == "riemannian":
        W0 = normalize_to_manifold(W0, ds.cov)
        kwargs = {**kwargs, "radius": np.linspace(0.5, 2.0, W0.shape[0])}
    run = dict(t_end=1.0, chart=chart, method=method, **kwargs)
    count = _count_rates(monkeypatch)
    reference = simulate(ds, W0, a0, **run)
    monkeypatch.undo()
    path = tmp_path / "ckpt.npz"
    _count_rates(monkeypatch, int(fraction * count["n"]))
    with pytest.raises(_Interrupt):
        simulate(ds, W0, a0, checkpoint=path, **run)
    monkeypatch.undo()
    partial = load_checkpoint(path)
    assert not partial.complete and partial.position > 0
    resumed = simulate(ds, W0, a0, checkpoint=path, **run)
    assert_identical(resumed, reference)
    assert resumed.meta["energy_identity_error"] == reference.meta["energy_identity_error"]
    final = load_checkpoint(path)
    assert final.complete
    assert_identical(final.trajectory, reference)
    # a finished run is returned from its checkpoint without any computation
    _count_rates(monkeypatch, 0)
    assert_identical(simulate(ds, W0, a0, checkpoint=path, **run), reference)


def test_resume_refuses_another_runs_checkpoint(problem, tmp_path):
    ds, W0, a0 = problem
    path = tmp_path / "ckpt.npz"
    simulate(ds, W0, a0, t_end=0.2, n_records=2, checkpoint=path)
    with pytest.raises(ValueError, match=r"ckpt\.npz.*different run"):
        simulate(ds, W0, a0, t_end=0.3, n_records=2, checkpoint=path)
    with pytest.raises(ValueError, match=r"ckpt\.npz.*different run"):
        simulate(ds, 2 * W0, a0, t_end=0.2, n_records=2, checkpoint=path)
    fresh = simulate(ds, W0, a0, t_end=0.3, n_records=2, checkpoint=path, resume=False)
    assert load_checkpoint(path).complete
    assert fresh.times[-1] == 0.3


def test_simulate_with_a_corrupted_checkpoint_names_the_file(problem, tmp_path):
    ds, W0, a0 = problem
    path = tmp_path / "ckpt.npz"
    simulate(ds, W0, a0, t_end=0.2, n_records=3, checkpoint=path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=str(path)):
        simulate(ds, W0, a0, t_end=0.2, n_records=3, checkpoint=path)


# ---------------------------------------------------------------------------
# a real process killed with SIGKILL and resumed in another process

_WORKER = """
import sys
import numpy as np
from bngeom.nn.data import make_teacher_dataset
from bngeom.dynamics.flows import simulate

rng = np.random.default_rng(7)
ds = make_teacher_dataset(64, [2.0, 1.0, 0.5], teacher_width=2, rng=rng)
W0 = rng.standard_normal((6, 3)); a0 = rng.standard_normal(6)
traj = simulate(ds, W0, a0, t_end=4.0, n_records=241, checkpoint=sys.argv[1],
                checkpoint_every=1)
traj.save(sys.argv[2])
"""


def _worker_inputs():
    rng = np.random.default_rng(7)
    ds = make_teacher_dataset(64, [2.0, 1.0, 0.5], teacher_width=2, rng=rng)
    return ds, rng.standard_normal((6, 3)), rng.standard_normal(6)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_and_resume_in_a_new_process(tmp_path):
    ckpt, out = tmp_path / "run.ckpt.npz", tmp_path / "run.npz"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-c", _WORKER, str(ckpt), str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    position, deadline = 0, time.monotonic() + 120
    try:
        while position < 3:                  # wait until a few records are checkpointed
            if proc.poll() is not None:
                pytest.fail(f"worker exited early: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint within 120 s")
            if ckpt.exists():
                position = load_checkpoint(ckpt).position
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed = load_checkpoint(ckpt)
    assert not killed.complete, "the worker finished before it was killed"
    assert not out.exists()
    assert 3 <= killed.position < 240

    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    resumed = Trajectory.load(out)

    ds, W0, a0 = _worker_inputs()
    reference = simulate(ds, W0, a0, t_end=4.0, n_records=241)
    assert_identical(resumed, reference)
    assert load_checkpoint(ckpt).complete
