#!/usr/bin/env python3
"""Code-mode benchmarks: trivial ``execute`` latency, 100 tool calls in one program against 100
separate invokes, and memory over 1,000 executions.

    .venv/bin/python bench/codemode.py [--quick] [--json] [--daemon-only]

Runs in-process against the real sandbox (QuickJS worker processes from the pool) and a real
petstore upstream over HTTP (``tests/codemode_parts.py``). "Passthrough" here is the same
``Host.call_tool`` awaited 100 times from Python: the floor of 100 MCP ``invoke`` round trips,
before any MCP or HTTP framing, so the comparison favours passthrough.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]

from codemode_parts import Petstore, PetstoreHost  # noqa: E402
from executor_local.executions.sandbox.code_runner import CodeMode  # noqa: E402
from executor_local.executions.sandbox.pool import Pool, Worker  # noqa: E402


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def measure(quick: bool) -> dict[str, object]:
    store = Petstore()
    host = PetstoreHost(store)
    pool = Pool(idle=1, max_runs=200)
    mode = CodeMode(host, pool=pool)
    out: dict[str, object] = {}
    try:
        # cold: a worker process start (Python, QuickJS, sucrase loaded), then one program
        t = time.perf_counter()
        Worker().kill()
        out["worker_start_ms"] = round((time.perf_counter() - t) * 1000, 1)

        await mode.run("return 1", execution_id="warm")
        n = 20 if quick else 200
        times, strips = [], []
        for _ in range(n):
            t = time.perf_counter()
            res = await mode.run("const x: number = 1; return x + 1", execution_id="b")
            times.append((time.perf_counter() - t) * 1000)
            assert res["structured"]["result"] == 2
        # strip time alone, from the worker's own measurement
        from executor_local.executions.sandbox import runner
        from executor_local.executions.sandbox.journal import Journal
        for _ in range(20):
            o = await runner.run_program("interface A { a: number }\nconst v: A = { a: 1 };\n"
                                         "return v.a as number", host, Journal(), pool=pool)
            strips.append(o.strip_ms)
        out["trivial_execute_ms"] = {"p50": round(p(times, 0.5), 2),
                                     "p90": round(p(times, 0.9), 2), "n": n}
        out["strip_ms_p50"] = round(statistics.median(strips), 3)

        calls = 100
        code = f"""
            let names = 0;
            for (let i = 0; i < {calls}; i++) {{
              const r = await tools.petstore.org.main.pets.showPetById({{ petId: 1 + (i % 3) }});
              if (r.ok) names++;
            }}
            return names;
        """
        prog, direct = [], []
        for _ in range(2 if quick else 5):
            t = time.perf_counter()
            res = await mode.run(code, execution_id="c")
            prog.append((time.perf_counter() - t) * 1000)
            assert res["structured"]["result"] == calls, res
            t = time.perf_counter()
            for i in range(calls):
                env = await host.call_tool("petstore.org.main.pets.showPetById",
                                           {"petId": 1 + (i % 3)}, approved=False)
                assert env["ok"]
            direct.append((time.perf_counter() - t) * 1000)
        # the sandbox's own cost per call, against a host that answers at once
        class Instant:
            async def call_tool(self, path: str, args: dict, *, approved: bool) -> dict:
                return {"ok": True, "data": 1}

        instant = CodeMode(Instant(), pool=pool)  # type: ignore[arg-type]
        overhead = []
        for _ in range(3 if quick else 9):
            t = time.perf_counter()
            res = await instant.run(f"let s = 0; for (let i = 0; i < {calls}; i++) "
                                    "s += (await tools.a.b.c.d({})).data; return s",
                                    execution_id="o")
            overhead.append((time.perf_counter() - t) * 1000)
            assert res["structured"]["result"] == calls
        out["hundred_instant_calls_in_program_ms"] = round(statistics.median(overhead), 1)
        out["hundred_calls_ms"] = {"one_program": round(statistics.median(prog), 1),
                                   "hundred_direct_host_calls": round(statistics.median(direct),
                                                                      1)}

        runs = 100 if quick else 1000
        samples = []
        parent = os.getpid()
        for i in range(runs + 1):
            if i % (runs // 10) == 0:
                worker = await pool.acquire()
                samples.append({"run": i, "daemon_rss_kib": rss_kib(parent),
                                "worker_rss_kib": rss_kib(worker.pid),
                                "worker_runs": worker.runs})
                pool.release(worker, healthy=True)
                worker.runs -= 1  # the probe is not a run
            if i < runs:
                res = await mode.run("const a = []; for (let i = 0; i < 1000; i++) "
                                     "a.push({ i, s: 'x'.repeat(20) }); return a.length",
                                     execution_id="m")
                assert res["structured"]["result"] == 1000
        out["rss"] = samples
        out["workers_spawned"] = pool.spawned
    finally:
        pool.close()
        store.close()
    return out


def measure_daemon(quick: bool) -> dict[str, object]:
    """Through the real daemon (from the source tree) with the OpenAPI plugin and the petstore
    upstream in its own process (a fast local upstream: ~1 ms a request, so it does not
    dominate): one program making 100 calls against 100 single calls, both over HTTP
    (``POST /api/executions {code}`` vs 100 × ``{tool}``) and over MCP (one ``execute`` vs
    100 passthrough ``invoke`` calls, the official client, one session each)."""
    import anyio
    from call import Upstream
    from common import KeepAlive, scratch

    from catalog_util import Api, SourceDaemon
    from mcp_util import client, passthrough_client

    calls, runs = 100, (2 if quick else 7)
    tool = "pets.org.main.pets.showPetById"
    code = (f"let n = 0; for (let i = 0; i < {calls}; i++) {{ const r = await "
            f"tools.{tool}({{ petId: 1 + (i % 2) }}); if (r.ok) n++; }} return n;")
    root = scratch("codemode")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env = {**keep, "HOME": str(root), "XDG_DATA_HOME": str(root / "xdg"),
           "EXECUTOR_SECRET_PROVIDER": "file", "EXECUTOR_LOG_LEVEL": "warning",
           "PYTHONDONTWRITEBYTECODE": "1"}
    pets = Upstream()
    res: dict[str, list[float]] = {k: [] for k in (
        "trivial", "http_program", "http_single", "mcp_execute", "mcp_invoke", "mcp_trivial")}
    try:
        daemon = SourceDaemon(root / "data", env, cwd=root)
        with daemon:
            port = daemon.wait_ready()
            api = Api(port, daemon.token)
            api.post("/api/openapi/specs", {"spec": {"kind": "url",
                                                     "url": f"{pets.url}/openapi.yaml"},
                                            "slug": "pets"})
            api.post("/api/connections", {"owner": "org", "integration": "pets",
                                          "name": "main", "template": "apikey-0",
                                          "value": pets.api_key})
            conn = KeepAlive("127.0.0.1", port, timeout=300)
            headers = {"Authorization": f"Bearer {daemon.token}",
                       "Content-Type": "application/json"}

            def post(body: dict[str, object]) -> dict[str, object]:
                conn.request("POST", "/api/executions", json.dumps(body), headers)
                return json.loads(conn.getresponse().read())

            post({"code": "return 1"})  # the first worker start
            for _ in range(10 if quick else 50):
                t = time.perf_counter()
                post({"code": "return 1"})
                res["trivial"].append((time.perf_counter() - t) * 1000)
            for _ in range(runs):
                t = time.perf_counter()
                out = post({"code": code})
                res["http_program"].append((time.perf_counter() - t) * 1000)
                assert out["structured"]["result"] == calls, out  # type: ignore[index]
                t = time.perf_counter()
                for i in range(calls):
                    got = post({"tool": tool, "args": {"petId": 1 + (i % 2)}})
                    assert got["result"]["ok"], got  # type: ignore[index]
                res["http_single"].append((time.perf_counter() - t) * 1000)
            conn.close()

            async def over_mcp() -> None:
                async with client(port, token=daemon.token) as code_c, \
                        passthrough_client(port, token=daemon.token) as pass_c:
                    await code_c.call_tool("execute", {"code": "return 1"})
                    await pass_c.call_tool("invoke", {"path": tool, "args": {"petId": 1}})
                    for _ in range(10 if quick else 50):
                        t = time.perf_counter()
                        await code_c.call_tool("execute", {"code": "return 1"})
                        res["mcp_trivial"].append((time.perf_counter() - t) * 1000)
                    for _ in range(runs):
                        t = time.perf_counter()
                        got = await code_c.call_tool("execute", {"code": code})
                        res["mcp_execute"].append((time.perf_counter() - t) * 1000)
                        assert got.structured_content["result"] == calls, got.content
                        t = time.perf_counter()
                        for i in range(calls):
                            one = await pass_c.call_tool("invoke", {
                                "path": tool, "args": {"petId": 1 + (i % 2)}})
                            assert one.structured_content["ok"], one.content
                        res["mcp_invoke"].append((time.perf_counter() - t) * 1000)

            anyio.run(over_mcp)
            daemon.terminate()
    finally:
        pets.stop()
    med = {k: round(statistics.median(v), 1) for k, v in res.items() if v}
    return {"daemon_trivial_execute_ms_p50": round(p(res["trivial"], 0.5), 1),
            "daemon_one_program_100_calls_ms": med["http_program"],
            "daemon_100_single_calls_ms": med["http_single"],
            "mcp_trivial_execute_ms_p50": med["mcp_trivial"],
            "mcp_execute_100_calls_ms": med["mcp_execute"],
            "mcp_100_invoke_calls_ms": med["mcp_invoke"], "daemon_runs": runs}


def report_daemon(data: dict[str, object]) -> str:
    """The daemon rows (HTTP and MCP), with the program ÷ single-calls ratios."""
    def ratio(a: str, b: str) -> str:
        x, y = data.get(a), data.get(b)
        return f"{x / y:.2f}" if x and y else "-"  # type: ignore[operator]

    return "\n".join([
        f"Through the daemon, the petstore upstream in its own process; medians of "
        f"{data.get('daemon_runs', '-')} runs.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| HTTP: trivial `POST /api/executions {{code}}` p50 | "
        f"{data.get('daemon_trivial_execute_ms_p50', '-')} ms |",
        f"| HTTP: one program making 100 calls | "
        f"{data.get('daemon_one_program_100_calls_ms', '-')} ms |",
        f"| HTTP: 100 single `POST /api/executions {{tool}}` calls | "
        f"{data.get('daemon_100_single_calls_ms', '-')} ms |",
        f"| MCP: trivial `execute` p50 | {data.get('mcp_trivial_execute_ms_p50', '-')} ms |",
        f"| MCP: one `execute` making 100 calls | "
        f"{data.get('mcp_execute_100_calls_ms', '-')} ms |",
        f"| MCP: 100 passthrough `invoke` calls | "
        f"{data.get('mcp_100_invoke_calls_ms', '-')} ms |",
        "",
        "One program of 100 calls ÷ 100 single calls: "
        f"{ratio('mcp_execute_100_calls_ms', 'mcp_100_invoke_calls_ms')} over MCP, "
        f"{ratio('daemon_one_program_100_calls_ms', 'daemon_100_single_calls_ms')} over HTTP.",
    ])


def report(data: dict[str, object]) -> str:
    if "trivial_execute_ms" not in data:
        return report_daemon(data)
    t = data["trivial_execute_ms"]
    h = data["hundred_calls_ms"]
    rss = data["rss"]
    lines = [
        "In-process (the sandbox pool, a petstore host):",
        "",
        "| measure | value |",
        "|---|---|",
        f"| worker process start (Python + QuickJS + sucrase), cold | "
        f"{data['worker_start_ms']} ms |",
        f"| trivial `execute` (warm worker: strip, fresh context, run) p50 / p90 | "
        f"{t['p50']} / {t['p90']} ms |",  # type: ignore[index]
        f"| sucrase strip of a small program, p50 | {data['strip_ms_p50']} ms |",
        f"| 100 tool calls in one program | {h['one_program']} ms |",  # type: ignore[index]
        f"| 100 direct Host calls (passthrough floor) | "
        f"{h['hundred_direct_host_calls']} ms |",  # type: ignore[index]
        f"| 100 calls to an instant host in one program (sandbox cost only) | "
        f"{data['hundred_instant_calls_in_program_ms']} ms |",
        "",
        "RSS over executions (KiB; the worker is recycled every 200 runs):",
        "",
        "| run | daemon | worker | worker runs |",
        "|---|---|---|---|",
    ]
    for s in rss:  # type: ignore[attr-defined]
        lines.append(f"| {s['run']} | {s['daemon_rss_kib']} | {s['worker_rss_kib']} | "
                     f"{s['worker_runs']} |")
    if "daemon_runs" in data:
        lines += ["", report_daemon(data)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--daemon-only", action="store_true",
                        help="only the daemon figures (HTTP and MCP), not the in-process ones")
    args = parser.parse_args()
    data = {} if args.daemon_only else asyncio.run(measure(args.quick))
    data.update(measure_daemon(args.quick))
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
