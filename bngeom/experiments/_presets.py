"""Size presets shared by the experiments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def resolve_preset(presets: Mapping[str, Mapping[str, Any]], size: str | None, quick: bool,
                   overrides: Mapping[str, Any], label: str) -> tuple[str, dict[str, Any]]:
    """The settings of preset ``size`` (default ``quick`` or ``full``) updated by ``overrides``.

    Raises ``ValueError`` naming the unknown preset or settings.

    Examples
    --------
    >>> resolve_preset({"quick": {"m": 2}, "full": {"m": 9}}, None, True, {}, "demo")
    ('quick', {'m': 2})
    """
    name = size if size is not None else ("quick" if quick else "full")
    if name not in presets:
        raise ValueError(f"size must be one of {sorted(presets)}, got {name!r}")
    config = dict(presets[name])
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown {label} settings {sorted(unknown)}; allowed: {sorted(config)}")
    config.update(overrides)
    return name, config
