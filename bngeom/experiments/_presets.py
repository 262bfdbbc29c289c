"""Size presets shared by the experiments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bngeom._validation import check_positive_int, check_positive_scalar

#: Settings that are counts (integers >= 1) and durations or steps (finite, > 0).
_COUNTS = ("ref_width", "n_seeds", "n_samples", "width", "n_records")
_POSITIVE = ("t_end", "step", "variant_t_end")


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
    for key in _COUNTS:
        if key in config:
            config[key] = check_positive_int(config[key], key)
    for key in _POSITIVE:
        if key in config:
            config[key] = check_positive_scalar(config[key], key)
    if "widths" in config:
        widths = config["widths"]
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
            raise TypeError(f"widths must be a sequence of integers, got {type(widths).__name__}")
        widths = tuple(check_positive_int(w, "widths") for w in widths)
        if len(set(widths)) < 2:
            raise ValueError(f"widths must hold at least two different widths (a rate needs "
                             f"two), got {list(widths)}")
        config["widths"] = widths
    return name, config

