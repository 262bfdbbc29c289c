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

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._validation import (
    as_float_array,
    as_generator,
    check_covariance,
    check_memory,
    check_positive_int,
)
from bngeom.nn.functions import Activation
from bngeom.nn.model import bn_forward

__all__ = [
    "Dataset",
    "center",
    "covariance",
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


def covariance(X: ArrayLike, *, centered: bool = False) -> NDArray:
    r"""The biased covariance :math:`\Sigma = X_c^\top X_c/n` of a data set (MATH §1).

    ``X`` is centred first unless ``centered=True``. Raises ``ValueError`` if
    the result is not positive definite (quoting its smallest eigenvalue),
    e.g. with fewer samples than dimensions.

    Examples
    --------
    >>> covariance([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]]).tolist()
    [[0.5, 0.0], [0.0, 2.0]]
    """
    X = as_float_array(X, "X", min_ndim=2, max_ndim=2)
    Xc = X if centered else X - X.mean(axis=0)
    cov = Xc.T @ Xc / X.shape[0]
    cov = 0.5 * (cov + cov.T)
    try:
        return check_covariance(cov, "covariance of X")
    except ValueError as exc:
        raise ValueError(f"{exc} (X has {X.shape[0]} samples in dimension {X.shape[1]})") from None


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


@dataclass(frozen=True)
class Dataset:
    """A centred data set with its targets and covariance.

    Examples
    --------
    >>> ds = make_teacher_dataset(100, [3.0, 1.0], teacher_width=2, rng=0)
    >>> ds.X.shape, ds.y.shape, ds.cov.shape
    ((100, 2), (100,), (2, 2))
    """

    X: NDArray
    y: NDArray
    cov: NDArray

    @classmethod
    def from_arrays(cls, X: ArrayLike, y: ArrayLike) -> Dataset:
        """Centre ``X``, compute Sigma, and check ``y`` matches."""
        X = center(X)
        y = as_float_array(y, "y", min_ndim=1, max_ndim=1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} "
                             f"and {y.shape[0]}")
        return cls(X, y, covariance(X, centered=True))

    @property
    def dim(self) -> int:
        return self.X.shape[1]


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
