"""The benchmark suite's quick mode runs end to end (issue 6); timings are never asserted."""

import json
import math
import subprocess
import sys
from pathlib import Path

import bench_suite as bench
import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"group", "id", "target", "contenders", "unit", "ratio", "goal", "passed", "status",
        "note"}


@pytest.fixture(scope="module")
def quick_rows():
    meta = {}
    rows = bench.run(quick=True, repeats=1, meta=meta)
    return rows, meta


def test_quick_run_covers_every_group(quick_rows):
    rows, meta = quick_rows
    assert {r["group"] for r in rows} == set(bench.GROUPS)
    for r in rows:
        assert KEYS <= set(r), r
        assert r["status"] in ("measured", "skipped"), (r["id"], r["note"])
        if r["status"] == "skipped":
            assert r["note"], r["id"]            # a skipped row says why
            continue
        assert r["ratio"] is not None and math.isfinite(r["ratio"]), r["id"]
        assert all(t is None or (math.isfinite(t) and t >= 0) for t in r["contenders"].values())
    assert meta["quick"] and meta["threads"] >= 1 and len(meta["load_average_before"]) == 3


def test_quick_run_checks_correctness_not_speed(quick_rows):
    rows, _ = quick_rows
    by_id = {r["id"]: r for r in rows}
    # timing targets are not assessed at tiny sizes ...
    assert by_id["B2.floor"]["passed"] is None and by_id["B3.slope"]["passed"] is None
    # ... but agreement with PyTorch is (when it is installed)
    grad = by_id["B2.torch_grad"]
    if grad["status"] == "measured":
        assert grad["passed"] and grad["ratio"] <= 1e-10
    else:
        assert "PyTorch" in grad["note"]
    assert by_id["B1.core.inner_product"]["status"] == "measured"
    assert by_id["B1.pinv"]["ratio"] > 1                 # the closed form beats the pinv path


def test_main_prints_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    code = bench.main(["--quick", "--only", "B3", "--repeats", "1", "--out", str(out),
                       "--markdown", str(md)])
    printed = capsys.readouterr().out
    assert code == 0
    report = json.loads(out.read_text())
    assert [r["id"] for r in report["rows"]] == ["B3.slope", "B3.memory"]
    for row_id in ("B3.slope", "B3.memory"):
        assert row_id in printed
    assert report["meta"]["quick"] is True and report["meta"]["dtype"] == "float64"
    assert "| B3.slope |" in md.read_text()


def test_format_table_shows_skips_and_errors():
    rows = [bench._skipped("B4", "B4.exact", "W2", "<= 2 s", "not importable"),
            bench._error("B5", "B5", "reproduce", "<= 120 s", RuntimeError("boom")),
            bench._row("B2", "B2.floor", "step", {"a": 1e-4, "b": 2.0}, 3.5, "<= 4", True)]
    table = bench.format_table(rows)
    assert "skipped" in table and "ERROR" in table and "pass" in table
    assert "RuntimeError: boom" in table and "100 us" in table
    md = bench.format_markdown(rows).splitlines()
    assert len(md) == 2 + len(rows) and all(line.count("|") == 7 for line in md)
    assert md[-1].startswith("| B2.floor |") and md[-1].endswith("| pass |")


@pytest.mark.parametrize("kwargs", [{"only": ["B9"]}, {"repeats": 0}, {"threads": -1}])
def test_run_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        bench.run(quick=True, **kwargs)


def test_entry_points():
    from bngeom import cli

    assert cli.main(["bench", "--help"]) == 0       # a thin entry to benchmarks/run.py
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--quick" in proc.stdout
