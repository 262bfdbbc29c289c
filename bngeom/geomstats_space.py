"""``bngeom.geomstats_space`` is :mod:`bngeom.adapters.geomstats`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.adapters import geomstats as _target

sys.modules[__name__] = _target
