#!/usr/bin/env python
"""Run the bngeom benchmark suite: ``python benchmarks/run.py [--quick] [--out FILE]``.

The same as ``bngeom bench``; the suite lives in :mod:`bngeom.bench` so that it
also works from an installed package. See ``benchmarks/README.md``.
"""

import sys

from bngeom.bench import main

if __name__ == "__main__":
    sys.exit(main())
