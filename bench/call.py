#!/usr/bin/env python3
"""Issue 13: a tool call through the daemon against the same request made directly with httpx,
and the same catalog operations on Executor 1.5.9 with the same data and upstream; RSS over
``/api/tools/schema`` calls on a ~4,000-tool catalog (1.5.9 and ours).

    .venv/bin/python bench/call.py [--quick] [--no-peer] [--rounds N] [--json]

One data dir, written by our daemon (run from the source tree): the petstore upstream
(tests/upstreams/petstore.py, in its own process) added from its URL with an API-key connection
(file provider), plus a 4,000-operation OpenAPI spec. Our daemon is measured on it, stopped, then
1.5.9 boots on the very same dir (as tests/test_compat_1_5_9.py does) and is measured the same
way. Every client is one keep-alive connection. The tool call is ``GET /pets/1`` with the key:
directly with httpx; ours via ``POST /api/executions {tool, args}`` and via ``{code}``; 1.5.9
via ``{code: "return await tools[path](args)"}`` (its only way to call a tool over HTTP).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from common import ROOT, KeepAlive, install_peer, median, pct, scratch, tree_rss_mb

sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

TOOL = "pets.org.main.pets.showPetById"
ARGS = {"petId": 1}
CODE = f"return await tools[{json.dumps(TOOL)}]({json.dumps(ARGS)})"
BIG_OPS = 4000
QUERIES = ["item", "pet", "invoice item", "get item number 12", "ticket"]
UPSTREAM = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "from upstreams.petstore import PetstoreServer; s = PetstoreServer().start();"
    "print('PORT', s.port, s.api_key, flush=True); sys.stdin.read(); s.stop()"
)


def big_spec(n: int, server: str) -> str:
    """An OpenAPI 3.0 spec of ``n`` GET operations in 50 tags whose responses ``$ref`` 100
    shared component schemas (which ref each other), so tools carry schema definitions as a
    real API's do."""
    kinds = ["pet", "user", "order", "invoice", "ticket"]
    schemas: dict[str, Any] = {"Meta": {"type": "object", "properties": {
        "created": {"type": "string", "format": "date-time"}, "tags": {
            "type": "array", "items": {"type": "string"}}}}}
    for k in range(100):
        schemas[f"Item{k}"] = {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string", "description": f"name {k}"},
            "meta": {"$ref": "#/components/schemas/Meta"},
            "related": {"type": "array", "items": {"$ref": f"#/components/schemas/Item"
                                                            f"{(k + 1) % 100}"}}}}
    paths = {f"/items{i}": {"get": {
        "operationId": f"getItem{i}", "tags": [f"group{i % 50}"],
        "summary": f"get item number {i} of kind {kinds[i % 5]}",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/Item{i % 100}"}}}}}}} for i in range(n)}
    return json.dumps({"openapi": "3.0.3", "info": {"title": "big", "version": "1"},
                       "servers": [{"url": server}], "paths": paths,
                       "components": {"schemas": schemas}})


class Upstream:
    """The petstore in its own process (so it shares no GIL with a client); ends with stdin."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(ROOT / "tests")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        _, port, self.api_key = self.proc.stdout.readline().split()
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=15)


class Client:
    """JSON over one keep-alive HTTP connection, with the bearer; each call timed."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = KeepAlive("127.0.0.1", port, timeout=300)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[float, Any]:
        raw = None if body is None else json.dumps(body)
        start = time.perf_counter()
        self.conn.request(method, path, raw, self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        took = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        try:
            return took, json.loads(data)
        except ValueError:
            return took, data  # a text body (1.5.9's /api/health says ``ok``)

    def close(self) -> None:
        self.conn.close()


def timed(fn, rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    fn(0)  # warm: first import, first connection
    times = [fn(i) for i in range(rounds)]
    return {"p50": round(median(times), 2), "p99": round(pct(times, 99), 2)}


def direct(up: Upstream, rounds: int) -> dict[str, float]:
    import httpx

    with httpx.Client(headers={"X-API-Key": up.api_key}, timeout=30) as http:
        def one(_i: int) -> float:
            start = time.perf_counter()
            r = http.get(f"{up.url}/pets/1")
            took = (time.perf_counter() - start) * 1000
            assert r.status_code == 200 and r.json()["id"] == 1, r.text
            return took
        return timed(one, rounds)


def prepare(work: Path, up: Upstream, env: dict[str, str]) -> Path:
    """Our daemon writes the data dir: the petstore with its connection, the big spec."""
    from catalog_util import Api, SourceDaemon

    data = work / "data"
    daemon = SourceDaemon(data, {**env, "EXECUTOR_SECRET_PROVIDER": "file"}, cwd=work)
    with daemon:
        api = Api(daemon.wait_ready(), daemon.token)
        api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": f"{up.url}/openapi.yaml"},
                                        "slug": "pets"})
        api.post("/api/connections", {"owner": "org", "integration": "pets", "name": "main",
                                      "template": "apikey-0", "value": up.api_key})
        api.post("/api/openapi/specs", {"spec": {"kind": "blob", "value": big_spec(
            BIG_OPS, up.url)}, "slug": "big"})
        assert daemon.terminate() == 0
    return data


def catalog_ops(client: Client, rounds: int, schema_address: str, code_call: bool,
                tool_call: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def get(path_for):  # type: ignore[no-untyped-def]
        return lambda i: client.call("GET", path_for(i))[0]

    with contextlib.suppress(RuntimeError):  # the HTTP stack's floor, where it has the route
        out["health"] = timed(get(lambda i: "/api/health"), rounds)
    out["tools_all"] = timed(get(lambda i: "/api/tools"), max(5, rounds // 10))
    out["tools_query"] = timed(get(lambda i: f"/api/tools?query={quote(QUERIES[i % 5])}"),
                               rounds)
    out["schema"] = timed(get(lambda i: f"/api/tools/schema?address={quote(schema_address)}"),
                          rounds)
    if tool_call:
        def call(_i: int) -> float:
            took, got = client.call("POST", "/api/executions", {"tool": TOOL, "args": ARGS})
            assert got["result"]["ok"] and got["result"]["data"]["id"] == 1, got
            return took
        out["call_tool"] = timed(call, rounds)
    if code_call:
        def code(_i: int) -> float:
            took, got = client.call("POST", "/api/executions", {"code": CODE})
            assert got["status"] == "completed" and not got.get("isError"), got
            return took
        out["call_code"] = timed(code, rounds)
    return out


def schema_rss(client: Client, pid: int, address: str, calls: int) -> dict[str, float]:
    path = f"/api/tools/schema?address={quote(address)}"
    client.call("GET", path)
    before = tree_rss_mb(pid)
    peak = before
    for i in range(calls):
        client.call("GET", path)
        if i % 50 == 0:
            peak = max(peak, tree_rss_mb(pid))
    after = tree_rss_mb(pid)
    return {"calls": calls, "before_mb": round(before, 1), "after_mb": round(after, 1),
            "peak_mb": round(max(peak, after), 1)}


def ours(data: Path, env: dict[str, str], work: Path, rounds: int,
         rss_calls: int) -> dict[str, Any]:
    from catalog_util import SourceDaemon

    daemon = SourceDaemon(data, {**env, "EXECUTOR_SECRET_PROVIDER": "file"}, cwd=work)
    with daemon:
        client = Client(daemon.wait_ready(), daemon.token)
        try:
            client.call("GET", "/api/search?query=pet")  # index built before timing
            out = catalog_ops(client, rounds, "tools." + TOOL, True, True)
            out["tools_count"] = len(client.call("GET", "/api/tools")[1])
            out["search"] = timed(lambda i: client.call(
                "GET", f"/api/search?query={quote(QUERIES[i % 5])}&limit=20")[0], rounds)
            out["rss"] = schema_rss(client, daemon.proc.pid, "tools." + TOOL, rss_calls)
            big = client.call("GET", "/api/search?namespace=big&limit=1")[1]["items"]
            if big:
                out["rss_big"] = schema_rss(client, daemon.proc.pid, "tools." + big[0]["path"],
                                            min(rss_calls, 1000))
        finally:
            client.close()
        daemon.terminate()
    return out


def peer(data: Path, env: dict[str, str], work: Path, rounds: int,
         rss_calls: int) -> dict[str, Any] | None:
    binary = install_peer(Path.home() / ".cache" / "executor-bench" / "peer")
    if binary is None:
        return None
    import peer as peer_mod

    home = work / "peer-home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    penv = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "TMPDIR": str(home / "tmp"), "XDG_DATA_HOME": env["XDG_DATA_HOME"],
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "EXECUTOR_DATA_DIR": str(data), "EXECUTOR_SCOPE_DIR": str(data),
            "EXECUTOR_DISABLE_INTEGRATIONS_FETCH": "1", "EXECUTOR_DISABLE_UPDATE_CHECK": "1",
            "DO_NOT_TRACK": "1"}
    token = "t" + secrets.token_urlsafe(24)
    server = peer_mod.Peer(binary, ["daemon", "run", "--foreground", "--port", "0",
                                    "--hostname", "127.0.0.1", f"--auth-token={token}"],
                           penv, cwd=data)
    try:
        client = Client(server.wait_ready(), token)
        try:
            tools = client.call("GET", "/api/tools")[1]
            addresses = {t["address"] for t in tools}
            if "tools." + TOOL not in addresses:
                raise RuntimeError(f"1.5.9 does not list tools.{TOOL} ({len(tools)} tools)")
            out = catalog_ops(client, rounds, "tools." + TOOL, True, False)
            out["tools_count"] = len(tools)
            big = sorted(a for a in addresses if a.startswith("tools.big."))
            out["rss_big"] = schema_rss(client, server.proc.pid, big[len(big) // 2],
                                        rss_calls)
        finally:
            client.close()
    finally:
        server.stop()
    return out


def measure(rounds: int, with_peer: bool, rss_ours: int, rss_peer: int) -> dict[str, Any]:
    work = scratch("call")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env = {**keep, "HOME": str(work / "home"), "XDG_DATA_HOME": str(work / "xdg"),
           "EXECUTOR_LOG_LEVEL": "warning", "PYTHONDONTWRITEBYTECODE": "1"}
    (work / "home").mkdir()
    up = Upstream()
    out: dict[str, Any] = {"rounds": rounds}
    try:
        data = prepare(work, up, env)
        out["direct_httpx"] = direct(up, rounds)
        out["ours"] = ours(data, env, work, rounds, rss_ours)
        out["direct_httpx_after"] = direct(up, rounds)  # the neighbours moved, or not
        if with_peer:
            out["peer"] = peer(data, env, work, rounds, rss_peer)
    finally:
        up.stop()
    base = min(out["direct_httpx"]["p50"], out["direct_httpx_after"]["p50"])
    out["overhead_p50_ms"] = round(out["ours"]["call_tool"]["p50"] - base, 2)
    return out


def report(d: dict[str, Any]) -> str:
    o, p = d["ours"], d.get("peer") or {}

    def cell(side: dict[str, Any], key: str) -> str:
        v = side.get(key)
        return f"{v['p50']} / {v['p99']}" if v else "—"

    def ratio(key: str) -> str:
        return (f"{o[key]['p50'] / p[key]['p50']:.2f}" if p.get(key) and o.get(key) else "—")

    lines = [f"Tools in the catalog: ours {o['tools_count']}, 1.5.9 "
             f"{p.get('tools_count', '—')} (the petstore's and {BIG_OPS} synthetic operations). "
             f"{d['rounds']} requests per figure, one keep-alive connection.", "",
             "| operation (p50 / p99 ms) | direct httpx | ours | executor 1.5.9 | ours ÷ 1.5.9 |",
             "|---|---|---|---|---|"]
    lines.append(f"| `GET /pets/1` on the upstream | {cell(d, 'direct_httpx')} "
                 f"(after: {cell(d, 'direct_httpx_after')}) | | | |")
    rows = [("`GET /api/health` (the HTTP stack alone)", "health"),
            ("`POST /api/executions {tool, args}`", "call_tool"),
            ("`POST /api/executions {code}` (`return await tools[path](args)`)", "call_code"),
            ("`GET /api/tools` (whole catalog)", "tools_all"),
            ("`GET /api/tools?query=`", "tools_query"),
            ("`GET /api/search?query=&limit=20`", "search"),
            ("`GET /api/tools/schema?address=`", "schema")]
    for name, key in rows:
        lines.append(f"| {name} | | {cell(o, key)} | {cell(p, key)} | {ratio(key)} |")
    ov = d["overhead_p50_ms"]
    lines += ["", f"Tool-call overhead through the daemon (`{{tool, args}}` p50 − direct httpx "
              f"p50): {ov} ms (goal ≤ 2 ms: {'met' if ov <= 2 else 'NOT met'})."]
    if p.get("call_code") and o.get("call_code"):
        lines.append(f"The same call as code, ours vs 1.5.9: {o['call_code']['p50']} vs "
                     f"{p['call_code']['p50']} ms p50.")
    lines += ["", "| RSS over `/api/tools/schema` calls (process tree) | calls | before MB | "
              "after MB | peak MB | growth MB |", "|---|---|---|---|---|---|"]
    for who, side, key in (("ours, petstore tool", o, "rss"), ("ours, a big-spec tool", o,
                                                               "rss_big"),
                           ("executor 1.5.9, a big-spec tool", p, "rss_big")):
        r = side.get(key)
        if r:
            lines.append(f"| {who} | {r['calls']} | {r['before_mb']} | {r['after_mb']} | "
                         f"{r['peak_mb']} | {r['after_mb'] - r['before_mb']:+.1f} |")
    if not p:
        lines.append("\n(executor 1.5.9 not measured: --no-peer, or npm unavailable)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, few RSS calls (smoke)")
    parser.add_argument("--no-peer", action="store_true", help="skip executor 1.5.9")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    rounds, rss_ours, rss_peer = (20, 200, 30) if args.quick else (args.rounds, 10_000, 300)
    data = measure(rounds, not args.no_peer, rss_ours, rss_peer)
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
