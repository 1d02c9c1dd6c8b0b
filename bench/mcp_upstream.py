#!/usr/bin/env python3
"""The MCP plugin's overhead: ``tools/call`` to a local stdio upstream through the plugin
(pool, envelope) against the same call with the SDK's ClientSession directly, and RSS over
many calls.

    .venv/bin/python bench/mcp_upstream.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    base = asyncio.run(direct(args.calls))
    ours, rss_start, rss_end = asyncio.run(through_plugin(args.calls))
    print(f"stdio tools/call p50: SDK direct {p50_ms(base):.2f} ms, through the plugin "
          f"{p50_ms(ours):.2f} ms (overhead {p50_ms(ours) - p50_ms(base):+.2f} ms)")
    print(f"RSS over {args.calls} calls: {rss_start:.1f} -> {rss_end:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
