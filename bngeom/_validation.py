"""Input checks shared by every public entry point.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument and the condition it broke, so that bad input never turns into a
silent NaN or a crash deep inside numpy.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Relative tolerance for "this point lies on N_Sigma" (u^T Sigma u = 1).
MANIFOLD_RTOL = 1e-6
#: Tolerance for "this vector is tangent" (|xi^T Sigma u| relative to |xi| |Sigma u|).
TANGENT_RTOL = 1e-6
#: Absolute tolerance on the coefficient u^T Sigma xi of xi along u (see check_tangent).
TANGENT_ATOL = 1e-10
#: Tangent vectors whose entries are all below this are checked relative to their own scale.
TANGENT_TINY = 1e-100


def as_float_array(value: ArrayLike, name: str, *, min_ndim: int = 0,
                   max_ndim: int | None = None, allow_empty: bool = False) -> NDArray:
    """Convert ``value`` to a finite real floating array or raise.

    Integer and boolean input is promoted to float64; float32 stays float32.
    Complex, object and string input raises ``TypeError``; so do masked arrays
    (numpy would drop the mask and compute with the masked values) and float16
    (3 significant digits: a point of N_Sigma would hold only to about 1e-3,
    and every closed form loses most of its digits).

    Examples
    --------
    >>> as_float_array([1, 2], "x").dtype
    dtype('float64')
    >>> as_float_array(np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: x is a masked array; its mask would be ignored: ...
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real numeric array, got a string")
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array; its mask would be ignored: pass "
                        f"{name}.compressed() or {name}.filled(value), or select the unmasked "
                        "rows")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be a real numeric array: {exc}") from None
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(f"{name} must have a real floating dtype, got dtype {arr.dtype}")
    elif arr.dtype.itemsize < 4:
        raise TypeError(f"{name} has dtype {arr.dtype}, which is not supported (3 significant "
                        "digits); convert it to float32 or float64")
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        want = f"{min_ndim}" if max_ndim == min_ndim else (
            f"at least {min_ndim}" if max_ndim is None else f"{min_ndim} to {max_ndim}")
        raise ValueError(f"{name} must have {want} dimensions, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    # One pass without a temporary: a NaN or inf makes the sum non-finite; only then
    # (or if the finite entries overflow the sum) look at the entries themselves.
    if not np.isfinite(np.add.reduce(arr, axis=None)) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, it contains NaN or inf")
    return arr


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A numpy ``Generator`` from a ``Generator`` (used as is) or anything ``default_rng`` takes.

    Seeds are ints, sequences of ints, ``SeedSequence`` objects, or None (fresh entropy).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_, float, str, bytes)):
        raise TypeError(f"{name} must be an int seed, a numpy Generator or None, "
                        f"got {type(rng).__name__}")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be a seed (non-negative ints), a numpy Generator or "
                        f"None: {exc}") from None


def check_positive_scalar(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        raise TypeError(f"{name} must be a real scalar, got the string {value!r}")
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a real scalar, got a masked value")
    if isinstance(value, (bool, np.bool_)) or not np.isscalar(value) and np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real scalar, got {type(value).__name__}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real scalar, got {value!r}") from None
    if isinstance(value, complex) or np.iscomplexobj(value):
        raise TypeError(f"{name} must be real, got {value!r}")
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    if out <= 0:
        raise ValueError(f"{name} must be > 0, got {out}")
    return out


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int after checking it is an integer >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as a non-negative int (experiments derive every generator from it).

    Examples
    --------
    >>> check_seed(3)
    3
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be a non-negative integer, got -1
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}")
    return int(seed)


def check_radius(radius: ArrayLike, name: str = "radius",
                 leading: tuple[int, ...] | None = None) -> NDArray | float:
    """Radii are positive and finite; a scalar or one radius per point.

    With ``leading`` (the points' batch shape), an array of radii must broadcast to it.
    """
    if np.ndim(radius) == 0:
        return check_positive_scalar(radius, name)
    arr = as_float_array(radius, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, its smallest entry is {arr.min()}")
    if leading is not None:
        try:
            fits = np.broadcast_shapes(arr.shape, tuple(leading)) == tuple(leading)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{name} must be a scalar or have the points' batch shape "
                             f"{tuple(leading)}, got shape {arr.shape}")
    return arr


def check_covariance(cov: ArrayLike, name: str = "cov", *, rtol: float = 1e-10) -> NDArray:
    """Check that ``cov`` is a symmetric positive definite (d, d) matrix.

    Raises
    ------
    ValueError
        If ``cov`` is not square, not symmetric (to ``rtol`` of its largest
        entry), or not positive definite; the last message quotes the
        smallest eigenvalue.
    """
    arr = as_float_array(cov, name, min_ndim=2, max_ndim=2)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {arr.shape}")
    scale = float(np.max(np.abs(arr)))
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > rtol * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"{name} must be symmetric: max |cov - cov.T| = {asym:.3e} "
            f"exceeds {rtol:.0e} x max |cov| = {rtol * scale:.3e}")
    eig = np.linalg.eigvalsh(arr.astype(np.float64))
    # Eigenvalues below d * eps * lambda_max are zero to working precision.
    floor = arr.shape[0] * np.finfo(np.float64).eps * max(eig[-1], 0.0)
    if eig[0] <= floor:
        kind = "indefinite" if eig[0] < -floor else "singular"
        raise ValueError(
            f"{name} must be positive definite, but it is {kind}: "
            f"smallest eigenvalue {eig[0]:.6e} (largest {eig[-1]:.6e})")
    if eig[0] < TINY:
        # points of N_Sigma would have |u|^2 > 1 / TINY (overflow) and the second moments
        # themselves carry fewer than 16 digits
        raise ValueError(
            f"{name} is too small: its smallest eigenvalue {eig[0]:.3e} is subnormal "
            f"(below {TINY:.3e}), where float64 loses digits; rescale the data (BN does not "
            "depend on the scale of the inputs)")
    return arr


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None if the system does not say.

    The smaller of Linux's ``MemAvailable`` and the cgroup (container) limit minus
    its usage; elsewhere the physical memory.
    """
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            used = int(fh.read().strip())
        if limit != "max":
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def check_memory(n_bytes: float, name: str, what: str) -> None:
    """Refuse at once a request whose memory need exceeds the memory available.

    Parameters
    ----------
    n_bytes : float
        The peak memory the request needs (its result and temporaries).
    name : str
        The argument that sets the size, named in the message.
    what : str
        What needs the memory (``"the (200, 2000, 2000) result"``).

    Raises
    ------
    ValueError
        If ``n_bytes`` exceeds :func:`available_memory`.

    Examples
    --------
    >>> check_memory(1e3, "n_samples", "the points")
    >>> check_memory(1e30, "n_samples", "the points")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: n_samples is too large: the points would need about 1e+18 TB, more than ...
    """
    avail = available_memory()
    if avail is not None and n_bytes > avail:
        raise ValueError(f"{name} is too large: {what} would need about {_bytes(n_bytes)}, more "
                         f"than the {_bytes(avail)} of memory available; ask for less (or "
                         "split the request into batches)")


#: Smallest normal float64: a magnitude below it is subnormal and keeps fewer digits.
TINY = float(np.finfo(np.float64).tiny)


def check_rows(arr: NDArray, name: str) -> None:
    """Every row (last axis) of ``arr`` must have an entry of magnitude >= :data:`TINY`.

    A zero row has no direction; a row whose entries are all subnormal has lost
    most of the digits of its direction (and of every norm computed from it).
    Rows of any normal magnitude, 1e-300 to 1e300, are fine: the charts rescale
    them (MATH §8).

    Examples
    --------
    >>> check_rows(np.array([[1e-300, 0.0]]), "W")
    >>> check_rows(np.array([[0.0, 0.0]]), "W")
    Traceback (most recent call last):
    ...
    ValueError: W must have non-zero rows: a zero neuron has no direction (row 0)
    """
    if arr.size == 0:
        return
    biggest = np.max(np.abs(arr), axis=-1)
    if np.any(biggest < TINY):
        i = np.unravel_index(int(np.argmin(biggest)), biggest.shape)
        row = i[0] if len(i) == 1 else i
        if biggest[i] == 0:
            raise ValueError(f"{name} must have non-zero rows: a zero neuron has no direction "
                             f"(row {row})")
        raise ValueError(f"{name} has a row whose entries are all subnormal (largest magnitude "
                         f"{biggest[i]:.3e} < {TINY:.3e}, row {row}): its direction has lost "
                         "its digits; rescale the row (the BN network does not depend on it)")


#: Largest magnitude of output weights and targets in a training run: the loss scales like
#: their square, the first-layer velocity like a (f - y) ~ a^2 and the dissipation (sum of
#: squared speeds) like a^4, which must stay far below the float64 overflow at 1.8e308.
MAX_ENTRY = 1e75


def check_max_entry(arr: NDArray, name: str) -> None:
    """Entries of ``arr`` must be at most :data:`MAX_ENTRY` in magnitude (MATH §8).

    Examples
    --------
    >>> check_max_entry(np.array([1e154]), "a0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: a0 must have entries of magnitude <= 1e+75 ...
    """
    if arr.size and float(np.max(np.abs(arr))) > MAX_ENTRY:
        raise ValueError(f"{name} must have entries of magnitude <= {MAX_ENTRY:.0e} (a training "
                         f"run's dissipation grows like its fourth power and would overflow), got "
                         f"{float(np.max(np.abs(arr))):.3e}; rescale it")


def check_dimension(arr: NDArray, d: int, name: str, source: str = "cov") -> None:
    """The last axis of ``arr`` must have length ``d`` (the dimension of ``source``)."""
    if arr.ndim == 0 or arr.shape[-1] != d:
        raise ValueError(f"{name} must have last dimension {d} (the dimension of {source}), "
                         f"got shape {arr.shape}")


def check_on_manifold(u: NDArray, cov_u: NDArray, name: str = "u",
                      rtol: float | None = None) -> None:
    """Points must satisfy u^T Sigma u = 1 to ``rtol`` (relative)."""
    tol = _tol(u, rtol, MANIFOLD_RTOL)
    quad = rowdot(u, cov_u)
    err = np.abs(quad - 1.0)
    if np.any(err > tol):
        raise ValueError(
            f"{name} must lie on N_Sigma (u^T cov u = 1): the largest |u^T cov u - 1| is "
            f"{float(np.max(err)):.3e} > {tol:.0e}; use normalize_to_manifold first")


def check_tangent(xi: NDArray, cov_u: NDArray, name: str = "tangent_vec",
                  rtol: float | None = None) -> None:
    """Vectors must satisfy xi^T Sigma u = 0.

    ``xi = P_u xi + (u^T Sigma xi) u``: the coefficient ``u^T Sigma xi`` of the
    component along ``u`` must be at most ``rtol |xi| |Sigma u| + TANGENT_ATOL``.
    The absolute part accepts vectors that are tangent to working precision but
    come out of a cancellation (a mean of nearly opposite logarithms, say),
    whose normal part is rounding noise relative to ``u``, not to ``xi``.
    Rows below :data:`TANGENT_TINY` are checked after dividing them by their
    largest magnitude (tangency does not depend on the scale, and next to them
    the absolute tolerance would accept anything; MATH §8, "Scale").
    """
    biggest = np.max(np.abs(xi), axis=-1, keepdims=True) if xi.size else None
    if biggest is not None and np.any(biggest < TANGENT_TINY):
        rescale = (biggest < TANGENT_TINY) & (biggest > 0)
        xi = np.where(rescale, xi / np.where(rescale, biggest, 1.0), xi)
    tol = _tol(xi, rtol, TANGENT_RTOL)
    atol = max(TANGENT_ATOL, 100 * _eps(xi.dtype) if xi.dtype.kind == "f" else TANGENT_ATOL)
    inner = np.abs(rowdot(xi, cov_u))
    scale = np.sqrt(rowdot(xi, xi) * rowdot(cov_u, cov_u))
    bad = inner > tol * scale + atol
    if np.any(bad):
        worst = float(np.max(inner / np.maximum(scale, 1e-300)))
        raise ValueError(
            f"{name} must be tangent to N_Sigma at the base point (xi^T cov u = 0): "
            f"relative |xi^T cov u| = {worst:.3e} > {tol:.0e}; use to_tangent first")


def rowdot(x: NDArray, y: NDArray) -> NDArray:
    """Row-wise inner product over the last axis (einsum: no n x d temporary)."""
    return np.einsum("...i,...i->...", x, y)


def check_same_leading(a: NDArray, b: NDArray, name_a: str, name_b: str) -> None:
    """Batch shapes must broadcast."""
    try:
        np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(
            f"{name_a} and {name_b} have batch shapes {a.shape[:-1]} and {b.shape[:-1]}, "
            "which do not broadcast") from None


def _tol(arr: NDArray, rtol: float | None, default: float) -> float:
    if rtol is not None:
        return rtol
    # float32 input carries ~1e-7 relative error already.
    return max(default, 100 * _eps(arr.dtype)) if arr.dtype.kind == "f" else default


@functools.cache
def _eps(dtype: np.dtype) -> float:
    # np.finfo costs microseconds a call: more than the checks of a few points.
    return float(np.finfo(dtype).eps)


#: Centring tolerance for float64 data: a column passes when its mean is at most this
#: fraction of its root mean square (sqrt of the float64 machine epsilon, about 1.5e-8).
#: Data centred by :func:`bngeom.center` sits at about 1e-16; float32 data gets the square
#: root of float32's epsilon (about 3.5e-4). See :func:`check_centered`.
CENTER_RTOL = float(np.sqrt(np.finfo(np.float64).eps))


def check_centered(X: NDArray, name: str = "X") -> None:
    r"""Refuse data whose columns are not centred (Assumption 1: :math:`\mathbb E x = 0`).

    The BN network subtracts the data mean before normalizing; the closed forms of
    :mod:`bngeom.nn.model` (:math:`w^\top x/\|w\|_\Sigma`) assume it is already zero, so
    uncentred data would silently give another network. Column ``j`` passes when
    :math:`|\bar x_j| \le \tau\,\mathrm{rms}(x_j)` with :math:`\mathrm{rms}(x_j) =
    (\frac1n\sum_i x_{ij}^2)^{1/2}` (scale-aware: the ratio lies in [0, 1] whatever the
    units) and :math:`\tau` = :data:`CENTER_RTOL` (``sqrt(eps)`` of ``X``'s dtype).
    One pass over ``X`` for the means, one for the squares: O(n d), no n x d temporary.

    Examples
    --------
    >>> import numpy as np
    >>> check_centered(np.array([[1.0, -2.0], [-1.0, 2.0]]))
    >>> check_centered(np.array([[1.0, 0.0], [3.0, 0.0]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X must be centred ...: column 0 has mean 2.000e+00, 0.894 of its root ...
    """
    n = X.shape[0]
    mean = np.add.reduce(X, axis=0, dtype=np.float64) / n
    squares = np.einsum("ij,ij->j", X, X, dtype=np.float64)
    if not np.all(np.isfinite(squares)):  # huge entries: measure in units of each column's max
        top = np.maximum(np.max(X, axis=0), -np.min(X, axis=0)).astype(np.float64)
        top = np.where(top > 0, top, 1.0)
        mean = np.add.reduce(X / top, axis=0, dtype=np.float64) / n
        squares = np.einsum("ij,ij->j", X / top, X / top, dtype=np.float64)
    rms = np.sqrt(squares / n)
    tol = CENTER_RTOL if X.dtype.itemsize >= 8 else float(np.sqrt(np.finfo(X.dtype).eps))
    ratio = np.abs(mean) / np.where(rms > 0, rms, 1.0)
    bad = np.flatnonzero(ratio > tol)
    if bad.size:
        j = int(bad[np.argmax(ratio[bad])])
        raise ValueError(
            f"{name} must be centred (Assumption 1: every column has mean 0), but {bad.size} of "
            f"{X.shape[1]} columns are not: column {j} has mean {float(np.mean(X[:, j])):.3e}, "
            f"{ratio[j]:.3g} of its root mean square (tolerance {tol:.1e}). The BN network "
            f"subtracts the data mean and this model does not: centre the data with "
            f"X = bngeom.center(X) (subtract the same training mean from any new points), or "
            f"build bngeom.Dataset.from_arrays(X, y), which centres")


def check_signed_labels(y: NDArray, name: str = "y") -> None:
    r"""Labels of the logistic loss :math:`\log(1 + e^{-yf})` must be -1 or +1.

    With 0/1 labels (scikit-learn's convention) every ``y = 0`` sample would add the
    constant :math:`\log 2` and no gradient: a different problem without a word.

    Examples
    --------
    >>> import numpy as np
    >>> check_signed_labels(np.array([1.0, -1.0]))
    >>> check_signed_labels(np.array([0.0, 1.0, 1.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: y must hold labels -1 or +1 for the logistic loss ...
    """
    bad = (y != 1.0) & (y != -1.0)
    if np.any(bad):
        seen = np.unique(y[bad])[:5].tolist()
        raise ValueError(
            f"{name} must hold labels -1 or +1 for the logistic loss log(1 + exp(-y f)), but "
            f"{int(np.count_nonzero(bad))} of {y.shape[0]} entries are not (values seen include "
            f"{seen}); map two-class labels with y = bngeom.data.signed_labels(y) (the smaller "
            f"class -> -1, the larger -> +1; for 0/1 labels that is 2 y - 1), or use the "
            f"squared loss")


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool; a ``TypeError`` naming ``name`` for anything but a boolean.

    Examples
    --------
    >>> check_bool(True, "resume")
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)
