"""bngeom's geomstats spaces on geomstats' autograd and pytorch backends (issue 12).

geomstats picks its backend once, at import, from ``GEOMSTATS_BACKEND``; each backend
therefore runs in its own process:

* geomstats' own suites (test_geomstats_suites.py) pass there too, with the same
  skips plus the backend's own, each with its reason;
* the values of the metric, the geodesic operations and the curvature agree with the
  numpy backend's to 1e-12, and come back in the backend's array type.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BACKENDS = ["autograd", "pytorch"]

#: Computes a few quantities on BNSpace and prints them as JSON (with the output type).
VALUES_SCRIPT = """
import json, sys
import numpy as np
import geomstats.backend as gs
from bngeom import BNSpace

cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
space = BNSpace(cov, radius=1.5)
p = space.random_point(4, rng=0)
v = space.random_tangent_vec(p, rng=1) / 2
w = space.random_tangent_vec(p, rng=2) / 2
m = space.metric
q = m.exp(v, p)
args = [gs.array(x) for x in (p, v, w, q)]
P, V, W, Q = args
out = {
    "exp": m.exp(V, P), "log": m.log(Q, P), "dist": m.dist(P, Q),
    "inner_product": m.inner_product(V, W, P), "metric_matrix": m.metric_matrix(P),
    "cometric_matrix": m.cometric_matrix(P), "curvature": m.curvature(V, W, V, P),
    "sectional_curvature": m.sectional_curvature(V, W, P),
    "parallel_transport": m.parallel_transport(W, P, direction=V),
    "belongs": space.belongs(Q),
}
json.dump({k: [type(x).__module__.split(".")[0], np.asarray(x).tolist()]
           for k, x in out.items()}, sys.stdout)
"""


def _run(backend: str, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, GEOMSTATS_BACKEND=backend, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@functools.cache
def _values(backend: str) -> dict:
    result = _run(backend, ["-c", VALUES_SCRIPT], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_agree_with_the_numpy_backend(backend):
    expected = _values("numpy")
    got = _values(backend)
    array_type = {"autograd": "numpy", "pytorch": "torch"}[backend]
    for name, (kind, value) in got.items():
        assert kind == array_type, (name, kind)
        np.testing.assert_allclose(np.asarray(value, dtype=float),
                                   np.asarray(expected[name][1], dtype=float),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


#: Under autograd: geomstats' derivative of the metric matrix against central differences.
DERIVATIVE_SCRIPT = """
import numpy as np
from bngeom import BNSpace

cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
space = BNSpace(cov, radius=1.5, validate=False)   # finite differences leave N_Sigma
p = space.random_point(rng=0)
jac = space.metric.inner_product_derivative_matrix(p)      # (..., i, j, k) = d M_ij / d p_k
h = 1e-6
fd = np.stack([(space.metric.metric_matrix(p + h * e) - space.metric.metric_matrix(p - h * e))
               / (2 * h) for e in np.eye(4)], axis=-1)
print(float(np.max(np.abs(np.asarray(jac) - fd))), float(np.max(np.abs(fd))))
"""


def test_autograd_derivative_of_the_metric_matrix_matches_finite_differences():
    result = _run("autograd", ["-c", DERIVATIVE_SCRIPT], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    error, scale = map(float, result.stdout.split())
    assert scale > 0.1            # the extension off N_Sigma is not constant for this Sigma
    assert error <= 1e-7 * scale


def test_pytorch_tensors_requiring_grad_are_refused_with_a_type_error():
    script = (
        "import numpy as np, torch\n"
        "from bngeom import BNSpace\n"
        "space = BNSpace(np.eye(3))\n"
        "p = torch.as_tensor(space.random_point(2, rng=0)).requires_grad_(True)\n"
        "try:\n"
        "    space.metric.metric_matrix(p)\n"
        "except TypeError as err:\n"
        "    print(err)\n")
    result = _run("pytorch", ["-c", script], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "base_point is a torch tensor that requires grad" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_geomstats_suites_pass_on_backend(backend):
    result = _run(backend, ["-m", "pytest", str(HERE / "test_geomstats_suites.py"), "-q",
                            "-p", "no:cacheprovider", "-o", "addopts=-ra --strict-markers"])
    tail = result.stdout[-4000:]
    assert result.returncode == 0, tail + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", summary)}
    assert counts.get("failed", 0) == 0 and counts.get("error", 0) == 0, summary
    assert counts["passed"] > 1000, summary
