"""The same seed gives the same numbers in another process (issue 7, item 4).

Every random generator of the toolkit is listed in GENERATORS as an expression of
``seed``; each is evaluated here and in a fresh interpreter, and the bytes of the
results must be identical.
"""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

GENERATORS = {
    "geometry.random_point": "geo.random_point(np.diag([4.0, 1.0, 0.25]), 7, rng=seed)",
    "geometry.random_tangent_vector": (
        "geo.random_tangent_vector(geo.random_point(np.diag([4.0, 1.0, 0.25]), 7, rng=seed),"
        " np.diag([4.0, 1.0, 0.25]), rng=seed + 1)"),
    "data.anisotropic_gaussian": "data.anisotropic_gaussian(50, [3.0, 1.0], rng=seed, rotate=True)",
    "data.random_rotation": "data.random_rotation(4, rng=seed)",
    "data.teacher_network": "data.teacher_network(3, 4, rng=seed)",
    "data.make_teacher_dataset": "data.make_teacher_dataset(40, [2.0, 1.0], rng=seed)",
    "checks.check_theorem2": "checks.check_theorem2(seed, n_samples=32, dim=3, width=4)['details']",
    "BNSpace.random_point": "BNSpace(np.diag([4.0, 1.0])).random_point(3, rng=seed)",
    "BNSpace.random_tangent_vec": (
        "BNSpace(np.diag([4.0, 1.0])).random_tangent_vec("
        "BNSpace(np.diag([4.0, 1.0])).random_point(3, rng=seed), rng=seed)"),
    "BNManifold.random_point": "BNManifold(np.diag([4.0, 1.0]), 3, rng=seed).random_point()",
    "make_problem": ("make_problem(*data.anisotropic_gaussian(20, [2.0, 1.0], rng=seed)[:1],"
                     " np.arange(20.0), 3, rng=seed)[1].random_point()"),
    "dynamics.simulate": (
        "simulate(data.make_teacher_dataset(16, [2.0, 1.0], rng=seed), "
        "np.eye(2) + 0.5, np.ones(2), t_end=0.2, n_records=3).loss"),
    "dynamics.train": (
        "train(data.make_teacher_dataset(32, [2.0, 1.0], rng=seed), np.eye(2) + 0.5, "
        "np.ones(2), lr=1.0, steps=6, batch_size=8, batch_norm='batch', momentum=0.9, "
        "rng=seed).W"),
    "section4.anisotropy_experiment": (
        "section4.anisotropy_experiment(quick=True, seed=seed, n_neurons=3, t_end=5.0)"),
    "theorem4.run_theorem4": (
        "theorem4.run_theorem4(size='quick', seed=seed, widths=(10, 40), ref_width=160, "
        "n_seeds=1, n_samples=32, t_end=0.2, n_records=2)['sup_w2']"),
    "theorem5.run_theorem5": (
        "theorem5.run_theorem5(size='quick', seed=seed, width=50, n_samples=32, t_end=2.0, "
        "step=0.5, n_records=3, variant_t_end=1.0, variants=('separated',))['runs']"),
}

PRELUDE = (
    "import numpy as np\n"
    "from bngeom import geometry as geo, data, checks, BNSpace, BNManifold, make_problem\n"
    "from bngeom.dynamics.flows import simulate\n"
    "from bngeom.dynamics.training import train\n"
    "from bngeom.experiments import section4, theorem4, theorem5\n"
)


def _digest(value) -> str:
    h = hashlib.sha256()

    def feed(v):
        if isinstance(v, np.ndarray):
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (tuple, list)):
            for x in v:
                feed(x)
        elif isinstance(v, dict):
            for k in sorted(v):
                h.update(str(k).encode())
                feed(v[k])
        elif hasattr(v, "__dataclass_fields__"):
            for k in v.__dataclass_fields__:
                feed(getattr(v, k))
        else:
            h.update(repr(v).encode())

    feed(value)
    return h.hexdigest()


def _evaluate_all(seed: int) -> dict:
    namespace: dict = {}
    exec(PRELUDE, namespace)
    namespace["seed"] = seed
    return {name: _digest(eval(expr, namespace)) for name, expr in GENERATORS.items()}


SCRIPT = (
    "import json, sys\n"
    "sys.path.insert(0, {tests!r})\n"
    "from test_determinism import _evaluate_all\n"
    "print(json.dumps(_evaluate_all({seed})))\n"
)


@pytest.mark.parametrize("seed", [0, 12345])
def test_same_seed_same_results_across_processes(seed):
    from pathlib import Path

    here = _evaluate_all(seed)
    code = SCRIPT.format(tests=str(Path(__file__).parent), seed=seed)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there == here


def test_different_seeds_differ():
    a, b = _evaluate_all(0), _evaluate_all(1)
    assert all(a[k] != b[k] for k in GENERATORS)
