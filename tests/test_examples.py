"""Every script in examples/ runs in quick mode (CI runs them all, so none can rot).

The list is read from the directory, so a new example is picked up automatically. Each
script must accept ``--quick`` and exit 0; it runs in a temporary working directory, and
scripts that write files (those declaring an ``--out`` option) get a temporary ``--out DIR``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    for required in ("figure1_anisotropy.py", "figure2_magnitude.py", "figure3_first_step.py",
                     "theorem2_check.py"):
        assert required in names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_in_quick_mode(script, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, str(script), "--quick"]
    if "--out" in script.read_text():
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (f"{script.name} exited {proc.returncode}\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if script.name == "pymanopt_bn_network.py":
        # issue 3: TrustRegions trains the BN network and prints the falling loss
        start, end = (float(v) for v in re.search(
            r"TrustRegions: loss (\S+) -> (\S+)", proc.stdout).groups())
        assert end < 0.1 * start, proc.stdout[-2000:]
