"""Writing results safely: plain JSON values, atomic file replacement, exclusive locks.

Every file bngeom writes (trajectories and checkpoints, ``report.json`` and
``report.md``, the benchmark table) goes through :func:`atomic_write`: the
bytes go to a temporary file in the same directory, are ``fsync``-ed, and the
temporary file then replaces the target with :func:`os.replace`. A run killed
at any moment leaves either the old file or the new one, never half of one.

Two runs writing the same output directory or checkpoint would mix their files;
:func:`exclusive` holds an operating-system lock (:mod:`filelock`) for the whole
run, so a second writer waits for the first or is refused at once with
:class:`LockedError`, whose message names the path and the holder. The lock is
released when its holder exits, even if it is killed.
"""

from __future__ import annotations

import datetime as _dt
import errno
import math
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from filelock import FileLock, Timeout

#: Name of the lock file :func:`exclusive` creates inside a locked directory.
DIRECTORY_LOCK = ".bngeom.lock"


def jsonable(value: Any, *, strict: bool = True) -> Any:
    """``value`` as plain JSON data: dicts, lists, str, int, float, bool, None.

    Arrays become (nested) lists and numpy scalars Python scalars; tuples
    become lists and keys strings. JSON has no NaN or infinity, so non-finite
    floats become the strings ``'nan'``, ``'inf'``, ``'-inf'``.

    Parameters
    ----------
    value : object
        What to convert.
    strict : bool
        What to do with anything else: raise ``TypeError`` (True) or store its
        ``str`` (False, for human-facing reports).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"x": np.arange(2), 1: (np.float64("inf"), np.bool_(True))})
    {'x': [0, 1], '1': ['inf', True]}
    >>> jsonable(object())
    Traceback (most recent call last):
    ...
    TypeError: object of type object is not JSON-serializable
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v, strict=strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, strict=strict) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), strict=strict)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, str):
        return value
    if strict:
        raise TypeError(f"object of type {type(value).__name__} is not JSON-serializable")
    return str(value)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any] | str | bytes) -> None:
    """Replace ``path`` atomically by what ``write`` writes (or by the text/bytes given).

    Parameters
    ----------
    path : str or path-like
        The target file; its directory must exist.
    write : callable, str or bytes
        A function writing to a binary file object, or the content itself
        (``str`` is encoded as UTF-8).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError, OSError
        Naming ``path`` (never the temporary file), if its directory does not
        exist, ``path`` is a directory, or the file system refuses the write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write(target, "done\\n")
    >>> target.read_text()
    'done\\n'
    """
    path = Path(path)
    if isinstance(write, str):
        write = _writer(write.encode("utf-8"))
    elif isinstance(write, bytes):
        write = _writer(write)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "cannot write the file, it is an existing "
                                "directory", os.fspath(path))
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write the file, its directory "
                                f"{os.fspath(directory)} does not exist (or is not a "
                                "directory)", os.fspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename == tmp:
            raise _naming(exc, path) from None
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error, naming the user's ``path`` instead of the temporary file."""
    return type(exc)(exc.errno, f"cannot write the file ({exc.strerror})", os.fspath(path))


def _writer(data: bytes) -> Callable[[IO[bytes]], Any]:
    return lambda fh: fh.write(data)


class LockedError(RuntimeError):
    """Another run holds the lock on an output directory or checkpoint (see :func:`exclusive`)."""


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of ``target``: ``target/.bngeom.lock`` for a directory, else ``target.lock``.

    Examples
    --------
    >>> lock_path("runs/ckpt.npz").name
    'ckpt.npz.lock'
    """
    target = Path(target)
    if target.is_dir():
        return target / DIRECTORY_LOCK
    return target.with_name(target.name + ".lock")


@contextmanager
def exclusive(target: str | os.PathLike, *, what: str, wait: bool = False,
              hint: str = "") -> Iterator[Path]:
    """Hold the lock of ``target`` (a directory or a file) while the block runs.

    Parameters
    ----------
    target : str or path-like
        The output directory or file to protect; a directory must exist.
    what : str
        What ``target`` is, for the message (``"output directory"``, ``"checkpoint"``).
    wait : bool
        Wait for the holder to finish (True) or refuse at once (False).
    hint : str
        Appended to the refusal (how to wait or where else to write).

    Raises
    ------
    LockedError
        With ``wait=False``, if another run holds the lock; the message names
        ``target`` and the holder (process id, host, start time, command).

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with exclusive(out, what="output directory"):
    ...     try:
    ...         with exclusive(out, what="output directory"):
    ...             pass
    ...     except LockedError as exc:
    ...         print(str(exc).startswith(f"output directory {out} is in use"))
    True
    """
    lock_file = lock_path(target)
    holder = lock_file.with_name(lock_file.name + ".holder")
    lock = FileLock(lock_file, is_singleton=False)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        try:
            who = holder.read_text(encoding="utf-8").strip() or "holder unknown"
        except OSError:
            who = "holder unknown"
        raise LockedError(f"{what} {os.fspath(target)} is in use by another bngeom run "
                          f"({who}){'; ' + hint if hint else ''}") from None
    try:
        started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        command = " ".join(sys.argv) if sys.argv and sys.argv[0] else "python"
        atomic_write(holder, f"pid {os.getpid()} on {socket.gethostname()}, "
                             f"since {started}, command: {command}\n")
        yield lock_file
    finally:
        lock.release()
