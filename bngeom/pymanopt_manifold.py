"""``bngeom.pymanopt_manifold`` is :mod:`bngeom.adapters.pymanopt`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.adapters import pymanopt as _target

sys.modules[__name__] = _target
