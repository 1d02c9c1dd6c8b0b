#!/usr/bin/env python3
"""Start-to-READY of the built pyz: warm and cold, empty and migrated data dirs, against
``python3 -c pass`` and the TypeScript Executor 1.5.9, all measured in this run.

    python3 bench/startup.py [--runs N] [--no-peer]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import base_env, ensure_bundle, install_peer, median, scratch, time_to_line

READY = "EXECUTOR_READY:"


def pyz_cmd(pyz: Path, data: Path) -> list[str]:
    return [sys.executable, str(pyz), "--data-dir", str(data), "--log-level", "warning",
            "daemon", "run", "--foreground", "--port", "0"]


def measure(runs: int, with_peer: bool) -> dict[str, float]:
    pyz = ensure_bundle()
    work = scratch("startup")
    env = base_env(work / "home")
    warm_root = work / "shiv-warm"
    results: dict[str, list[float]] = {k: [] for k in (
        "python -c pass", "warm, empty dir", "warm, v2 dir", "cold, empty dir",
        "executor 1.5.9, v2 dir")}

    subprocess.run([*pyz_cmd(pyz, work / "warmup"), "--help"], env={**env, "SHIV_ROOT": str(
        warm_root)}, capture_output=True)  # extract once for the warm runs
    v2_dir = work / "v2"
    time_to_line(pyz_cmd(pyz, v2_dir), {**env, "SHIV_ROOT": str(warm_root)}, READY)
    peer = install_peer(Path.home() / ".cache" / "executor-bench" / "peer") if with_peer else None
    peer_dir = work / "peer-data"
    if peer:
        time_to_line([str(peer), "daemon", "run", "--foreground", "--port", "0"],
                     {**env, "EXECUTOR_DATA_DIR": str(peer_dir)}, "Daemon ready")

    for i in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        results["python -c pass"].append(time.perf_counter() - started)
        warm = {**env, "SHIV_ROOT": str(warm_root)}
        results["warm, empty dir"].append(time_to_line(pyz_cmd(pyz, work / f"e{i}"), warm, READY))
        results["warm, v2 dir"].append(time_to_line(pyz_cmd(pyz, v2_dir), warm, READY))
        cold_root = work / f"shiv-cold-{i}"
        results["cold, empty dir"].append(time_to_line(
            pyz_cmd(pyz, work / f"c{i}"), {**env, "SHIV_ROOT": str(cold_root)}, READY))
        shutil.rmtree(cold_root, ignore_errors=True)
        if peer:
            results["executor 1.5.9, v2 dir"].append(time_to_line(
                [str(peer), "daemon", "run", "--foreground", "--port", "0"],
                {**env, "EXECUTOR_DATA_DIR": str(peer_dir)}, "Daemon ready"))
    shutil.rmtree(work, ignore_errors=True)
    return {k: median(v) * 1000 for k, v in results.items() if v}


def report(med: dict[str, float]) -> str:
    base = med["python -c pass"]
    lines = ["| start-to-READY | median ms | × python -c pass | × executor 1.5.9 |",
             "|---|---|---|---|"]
    peer = med.get("executor 1.5.9, v2 dir")
    for name, ms in med.items():
        vs_peer = f"{ms / peer:.2f}" if peer else "n/a"
        lines.append(f"| {name} | {ms:.0f} | {ms / base:.2f} | {vs_peer} |")
    warm, cold = med["warm, v2 dir"], med["cold, empty dir"]
    lines.append("")
    lines.append(f"Targets: warm ≤ 4 × python -c pass: {warm / base:.2f} "
                 f"({'met' if warm <= 4 * base else 'NOT met'}); cold ≤ 2 × warm: "
                 f"{cold / warm:.2f} ({'met' if cold <= 2 * warm else 'NOT met'})" + (
                     f"; warm ≤ 0.5 × executor 1.5.9: {warm / peer:.2f} "
                     f"({'met' if warm <= 0.5 * peer else 'NOT met'})" if peer else ""))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-peer", action="store_true", help="skip executor 1.5.9")
    args = parser.parse_args()
    print(report(measure(args.runs, not args.no_peer)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
