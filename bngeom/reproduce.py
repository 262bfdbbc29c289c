"""``bngeom.reproduce`` is :mod:`bngeom.experiments.reproduce`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.experiments import reproduce as _target

sys.modules[__name__] = _target
