#!/usr/bin/env python3
"""Issue 14: MCP ``tools/call`` to a local stdio upstream (tests/upstreams/mcp_upstream.py)
through the daemon (``invoke`` on ``/mcp?mode=passthrough``) and through the plugin alone (pool,
envelope, in-process) against the same call with the SDK's ClientSession directly; RSS over
many calls.

    .venv/bin/python bench/mcp_upstream.py [--calls N] [--quick] [--json]

The daemon runs from the source tree with the upstream added by ``POST /api/mcp/servers``; its
client is the official ``mcp.Client`` over streamable HTTP (one session), and the same call is
also timed as ``POST /api/executions {tool, args}`` on one keep-alive connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]


def rss_mib() -> float:
    """Current RSS from /proc (Linux), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000


async def direct(calls: int) -> list[float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from upstreams.mcp_upstream import stdio_command

    command, args = stdio_command()
    out = []
    params = StdioServerParameters(command=command, args=args)
    async with stdio_client(params) as (r, w), ClientSession(r, w) as session:
        await session.initialize()
        await session.list_tools()
        for i in range(calls):
            start = time.perf_counter()
            await session.call_tool("echo", {"text": str(i)})
            out.append(time.perf_counter() - start)
    return out


async def through_plugin(calls: int) -> tuple[list[float], float, float]:
    from executor_local.integrations.base import Credentials, Integration, PluginEnv, ToolCall
    from executor_local.integrations.mcp import McpPlugin
    from upstreams.mcp_upstream import stdio_command

    command, args = stdio_command()
    integration = Integration("bench", "mcp", "", {"transport": "stdio", "command": command,
                                                   "args": args})
    env = PluginEnv(blob=lambda _k: None)
    plugin = McpPlugin()
    out = []
    try:
        await plugin.list_tools(integration, Credentials(), env)
        rss_start = 0.0
        for i in range(calls):
            if i == min(100, calls - 1):
                rss_start = rss_mib()
            call = ToolCall(integration, "main", "echo", {"text": str(i)}, None, None,
                            Credentials())
            start = time.perf_counter()
            result = await plugin.invoke(call, env)
            out.append(time.perf_counter() - start)
            assert result["ok"], result
        return out, rss_start, rss_mib()
    finally:
        await plugin.close()


def through_daemon(calls: int) -> dict[str, Any]:
    """The upstream added to a real daemon; ``invoke`` over /mcp, then ``{tool}`` over HTTP."""
    import anyio
    from common import KeepAlive, scratch, tree_rss_mb

    from catalog_util import Api, SourceDaemon
    from mcp_util import passthrough_client
    from upstreams.mcp_upstream import stdio_command

    work = scratch("mcp-upstream")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env = {**keep, "HOME": str(work), "XDG_DATA_HOME": str(work / "xdg"),
           "EXECUTOR_SECRET_PROVIDER": "file", "EXECUTOR_LOG_LEVEL": "warning",
           "PYTHONDONTWRITEBYTECODE": "1"}
    command, args = stdio_command()
    out: dict[str, Any] = {}
    daemon = SourceDaemon(work / "data", env, cwd=work)
    with daemon:
        port = daemon.wait_ready()
        api = Api(port, daemon.token)
        api.post("/api/mcp/servers", {"command": command, "args": args, "slug": "local"},
                 expect=201)
        path = "local.org.main.echo"

        async def body() -> None:
            async with passthrough_client(port, token=daemon.token) as c:
                await c.list_tools()
                times = []
                for i in range(calls + 1):
                    if i == min(100, calls):
                        out["rss_start_mb"] = tree_rss_mb(daemon.proc.pid)
                    start = time.perf_counter()
                    got = await c.call_tool("invoke", {"path": path, "args": {"text": str(i)}})
                    times.append(time.perf_counter() - start)
                    assert got.structured_content["ok"], got.content
                out["rss_end_mb"] = tree_rss_mb(daemon.proc.pid)
                out["mcp_invoke"] = times[1:]

        anyio.run(body)
        conn = KeepAlive("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {daemon.token}", "Content-Type": "application/json"}
        times = []
        for i in range(min(calls, 500) + 1):
            start = time.perf_counter()
            conn.request("POST", "/api/executions", json.dumps(
                {"tool": path, "args": {"text": str(i)}}), headers)
            resp = conn.getresponse()
            got = json.loads(resp.read())
            times.append(time.perf_counter() - start)
            assert got["result"]["ok"], got
        conn.close()
        out["http_tool"] = times[1:]
        daemon.terminate()
    return out


def measure(calls: int) -> dict[str, Any]:
    base = asyncio.run(direct(calls))
    plugin, rss_start, rss_end = asyncio.run(through_plugin(calls))
    daemon = through_daemon(calls)
    ms = {"sdk_direct": p50_ms(base), "plugin": p50_ms(plugin),
          "daemon_mcp_invoke": p50_ms(daemon["mcp_invoke"]),
          "daemon_http_tool": p50_ms(daemon["http_tool"])}
    p99 = {"sdk_direct": p99_ms(base), "plugin": p99_ms(plugin),
           "daemon_mcp_invoke": p99_ms(daemon["mcp_invoke"]),
           "daemon_http_tool": p99_ms(daemon["http_tool"])}
    return {"calls": calls, "p50_ms": {k: round(v, 2) for k, v in ms.items()},
            "p99_ms": {k: round(v, 2) for k, v in p99.items()},
            "plugin_rss_mb": [round(rss_start, 1), round(rss_end, 1)],
            "daemon_rss_mb": [round(daemon["rss_start_mb"], 1), round(daemon["rss_end_mb"], 1)]}


def report(d: dict[str, Any]) -> str:
    p50, p99, base = d["p50_ms"], d["p99_ms"], d["p50_ms"]["sdk_direct"]
    names = {"sdk_direct": "SDK `ClientSession.call_tool` straight to the stdio upstream",
             "plugin": "through the MCP plugin in-process (pool, envelope)",
             "daemon_mcp_invoke": "through the daemon: `/mcp` `tools/call invoke {path, args}`",
             "daemon_http_tool": "through the daemon: `POST /api/executions {tool, args}`"}
    lines = [f"`echo` on a local stdio upstream, {d['calls']} calls each (HTTP API: up to 500).",
             "", "| path | p50 ms | p99 ms | overhead p50 ms |", "|---|---|---|---|"]
    for key, name in names.items():
        lines.append(f"| {name} | {p50[key]:.2f} | {p99[key]:.2f} | "
                     f"{p50[key] - base:+.2f} |")
    r, q = d["daemon_rss_mb"], d["plugin_rss_mb"]
    lines += ["", f"RSS over the calls (after the first 100): daemon and its children "
              f"{r[0]} → {r[1]} MB; the plugin's process {q[0]} → {q[1]} MB."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="50 calls (smoke)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = measure(50 if args.quick else args.calls)
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
