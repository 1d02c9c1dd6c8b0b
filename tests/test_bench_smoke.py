"""The benchmark scripts run end to end on tiny inputs (no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_scripts_run_on_tiny_inputs(pyz: Path, env: dict[str, str],
                                          tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--no-peer",
         "--only", "startup,bundle,migration", "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert "## Start to READY" in text and "## Migration" in text
    assert "× python -c pass" in text and "× VACUUM INTO" in text
