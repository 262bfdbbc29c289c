"""The one claim record of ``bngeom check`` and ``bngeom reproduce``.

Every experiment turns its measurements into a :class:`Claim` through :func:`make_claim`: what
was predicted, what was measured, the tolerance, whether it passed and by which criterion, and
the details that explain it. Claims are plain dictionaries (typed as a ``TypedDict``) so that
they travel between worker processes and into ``report.json`` as they are.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from bngeom._io import jsonable

__all__ = ["Claim", "make_claim", "error_claim"]


class Claim(TypedDict):
    """A checked claim: whether ``measured`` meets ``predicted`` by ``criterion``."""

    id: str
    description: str
    measured: float | None
    predicted: float
    tolerance: float
    passed: bool
    criterion: str
    details: dict[str, Any]


def make_claim(cid: str, description: str, measured: float | None, predicted: float,
               tolerance: float, criterion: str, details: dict[str, Any],
               passed: bool | None = None) -> Claim:
    """A claim; ``passed`` defaults to ``|measured - predicted| <= tolerance`` (finite measured).

    ``details`` is stored as JSON data (arrays as lists, non-finite floats as strings).

    Examples
    --------
    >>> make_claim("x", "demo", 1.05, 1.0, 0.1, "|m - p| <= tol", {})["passed"]
    True
    >>> make_claim("y", "demo", None, 1.0, 0.1, "never measured", {})["passed"]
    False
    """
    value = None if measured is None else float(measured)
    if passed is None:
        passed = value is not None and bool(np.isfinite(value)
                                            and abs(value - predicted) <= tolerance)
    return Claim(id=cid, description=description, measured=value, predicted=float(predicted),
                 tolerance=float(tolerance), passed=bool(passed), criterion=criterion,
                 details=jsonable(details, strict=False))


def error_claim(cid: str, description: str, measured: float, tolerance: float,
                details: dict[str, Any]) -> Claim:
    """A claim that a measured error (>= 0, such as a largest relative discrepancy) is zero.

    Predicted 0; passed when ``measured`` is finite and at most ``tolerance``.

    Examples
    --------
    >>> error_claim("z", "demo", 1e-12, 1e-10, {})["criterion"]
    '|measured - predicted| <= tolerance'
    """
    return make_claim(cid, description, measured, 0.0, tolerance,
                      "|measured - predicted| <= tolerance", details)
