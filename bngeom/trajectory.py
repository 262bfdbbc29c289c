"""``bngeom.trajectory`` is :mod:`bngeom.dynamics.trajectory`.

The import path of 0.1, kept after the move (see docs/architecture.md).
"""

import sys

from bngeom.dynamics import trajectory as _target

sys.modules[__name__] = _target
