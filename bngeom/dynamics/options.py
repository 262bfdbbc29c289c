"""Options of :func:`bngeom.dynamics.simulate`, as small frozen dataclasses.

Each class checks its fields when it is built, so a bad option fails where it is written,
with the field's name; :func:`~bngeom.dynamics.simulate` only combines them with the data.
The keyword arguments of bngeom 0.1 (``method=``, ``step=``, ``rtol=``, ``record_times=``,
``checkpoint=``, ...) are still accepted by ``simulate`` and land in these classes
(:func:`options_from_keywords`).

Examples
--------
>>> Solver(method="gd", step=0.01)
Solver(method='gd', step=0.01, rtol=1e-08, atol=1e-10, integrator='DOP853')
>>> Solver(method="euler")
Traceback (most recent call last):
    ...
ValueError: method must be one of 'flow', 'gd', got 'euler'
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bngeom._io import jsonable
from bngeom._validation import (
    as_float_array,
    check_bool,
    check_positive_int,
    check_positive_scalar,
)
from bngeom.nn.functions import Activation, Loss, get_activation, get_loss
from bngeom.nn.model import DEFAULT_MEMORY_BUDGET

__all__ = ["METHODS", "INTEGRATORS", "Model", "Solver", "Recording", "Checkpointing",
           "options_from_keywords"]

#: Gradient flow through an ODE integrator, or gradient descent with a fixed step.
METHODS = ("flow", "gd")
#: Explicit solve_ivp integrators with error control.
INTEGRATORS = ("DOP853", "RK45", "RK23")


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ``ValueError`` naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # normalizing a frozen dataclass's own field


@dataclass(frozen=True)
class Model:
    """The network: activation, loss, the Riemannian chart's radii, and its memory budget.

    Attributes
    ----------
    activation, loss : str or Activation or Loss
        Names from :mod:`bngeom.nn.functions` (or the objects themselves).
    radius : float or array_like of shape (m,), optional
        Radii :math:`r_k` carried by the neurons of the Riemannian chart (default 1); only
        for that chart (the BN chart's radii are the norms of the rows of ``W``).
    memory_budget : float
        Bytes allowed for the ``n x m`` intermediates (see :mod:`bngeom.nn.model`).

    Examples
    --------
    >>> Model("relu", "logistic").activation_fn.name
    'relu'
    """

    activation: str | Activation = "tanh"
    loss: str | Loss = "squared"
    radius: ArrayLike | None = None
    memory_budget: float = DEFAULT_MEMORY_BUDGET

    def __post_init__(self) -> None:
        get_activation(self.activation), get_loss(self.loss)  # unknown names raise here
        _set(self, "memory_budget", check_positive_scalar(self.memory_budget, "memory_budget"))

    @property
    def activation_fn(self) -> Activation:
        """The activation object."""
        return get_activation(self.activation)

    @property
    def loss_fn(self) -> Loss:
        """The loss object."""
        return get_loss(self.loss)


@dataclass(frozen=True)
class Solver:
    """How time advances: an ODE integrator with error control, or gradient descent.

    Attributes
    ----------
    method : {"flow", "gd"}
        ``"flow"``: :func:`scipy.integrate.solve_ivp` with ``rtol``, ``atol`` and
        ``integrator``; ``"gd"``: forward Euler with the fixed mean-field ``step``
        (the exponential map of :math:`N_\\Sigma` in the Riemannian chart).
    step : float, optional
        Mean-field time step of ``"gd"`` (required there, not allowed for ``"flow"``).
    rtol, atol : float
        Tolerances of the integrator (``"flow"``).
    integrator : {"DOP853", "RK45", "RK23"}
        The solve_ivp method of ``"flow"``.

    Examples
    --------
    >>> Solver("gd")
    Traceback (most recent call last):
        ...
    ValueError: step is required for method='gd' (mean-field time step eta/m)
    """

    method: str = "flow"
    step: float | None = None
    rtol: float = 1e-8
    atol: float = 1e-10
    integrator: str = "DOP853"

    def __post_init__(self) -> None:
        check_choice(self.method, "method", METHODS)
        check_choice(self.integrator, "integrator", INTEGRATORS)
        _set(self, "rtol", check_positive_scalar(self.rtol, "rtol"))
        _set(self, "atol", check_positive_scalar(self.atol, "atol"))
        if self.method == "gd":
            if self.step is None:
                raise ValueError("step is required for method='gd' (mean-field time step "
                                 "eta/m)")
            _set(self, "step", check_positive_scalar(self.step, "step"))
        elif self.step is not None:
            raise ValueError("step applies to method='gd' only; method='flow' controls its "
                             "steps through rtol and atol")


@dataclass(frozen=True)
class Recording:
    """When to record, what to show, and what to store with the trajectory.

    Attributes
    ----------
    times : array_like, optional
        Strictly increasing times in ``[0, t_end]``; for ``"gd"`` each moves to the nearest
        step. Default: ``n_records`` equally spaced times including 0 and ``t_end`` (for
        ``"gd"`` with fewer steps than that, every step).
    n_records : int
        Number of default record times (>= 2).
    progress : bool
        Show a tqdm progress bar.
    meta : dict, optional
        Extra JSON-serializable metadata stored in the trajectory (e.g. a seed).

    Examples
    --------
    >>> Recording(n_records=3).grid(1.0)
    array([0. , 0.5, 1. ])
    """

    times: ArrayLike | None = None
    n_records: int = 21
    progress: bool = False
    meta: dict | None = field(default=None)

    def __post_init__(self) -> None:
        if self.times is None:
            n = check_positive_int(self.n_records, "n_records")
            if n < 2:
                raise ValueError(f"n_records must be >= 2 (the records include 0 and t_end), "
                                 f"got {n}")
        else:
            rt = np.array(as_float_array(self.times, "record_times", min_ndim=1, max_ndim=1),
                          dtype=np.float64)
            if np.any(np.diff(rt) <= 0):
                raise ValueError("record_times must be strictly increasing")
            _set(self, "times", rt)
        check_bool(self.progress, "progress")
        if self.meta is not None:
            if not isinstance(self.meta, dict):
                raise TypeError(f"meta must be a dict, got {type(self.meta).__name__}")
            try:
                _set(self, "meta", json.loads(json.dumps(jsonable(self.meta))))
            except (TypeError, ValueError) as exc:
                raise TypeError(f"meta must be JSON-serializable: {exc}") from None

    def grid(self, t_end: float) -> NDArray:
        """The record times of a run to ``t_end``."""
        if self.times is None:
            return np.linspace(0.0, t_end, self.n_records)
        rt = np.asarray(self.times)
        if rt[0] < 0 or rt[-1] > t_end:
            raise ValueError(f"record_times must lie within [0, t_end] = [0, {t_end}], got "
                             f"[{rt[0]}, {rt[-1]}]")
        return rt


@dataclass(frozen=True)
class Checkpointing:
    """Where and how often a run saves itself, and whether it resumes.

    Attributes
    ----------
    path : path, optional
        A ``.npz`` checkpoint, written atomically every ``every`` steps (``"gd"``) or records
        (``"flow"``; default: at every record) and at the end. If it exists and ``resume``
        is true, the run continues from it and ends bit-identical to an uninterrupted run
        (on the same numerical libraries and thread counts); a checkpoint of a different run
        raises ``ValueError``, and a finished one is returned as is. The run holds a lock on
        the checkpoint (``<path>.lock``): a second run on the same checkpoint raises
        :class:`bngeom._io.LockedError` at once instead of mixing their states.
    every : int, optional
    resume : bool
        Resume from an existing checkpoint (else start over and overwrite it).

    Examples
    --------
    >>> Checkpointing("run.npz", every=10).path.name
    'run.npz'
    """

    path: str | os.PathLike | None = None
    every: int | None = None
    resume: bool = True

    def __post_init__(self) -> None:
        if self.every is not None:
            _set(self, "every", check_positive_int(self.every, "checkpoint_every"))
        check_bool(self.resume, "resume")
        if self.path is not None:
            if not isinstance(self.path, (str, os.PathLike)):
                raise TypeError(f"checkpoint must be a path, got {type(self.path).__name__}")
            path = Path(self.path)
            if not path.parent.is_dir():
                raise ValueError(f"checkpoint directory {path.parent} does not exist")
            if path.is_dir():
                raise ValueError(f"checkpoint {path} is a directory, not a file")
            _set(self, "path", path)


# bngeom 0.1's keyword -> (options class, field).
_KEYWORDS = {
    "activation": (Model, "activation"), "loss": (Model, "loss"), "radius": (Model, "radius"),
    "memory_budget": (Model, "memory_budget"),
    "method": (Solver, "method"), "step": (Solver, "step"), "rtol": (Solver, "rtol"),
    "atol": (Solver, "atol"), "integrator": (Solver, "integrator"),
    "record_times": (Recording, "times"), "n_records": (Recording, "n_records"),
    "progress": (Recording, "progress"), "meta": (Recording, "meta"),
    "checkpoint": (Checkpointing, "path"), "checkpoint_every": (Checkpointing, "every"),
    "resume": (Checkpointing, "resume"),
}


def options_from_keywords(given: dict[type, Any], keywords: dict[str, Any],
                          function: str = "simulate") -> dict[type, Any]:
    """Merge 0.1-style keywords into the option objects (keywords win over the objects).

    ``given`` maps each options class to an instance or ``None`` (its defaults).

    Examples
    --------
    >>> opts = options_from_keywords({Solver: None}, {"method": "gd", "step": 0.5})
    >>> opts[Solver].step
    0.5
    """
    fields: dict[type, dict[str, Any]] = {cls: {} for cls in given}
    for key, value in keywords.items():
        if key not in _KEYWORDS or _KEYWORDS[key][0] not in given:
            raise TypeError(f"{function}() got an unexpected keyword argument {key!r}")
        cls, name = _KEYWORDS[key]
        fields[cls][name] = value
    merged = {}
    for cls, obj in given.items():
        if obj is not None and not isinstance(obj, cls):
            raise TypeError(f"{cls.__name__.lower()} must be a bngeom.dynamics."
                            f"{cls.__name__}, got {type(obj).__name__}")
        base = cls() if obj is None and not fields[cls] else obj
        merged[cls] = (cls(**fields[cls]) if base is None
                       else dataclasses.replace(base, **fields[cls]))
    return merged
