"""Worker threads and BLAS thread limits shared by the compiled kernels.

The fused kernels (:mod:`bngeom.nn._kernels`, :mod:`bngeom.geometry._compiled`)
split their rows into one contiguous range per worker thread and hold BLAS at
one thread meanwhile; this module owns the pool, the lock that serializes
those calls and the BLAS controller (threadpoolctl).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

__all__ = ["LOCK", "blas", "default_threads", "executor", "single_threaded_blas"]

_STATE: dict = {}
# Serializes the calls that change BLAS's thread count and use the worker pool
# (reentrant: single_threaded_blas() wraps loss_and_gradients()).
LOCK = threading.RLock()


def _after_fork_in_child() -> None:
    """A forked child has no worker threads and may inherit a held lock: start afresh."""
    global LOCK
    LOCK = threading.RLock()
    _STATE.pop("pool", None)
    _STATE.pop("pool_key", None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def blas() -> ThreadpoolController:
    """The BLAS libraries loaded in this process (threadpoolctl), found once."""
    if "blas" not in _STATE:
        _STATE["blas"] = ThreadpoolController().select(user_api="blas")
    return _STATE["blas"]


def executor(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` workers, recreated after a fork or a change of size."""
    key = (os.getpid(), threads)
    if _STATE.get("pool_key") != key:
        _STATE["pool"] = ThreadPoolExecutor(threads, thread_name_prefix="bngeom-kernel")
        _STATE["pool_key"] = key
    return _STATE["pool"]


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS at one thread (restored on exit), serialized with the fast path.

    Used around the small products that surround a fast-path call: a
    multithreaded BLAS call just before the workers start leaves OpenBLAS's own
    threads spinning for a while, competing with the workers for the cores.

    Examples
    --------
    >>> with single_threaded_blas():
    ...     default_threads()
    1
    """
    with LOCK, blas().limit(limits=1):
        yield


def default_threads() -> int:
    """Threads the fast path uses: the number BLAS is currently allowed (threadpoolctl).

    Limit it like any BLAS computation, e.g. with
    ``threadpoolctl.threadpool_limits(1)``.

    Examples
    --------
    >>> default_threads() >= 1
    True
    """
    counts = [lib.num_threads for lib in blas().lib_controllers]
    return max(1, min(counts + [os.cpu_count() or 1]))

