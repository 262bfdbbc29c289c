r"""The covariance :math:`\Sigma` checked once: :class:`NSigma`, and a memory of checked arrays.

Checking :math:`\Sigma` (symmetric, positive definite) takes an eigendecomposition, O(d^3),
which costs more than any operation of the geometry on a few points. So :math:`\Sigma` is
checked once: an :class:`NSigma` is built from it (the adapters build one per space or
manifold), and every function that takes ``cov`` accepts an ``NSigma`` in its place without
checking it again. A plain array passed again and again (as optimizers and learning loops
do) is remembered too: :func:`checked_covariance` compares it with the last few arrays that
passed, O(d^2), and factorizes only what it has not seen.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import check_covariance

__all__ = ["NSigma", "checked_covariance"]


class NSigma:
    r"""The manifold :math:`N_\Sigma = \{u : u^\top\Sigma u = 1\}` of one checked covariance.

    Pass it wherever a function takes ``cov``: it was checked when it was built, and is not
    checked again. Its matrix is a read-only float64 copy, so it cannot change afterwards.

    Parameters
    ----------
    cov : array_like, shape (d, d)
        A symmetric positive definite covariance.

    Raises
    ------
    ValueError, TypeError
        If ``cov`` is not a symmetric positive definite real matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from bngeom import geometry as geo
    >>> space = NSigma(np.diag([4.0, 1.0]))
    >>> space.dim
    2
    >>> float(geo.norm(np.array([0.5, 0.0]), np.array([0.0, 1.0]), space))  # |xi| / |u|
    2.0
    """

    __slots__ = ("cov",)

    def __init__(self, cov: ArrayLike) -> None:
        if isinstance(cov, NSigma):
            matrix = cov.cov
        else:
            matrix = np.array(check_covariance(cov), dtype=np.float64)
            matrix.flags.writeable = False
        self.cov: NDArray = matrix

    @property
    def dim(self) -> int:
        """The dimension ``d`` of the ambient space."""
        return self.cov.shape[0]

    def __array__(self, dtype=None, copy=None) -> NDArray:
        return self.cov if dtype is None else self.cov.astype(dtype)

    def __repr__(self) -> str:
        return f"NSigma(dim={self.dim})"


class _Remembered:
    """The last few covariance arrays that passed the check, by identity and contents."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.entries: dict[int, tuple[NDArray, NDArray]] = {}  # id -> (snapshot, checked)
        self.lock = threading.Lock()

    def get(self, cov: ArrayLike, name: str) -> NDArray:
        if isinstance(cov, NSigma):
            return cov.cov
        if type(cov) is not np.ndarray:  # lists, subclasses (masked arrays): always checked
            return check_covariance(cov, name)
        entry = self.entries.get(id(cov))
        # An in-place change is seen: the contents are compared, O(d^2).
        if (entry is not None and entry[0].shape == cov.shape and entry[0].dtype == cov.dtype
                and np.array_equal(entry[0], cov)):
            return entry[1]
        checked = check_covariance(cov, name)
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)))
            self.entries[id(cov)] = (cov.copy(), checked)
        return checked


_REMEMBERED = _Remembered()


def checked_covariance(cov: ArrayLike | NSigma, name: str = "cov") -> NDArray:
    """``cov`` checked by :func:`~bngeom._validation.check_covariance`, at most once.

    An :class:`NSigma` is returned as its matrix; the same array passed again (same object,
    same contents) is not factorized again.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([2.0, 1.0])
    >>> checked_covariance(cov) is checked_covariance(cov)
    True
    >>> cov[0, 0] = -1.0   # changed in place: checked again
    >>> try:
    ...     checked_covariance(cov)
    ... except ValueError as exc:
    ...     print("indefinite" in str(exc))
    True
    """
    return _REMEMBERED.get(cov, name)
