#!/usr/bin/env python3
"""Run every benchmark and write bench/RESULTS.md (figures, ratios, targets, machine).

    python3 bench/run.py [--quick] [--no-peer]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import bundle
import migration
import startup

HERE = Path(__file__).resolve().parent
ANALYSIS = "## Where the time goes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run (smoke)")
    parser.add_argument("--no-peer", action="store_true", help="skip executor 1.5.9")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    runs, sizes, mruns = (1, [0.2], 1) if args.quick else (7, [10, 50, 200], 3)
    start = startup.report(startup.measure(runs, not args.no_peer))
    print(start, flush=True)
    bund = bundle.report(runs, None)
    print(bund, flush=True)
    mig = migration.report(migration.measure(sizes, mruns, not args.no_peer))
    print(mig, flush=True)
    machine = (f"{platform.machine()}, {os.cpu_count()} cpu, Python "
               f"{platform.python_version()}, {platform.system()} {platform.release()}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # The hand-written analysis at the end survives a re-run (to be re-checked against it).
    old = args.output.read_text() if args.output.exists() else ""
    analysis = old[old.find(ANALYSIS):] if ANALYSIS in old else ""
    args.output.write_text(
        f"# Benchmark results\n\nMeasured {when} on {machine} by `python3 bench/run.py"
        f"{' --quick' if args.quick else ''}`. Medians; every baseline measured in the same "
        f"run.\n\n## Start to READY\n\n{start}\n\n## The bundle\n\n{bund}\n\n"
        f"## Migration\n\n{mig}\n"
        + (f"\n{analysis}" if analysis else ""))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
