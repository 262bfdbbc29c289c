#!/usr/bin/env python
"""Run the bngeom benchmark suite: ``python benchmarks/run.py [--quick] [--out FILE]``.

The suite lives beside this file (``benchmarks/bench_suite.py``), outside the installed
package, as geomstats and POT keep theirs; ``bngeom bench`` runs this script from a
checkout. See ``benchmarks/README.md``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_suite import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
