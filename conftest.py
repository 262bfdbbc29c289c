"""Shared test configuration (tests, docstring examples and docs).

The default hypothesis profile runs at least 100 examples per property,
derandomized so that CI runs are reproducible; ``HYPOTHESIS_PROFILE=thorough``
runs 1000.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# The 0.1 module paths (bngeom/charts.py, ...) are aliases of moved modules: each replaces
# itself in sys.modules by its new home, so it has no doctests of its own to collect.
_HERE = os.path.dirname(os.path.abspath(__file__))
collect_ignore = [
    os.path.join("bngeom", name) for name in sorted(os.listdir(os.path.join(_HERE, "bngeom")))
    if name.endswith(".py")
    and "sys.modules[__name__] = _target" in open(os.path.join(_HERE, "bngeom", name)).read()
]
