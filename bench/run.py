#!/usr/bin/env python3
"""Run every benchmark and write bench/RESULTS.md (figures, ratios, targets, machine).

    .venv/bin/python bench/run.py [--quick] [--no-peer] [--repeats N] [--only a,b]

Sections: startup, bundle, migration (the built pyz; bench/startup.py, bundle.py, migration.py),
catalog (search and listing at 10k/100k tools, catalog.py), call (issue 13: a tool call against
direct httpx, the same operations on Executor 1.5.9, schema-call RSS; call.py), mcp (issue 14:
stdio upstream overhead, mcp_upstream.py; search at 10k, RSS, ``executor mcp`` start;
mcp_server.py),
codemode (issue 15: 100 calls in one ``execute`` vs 100 ``invoke``; codemode.py). Each script
also runs alone (``--help``). The scripts that take ``--json`` run ``--repeats`` times, one
after the other (never two heavy benches at once), and each figure is the median of the runs.
``--only`` re-measures some sections and keeps the others' last text; the hand-written analysis
at the end of RESULTS.md survives a re-run (to be re-checked against the new figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ANALYSIS = "## Where the time goes"
SECTIONS = ["startup", "bundle", "migration", "catalog", "call", "mcp", "codemode"]
TITLES = {"startup": "Start to READY", "bundle": "The bundle", "migration": "Migration",
          "catalog": "Catalog search and listing (issue 13)",
          "call": "Tool calls, and Executor 1.5.9 on the same data (issue 13)",
          "mcp": "MCP (issue 14)", "codemode": "Code mode (issue 15)"}


def merge(runs: list[Any]) -> Any:
    """The median of each number across runs of the same JSON shape (lists of samples and
    strings from the first run)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: merge([r[k] for r in runs if isinstance(r, dict) and k in r])
                for k in first}
    if isinstance(first, bool) or not isinstance(first, int | float):
        return first
    nums = [r for r in runs if isinstance(r, int | float)]
    return round(statistics.median(nums), 2)


def script_json(name: str, args: list[str], repeats: int) -> tuple[Any, int]:
    """``bench/<name>.py --json ARGS`` run ``repeats`` times in turn; the merged figures."""
    runs = []
    for i in range(repeats):
        print(f"-- {name}.py {' '.join(args)} (run {i + 1}/{repeats})", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--json", *args],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        runs.append(json.loads(proc.stdout))
    if not runs:
        raise RuntimeError(f"{name}.py failed every run")
    return merge(runs), len(runs)


def catalog_section(quick: bool) -> str:
    sizes = "2000" if quick else "10000,100000"
    calls, rounds = ("500", "50") if quick else ("10000", "300")
    proc = subprocess.run([sys.executable, str(HERE / "catalog.py"), "--sizes", sizes,
                           "--schema-calls", calls, "--rounds", rounds], capture_output=True,
                          text=True, timeout=3600, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    lines = [f"{rounds} requests per figure on one keep-alive connection, synthetic rows "
             "(bench/catalog.py).", "",
             "| tools | search p50 / p99 ms | `GET /api/tools?query=` p50 / p99 ms | schema p50 "
             f"ms | RSS before → after {calls} schema calls MB |", "|---|---|---|---|---|"]
    verdicts = []
    for r in rows:
        lines.append(f"| {r['tools']} | {r['search_p50_ms']} / {r['search_p99_ms']} | "
                     f"{r['tools_query_p50_ms']} / {r['tools_query_p99_ms']} | "
                     f"{r['schema_p50_ms']} | {r['rss_before_schema_mb']} → "
                     f"{r['rss_after_schema_mb']} |")
        goal = {10000: 10, 100000: 50}.get(int(r["tools"]))
        if goal:
            verdicts.append(f"search p50 ≤ {goal} ms at {int(r['tools'])}: {r['search_p50_ms']}"
                            f" ({'met' if r['search_p50_ms'] <= goal else 'NOT met'}); "
                            f"`/api/tools?query=` {r['tools_query_p50_ms']} "
                            f"({'met' if r['tools_query_p50_ms'] <= goal else 'NOT met'})")
    if verdicts:
        lines += ["", "Goals: " + "; ".join(verdicts) + "."]
    return "\n".join(lines)


def mcp_section(quick: bool, repeats: int) -> str:
    import mcp_upstream

    data, n = script_json("mcp_upstream", ["--quick"] if quick else [], repeats)
    out = f"Stdio upstream, median of {n} runs:\n\n{mcp_upstream.report(data)}"
    table = HERE / ".mcp-table.md"
    proc = subprocess.run([sys.executable, str(HERE / "mcp_server.py"), "--output", str(table),
                           *(["--quick"] if quick else [])], capture_output=True, text=True,
                          timeout=3600)
    if proc.returncode == 0 and table.exists():
        body = table.read_text().split("\n\n", 2)[-1].strip()
        table.unlink()
        out += ("\n\nbench/mcp_server.py (one run): `executor mcp` start, `search` at 10k tools, "
                f"RSS over invokes:\n\n{body}")
    else:
        out += f"\n\nbench/mcp_server.py failed: {proc.stderr[-500:]}"
    return out


def measure(section: str, args: argparse.Namespace) -> str:
    quick, peer, repeats = args.quick, not args.no_peer, args.repeats
    runs, sizes, mruns = (1, [0.2], 1) if quick else (7, [10, 50, 200], 3)
    if section == "startup":
        import startup
        return startup.report(startup.measure(runs, peer))
    if section == "bundle":
        import bundle
        return bundle.report(runs, None)
    if section == "migration":
        import migration
        return migration.report(migration.measure(sizes, mruns, peer))
    if section == "catalog":
        return catalog_section(quick)
    if section == "call":
        import call
        data, n = script_json("call", [*(["--quick"] if quick else []),
                                       *(["--no-peer"] if not peer else [])], repeats)
        return f"Median of {n} runs.\n\n{call.report(data)}"
    if section == "mcp":
        return mcp_section(quick, repeats)
    if section == "codemode":
        import codemode
        data, n = script_json("codemode", ["--daemon-only", *(["--quick"] if quick else [])],
                              repeats)
        one, _ = script_json("codemode", ["--quick"] if quick else [], 1)
        one.update(data)
        return (f"In-process figures from one run, daemon figures the median of {n} runs.\n\n"
                f"{codemode.report(one)}")
    raise ValueError(section)


def old_sections(text: str) -> dict[str, str]:
    """The body of each known section in an earlier RESULTS.md."""
    found: dict[str, str] = {}
    for key, title in TITLES.items():
        m = re.search(rf"^## {re.escape(title)}\n\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if m:
            found[key] = m.group(1).strip()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run (smoke)")
    parser.add_argument("--no-peer", action="store_true", help="skip executor 1.5.9")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each --json script whose medians are reported")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to measure ({','.join(SECTIONS)})")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    old = args.output.read_text() if args.output.exists() else ""
    bodies = old_sections(old)
    machine = (f"{platform.machine()}, {os.cpu_count()} cpu, Python "
               f"{platform.python_version()}, {platform.system()} {platform.release()}")
    for section in only:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = float("nan")
        body = measure(section, args)
        bodies[section] = (f"_Measured {when}, load average {load:.1f} (shared machine), by "
                           f"`bench/run.py{' --quick' if args.quick else ''} --only {section}`"
                           f"._\n\n{body}")
        print(f"## {TITLES[section]}\n\n{body}\n", flush=True)
        write(args.output, machine, bodies, old)  # what is measured so far, in case one fails
    print(f"wrote {args.output}")
    return 0


def write(output: Path, machine: str, bodies: dict[str, str], old: str) -> None:
    analysis = old[old.find(ANALYSIS):] if ANALYSIS in old else ""
    parts = [f"# Benchmark results\n\nOn {machine}; `.venv/bin/python bench/run.py` measures "
             "every section (each section says when, under what load, and how many runs). "
             "Every baseline is measured in the same run as what it is compared with. The "
             "machine is shared with other engineers' builds and tests (load average 7–10 on 2 "
             "cores while these ran): p99 mostly shows the neighbours, and the figures are "
             "medians of repeated runs.\n"]
    for key in SECTIONS:
        if key in bodies:
            parts.append(f"## {TITLES[key]}\n\n{bodies[key]}\n")
    output.write_text("\n".join(parts) + (f"\n{analysis}" if analysis else ""))


if __name__ == "__main__":
    sys.exit(main())
