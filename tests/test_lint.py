"""The code base stays `ruff` clean (the project's configuration in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    try:
        # The whole repository (ruff honours .gitignore).
        proc = subprocess.run([*cmd, "check", "."], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    except FileNotFoundError:
        pytest.fail("ruff is not installed: install the test extra, pip install -e '.[test]'")
    assert proc.returncode == 0, proc.stdout + proc.stderr
