"""The teacher problem both training claims run on (``sgd_reference``, ``exp_lr``).

The same sizes per preset, the same data (a rotated teacher data set of spectrum
``(2, 1, 0.5, 0.25)``) and the same start, drawn in one order from the run's generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bngeom.nn.data import Dataset, make_teacher_dataset

#: Samples and width of each size preset.
SIZES: dict[str, dict[str, int]] = {
    "quick": dict(n_samples=64, width=8),
    "reproduce": dict(n_samples=128, width=16),
    "full": dict(n_samples=512, width=64),
}
SPECTRUM = (2.0, 1.0, 0.5, 0.25)


def presets(steps_name: str, steps: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """The presets of :data:`SIZES`, each with its number of steps under ``steps_name``.

    Examples
    --------
    >>> presets("steps", {"quick": 3, "reproduce": 4, "full": 5})["quick"]
    {'n_samples': 64, 'width': 8, 'steps': 3}
    """
    return {name: dict(size, **{steps_name: steps[name]}) for name, size in SIZES.items()}


def initial_weights(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """Random directions at radii in [1.5, 2.7]: every neuron's effective rate eta/r^2 stays
    below the edge of stability while weight decay shrinks it (a neuron at radius 0.3 with
    |a| = 2 would oscillate chaotically and amplify rounding, as in the exp_lr claim)."""
    W = rng.standard_normal((m, d))
    return W * (2.0 * np.exp(rng.uniform(-0.3, 0.3, (m, 1))) / np.linalg.norm(W, axis=1,
                                                                             keepdims=True))


def teacher_problem(rng: np.random.Generator, n_samples: int, width: int
                    ) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """The data set and the start ``(W0, a0)`` of a run, drawn from ``rng``.

    Examples
    --------
    >>> ds, W0, a0 = teacher_problem(np.random.default_rng(0), 32, 5)
    >>> ds.X.shape, W0.shape, a0.shape
    ((32, 4), (5, 4), (5,))
    """
    ds = make_teacher_dataset(n_samples, SPECTRUM, teacher_width=3, rng=rng, rotate=True)
    return ds, initial_weights(rng, width, len(SPECTRUM)), rng.standard_normal(width)
