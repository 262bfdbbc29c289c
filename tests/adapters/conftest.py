"""Markers of geomstats' test-case classes, run in test_geomstats_suites.py.

The project runs pytest with ``--strict-markers``; geomstats tags its generic tests with
these marks, which must be registered before its test-case modules are imported.
"""

_GEOMSTATS_MARKERS = {
    "random": "geomstats: test on random data",
    "vec": "geomstats: vectorization test",
    "shape": "geomstats: output-shape test",
    "mathprop": "geomstats: mathematical-property test",
    "type": "geomstats: dtype test",
    "validation": "geomstats: validation test",
    "ignore": "geomstats: test without data (not collected)",
}


def pytest_configure(config):
    for name, text in _GEOMSTATS_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
