"""Parameter sweeps (width x seed grids) in parallel: joblib locally, Dask on a cluster.

A sweep calls one picklable function on every point of a grid, the Cartesian
product of named value lists, and returns the results in grid order (the last
name varies fastest, like :func:`itertools.product`). ``backend="joblib"`` runs
the points in local processes (``n_jobs``); ``backend="dask"`` submits them to a
Dask distributed cluster -- an existing ``client``, a scheduler ``address``, or a
temporary local cluster -- so a sweep that outgrows one machine needs no new
code. Dask is the optional extra ``bngeom[dask]``.

If a point fails, :class:`SweepError` names the point and chains the original
exception.

Examples
--------
>>> grid = make_grid(width=[10, 20], seed=[0, 1])
>>> [tuple(p.values()) for p in grid]
[(10, 0), (10, 1), (20, 0), (20, 1)]
>>> run_sweep(_example_area, grid, n_jobs=1)
[0, 10, 0, 20]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

__all__ = ["SweepError", "make_grid", "run_sweep"]


class SweepError(RuntimeError):
    """A grid point of a sweep raised; ``point`` and ``index`` say which one."""

    def __init__(self, index: int, point: Mapping[str, Any], cause: BaseException) -> None:
        self.index = index
        self.point = dict(point)
        super().__init__(f"sweep point {index} {self.point!r} failed: "
                         f"{type(cause).__name__}: {cause}")


def make_grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """The Cartesian product of named value lists, as a list of keyword dicts.

    Examples
    --------
    >>> make_grid(width=[50, 200], seed=[0])
    [{'width': 50, 'seed': 0}, {'width': 200, 'seed': 0}]
    """
    if not axes:
        raise ValueError("make_grid needs at least one named axis, e.g. width=[50, 200]")
    names = list(axes)
    values = []
    for name in names:
        vals = list(axes[name])
        if not vals:
            raise ValueError(f"grid axis {name!r} must not be empty")
        values.append(vals)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _call(func: Callable[..., Any], index: int, point: Mapping[str, Any],
          fixed: Mapping[str, Any]) -> tuple[int, bool, Any]:
    try:
        return index, True, func(**fixed, **point)
    except Exception as exc:  # noqa: BLE001 - re-raised with the grid point by the caller
        return index, False, exc


def run_sweep(func: Callable[..., Any], grid: Sequence[Mapping[str, Any]], *,
              n_jobs: int = 1, backend: Literal["joblib", "dask"] = "joblib",
              client: Any = None, address: str | None = None,
              fixed: Mapping[str, Any] | None = None, progress: bool = False) -> list[Any]:
    """Evaluate ``func(**fixed, **point)`` for every grid point, results in grid order.

    Parameters
    ----------
    func : callable
        A picklable function (module level) taking the grid's names as keywords.
    grid : sequence of mappings
        Grid points, e.g. from :func:`make_grid`.
    n_jobs : int
        Parallel workers for the joblib backend (``-1``: all cores; ``1`` runs in
        this process, which is what tests and debuggers want). Ignored by Dask.
    backend : {"joblib", "dask"}
        Local processes, or a Dask distributed cluster.
    client : dask.distributed.Client, optional
        Cluster to use (Dask backend). Without ``client`` and ``address`` a temporary
        ``LocalCluster`` with ``n_jobs`` workers is started and closed afterwards.
    address : str, optional
        Scheduler address to connect to (Dask backend).
    fixed : mapping, optional
        Keyword arguments passed to every call.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list
        ``func``'s results in grid order.

    Raises
    ------
    SweepError
        If a point raises; the message names the point, ``__cause__`` is the error.
    ImportError
        ``backend="dask"`` without dask.distributed installed.

    Examples
    --------
    >>> run_sweep(_example_area, make_grid(width=[3], seed=[2, 5]), fixed={})
    [6, 15]
    """
    if backend not in ("joblib", "dask"):
        raise ValueError(f"backend must be 'joblib' or 'dask', got {backend!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(grid, (str, bytes, Mapping)) or not isinstance(grid, Iterable):
        raise TypeError(f"grid must be a sequence of mappings (e.g. from make_grid), "
                        f"got {type(grid).__name__}")
    try:
        points = [dict(p) for p in grid]
    except (TypeError, ValueError):
        raise TypeError("grid must be a sequence of mappings of keyword names to values "
                        "(e.g. from make_grid)") from None
    if fixed is not None and not isinstance(fixed, Mapping):
        raise TypeError(f"fixed must be a mapping of keyword names to values, "
                        f"got {type(fixed).__name__}")
    fixed = dict(fixed or {})
    if not points:
        return []
    if backend == "dask":
        outcomes = _run_dask(func, points, fixed, n_jobs, client, address, progress)
    else:
        outcomes = _run_joblib(func, points, fixed, n_jobs, progress)
    results: list[Any] = [None] * len(points)
    for index, ok, value in outcomes:
        if not ok:
            raise SweepError(index, points[index], value) from value
        results[index] = value
    return results


def _run_joblib(func, points, fixed, n_jobs, progress):
    from joblib import Parallel, delayed

    tasks = (delayed(_call)(func, i, p, fixed) for i, p in enumerate(points))
    if progress:
        from tqdm.auto import tqdm

        tasks = tqdm(tasks, total=len(points), desc="sweep")
    # max_nbytes=None: large arguments go to the workers through the pipe, never as
    # joblib's pickled memmap files on disk (nothing bngeom writes is a pickle).
    return Parallel(n_jobs=n_jobs, max_nbytes=None)(tasks)


def _run_dask(func, points, fixed, n_jobs, client, address, progress):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: install the optional extra "
                          "with `pip install bngeom[dask]`") from exc
    own_cluster = own_client = None
    try:
        if client is None:
            if address is not None:
                client = own_client = Client(address)
            else:
                workers = n_jobs if n_jobs > 0 else None
                own_cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
                client = own_client = Client(own_cluster)
        futures = client.map(_call, [func] * len(points), range(len(points)), points,
                             [fixed] * len(points), pure=False)
        if progress:
            from dask.distributed import progress as dask_progress

            dask_progress(futures)
        return client.gather(futures)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _example_area(width: int, seed: int) -> int:
    """Toy sweep function used by the examples: ``width * seed``."""
    return width * seed
