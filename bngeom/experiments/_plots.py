"""The frame every panel of the experiments' figures shares: labels, title, legend, ticks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def frame(ax: Any, xlabel: str, ylabel: str | None, title: str,
          title_size: float | None = 10) -> None:
    """Label a panel's axes (``ylabel`` None: none), title it and draw its legend.

    ``title_size`` None keeps matplotlib's default title size.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> _ = ax.plot([1, 2], label="line")
    >>> frame(ax, "x", "y", "demo")
    >>> ax.get_title(), ax.get_legend() is not None
    ('demo', True)
    """
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title_size is None:
        ax.set_title(title)
    else:
        ax.set_title(title, fontsize=title_size)
    ax.legend(fontsize=8)


def width_ticks(ax: Any, positions: Sequence[float], widths: Sequence[int]) -> None:
    """Log x axis ticks at ``positions`` labelled by the widths, without minor ticks.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> ax.set_xscale("log")
    >>> width_ticks(ax, [10.0, 100.0], [10, 100])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['10', '100']
    """
    ax.set_xticks(positions, [str(int(w)) for w in widths])
    ax.set_xticks([], minor=True)
