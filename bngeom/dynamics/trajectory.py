r"""Trajectories of the network dynamics, their files and checkpoints (MATH §6).

A :class:`Trajectory` holds, at chosen record times, the loss, every neuron's
parameters in the simulated chart and on :math:`N_\Sigma`, its radius and its
speeds, and the dissipation :math:`\int\|\tilde V\|_g^2\,d\tilde\rho`, so that the
energy identity :math:`\frac{d}{dt}L(\rho_t) = -\int\|\tilde V\|_g^2\,d\tilde\rho_t`
can be checked on every run (:meth:`Trajectory.energy_identity_error`).

Files are ``.npz`` archives read with ``allow_pickle=False``: every entry is a
plain numeric or string array, the metadata is a JSON string, and a SHA-256
checksum over all entries detects corruption. Writes are atomic (a temporary
file in the same directory, ``fsync``, then :func:`os.replace`), so a killed
process leaves either the previous file or the new one, never half of one.

A checkpoint is the same archive plus the state needed to resume the run
(:class:`Checkpoint`); :func:`bngeom.dynamics.simulate` writes and reads them.

Examples
--------
>>> import numpy as np, tempfile, os
>>> T, m, d = 3, 2, 2
>>> W = np.ones((T, m, d)); a = np.zeros((T, m))
>>> traj = Trajectory(times=np.arange(3.0), loss=np.array([1.0, 0.5, 0.25]), W=W,
...                   U=W / np.sqrt(2), a=a, radius=np.full((T, m), np.sqrt(2)),
...                   speed_u=np.zeros((T, m)), speed_a=np.zeros((T, m)),
...                   dissipation=np.zeros(T), meta={"chart": "bn"})
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> traj.save(path)
>>> back = Trajectory.load(path)
>>> bool(np.array_equal(back.loss, traj.loss)), back.meta["chart"]
(True, 'bn')
>>> back.particles(-1).shape
(2, 3)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._io import atomic_write, exclusive, jsonable
from bngeom._validation import as_float_array

__all__ = [
    "FORMAT",
    "Trajectory",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_lock",
    "finite_difference_derivative",
]

#: Format tag written into every file.
FORMAT = "bngeom.trajectory/1"

# Per-record arrays: name -> number of axes after the record axis.
_RECORD_FIELDS = {
    "times": 0,
    "loss": 0,
    "W": 2,
    "U": 2,
    "a": 1,
    "radius": 1,
    "speed_u": 1,
    "speed_a": 1,
    "dissipation": 0,
}
_OPTIONAL_FIELDS = {"dloss_dt": 0}
_CKPT_PREFIX = "checkpoint_"
_CKPT_EXTRA = "checkpoint_extra_"


# ---------------------------------------------------------------------------
# finite differences (the measured dL/dt of the energy identity)


def _fornberg_first_derivative(nodes: NDArray, x0: float) -> NDArray:
    """Weights of the first derivative at ``x0`` from values at ``nodes`` (Fornberg 1988)."""
    n = nodes.shape[0]
    c = np.zeros((n, 2))
    c1, c4 = 1.0, nodes[0] - x0
    c[0, 0] = 1.0
    for i in range(1, n):
        mn = min(i, 1)
        c2, c5 = 1.0, c4
        c4 = nodes[i] - x0
        for j in range(i):
            c3 = nodes[i] - nodes[j]
            c2 *= c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i, k] = c1 * (k * c[i - 1, k - 1] - c5 * c[i - 1, k]) / c2
                c[i, 0] = -c1 * c5 * c[i - 1, 0] / c2
            for k in range(mn, 0, -1):
                c[j, k] = (c4 * c[j, k] - k * c[j, k - 1]) / c3
            c[j, 0] = c4 * c[j, 0] / c3
        c1 = c2
    return c[:, 1]


def finite_difference_derivative(times: ArrayLike, values: ArrayLike, *,
                                 points: int = 7) -> NDArray:
    r"""Derivative of sampled values by high-order finite differences on any grid.

    At each time the derivative is taken from the ``points`` nearest samples
    (a centred stencil inside the grid, one-sided at its ends) with Fornberg's
    weights, exact for polynomials of degree ``points - 1``.

    Parameters
    ----------
    times : array_like, shape (T,)
        Strictly increasing sample times, ``T >= 2``.
    values : array_like, shape (T,)
    points : int
        Stencil size (clipped to ``T``).

    Returns
    -------
    ndarray, shape (T,)

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 1.0, 11)
    >>> bool(np.allclose(finite_difference_derivative(t, t**3), 3 * t**2))
    True
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.shape != t.shape:
        raise ValueError(f"times and values must be 1-D of the same length, got shapes "
                         f"{t.shape} and {v.shape}")
    if t.shape[0] < 2:
        raise ValueError(f"times must hold at least 2 samples, got {t.shape[0]}")
    if not np.all(np.diff(t) > 0):
        raise ValueError("times must be strictly increasing")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    n = t.shape[0]
    k = min(int(points), n)
    out = np.empty(n)
    for i in range(n):
        lo = min(max(i - k // 2, 0), n - k)
        idx = slice(lo, lo + k)
        out[i] = _fornberg_first_derivative(t[idx], t[i]) @ v[idx]
    return out


# ---------------------------------------------------------------------------
# the trajectory


@dataclass
class Trajectory:
    r"""A recorded trajectory of one width-m network (MATH §6).

    Attributes
    ----------
    times : ndarray, shape (T,)
        Record times, in mean-field time.
    loss : ndarray, shape (T,)
        The loss :math:`L` at each record.
    W : ndarray, shape (T, m, d)
        First-layer parameters in the chart that was simulated (BN weights for
        ``"bn"``, the vanilla weights for ``"vanilla"``, points of
        :math:`N_\Sigma` for ``"riemannian"``).
    U : ndarray, shape (T, m, d)
        The same mapped to :math:`N_\Sigma` by :math:`\varphi`.
    a : ndarray, shape (T, m)
        Output weights.
    radius : ndarray, shape (T, m)
        Euclidean norms of the rows of ``W`` (``"bn"``, ``"vanilla"``) or the fixed
        radii of the Riemannian flow.
    speed_u : ndarray, shape (T, m)
        :math:`r\sqrt{g(\dot u, \dot u)}` (``"bn"``, ``"riemannian"``; equal to
        :math:`\|\dot w\|` for BN), or the Euclidean :math:`\|\dot u\|` of the
        vanilla flow, which is a Euclidean flow in :math:`\mathbb R^d`.
    speed_a : ndarray, shape (T, m)
        :math:`|\dot a|`.
    dissipation : ndarray, shape (T,)
        :math:`\frac1m\sum_k(\text{speed\_u}_k^2 + \text{speed\_a}_k^2)`, the
        :math:`\int\|\tilde V\|_g^2\,d\tilde\rho` of the energy identity.
    meta : dict
        JSON-serializable description of the run (chart, method, activation,
        loss, m, d, step, rtol, atol, ... and ``energy_identity_error``).
    dloss_dt : ndarray, shape (T,), optional
        :math:`dL/dt` measured from loss values alone at each record (see
        :func:`bngeom.dynamics.simulate`); ``NaN`` where not measured yet.
    """

    times: NDArray
    loss: NDArray
    W: NDArray
    U: NDArray
    a: NDArray
    radius: NDArray
    speed_u: NDArray
    speed_a: NDArray
    dissipation: NDArray
    meta: dict = field(default_factory=dict)
    dloss_dt: NDArray | None = None

    def __post_init__(self) -> None:
        for name in _RECORD_FIELDS:
            arr = as_float_array(getattr(self, name), name, allow_empty=True)
            setattr(self, name, np.asarray(arr, dtype=np.float64))
        if self.dloss_dt is not None:
            self.dloss_dt = _rate_array(self.dloss_dt)
        if not isinstance(self.meta, dict):
            raise TypeError(f"meta must be a dict, got {type(self.meta).__name__}")
        if self.W.ndim != 3:
            raise ValueError(f"W must have shape (T, m, d), got {self.W.shape}")
        T, m, d = self.W.shape
        expected = {0: (T,), 1: (T, m), 2: (T, m, d)}
        fields = dict(_RECORD_FIELDS)
        if self.dloss_dt is not None:
            fields.update(_OPTIONAL_FIELDS)
        for name, extra in fields.items():
            shape = getattr(self, name).shape
            if shape != expected[extra]:
                raise ValueError(f"{name} must have shape {expected[extra]} to match W "
                                 f"{self.W.shape}, got {shape}")
        _check_record_values(self)

    # -- sizes ---------------------------------------------------------------

    @property
    def n_records(self) -> int:
        """Number of records ``T``."""
        return int(self.times.shape[0])

    @property
    def width(self) -> int:
        """Width ``m`` of the network."""
        return int(self.W.shape[1])

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.W.shape[2])

    def particles(self, index: int) -> NDArray:
        r"""The particles :math:`(u_k, a_k)` at record ``index``, shape ``(m, d+1)``.

        Rows are points of :math:`M = N_\Sigma\times\mathbb R`, the input of
        :func:`bngeom.wasserstein2` (eq. 16).
        """
        return np.column_stack((self.U[index], self.a[index]))

    # -- the energy identity ------------------------------------------------

    def energy_identity_error(self, *, from_records: bool = False) -> float:
        r"""Relative error of the energy identity :math:`dL/dt = -\int\|\tilde V\|_g^2d\tilde\rho`.

        Returns :math:`\max_i|\widehat{dL/dt}(t_i) + D(t_i)| / \max_i D(t_i)` with
        :math:`D` the recorded dissipation and :math:`\widehat{dL/dt}` measured
        from loss values only: the per-record measurement ``dloss_dt`` made
        during the run when present (and ``from_records`` is false), else
        a 7-point finite difference of the recorded ``loss`` curve, which is
        accurate only on a fine record grid. For gradient descent the measured
        rate is the per-step difference :math:`(L_{k+1} - L_k)/\text{step}`, so the
        error is :math:`O(\text{step})`: it tells how far the run is from the flow.

        Records where the measurement is missing (``NaN``) are skipped;
        ``nan`` is returned when nothing can be measured.
        """
        if not from_records and self.dloss_dt is not None:
            rate = self.dloss_dt
        elif self.n_records >= 2:
            rate = finite_difference_derivative(self.times, self.loss)
        else:
            return float("nan")
        ok = np.isfinite(rate)
        if not np.any(ok):
            return float("nan")
        scale = float(np.max(np.abs(self.dissipation[ok])))
        err = float(np.max(np.abs(rate[ok] + self.dissipation[ok])))
        if scale == 0.0:
            return 0.0 if err == 0.0 else float("inf")
        return err / scale

    # -- files ----------------------------------------------------------------

    def _arrays(self) -> dict[str, NDArray]:
        arrays = {name: getattr(self, name) for name in _RECORD_FIELDS}
        if self.dloss_dt is not None:
            arrays["dloss_dt"] = self.dloss_dt
        arrays["meta"] = np.array(json.dumps(jsonable(self.meta), sort_keys=True))
        arrays["format"] = np.array(FORMAT)
        return arrays

    def save(self, path: str | os.PathLike) -> None:
        """Write the trajectory to ``path`` (``.npz``, atomically, no pickle).

        Examples
        --------
        See the module docstring.
        """
        _write_npz(path, self._arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectory:
        """Read a trajectory (or the records of a checkpoint) written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            Naming the file, if it is truncated, corrupted (checksum mismatch),
            not a bngeom trajectory, or misses an entry.
        """
        return _trajectory_from(_read_npz(path), path)


def _rate_array(value: ArrayLike) -> NDArray:
    """``dloss_dt``: real floats, NaN where not measured, never infinite."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError("dloss_dt must be a plain array, got a masked array")
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"dloss_dt must have a real floating dtype, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.any(np.isinf(arr)):
        raise ValueError("dloss_dt must be finite or NaN (not measured), it contains inf")
    return arr


def _check_record_values(traj: Trajectory) -> None:
    """Increasing record times, positive radii and non-negative speeds and dissipation."""
    steps = np.diff(traj.times)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ValueError(f"times must be strictly increasing, but times[{i + 1}] = "
                         f"{traj.times[i + 1]!r} follows times[{i}] = {traj.times[i]!r}")
    if np.any(traj.radius <= 0):
        raise ValueError(f"radius must be > 0, its smallest entry is {traj.radius.min()!r}")
    for name in ("speed_u", "speed_a", "dissipation"):
        value = getattr(traj, name)
        if np.any(value < 0):
            raise ValueError(f"{name} must be >= 0, its smallest entry is {value.min()!r}")


def _trajectory_from(arrays: dict[str, NDArray], path: str | os.PathLike) -> Trajectory:
    missing = [k for k in (*_RECORD_FIELDS, "meta", "format") if k not in arrays]
    if missing:
        raise ValueError(f"{os.fspath(path)}: not a complete bngeom trajectory file, "
                         f"missing entries {missing}")
    if arrays["format"].dtype.kind != "U" or str(arrays["format"]) != FORMAT:
        raise ValueError(f"{os.fspath(path)}: unknown format {str(arrays['format'])!r}, "
                         f"expected {FORMAT!r}")
    if arrays["meta"].dtype.kind != "U" or arrays["meta"].shape != ():
        raise ValueError(f"{os.fspath(path)}: invalid trajectory arrays: meta must be a "
                         "JSON string")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)}: metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{os.fspath(path)}: metadata must be a JSON object")
    try:
        return Trajectory(**{k: arrays[k] for k in _RECORD_FIELDS}, meta=meta,
                          dloss_dt=arrays.get("dloss_dt"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)}: invalid or inconsistent trajectory arrays: "
                         f"{exc}") from None


# ---------------------------------------------------------------------------
# checkpoints


@dataclass
class Checkpoint:
    """The records of a run so far plus the state needed to resume it.

    Attributes
    ----------
    trajectory : Trajectory
        The records written so far (possibly none).
    W, a : ndarray
        The current state, in the simulated chart.
    position : int
        Completed steps (gradient descent) or completed segments (flow).
    fingerprint : str
        Hash of the run's inputs and settings; a run resumes only from a
        checkpoint with its own fingerprint.
    complete : bool
        Whether the run had finished.
    extra : dict of str to ndarray
        Further float64 state of the run (e.g. the momentum buffers of
        :func:`bngeom.dynamics.train`); empty for :func:`bngeom.dynamics.simulate`.
    """

    trajectory: Trajectory
    W: NDArray
    a: NDArray
    position: int
    fingerprint: str
    complete: bool = False
    extra: dict[str, NDArray] = field(default_factory=dict)


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically (the trajectory format plus the state).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> z = np.zeros((0, 1, 2))
    >>> traj = Trajectory(np.zeros(0), np.zeros(0), z, z, np.zeros((0, 1)), np.zeros((0, 1)),
    ...                   np.zeros((0, 1)), np.zeros((0, 1)), np.zeros(0))
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save_checkpoint(path, Checkpoint(traj, np.ones((1, 2)), np.ones(1), 7, "abc"))
    >>> load_checkpoint(path).position
    7
    """
    arrays = checkpoint.trajectory._arrays()
    arrays[_CKPT_PREFIX + "W"] = np.asarray(checkpoint.W, dtype=np.float64)
    arrays[_CKPT_PREFIX + "a"] = np.asarray(checkpoint.a, dtype=np.float64)
    arrays[_CKPT_PREFIX + "position"] = np.array(int(checkpoint.position), dtype=np.int64)
    arrays[_CKPT_PREFIX + "fingerprint"] = np.array(str(checkpoint.fingerprint))
    arrays[_CKPT_PREFIX + "complete"] = np.array(bool(checkpoint.complete))
    for name, value in checkpoint.extra.items():
        arrays[_CKPT_EXTRA + name] = np.asarray(value, dtype=np.float64)
    _write_npz(path, arrays)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file, if it is truncated, corrupted, or not a checkpoint.
    """
    arrays = _read_npz(path)
    keys = [_CKPT_PREFIX + k for k in ("W", "a", "position", "fingerprint", "complete")]
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"{os.fspath(path)}: not a bngeom checkpoint, missing entries {missing}")
    traj = _trajectory_from(arrays, path)
    try:
        W, a, position, fingerprint, complete = _checkpoint_state(
            *(arrays[k] for k in keys), traj)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)}: invalid checkpoint state: {exc}") from None
    extra = {}
    for key, value in arrays.items():  # e.g. momentum buffers of bngeom.dynamics.train
        if key.startswith(_CKPT_EXTRA):
            name = key[len(_CKPT_EXTRA):]
            try:
                extra[name] = np.asarray(as_float_array(value, f"checkpoint {name}",
                                                        allow_empty=True), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{os.fspath(path)}: invalid checkpoint state: {exc}") from None
    return Checkpoint(traj, W, a, position, fingerprint, complete, extra)


def _checkpoint_state(W: NDArray, a: NDArray, position: NDArray, fingerprint: NDArray,
                      complete: NDArray, traj: Trajectory) -> tuple:
    """The resume state of a checkpoint file, checked entry by entry."""
    W = np.asarray(as_float_array(W, "checkpoint W", min_ndim=2, max_ndim=2), dtype=np.float64)
    a = np.asarray(as_float_array(a, "checkpoint a", min_ndim=1, max_ndim=1), dtype=np.float64)
    if a.shape != (W.shape[0],) or (traj.n_records and W.shape != traj.W.shape[1:]):
        raise ValueError(f"checkpoint state has inconsistent shapes W {W.shape}, a {a.shape} "
                         f"(records of shape {traj.W.shape[1:]})")
    if position.shape != () or position.dtype.kind not in "iu" or int(position) < 0:
        raise ValueError(f"checkpoint position must be an integer >= 0, got {position!r}")
    if fingerprint.shape != () or fingerprint.dtype.kind != "U":
        raise ValueError(f"checkpoint fingerprint must be a string, got dtype "
                         f"{fingerprint.dtype}")
    if complete.shape != () or complete.dtype.kind != "b":
        raise ValueError(f"checkpoint complete flag must be a bool, got dtype {complete.dtype}")
    return W, a, int(position), str(fingerprint), bool(complete)


@contextlib.contextmanager
def checkpoint_lock(path: str | os.PathLike | None, *, wait: bool = False) -> Iterator[None]:
    """Hold the lock of checkpoint ``path`` (``<path>.lock``) for a whole run; None: no lock.

    Raises
    ------
    bngeom._io.LockedError
        If another run holds it and ``wait`` is false; the message names ``path``
        and the holder.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> with checkpoint_lock(path):
    ...     os.path.exists(path + ".lock")
    True
    """
    if path is None:
        yield
        return
    with exclusive(Path(path), what="checkpoint", wait=wait,
                   hint="one checkpoint belongs to one run: wait for that run to finish "
                        "or give this run another checkpoint path"):
        yield


# ---------------------------------------------------------------------------
# atomic, checksummed, pickle-free npz files

_CHECKSUM = "checksum"


def _checksum(arrays: dict[str, NDArray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(arr.dtype.str.encode())
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _write_npz(path: str | os.PathLike, arrays: dict[str, NDArray]) -> None:
    for key, arr in arrays.items():
        if np.asarray(arr).dtype.hasobject:
            raise TypeError(f"entry {key!r} is an object array, which would need pickle")
    payload = dict(arrays)
    payload[_CHECKSUM] = np.array(_checksum(arrays))
    atomic_write(path, lambda fh: np.savez(fh, **payload))


def _read_npz(path: str | os.PathLike) -> dict[str, NDArray]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such trajectory or checkpoint file")
    if os.path.isdir(name):
        raise IsADirectoryError(f"{name}: is a directory, not a trajectory or checkpoint file")
    try:
        data = np.load(name, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{name}: not a bngeom trajectory file (not an .npz archive)")
        with data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        if str(exc).startswith(f"{name}: "):
            raise
        raise ValueError(f"{name}: cannot read the file, it is truncated or corrupted "
                         f"({type(exc).__name__}: {exc})") from None
    if _CHECKSUM not in arrays:
        raise ValueError(f"{name}: not a bngeom trajectory file (no checksum entry)")
    stored = str(arrays.pop(_CHECKSUM))
    if _checksum(arrays) != stored:
        raise ValueError(f"{name}: checksum mismatch, the file is corrupted")
    return arrays
