"""The built distributions hold the whole package: build the sdist and the wheel, install the
wheel (not editable) into a fresh virtual environment, and run it from outside the checkout.

A module left out of the package, or a file the package reads at run time that is not shipped,
fails here, not on a user's machine.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every module and name of the README's table of entry points, by its documented import path.
ENTRY_POINTS = """
import importlib
import bngeom
names = {
    "bngeom.geometry": ["cometric_matrix", "metric_matrix", "inner_product", "norm",
                        "riemannian_gradient", "riemannian_hessian", "exp", "log", "dist",
                        "geodesic", "parallel_transport", "to_tangent", "random_point",
                        "NSigma", "curvature", "sectional_curvature", "ricci_tensor",
                        "scalar_curvature", "pinv_metric_matrix", "bn_cometric_matrix"],
    "bngeom.charts": ["normalize_to_manifold", "normalize_to_sphere", "covariance_norm",
                      "neuron_radii"],
    "bngeom.model": ["bn_forward", "vanilla_forward", "bn_loss", "vanilla_loss",
                     "bn_loss_and_gradients", "vanilla_loss_and_gradients"],
    "bngeom.data": ["center", "covariance", "anisotropic_gaussian", "teacher_network",
                    "teacher_targets", "Dataset", "make_teacher_dataset"],
    "bngeom.functions": ["get_activation", "get_loss"],
    "bngeom.checks": ["check_proposition1", "check_theorem2", "run_checks"],
    "bngeom.dynamics": ["simulate", "velocity", "mean_field_step"],
    "bngeom.trajectory": ["Trajectory"],
    "bngeom.strategies": ["points", "tangent_vectors"],
    "bngeom.experiments": ["section4", "theorem4", "theorem5", "chaos", "minibatch",
                           "spherical_motion", "exp_lr", "sgd_reference", "claims"],
    "bngeom.cli": ["main"],
    "bngeom.adapters.geoopt": ["BNSphere", "BNSphereExact", "NeuronManifold",
                               "NeuronManifoldExact"],
    "bngeom": ["BNSpace", "BNMetric", "BNManifold", "make_problem", "wasserstein2",
               "run_sweep", "simulate", "Trajectory", "train", "load_dataset"],
}
for module, attributes in names.items():
    mod = importlib.import_module(module)
    for attribute in attributes:  # a name, or a submodule (``from module import attribute``)
        if not hasattr(mod, attribute):
            importlib.import_module(f"{module}.{attribute}")
assert bngeom.__file__.startswith(__import__("sys").prefix), bngeom.__file__
print("entry points ok", bngeom.__version__)
"""


def _readme_modules() -> set[str]:
    """The ``bngeom...`` names in the first column of the README's entry-point table."""
    table = (ROOT / "README.md").read_text().split("## Public entry points", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `bngeom")]
    return {name for row in rows for name in re.findall(r"`(bngeom[\w.]*)`", row.split("|")[1])}


def test_entry_point_script_covers_the_readme_table():
    for name in _readme_modules():
        head = name.split(".")[1] if "." in name else ""
        assert f'"{name}"' in ENTRY_POINTS or f'"{head}"' in ENTRY_POINTS, name


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    pytest.importorskip("build")
    # Build from a copy without the checkout's build leftovers (an old egg-info's file list
    # would smuggle files into the sdist), as from a clean clone.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "*.egg-info", "build", "dist", "site", "__pycache__", ".*cache", ".hypothesis"))
    dist = tmp_path / "dist"
    # The sdist first, then the wheel built from it: a file missing from either shows up.
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
                   check=True, capture_output=True, text=True)
    wheels = list(dist.glob("bngeom-*.whl"))
    assert len(wheels) == 1 and list(dist.glob("bngeom-*.tar.gz")), os.listdir(dist)

    # A fresh environment that sees this one's dependencies but not its (editable) bngeom:
    # paths listed in a .pth file are added without running the .pth files inside them.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "parent.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # --ignore-installed: the parent environment's editable bngeom must not count, nor be removed.
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index",
                    "--ignore-installed", str(wheels[0])],
                   check=True, capture_output=True, text=True)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    imported = subprocess.run([python, "-c", ENTRY_POINTS], **run)
    assert imported.returncode == 0, imported.stderr
    assert "entry points ok" in imported.stdout
    checked = subprocess.run([env_dir / "bin" / "bngeom", "check"], **run)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 failed" in checked.stdout
