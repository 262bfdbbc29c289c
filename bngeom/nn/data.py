r"""Data: centring, the covariance :math:`\Sigma`, anisotropic Gaussian data, teachers (MATH §1).

Assumption 1 asks for centred data with a symmetric positive definite
:math:`\Sigma = \mathbb E[xx^\top]`; for a finite data set :math:`\Sigma = X^\top X/n`
after centring (the biased estimate, which batch normalization divides by).

Examples
--------
>>> import numpy as np
>>> X, cov = anisotropic_gaussian(500, [4.0, 1.0], rng=0)
>>> bool(np.allclose(X.mean(axis=0), 0.0)) and bool(np.allclose(cov, X.T @ X / 500))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import (
    as_float_array,
    as_generator,
    check_centered,
    check_covariance,
    check_memory,
    check_positive_int,
)
from bngeom.nn.functions import Activation
from bngeom.nn.model import bn_forward

__all__ = [
    "Dataset",
    "SINGULAR_MODES",
    "center",
    "covariance",
    "signed_labels",
    "anisotropic_gaussian",
    "random_rotation",
    "teacher_network",
    "teacher_targets",
    "make_teacher_dataset",
]


def center(X: ArrayLike) -> NDArray:
    """Subtract the sample mean from each column (Assumption 1: E x = 0).

    Examples
    --------
    >>> center([[1.0, 2.0], [3.0, 4.0]]).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
    return X - X.mean(axis=0)


def covariance(X: ArrayLike, *, centered: bool = False,
               feature_names: Sequence[str] | None = None) -> NDArray:
    r"""The biased covariance :math:`\Sigma = X_c^\top X_c/n` of a data set (MATH §1).

    ``X`` is centred first unless ``centered=True`` (then ``X`` must be centred:
    ``ValueError`` otherwise). Raises ``ValueError`` if
    the result is not positive definite (quoting its smallest eigenvalue),
    e.g. with fewer samples than dimensions; the message names the constant and
    the collinear features (by ``feature_names`` when given, else by column index)
    and the remedies (MATH §9: ``Dataset.from_arrays(X, y, singular="project")``).

    Examples
    --------
    >>> covariance([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]]).tolist()
    [[0.5, 0.0], [0.0, 2.0]]
    """
    X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
    if centered:  # X^T X / n of uncentred data is not its covariance
        check_centered(X)
    Xc = X if centered else X - X.mean(axis=0)
    _check_scale(Xc)
    cov = Xc.T @ Xc / X.shape[0]
    cov = 0.5 * (cov + cov.T)
    try:
        return check_covariance(cov, "covariance of X")
    except ValueError as exc:
        names = _feature_names(feature_names, X.shape[1])
        raise ValueError(f"{exc} (X has {X.shape[0]} samples in dimension {X.shape[1]}). "
                         f"{_singular_diagnosis(Xc, names)}") from None


#: Centred entries must lie within these magnitudes: their squares then stay normal floats.
_SCALE_RANGE = (1e-150, 1e150)


def _check_scale(Xc: NDArray) -> None:
    """Refuse features whose squares would overflow or underflow float64 in ``X^T X / n``."""
    top = np.maximum(np.max(Xc, axis=0), -np.min(Xc, axis=0))
    bad = np.flatnonzero((top > _SCALE_RANGE[1]) | ((top > 0) & (top < _SCALE_RANGE[0])))
    if bad.size:
        raise ValueError(
            f"X's centred columns {bad[:10].tolist()} reach magnitudes {top[bad[0]]:.3e}, "
            f"outside [{_SCALE_RANGE[0]:.0e}, {_SCALE_RANGE[1]:.0e}]: their squares over- or "
            f"underflow float64 in the covariance; rescale the features (e.g. divide each "
            f"column by its standard deviation: the same BN networks, weights rescaled)")


def _feature_names(names: Sequence[str] | None, d: int) -> tuple[str, ...] | None:
    """``names`` as a tuple of d strings (or None), checked."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)):
        raise TypeError("feature_names must be a sequence of strings, got a single string")
    names = tuple(names)
    if len(names) != d or not all(isinstance(v, str) for v in names):
        raise ValueError(f"feature_names must be {d} strings (one per column of X), got "
                         f"{len(names)} entries")
    return tuple(str(v) for v in names)  # plain str, also from numpy string arrays


def _label(j: int, names: tuple[str, ...] | None) -> str:
    return f"{names[j]!r} (column {j})" if names else f"column {j}"


def _rank_floor(eig: NDArray, d: int) -> float:
    """Eigenvalues at or below this are zero to working precision (as in check_covariance)."""
    return d * np.finfo(np.float64).eps * max(float(eig[-1]), 0.0)


def _singular_diagnosis(Xc: NDArray, names: tuple[str, ...] | None) -> str:
    r"""Why :math:`\Sigma` is singular: constant features, collinear groups, or scales; remedies."""
    n, d = Xc.shape
    var = np.einsum("ij,ij->j", Xc, Xc) / n
    constant = np.flatnonzero(var <= d * np.finfo(np.float64).eps * var.max())
    parts = []
    if constant.size:
        parts.append(f"constant features: {', '.join(_label(j, names) for j in constant[:10])}"
                     + (f" and {constant.size - 10} more" if constant.size > 10 else ""))
    rest = np.setdiff1d(np.arange(d), constant)
    if n <= d:
        parts.append(f"only {n} samples for {d} features: the rank is at most {n - 1}")
    elif rest.size:
        Z = Xc[:, rest] / np.sqrt(var[rest])
        eig, vec = np.linalg.eigh(Z.T @ Z / n)
        null = vec[:, eig <= max(_rank_floor(eig, rest.size), 1e-12 * eig[-1])]
        for v in null.T[:3]:
            big = np.argsort(-np.abs(v))[: max(2, int(np.sum(np.abs(v) >= 0.1 * np.abs(v).max())))]
            terms = " ".join(f"{v[k]:+.3g}*{_label(int(rest[k]), names)}" for k in big[:6])
            parts.append(f"collinear features: {terms} is constant (standardized units)")
        if not null.shape[1] and not constant.size:
            parts.append("no feature is constant or collinear after standardizing: the "
                         "features' scales differ too much (standardize X / X.std(axis=0))")
    return ("Causes: " + "; ".join(parts) + ". Remedies: drop the constant or redundant "
            "features, or use bngeom.Dataset.from_arrays(X, y, singular='project'), which "
            "restricts the geometry to the range of the covariance and is exact for the BN "
            "network (docs/math.md section 9)")


def signed_labels(y: ArrayLike) -> NDArray:
    r"""Two-class labels mapped to -1 and +1 (the smaller value -> -1), for the logistic loss.

    The logistic loss :math:`\log(1 + e^{-yf})` needs labels -1 and +1; scikit-learn's
    0/1 labels become ``2 y - 1``. Raises ``ValueError`` unless ``y`` has exactly two
    distinct values.

    Examples
    --------
    >>> signed_labels([0, 1, 1, 0]).tolist()
    [-1.0, 1.0, 1.0, -1.0]
    """
    y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
    values = np.unique(y)
    if values.size != 2:
        raise ValueError(f"y must have exactly two distinct values to map them to -1 and +1, "
                         f"got {values.size} ({values[:5].tolist()}...)")
    return np.where(y == values[1], 1.0, -1.0)


def random_rotation(d: int, rng: int | np.random.Generator | None = None) -> NDArray:
    """A Haar-random orthogonal (d, d) matrix.

    Examples
    --------
    >>> import numpy as np
    >>> Q = random_rotation(3, rng=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(3)))
    True
    """
    d = check_positive_int(d, "d")
    q, r = np.linalg.qr(as_generator(rng).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def anisotropic_gaussian(n_samples: int, spectrum: ArrayLike,
                         rng: int | np.random.Generator | None = None, *,
                         rotate: bool = False) -> tuple[NDArray, NDArray]:
    """Centred Gaussian data whose covariance has eigenvalues ``spectrum``.

    Parameters
    ----------
    n_samples : int
        Number of samples ``n`` (at least the dimension, for a definite Sigma).
    spectrum : array_like, shape (d,)
        Positive eigenvalues of the population covariance.
    rng : int, Generator or None
        Seed or generator.
    rotate : bool
        Rotate the principal axes by a random rotation (else they are the
        coordinate axes).

    Returns
    -------
    X : ndarray, shape (n, d)
        Centred data (sample mean exactly 0).
    cov : ndarray, shape (d, d)
        Its biased sample covariance, the Sigma the BN network sees.

    Examples
    --------
    >>> X, cov = anisotropic_gaussian(1000, [9.0, 1.0], rng=0)
    >>> X.shape, cov.shape
    ((1000, 2), (2, 2))
    """
    n = check_positive_int(n_samples, "n_samples")
    spec = as_float_array(spectrum, "spectrum", min_ndim=1, max_ndim=1)
    if np.any(spec <= 0):
        raise ValueError(f"spectrum must be > 0, its smallest entry is {spec.min()}")
    gen = as_generator(rng)
    check_memory(8.0 * 3 * n * spec.shape[0], "n_samples",  # X, its rotation and centring
                 f"the ({n}, {spec.shape[0]}) samples and their temporaries")
    X = gen.standard_normal((n, spec.shape[0])) * np.sqrt(spec)
    if rotate:
        X = X @ random_rotation(spec.shape[0], gen).T
    X = center(X)
    return X, covariance(X, centered=True)


def teacher_network(d: int, width: int, rng: int | np.random.Generator | None = None, *,
                    output_scale: float = 1.0) -> tuple[NDArray, NDArray]:
    """Random teacher parameters ``(W, a)``: Gaussian rows, output weights ±``output_scale``·width.

    The output weights are scaled by the width so that the mean-field
    normalization 1/m does not shrink the teacher's function.

    Examples
    --------
    >>> W, a = teacher_network(4, 3, rng=0)
    >>> W.shape, a.shape
    ((3, 4), (3,))
    """
    d = check_positive_int(d, "d")
    width = check_positive_int(width, "width")
    gen = as_generator(rng)
    W = gen.standard_normal((width, d))
    a = output_scale * width * gen.choice([-1.0, 1.0], size=width) * gen.uniform(0.5, 1.5, width)
    return W, a


def teacher_targets(X: ArrayLike, W: ArrayLike, a: ArrayLike, cov: ArrayLike,
                    activation: str | Activation = "tanh") -> NDArray:
    """Targets ``y = f(X; W, a)`` of a teacher BN network (MATH §1).

    Examples
    --------
    >>> import numpy as np
    >>> X, cov = anisotropic_gaussian(50, [2.0, 1.0], rng=0)
    >>> teacher_targets(X, np.eye(2), np.ones(2), cov).shape
    (50,)
    """
    return bn_forward(X, W, a, cov, activation)


#: What :meth:`Dataset.from_arrays` does with a singular covariance.
SINGULAR_MODES = ("raise", "project")


@dataclass(frozen=True)
class Dataset:
    r"""A centred data set with its targets and covariance.

    ``X`` (n, d) is centred (checked), ``y`` has n entries and ``cov`` is the
    (d, d) covariance the geometry uses. Built by :meth:`from_arrays`, a data set
    may also carry the names of its features, the ``mean`` subtracted from the
    original features, and, when the original covariance was singular and
    ``singular="project"`` was asked for, the orthonormal ``basis`` (D, d) of the
    range of the original :math:`\Sigma`: then ``X`` holds the coordinates
    :math:`X_c B` and ``cov`` is :math:`B^\top\Sigma B` (MATH §9).
    :meth:`to_reduced` and :meth:`to_original` move weights (and gradients) between
    the D original and the d reduced features.

    Examples
    --------
    >>> ds = make_teacher_dataset(100, [3.0, 1.0], teacher_width=2, rng=0)
    >>> ds.X.shape, ds.y.shape, ds.cov.shape
    ((100, 2), (100,), (2, 2))
    """

    X: NDArray
    y: NDArray
    cov: NDArray
    feature_names: tuple[str, ...] | None = None
    mean: NDArray | None = None
    basis: NDArray | None = None

    def __post_init__(self) -> None:
        n, d = np.shape(self.X)[0], np.shape(self.X)[-1]
        if np.ndim(self.X) != 2 or np.shape(self.y) != (n,) or np.shape(self.cov) != (d, d):
            raise ValueError(f"Dataset needs X (n, d), y (n,) and cov (d, d), got shapes "
                             f"{np.shape(self.X)}, {np.shape(self.y)}, {np.shape(self.cov)}")
        check_centered(np.asarray(self.X), "Dataset.X")
        if self.basis is not None and np.shape(self.basis)[1:] != (d,):
            raise ValueError(f"Dataset.basis must have shape (D, {d}), got "
                             f"{np.shape(self.basis)}")

    @classmethod
    def from_arrays(cls, X: ArrayLike, y: ArrayLike, *, singular: str = "raise",
                    feature_names: Sequence[str] | None = None) -> Dataset:
        """Centre ``X``, compute Sigma, and check ``y`` matches.

        Parameters
        ----------
        X, y : array_like, shapes (n, D) and (n,)
            Raw features (centred here; the mean is kept in ``mean``) and targets.
        singular : {"raise", "project"}
            A singular covariance (constant or collinear features) raises a
            ``ValueError`` naming those features (``"raise"``), or (``"project"``)
            the data set keeps the coordinates of ``X`` in an orthonormal basis of
            the range of Sigma: exact for the BN network, which sees only the
            component of each weight in that range (MATH §9). When the only
            defect is constant features, the basis is those of the other features,
            so the reduced features keep their names. A definite Sigma is never
            projected.
        feature_names : sequence of str, optional
            One name per column, used in messages and kept in ``feature_names``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0, 5.0, 1.0], [1.0, 5.0, 0.0], [2.0, 5.0, 2.0], [3.0, 5.0, 1.0]])
        >>> ds = Dataset.from_arrays(X, [0.0, 1.0, 1.0, 0.0], singular="project",
        ...                          feature_names=["a", "const", "b"])
        >>> ds.dim, ds.original_dim, ds.feature_names
        (2, 3, ('a', 'b'))
        """
        if singular not in SINGULAR_MODES:
            raise ValueError(f"singular must be one of {SINGULAR_MODES}, got {singular!r}")
        X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
        names = _feature_names(feature_names, X.shape[1])
        mean = X.mean(axis=0)
        Xc = X - mean
        y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} "
                             f"and {y.shape[0]}")
        if singular == "raise":
            return cls(Xc, y, covariance(Xc, centered=True, feature_names=names), names, mean)
        return cls._projected(Xc, y, names, mean)

    @classmethod
    def _projected(cls, Xc: NDArray, y: NDArray, names: tuple[str, ...] | None,
                   mean: NDArray) -> Dataset:
        """``from_arrays(..., singular="project")``: restrict to the range of Sigma (MATH §9)."""
        n, D = Xc.shape
        _check_scale(Xc)
        full = Xc.T @ Xc / n
        eig, vec = np.linalg.eigh(0.5 * (full + full.T))
        keep = eig > _rank_floor(eig, D)
        if keep.all():
            return cls(Xc, y, check_covariance(full, "covariance of X"), names, mean)
        if not keep.any():
            raise ValueError("X has a zero covariance (every feature is constant): there is "
                             "nothing for a BN network to normalize")
        var = np.diag(full)
        live = np.flatnonzero(var > D * np.finfo(np.float64).eps * var.max())
        if live.size == int(keep.sum()):  # only constant features: keep the others as they are
            basis = np.eye(D)[:, live]
            names = None if names is None else tuple(names[j] for j in live)
        else:
            basis, names = vec[:, keep][:, ::-1], None  # principal axes, largest first
        Xr = Xc @ basis
        try:
            cov = covariance(Xr, centered=True)
        except ValueError as exc:
            raise ValueError(f"X's covariance is too ill-conditioned to project onto its range "
                             f"in float64: {exc}") from None
        return cls(Xr, y, cov, names, mean, basis)

    @property
    def dim(self) -> int:
        """Number of features the geometry uses (after a projection, the rank of Sigma)."""
        return self.X.shape[1]

    @property
    def original_dim(self) -> int:
        """Number of original features (``dim`` unless the data set was projected)."""
        return self.dim if self.basis is None else self.basis.shape[0]

    def to_reduced(self, W: ArrayLike) -> NDArray:
        r"""Weights on the original features (m, D) -> the reduced features (m, d): :math:`WB`.

        The BN network of ``W`` on the original features equals that of ``to_reduced(W)``
        on ``X`` (MATH §9); the identity when the data set was not projected. A row
        whose reduced part is zero (all of it in the null space of Sigma) raises.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0, 5.0, 1.0], [1.0, 5.0, 0.0], [2.0, 5.0, 2.0], [3.0, 5.0, 1.0]])
        >>> ds = Dataset.from_arrays(X, np.zeros(4), singular="project")
        >>> ds.to_reduced([[1.0, 7.0, 2.0]]).tolist()
        [[1.0, 2.0]]
        """
        W = as_float_array(W, "W", min_ndim=2, max_ndim=2)
        if W.shape[1] != self.original_dim:
            raise ValueError(f"W must have {self.original_dim} columns (the original features), "
                             f"got shape {W.shape}")
        if self.basis is None:
            return W
        Wr = W @ self.basis
        zero = np.flatnonzero(np.linalg.norm(Wr, axis=1) <= 1e-12 * np.linalg.norm(W, axis=1))
        if zero.size:
            raise ValueError(f"rows {zero[:5].tolist()} of W lie in the null space of the "
                             f"covariance: BN would divide by |w|_Sigma = 0")
        return Wr

    def to_original(self, W: ArrayLike) -> NDArray:
        r"""Reduced weights or gradients (m, d) -> the original features (m, D): :math:`W B^\top`.

        Maps weights to the original feature space (the component in the range of
        Sigma, the only one BN sees), and the gradients of the reduced network to the
        gradients of the BN network on the original features (chain rule of
        :math:`W \mapsto WB`: exact, with zero gradient along the null space).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0, 5.0, 1.0], [1.0, 5.0, 0.0], [2.0, 5.0, 2.0], [3.0, 5.0, 1.0]])
        >>> ds = Dataset.from_arrays(X, np.zeros(4), singular="project")
        >>> ds.to_original([[1.0, 2.0]]).tolist()
        [[1.0, 0.0, 2.0]]
        """
        W = as_float_array(W, "W", min_ndim=2, max_ndim=2)
        if W.shape[1] != self.dim:
            raise ValueError(f"W must have {self.dim} columns (the reduced features), got "
                             f"shape {W.shape}")
        return W if self.basis is None else W @ self.basis.T

    def transform(self, X: ArrayLike) -> NDArray:
        """New points in the original features -> centred (and projected) like ``X``.

        Subtracts the training ``mean`` and applies the ``basis``, so that
        ``bn_forward(ds.transform(X_new), W, a, ds.cov, mean=np.zeros(ds.dim))``
        evaluates the network at new points.

        Examples
        --------
        >>> import numpy as np
        >>> ds = Dataset.from_arrays([[0.0, 1.0], [2.0, -1.0], [1.0, 3.0]], [1.0, -1.0, 1.0])
        >>> ds.transform([[1.0, 1.0]]).tolist()
        [[0.0, 0.0]]
        """
        X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
        if X.shape[1] != self.original_dim:
            raise ValueError(f"X must have {self.original_dim} columns, got shape {X.shape}")
        Xc = X if self.mean is None else X - self.mean
        return Xc if self.basis is None else Xc @ self.basis


def make_teacher_dataset(n_samples: int, spectrum: ArrayLike, *, teacher_width: int = 3,
                         activation: str | Activation = "tanh",
                         rng: int | np.random.Generator | None = None,
                         rotate: bool = False) -> Dataset:
    """Anisotropic Gaussian data labelled by a random teacher BN network (realizable).

    Examples
    --------
    >>> ds = make_teacher_dataset(64, [4.0, 1.0, 0.25], teacher_width=3, rng=1)
    >>> ds.dim
    3
    """
    gen = as_generator(rng)
    X, cov = anisotropic_gaussian(n_samples, spectrum, gen, rotate=rotate)
    W, a = teacher_network(X.shape[1], teacher_width, gen)
    return Dataset(X, teacher_targets(X, W, a, cov, activation), cov)
