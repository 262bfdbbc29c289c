"""``bngeom.functions`` is :mod:`bngeom.nn.functions`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.nn import functions as _target

sys.modules[__name__] = _target
