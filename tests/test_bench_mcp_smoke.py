"""bench/mcp_server.py runs end to end on tiny inputs (no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mcp_bench_runs_on_tiny_inputs(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "RESULTS-mcp.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "mcp_server.py"), "--quick",
                             "--output", str(out)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert "executor mcp → initialized" in text and "search p50" in text and "rss after" in text
