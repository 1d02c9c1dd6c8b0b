#!/usr/bin/env python3
"""MCP benchmarks: ``executor mcp`` start to initialized, ``search`` at 10k tools through /mcp,
and the server's RSS over many calls.

    .venv/bin/python bench/mcp.py [--quick]

Runs from the source tree with the venv (the bundle does not carry the SDK yet). Until the
core catalog lands, the server's Services are the contract-shaped ones of the tests (a real
HTTP upstream, pauses in SQLite), so ``search`` here times MCP + a naive in-memory search.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This folder holds bench/mcp.py, which would shadow the ``mcp`` SDK: take it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bench", "version": "1"}}}) + "\n"


def env_with_src() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def start_daemon(data: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "executor_local", "--data-dir", str(data),
                             "--log-level", "warning", "daemon", "run", "--foreground",
                             "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("EXECUTOR_READY:"):
            return proc
    raise RuntimeError("the daemon never printed READY")


def bridge_to_initialized(data: Path, env: dict[str, str]) -> float:
    """Seconds from spawning ``executor mcp`` to its answer to ``initialize``."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "executor_local", "--data-dir", str(data),
                             "--log-level", "warning", "mcp"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(INIT)
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.wait(timeout=30)
    if '"protocolVersion"' not in line:
        raise RuntimeError(f"executor mcp answered {line!r}")
    return elapsed


def measure_bridge(runs: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="executor-bench-mcp-"))
    env = env_with_src()
    daemon = start_daemon(work / "data", env)
    try:
        bridge_to_initialized(work / "data", env)  # first /mcp request imports the SDK
        warm = [bridge_to_initialized(work / "data", env) for _ in range(runs)]
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    baseline = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append(time.perf_counter() - t)
    return {"executor mcp → initialized (daemon running)": median(warm),
            "python -c pass": median(baseline)}


def child(tools: int, db: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "mcp_child.py"), str(tools),
                             str(db)], stdout=subprocess.PIPE, text=True,
                            env={**env_with_src(), "EXECUTOR_LOG_LEVEL": "warning"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        raise RuntimeError(f"bench child said {line!r}")
    return proc, int(line.split()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_calls(tools: int, searches: int, calls: int) -> dict[str, float]:
    import anyio

    from mcp_util import client

    work = Path(tempfile.mkdtemp(prefix="executor-bench-mcp-"))
    proc, port = child(tools, work / "x.db")
    out: dict[str, float] = {}

    async def body() -> None:
        async with client(port, mode="legacy") as c:
            await c.list_tools()
            times = []
            for i in range(searches):
                t = time.perf_counter()
                found = await c.call_tool("search", {"query": f"create ticket {i}"})
                times.append(time.perf_counter() - t)
                assert found.structured_content["items"]
            out[f"search p50 ({tools + 4} tools)"] = median(times)
            out[f"search p95 ({tools + 4} tools)"] = pct(times, 0.95)
            await c.call_tool("invoke", {"path": "pets.org.default.pets.listPets"})
            out["rss before calls (MiB)"] = rss_kb(proc.pid) / 1024
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                got = await c.call_tool("invoke", {"path": "pets.org.default.pets.listPets"})
                times.append(time.perf_counter() - t)
                assert got.structured_content["ok"]
            out[f"invoke p50 over {calls} calls"] = median(times)
            out[f"rss after {calls} calls (MiB)"] = rss_kb(proc.pid) / 1024

    try:
        anyio.run(body)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def report(results: dict[str, float]) -> str:
    lines = ["| measure | value |", "|---|---|"]
    for name, value in results.items():
        shown = f"{value:.1f}" if "MiB" in name else f"{value * 1000:.1f} ms"
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs (smoke)")
    parser.add_argument("--output", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    runs, tools, searches, calls = (1, 100, 5, 20) if args.quick else (7, 10_000, 200, 10_000)
    results = {**measure_bridge(runs), **measure_calls(tools, searches, calls)}
    table = report(results)
    print(table)
    if args.output:
        import platform

        machine = (f"{platform.machine()}, {os.cpu_count()} cpu, Python "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}")
        args.output.write_text(
            f"# MCP benchmark\n\nMeasured on {machine} by `python bench/mcp.py"
            f"{' --quick' if args.quick else ''}` (from the source tree; Services are the "
            "contract-shaped test ones until the catalog core is merged).\n\n"
            f"{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
