r"""Options of :func:`bngeom.wasserstein2`, as small frozen dataclasses.

Each class checks its fields when it is built (``ValueError``/``TypeError`` naming the
field), so a solver never sees a bad option. :class:`WassersteinOptions` groups the
three; :func:`bngeom.wasserstein2` also accepts any one of them alone, and its 0.1
keywords (``reg=``, ``tol=``, ``memory_budget=``, ...) are mapped onto them by
:func:`resolve_options`.

Examples
--------
>>> SinkhornOptions(reg=1e-3).reg
0.001
>>> WassersteinOptions(memory=MemoryOptions(budget=2**30)).memory.budget
1073741824.0
>>> SinkhornOptions(eps_scaling=1.5)
Traceback (most recent call last):
    ...
ValueError: eps_scaling must be in (0, 1), got 1.5
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from bngeom._validation import check_bool, check_positive_int, check_positive_scalar

__all__ = ["DEFAULT_MEMORY_BUDGET", "MemoryOptions", "MultiscaleOptions", "SinkhornOptions",
           "WassersteinOptions", "resolve_options"]

#: Default memory budget (bytes) for dense cost matrices and screening blocks.
DEFAULT_MEMORY_BUDGET = 512 * 2**20

_SOLVERS = ("auto", "dense", "multiscale", "pot")


@dataclass(frozen=True)
class SinkhornOptions:
    r"""Entropic transport (``method="sinkhorn"``).

    Attributes
    ----------
    reg : float
        Regularization :math:`\varepsilon` in the units of :math:`d_M^2`. The result
        exceeds the exact :math:`W_2^2` by at most about :math:`\varepsilon\log(N_1N_2)`.
    tol : float
        Stop when the L1 error of the plan's first marginal is below ``tol``.
    max_iter : int
        Most iterations in the final stage.
    solver : {"auto", "dense", "multiscale", "pot"}
        ``"auto"`` is ``"dense"`` up to ``MultiscaleOptions.dense_limit`` cost entries,
        else ``"multiscale"``; ``"pot"`` is POT's :func:`ot.sinkhorn` (log domain).
    eps_scaling : float
        Factor in (0, 1) between successive :math:`\varepsilon` of the annealing schedule.

    Examples
    --------
    >>> SinkhornOptions(reg=0.0)
    Traceback (most recent call last):
        ...
    ValueError: reg must be > 0, got 0.0
    """

    reg: float = 1e-2
    tol: float = 1e-4
    max_iter: int = 100_000
    solver: Literal["auto", "dense", "multiscale", "pot"] = "auto"
    eps_scaling: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "reg", check_positive_scalar(self.reg, "reg"))
        object.__setattr__(self, "tol", check_positive_scalar(self.tol, "tol"))
        object.__setattr__(self, "max_iter", check_positive_int(self.max_iter, "max_iter"))
        if not isinstance(self.solver, str) or self.solver not in _SOLVERS:
            raise ValueError("solver must be 'auto', 'dense', 'multiscale' or 'pot', "
                             f"got {self.solver!r}")
        q = check_positive_scalar(self.eps_scaling, "eps_scaling")
        if q >= 1:
            raise ValueError(f"eps_scaling must be in (0, 1), got {self.eps_scaling}")
        object.__setattr__(self, "eps_scaling", q)


@dataclass(frozen=True)
class MultiscaleOptions:
    """The multiscale Sinkhorn solver (problems beyond ``dense_limit`` entries).

    Attributes
    ----------
    truncation : float
        Pairs whose plan entry is below ``exp(-truncation)`` times its row scale are
        dropped (certified by a final screening pass).
    dense_limit : int
        Largest number of cost entries solved densely by ``solver="auto"``.
    coarse_size : int
        Particles per side of the coarse problem that warm-starts the solve.

    Examples
    --------
    >>> MultiscaleOptions(coarse_size=128).coarse_size
    128
    """

    truncation: float = 30.0
    dense_limit: int = 2**21
    coarse_size: int = 512

    def __post_init__(self) -> None:
        object.__setattr__(self, "truncation",
                           check_positive_scalar(self.truncation, "truncation"))
        object.__setattr__(self, "dense_limit", check_positive_int(self.dense_limit,
                                                                   "dense_limit"))
        object.__setattr__(self, "coarse_size", check_positive_int(self.coarse_size,
                                                                   "coarse_size"))


@dataclass(frozen=True)
class MemoryOptions:
    """Memory limits.

    Attributes
    ----------
    budget : float
        Bytes allowed for a dense cost matrix (exact and dense solvers) and for each
        screening block (multiscale); the 0.1 keyword is ``memory_budget``.

    Examples
    --------
    >>> MemoryOptions(budget=-1)
    Traceback (most recent call last):
        ...
    ValueError: memory_budget must be > 0, got -1.0
    """

    budget: float = DEFAULT_MEMORY_BUDGET

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", check_positive_scalar(self.budget, "memory_budget"))


@dataclass(frozen=True)
class WassersteinOptions:
    """All options of :func:`bngeom.wasserstein2`.

    Attributes
    ----------
    sinkhorn, multiscale, memory : SinkhornOptions, MultiscaleOptions, MemoryOptions
        The three groups.
    validate : bool
        Check the particles, weights and covariance (the keyword ``validate=`` of
        :func:`bngeom.wasserstein2` sets it); pass False only for inputs known valid.

    Examples
    --------
    >>> WassersteinOptions().sinkhorn.reg
    0.01
    """

    sinkhorn: SinkhornOptions = field(default_factory=SinkhornOptions)
    multiscale: MultiscaleOptions = field(default_factory=MultiscaleOptions)
    memory: MemoryOptions = field(default_factory=MemoryOptions)
    validate: bool = True

    def __post_init__(self) -> None:
        check_bool(self.validate, "validate")
        for f in fields(self):
            if f.name not in _GROUPS:
                continue
            value = getattr(self, f.name)
            if not isinstance(value, _GROUPS[f.name]):
                raise TypeError(f"WassersteinOptions.{f.name} must be a "
                                f"{_GROUPS[f.name].__name__}, got {type(value).__name__}")


_GROUPS = {"sinkhorn": SinkhornOptions, "multiscale": MultiscaleOptions, "memory": MemoryOptions}
#: The 0.1 keywords of wasserstein2: keyword -> (group, field).
_LEGACY = {"reg": ("sinkhorn", "reg"), "tol": ("sinkhorn", "tol"),
           "max_iter": ("sinkhorn", "max_iter"), "solver": ("sinkhorn", "solver"),
           "eps_scaling": ("sinkhorn", "eps_scaling"),
           "truncation": ("multiscale", "truncation"),
           "dense_limit": ("multiscale", "dense_limit"),
           "coarse_size": ("multiscale", "coarse_size"),
           "memory_budget": ("memory", "budget"), "validate": ("", "validate")}


def resolve_options(options: Any, legacy: dict[str, Any]) -> WassersteinOptions:
    """One :class:`WassersteinOptions` from ``options`` and the 0.1 keywords.

    ``options`` is None, a :class:`WassersteinOptions`, or one of its three groups;
    keywords of ``legacy`` (``reg=``, ``memory_budget=``, ``validate=``, ...) replace the
    matching field. An unknown keyword raises ``TypeError``, as Python does.

    Examples
    --------
    >>> resolve_options(SinkhornOptions(reg=0.5), {"memory_budget": 1024}).memory.budget
    1024.0
    """
    if options is None:
        opts = WassersteinOptions()
    elif isinstance(options, WassersteinOptions):
        opts = options
    else:
        group = next((k for k, cls in _GROUPS.items() if isinstance(options, cls)), None)
        if group is None:
            raise TypeError("options must be a WassersteinOptions, SinkhornOptions, "
                            f"MultiscaleOptions or MemoryOptions, got {type(options).__name__}")
        opts = replace(WassersteinOptions(), **{group: options})
    unknown = sorted(set(legacy) - set(_LEGACY))
    if unknown:
        raise TypeError(f"wasserstein2() got an unexpected keyword argument {unknown[0]!r}")
    changes: dict[str, dict[str, Any]] = {}
    for key, value in legacy.items():
        group, name = _LEGACY[key]
        changes.setdefault(group, {})[name] = value
    top = changes.pop("", {})
    return replace(opts, **top,
                   **{g: replace(getattr(opts, g), **kw) for g, kw in changes.items()})
