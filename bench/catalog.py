"""Catalog bench: search and listing latency through HTTP at 10k and 100k tools, and RSS over
10,000 ``/api/tools/schema`` calls.

    .venv/bin/python bench/catalog.py [--sizes 10000,100000] [--schema-calls 10000]

Synthetic rows are inserted directly (``store.tables``) into a fresh data dir: integrations of
1,000 tools each, one connection per integration, tool names and descriptions drawn from an API
vocabulary. The daemon runs from the source tree (``python -m executor_local``), one keep-alive
HTTP connection, queries cycling over a fixed list. The first query (which builds the search
index) is reported separately and not counted. Goals (issue 13): p50 <= 10 ms at 10k, <= 50 ms
at 100k; RSS flat over the schema calls.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from executor_local.store import tables  # noqa: E402
from executor_local.store.db import Database  # noqa: E402
from executor_local.store.open import open_store  # noqa: E402
from executor_local.store.rows import dumps  # noqa: E402
from executor_local.store.tenant import tenant_for_dir  # noqa: E402

VERBS = ["list", "get", "create", "update", "delete", "search", "export", "import", "sync",
         "archive", "restore", "approve", "assign", "merge", "publish", "schedule"]
NOUNS = ["user", "invoice", "order", "pet", "repository", "issue", "comment", "ticket",
         "payment", "customer", "project", "report", "message", "channel", "file", "webhook",
         "subscription", "deployment", "secret", "team", "calendarEvent", "shipment"]
QUERIES = ["list users", "create invoice", "pet", "delete repository", "webhooks",
           "payment refund", "calendar events", "sync customers", "x", "archive project report",
           "deployments", "team members"]


def populate(data_dir: Path, n: int) -> None:
    data_dir.mkdir(parents=True)
    conn = open_store(data_dir / "data.db")
    db = Database.around(conn)
    tenant = tenant_for_dir(data_dir)
    rng = random.Random(n)
    now = int(time.time() * 1000)
    per = 1000
    try:
        with db.write() as w:
            for i in range(max(1, n // per)):
                slug = f"api{i:03d}"
                tables.insert(w, [tables.new_integration(tenant, slug, "openapi",
                                                         f"Synthetic API {i}", "{}", now)])
                tables.insert(w, [tables.new_connection(tenant, "org", slug, "main", "none",
                                                        "file", "{}", now)])
                rows = []
                for j in range(min(per, n - i * per)):
                    verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
                    name = f"{noun}s.{verb}{noun[0].upper()}{noun[1:]}{j}"
                    desc = (f"{verb.title()} {noun}s in the {slug} service; "
                            f"{rng.choice(VERBS)} {rng.choice(NOUNS)} option")
                    schema = {"type": "object", "properties": {
                        "id": {"type": "string", "description": f"The {noun} id"},
                        "limit": {"type": "integer", "maximum": 100}},
                        "additionalProperties": False}
                    rows.append(tables.new_tool(tenant, "org", slug, "main", "openapi", name, desc,
                                                dumps(schema), None, None, now))
                tables.insert(w, rows)
    finally:
        db.close()
        conn.close()


class Daemon:
    def __init__(self, data_dir: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "EXECUTOR_LOG_LEVEL": "warning",
               "EXECUTOR_SECRET_PROVIDER": "file",
               "EXECUTOR_AUTH_FILE": str(data_dir.parent / "auth.json")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "daemon", "run",
             "--foreground", "--port", "0"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, cwd=data_dir.parent)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("EXECUTOR_READY:"):
                self.port = int(line.split(":")[1])
                break
        token = json.loads((data_dir / "server-control" / "auth.json").read_text())["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def get(self, path: str) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.http.request("GET", path, headers=self.headers)
        resp = self.http.getresponse()
        body = resp.read()
        took = (time.perf_counter() - start) * 1000
        assert resp.status == 200, (path, resp.status, body[:300])
        return took, body

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def measure(daemon: Daemon, path_for, rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = [daemon.get(path_for(i))[0] for i in range(rounds)]
    return statistics.median(times), pct(times, 99)


def run(n: int, schema_calls: int, rounds: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"catalog-bench-{n}-"))
    data = tmp / "data"
    t0 = time.perf_counter()
    populate(data, n)
    fill_s = time.perf_counter() - t0
    daemon = Daemon(data)
    out: dict[str, float] = {"tools": n, "populate_s": round(fill_s, 2)}
    try:
        first, _ = daemon.get("/api/search?query=pet")
        out["first_search_ms(index build)"] = round(first, 1)
        p50, p99 = measure(daemon, lambda i: f"/api/search?query={quote(QUERIES[i % 12])}",
                           rounds)
        out["search_p50_ms"], out["search_p99_ms"] = round(p50, 2), round(p99, 2)
        p50, p99 = measure(daemon, lambda i: f"/api/tools?query={quote(QUERIES[i % 12])}",
                           rounds)
        out["tools_query_p50_ms"], out["tools_query_p99_ms"] = round(p50, 2), round(p99, 2)
        addresses = [f"api{i % max(1, n // 1000):03d}.org.main" for i in range(50)]
        _, body = daemon.get("/api/search?namespace=api000&limit=50")
        paths = [it["path"] for it in json.loads(body)["items"]] or addresses
        daemon.get(f"/api/tools/schema?address={quote(paths[0])}")
        rss0 = daemon.rss_mb()
        times = []
        for i in range(schema_calls):
            times.append(daemon.get(f"/api/tools/schema?address={quote(paths[i % len(paths)])}")[0])
            if i == schema_calls // 10:
                rss_early = daemon.rss_mb()
        out["schema_p50_ms"] = round(statistics.median(times), 2)
        out["rss_before_schema_mb"] = round(rss0, 1)
        out["rss_after_10pct_mb"] = round(rss_early, 1)
        out["rss_after_schema_mb"] = round(daemon.rss_mb(), 1)
    finally:
        daemon.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--schema-calls", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        result = run(n, args.schema_calls, args.rounds)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
