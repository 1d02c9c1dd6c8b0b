"""The benchmark scripts added for issues 13-15 answer ``--help``, and bench/run.py merges
repeated runs into medians and keeps the sections it did not re-measure (fast: no bench runs
here; ``bench/run.py --quick`` is the end-to-end smoke)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.parametrize("script", ["run", "call", "mcp_upstream", "codemode", "catalog"])
def test_script_answers_help(script: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_merge_takes_medians_and_keeps_shapes() -> None:
    import run

    merged = run.merge([{"a": {"p50": 1.0, "p99": 9}, "n": "x", "rss": [1]},
                        {"a": {"p50": 3.0, "p99": 1}, "n": "y", "rss": [2]},
                        {"a": {"p50": 2.0, "p99": 5}, "n": "z", "rss": [3]}])
    assert merged == {"a": {"p50": 2.0, "p99": 5}, "n": "x", "rss": [1]}


def test_old_sections_are_kept_by_title() -> None:
    import run

    text = ("# Benchmark results\n\nintro\n\n## Start to READY\n\n| a |\n\n## Migration\n\n"
            "| b |\n\n## Where the time goes (notes)\n\n- c\n")
    assert run.old_sections(text) == {"startup": "| a |", "migration": "| b |"}
