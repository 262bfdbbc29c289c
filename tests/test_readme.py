"""The README's quick start runs as written, and its set-up commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quick_start_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python quick start"
    namespace = {"__name__": "__readme__"}  # the blocks build on each other, as in a session
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    assert len(commands) == 2, commands
    install_and_test = commands[1].strip()
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test in ci
