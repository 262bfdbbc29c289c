"""Writing results safely: plain JSON values and atomic file replacement.

Every file bngeom writes (trajectories and checkpoints, ``report.json`` and
``report.md``, the benchmark table) goes through :func:`atomic_write`: the
bytes go to a temporary file in the same directory, are ``fsync``-ed, and the
temporary file then replaces the target with :func:`os.replace`. A run killed
at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
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


def _writer(data: bytes) -> Callable[[IO[bytes]], Any]:
    return lambda fh: fh.write(data)
