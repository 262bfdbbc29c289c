"""``bngeom.sweeps`` is :mod:`bngeom.experiments.sweeps`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.experiments import sweeps as _target

sys.modules[__name__] = _target
