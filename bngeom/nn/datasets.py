r"""Your own data from files: ``.npz``, ``.npy`` pairs and ``.csv`` into a :class:`Dataset`.

:func:`load_dataset` reads the features ``X`` and targets ``y`` and returns
:meth:`bngeom.Dataset.from_arrays(X, y) <bngeom.nn.data.Dataset.from_arrays>`: centred (the
mean is kept in ``Dataset.mean``), with its covariance :math:`\Sigma` and, for CSV files with
a header, the feature names (MATH §9). Accepted sources:

``data.npz``
    Arrays ``X`` (n, d) and ``y`` (n,) (``target=`` names another array for ``y``).
``X.npy`` and ``y.npy``
    Two paths, ``load_dataset(["X.npy", "y.npy"])``, or a directory holding files
    named ``X.npy`` and ``y.npy``.
``data.csv`` (``.tsv``: tab-separated)
    One sample per row, numbers only; an optional header row (detected: a first row with
    a field that is not a number). The target is the column ``target`` (a header name or
    a 0-based index, negative from the end) or, by default, the last column.

Every problem names the file and what is wrong: a missing file, an unknown extension,
ragged rows, a field that is not a number (row and column), NaN or inf entries, an empty
file, arrays of the wrong shapes, or a singular covariance (naming the constant and
collinear features; ``singular="project"`` restricts the geometry to the range of
:math:`\Sigma`, exactly).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
>>> _ = path.write_text("size,weight,label\n1,2,0\n2,1,1\n3,5,1\n4,2,0\n")
>>> ds = load_dataset(path, target="label")
>>> ds.X.shape, ds.feature_names, ds.y.tolist()
((4, 2), ('size', 'weight'), [0.0, 1.0, 1.0, 0.0])
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bngeom.nn.data import SINGULAR_MODES, Dataset

__all__ = ["DATA_SUFFIXES", "load_dataset", "read_arrays"]

#: File types :func:`load_dataset` reads.
DATA_SUFFIXES = (".npz", ".npy", ".csv", ".tsv")

PathArg = str | os.PathLike


def load_dataset(path: PathArg | Sequence[PathArg], *, target: str | int | None = None,
                 singular: str = "raise") -> Dataset:
    """Load features and targets from ``path`` into a centred :class:`~bngeom.nn.data.Dataset`.

    Parameters
    ----------
    path : path or pair of paths
        A ``.npz`` file (arrays ``X`` and ``y``), a ``.csv`` / ``.tsv`` file, a pair
        ``(X.npy, y.npy)``, or a directory with ``X.npy`` and ``y.npy`` (module docstring).
    target : str or int, optional
        CSV: the target column, by header name or 0-based index (default: the last
        column). NPZ: the name of the target array (default ``"y"``). Not used for ``.npy``.
    singular : {"raise", "project"}
        What to do with a singular covariance (:meth:`Dataset.from_arrays`, MATH §9).

    Returns
    -------
    Dataset
        Centred ``X``, ``y``, ``cov``; ``feature_names`` from a CSV header; ``mean``.

    Raises
    ------
    ValueError
        Naming the file: missing, unreadable, ragged, non-numeric, NaN/inf, empty, shapes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.savez(folder / "d.npz", X=[[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], y=[1.0, 2.0, 3.0])
    >>> load_dataset(folder / "d.npz").dim
    2
    """
    if singular not in SINGULAR_MODES:
        raise ValueError(f"singular must be one of {SINGULAR_MODES}, got {singular!r}")
    X, y, names, where = read_arrays(path, target=target)
    try:
        return Dataset.from_arrays(X, y, singular=singular, feature_names=names)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def read_arrays(path: PathArg | Sequence[PathArg], *, target: str | int | None = None
                ) -> tuple[NDArray, NDArray, tuple[str, ...] | None, str]:
    """The raw ``(X, y, feature_names, description)`` of a data file, checked but not centred.

    See :func:`load_dataset` for the sources; ``description`` names the file(s) for messages.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("1,2,0\\n2,1,1\\n")
    >>> X, y, names, where = read_arrays(path)
    >>> X.tolist(), y.tolist(), names
    ([[1.0, 2.0], [2.0, 1.0]], [0.0, 1.0], None)
    """
    paths = _resolve(path)
    if len(paths) == 2:
        where = f"{paths[0]} and {paths[1]}"
        X, y, names = _load_array(paths[0], "X"), _load_array(paths[1], "y"), None
    else:
        where = str(paths[0])
        if paths[0].suffix.lower() == ".npz":
            X, y = _read_npz(paths[0], "y" if target is None else target)
            names = None
        else:
            X, y, names = _read_text(paths[0], target)
    return X, _check_arrays(X, y, where), names, where


def _resolve(path: PathArg | Sequence[PathArg]) -> list[Path]:
    """One data file, or the (X.npy, y.npy) pair; every path must exist."""
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if p.is_dir():
            paths = [p / "X.npy", p / "y.npy"]
        else:
            paths = [p]
    elif isinstance(path, Sequence) and len(path) == 2:
        paths = [Path(p) for p in path]
    else:
        raise TypeError(f"path must be a file, a directory or a pair (X.npy, y.npy), got "
                        f"{path!r}")
    for p in paths:
        if not p.is_file():
            raise ValueError(f"{p}: no such file" + (
                " (a directory must hold X.npy and y.npy)" if p.name in ("X.npy", "y.npy")
                and p.parent.is_dir() else ""))
        if p.suffix.lower() not in DATA_SUFFIXES:
            raise ValueError(f"{p}: unknown data file type {p.suffix!r}; bngeom reads "
                             f"{', '.join(DATA_SUFFIXES)} (docs/tutorial_real_data.md)")
    if len(paths) == 2 and any(p.suffix.lower() != ".npy" for p in paths):
        raise ValueError(f"a pair of paths must be two .npy files (X, y), got {paths}")
    if len(paths) == 1 and paths[0].suffix.lower() == ".npy":
        raise ValueError(f"{paths[0]}: a single .npy file holds one array; give the pair "
                         f"load_dataset([X.npy, y.npy]) or a directory with X.npy and y.npy")
    return paths


def _load_array(path: Path, name: str) -> NDArray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read {name} as a numpy array: {exc}") from None
    return _numeric(arr, f"{path}: {name}")


def _read_npz(path: Path, target: str | int) -> tuple[NDArray, NDArray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: cannot read as .npz: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an .npz archive of X and y")
    with archive:
        keys = list(archive.keys())
        if "X" not in keys or str(target) not in keys:
            raise ValueError(f"{path}: an .npz data file needs arrays 'X' and "
                             f"{str(target)!r}, it has {keys}")
        return (_numeric(archive["X"], f"{path}: X"),
                _numeric(archive[str(target)], f"{path}: {target}"))


def _numeric(arr: NDArray, what: str) -> NDArray:
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr


def _read_text(path: Path, target: str | int | None
               ) -> tuple[NDArray, NDArray, tuple[str, ...] | None]:
    """A CSV/TSV table -> (X, y, names): header detection, ragged and non-numeric rows."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            numbered = [(reader.line_num, r) for r in reader if any(f.strip() for f in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: cannot read as {path.suffix} text: {exc}") from None
    if not numbered:
        raise ValueError(f"{path}: the file is empty")
    lines, rows = [n for n, _ in numbered], [r for _, r in numbered]
    header = None if all(_is_number(f) for f in rows[0]) else [f.strip() for f in rows[0]]
    skip = int(header is not None)
    body, lines = rows[skip:], lines[skip:]
    width = len(rows[0])
    for line, row in zip(lines, body, strict=True):
        if len(row) != width:
            raise ValueError(f"{path}: ragged rows: line {line} has {len(row)} fields, the "
                             f"first line has {width}")
    if not body:
        raise ValueError(f"{path}: the file has a header but no data rows")
    if width < 2:
        raise ValueError(f"{path}: needs at least two columns (features and a target), got "
                         f"{width}")
    table = _to_float(body, lines, path, header)
    col = _target_column(target, header, width, path)
    keep = [j for j in range(width) if j != col]
    names = None if header is None else tuple(header[j] for j in keep)
    return table[:, keep], table[:, col], names


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _to_float(body: list[list[str]], lines: list[int], path: Path,
              header: list[str] | None) -> NDArray:
    try:
        return np.array([[float(f) for f in row] for row in body], dtype=np.float64)
    except ValueError:
        pass
    for line, row in zip(lines, body, strict=True):  # find the first bad field for the message
        for j, field in enumerate(row):
            if not _is_number(field):
                col = f"column {j}" + (f" ({header[j]!r})" if header else "")
                raise ValueError(f"{path}: line {line}, {col}: {field!r} is not a number "
                                 f"(bngeom needs numeric features; encode categories first)")
    raise AssertionError("unreachable")  # pragma: no cover


def _target_column(target: str | int | None, header: list[str] | None, width: int,
                   path: Path) -> int:
    if target is None:
        return width - 1
    if header is not None and isinstance(target, str) and target in header:
        return header.index(target)
    try:
        col = int(target)
    except (TypeError, ValueError):
        known = f"the header has {header}" if header else "the file has no header"
        raise ValueError(f"{path}: no target column {target!r}: {known}; give a column name "
                         f"or a 0-based index") from None
    if not -width <= col < width:
        raise ValueError(f"{path}: target column index {col} is out of range for {width} "
                         f"columns")
    return col % width


def _check_arrays(X: NDArray, y: NDArray, where: str) -> NDArray:
    """Shapes and values of the loaded arrays, every message naming the file; ``y`` flat."""
    if X.ndim != 2:
        raise ValueError(f"{where}: X must be a 2-d array (n samples, d features), got shape "
                         f"{X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be a 1-d array of n targets, got shape {y.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{where}: X is empty (shape {X.shape})")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: X has {X.shape[0]} samples but y has {y.shape[0]}")
    for name, arr in (("X", X), ("y", y)):
        bad = ~np.isfinite(arr)
        if np.any(bad):
            first = np.argwhere(bad)[0].tolist()
            raise ValueError(f"{where}: {name} has {int(bad.sum())} NaN or inf entries (first "
                             f"at index {first}); drop or impute them before loading")
    return y
