#!/usr/bin/env python3
"""Where a tool call's time goes: the steps of ``POST /api/executions {tool, args}`` timed
in-process on the data dir bench/call.py prepares (the petstore upstream in its own process).

    .venv/bin/python bench/call_breakdown.py [--rounds N] [--json]

Steps, each p50 over ``rounds``: ``decide`` (resolve the tool, its policy, validate the args),
``credentials`` (the connection's secret from the file provider), the plugin's ``invoke`` (the
HTTP request with httpx, the envelope), the whole ``Executions.call`` in one event loop, and the
same request with a bare ``httpx.AsyncClient``; against them, the daemon's figure from call.py
is what the HTTP stack and the thread hops add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from call import ARGS, TOOL, Upstream, prepare
from common import median, scratch


def p50(times: list[float]) -> float:
    return round(median(times) * 1000, 3)


async def steps(services: Any, up: Upstream, rounds: int) -> dict[str, float]:
    import httpx

    ex, cat = services.executions, services.catalog
    out: dict[str, float] = {}
    decision = ex.decide(TOOL, ARGS)
    assert decision.verdict == "run", decision
    resolved = decision.resolved
    conn = cat._connection_row(resolved.address.owner, resolved.address.integration,
                               resolved.address.connection)

    def timed_sync(fn) -> float:  # type: ignore[no-untyped-def]
        fn()
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return p50(times)

    async def timed_async(fn) -> float:  # type: ignore[no-untyped-def]
        await fn()
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            await fn()
            times.append(time.perf_counter() - t)
        return p50(times)

    out["decide"] = timed_sync(lambda: ex.decide(TOOL, ARGS))
    out["credentials"] = timed_sync(lambda: cat.credentials(resolved.integration, conn))
    out["thread_hop (asyncio.to_thread of a no-op)"] = await timed_async(
        lambda: asyncio.to_thread(lambda: None))
    out["invoke (plugin: httpx request + envelope)"] = await timed_async(
        lambda: ex.invoke(resolved, dict(ARGS)))
    out["Executions.call (all steps, no HTTP server)"] = await timed_async(
        lambda: ex.call(TOOL, dict(ARGS)))
    async with httpx.AsyncClient(headers={"X-API-Key": up.api_key}, timeout=30) as http:
        out["bare httpx.AsyncClient GET /pets/1"] = await timed_async(
            lambda: http.get(f"{up.url}/pets/1"))
    return out


def measure(rounds: int) -> dict[str, float]:
    work = scratch("call-breakdown")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env = {**keep, "HOME": str(work / "home"), "XDG_DATA_HOME": str(work / "xdg"),
           "EXECUTOR_LOG_LEVEL": "warning", "PYTHONDONTWRITEBYTECODE": "1"}
    (work / "home").mkdir()
    up = Upstream()
    try:
        data = prepare(work, up, env)
        os.environ.update(XDG_DATA_HOME=env["XDG_DATA_HOME"], HOME=env["HOME"],
                          EXECUTOR_SECRET_PROVIDER="file")
        from executor_local.server.services import build_services

        services = build_services(data / "data.db", data_dir=data)
        try:
            return asyncio.run(steps(services, up, rounds))
        finally:
            services.close()
    finally:
        up.stop()


def report(d: dict[str, float]) -> str:
    lines = ["| step of `POST /api/executions {tool, args}`, in-process | p50 ms |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in d.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = measure(args.rounds)
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
