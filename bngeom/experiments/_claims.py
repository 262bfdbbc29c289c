"""The claim record of ``bngeom reproduce`` for the training experiments (docs/math.md §11)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bngeom._io import jsonable


def make_claim(cid: str, description: str, measured: float, predicted: float, tolerance: float,
               criterion: str, details: dict[str, Any], passed: bool | None = None
               ) -> dict[str, Any]:
    """A report entry; ``passed`` defaults to ``|measured - predicted| <= tolerance``.

    Examples
    --------
    >>> make_claim("x", "demo", 1.05, 1.0, 0.1, "|m - p| <= tol", {})["passed"]
    True
    """
    measured = float(measured)
    if passed is None:
        passed = bool(np.isfinite(measured) and abs(measured - predicted) <= tolerance)
    return {"id": cid, "description": description, "measured": measured,
            "predicted": float(predicted), "tolerance": float(tolerance),
            "passed": bool(passed), "criterion": criterion,
            "details": jsonable(details, strict=False)}
