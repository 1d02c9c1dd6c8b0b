#!/usr/bin/env python3
"""MCP benchmarks: ``executor mcp`` start to initialized, ``search`` at 10k tools through /mcp,
and the server's RSS over many calls.

    .venv/bin/python bench/mcp.py [--quick]

Runs from the source tree with the venv. ``search`` and ``invoke`` go through a real daemon
whose catalog holds a 10,000-operation OpenAPI spec (the invokes end at a closed port: the
whole path without an upstream; bench/mcp_upstream.py times calls to a real stdio upstream).
In a tree without the catalog core, the contract-shaped Services of the tests stand in.
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

    from mcp_util import passthrough_client as client

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
                assert found.structured_content["items"], found.content[0].text
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


def big_spec(n: int) -> str:
    kinds = ["pet", "user", "order", "invoice", "ticket"]
    paths = {f"/items{i}": {"get": {
        "operationId": f"getItem{i}", "tags": [f"group{i % 50}"],
        "summary": f"get item number {i} of kind {kinds[i % 5]}",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}}}} for i in range(n)}
    return json.dumps({"openapi": "3.0.3", "info": {"title": "big", "version": "1"},
                       "servers": [{"url": "http://127.0.0.1:9"}], "paths": paths})


def measure_catalog_search(tools: int, searches: int, calls: int) -> dict[str, float]:
    """``search`` through /mcp on a real daemon whose catalog holds ``tools`` OpenAPI tools,
    against the same search on /api/search (the MCP overhead)."""
    import anyio
    import httpx

    from mcp_util import passthrough_client

    work = Path(tempfile.mkdtemp(prefix="executor-bench-mcp-"))
    env = {**env_with_src(), "EXECUTOR_SECRET_PROVIDER": "file",
           "EXECUTOR_AUTH_FILE": str(work / "auth.json")}
    daemon = start_daemon(work / "data", env)
    out: dict[str, float] = {}
    try:
        manifest = json.loads((work / "data" / "server-control" / "server.json").read_text())
        origin, token = manifest["origin"], manifest["bearer"]
        headers = {"Authorization": f"Bearer {token}"}
        t = time.perf_counter()
        r = httpx.post(f"{origin}/api/openapi/specs", headers=headers, timeout=600,
                       json={"spec": {"kind": "blob", "value": big_spec(tools)}, "slug": "big"})
        r.raise_for_status()
        out[f"add a {tools}-operation OpenAPI spec"] = time.perf_counter() - t
        api = []
        with httpx.Client(headers=headers, timeout=60) as http:  # one connection, as MCP's
            for i in range(searches):
                t = time.perf_counter()
                http.get(f"{origin}/api/search", params={
                    "query": f"invoice item {i}", "limit": 20}).raise_for_status()
                api.append(time.perf_counter() - t)
        out[f"/api/search p50 ({tools} tools)"] = median(api)
        port = int(origin.rsplit(":", 1)[1])

        async def body() -> None:
            async with passthrough_client(port, token=token, mode="legacy") as c:
                await c.list_tools()
                times = []
                for i in range(searches):
                    t = time.perf_counter()
                    found = await c.call_tool("search", {"query": f"invoice item {i}"})
                    times.append(time.perf_counter() - t)
                    assert found.structured_content["items"], found.content[0].text
                out[f"MCP search p50 ({tools} tools, 20 results with schemas)"] = median(times)
                out[f"MCP search p95 ({tools} tools)"] = pct(times, 0.95)
                out["daemon rss after searches (MiB)"] = rss_kb(daemon.pid) / 1024
                # Many invokes through the whole path (policy, plugin, envelope); the spec's
                # server is a closed port, so each ends in a quick upstream_unreachable.
                path = found.structured_content["items"][0]["path"]
                times = []
                for _ in range(calls):
                    t = time.perf_counter()
                    got = await c.call_tool("invoke", {"path": path, "args": {}})
                    times.append(time.perf_counter() - t)
                    assert got.structured_content["ok"] is False, got.content[0].text
                out[f"MCP invoke p50 over {calls} calls (real catalog)"] = median(times)
                out[f"daemon rss after {calls} invokes (MiB)"] = rss_kb(daemon.pid) / 1024

        anyio.run(body)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    return out


def report(results: dict[str, float]) -> str:
    lines = ["| measure | value |", "|---|---|"]
    for name, value in results.items():
        shown = (f"{value:.1f}" if "MiB" in name else f"{value:.2f} s" if value >= 1 else
                 f"{value * 1000:.1f} ms")
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs (smoke)")
    parser.add_argument("--output", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    runs, tools, searches, calls = (1, 100, 5, 20) if args.quick else (7, 10_000, 200, 10_000)
    try:
        import executor_local.catalog  # noqa: F401
        real = measure_catalog_search(tools, min(searches, 50), calls)
    except ImportError:
        real = {}
    results = {**measure_bridge(runs), **real}
    print(report(results), flush=True)  # what is measured so far, in case a later part fails
    if not real:  # the contract-shaped stand-in, for a tree without the catalog core
        results.update(measure_calls(tools, searches, calls))
    table = report(results)
    print(table)
    if args.output:
        import platform

        machine = (f"{platform.machine()}, {os.cpu_count()} cpu, Python "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}")
        args.output.write_text(
            f"# MCP benchmark\n\nMeasured on {machine} by `python bench/mcp_server.py"
            f"{' --quick' if args.quick else ''}` (from the source tree, the real catalog).\n\n"
            f"{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
