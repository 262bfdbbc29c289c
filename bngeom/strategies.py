"""``bngeom.strategies`` is :mod:`bngeom.testing.strategies`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.testing import strategies as _target

sys.modules[__name__] = _target
