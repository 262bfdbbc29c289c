"""``bngeom.charts`` is :mod:`bngeom.geometry.charts`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.geometry import charts as _target

sys.modules[__name__] = _target
