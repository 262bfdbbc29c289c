"""``bngeom.model`` is :mod:`bngeom.nn.model`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.nn import model as _target

sys.modules[__name__] = _target
