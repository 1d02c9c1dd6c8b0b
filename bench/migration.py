#!/usr/bin/env python3
"""Migration of synthetic v1 databases (~10, 50, 200 MB): wall time against ``VACUUM INTO`` of
the same file, peak RSS, and the TypeScript Executor 1.5.9 migrating the same file, all in this run.

    python3 bench/migration.py [--sizes 10,50,200] [--runs N] [--no-peer]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from common import (
    base_env,
    ensure_bundle,
    install_peer,
    median,
    run_measured,
    scratch,
    time_to_line,
)

CACHE = Path.home() / ".cache" / "executor-bench"


def v1_database(size_mb: float) -> Path:
    """A cached synthetic v1-final database of about ``size_mb`` MB (made once)."""
    import v1gen

    path = CACHE / f"v1-{size_mb:g}mb.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        v1gen.make_large_v1(tmp, int(size_mb * 1024 * 1024))
        tmp.replace(path)
    return path


def vacuum_into(src: Path, work: Path) -> float:
    dest = work / "vacuum.db"
    dest.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(str(src))
    try:
        conn.execute("VACUUM INTO ?", (str(dest),))
    finally:
        conn.close()
    return time.perf_counter() - started


def fresh_data_dir(src: Path, work: Path, name: str) -> Path:
    data = work / name
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    shutil.copyfile(src, data / "data.db")
    return data


def measure(sizes: list[float], runs: int, with_peer: bool) -> list[dict[str, float]]:
    pyz = ensure_bundle()
    work = scratch("migration")
    env = {**base_env(work / "home"), "SHIV_ROOT": str(work / "shiv")}
    peer = install_peer(CACHE / "peer") if with_peer else None
    rows = []
    for size in sizes:
        src = v1_database(size)
        vac, ours, rss, theirs = [], [], [], []
        for i in range(runs):
            vac.append(vacuum_into(src, work))
            data = fresh_data_dir(src, work, f"ours-{i}")
            timed = run_measured([sys.executable, str(pyz), "--data-dir", str(data),
                                  "--log-level", "warning", "migrate"], env)
            ours.append(timed.seconds)
            rss.append(timed.max_rss_kb / 1024)
            if peer:
                data = fresh_data_dir(src, work, f"peer-{i}")
                theirs.append(time_to_line(
                    [str(peer), "daemon", "run", "--foreground", "--port", "0"],
                    {**env, "EXECUTOR_DATA_DIR": str(data)}, "Daemon ready", deadline_s=900))
        rows.append({"size_mb": src.stat().st_size / 2**20, "vacuum_s": median(vac),
                     "ours_s": median(ours), "rss_mb": max(rss),
                     "peer_s": median(theirs) if theirs else float("nan")})
    shutil.rmtree(work, ignore_errors=True)
    return rows


def report(rows: list[dict[str, float]]) -> str:
    lines = ["| v1 size MB | VACUUM INTO s | ours s | × VACUUM INTO | peak RSS MB | "
             "executor 1.5.9 s (boot incl.) | × 1.5.9 |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        peer = r["peer_s"]
        ratio_peer = f"{r['ours_s'] / peer:.2f}" if peer == peer else "n/a"
        lines.append(f"| {r['size_mb']:.0f} | {r['vacuum_s']:.2f} | {r['ours_s']:.2f} | "
                     f"{r['ours_s'] / r['vacuum_s']:.2f} | {r['rss_mb']:.0f} | "
                     f"{peer:.2f} | {ratio_peer} |")
    worst = max(r["ours_s"] / r["vacuum_s"] for r in rows)
    peak = max(r["rss_mb"] for r in rows)
    lines.append("")
    lines.append(f"Targets: ≤ 3 × VACUUM INTO: worst {worst:.2f} "
                 f"({'met' if worst <= 3 else 'NOT met'}); peak RSS ≤ 150 MB: {peak:.0f} "
                 f"({'met' if peak <= 150 else 'NOT met'})")
    if len(rows) >= 2:
        growth = rows[-1]["rss_mb"] / rows[-2]["rss_mb"]
        lines.append(f"RSS from {rows[-2]['size_mb']:.0f} to {rows[-1]['size_mb']:.0f} MB: "
                     f"× {growth:.2f} ({'flat' if growth <= 1.2 else 'NOT flat'})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,50,200", help="MB, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip executor 1.5.9")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    print(report(measure(sizes, args.runs, not args.no_peer)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
