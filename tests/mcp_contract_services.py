"""A small ``Services`` that follows docs/catalog-contract.md, for the MCP server tests until the
core engineer's catalog and executions land in main (then these tests switch to the real ones).

Real parts: tools are called over real HTTP on a real upstream (``tests/upstreams/tinypets``),
and pauses are persisted in a real SQLite file, so an approval survives a "daemon restart" (a
new ``ContractServices`` on the same file) and an MCP session change.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

INTEGRATION = "pets"


def tools_for(base_url: str) -> list[dict[str, Any]]:
    pet = {"type": "object", "properties": {"name": {"type": "string"},
                                            "tag": {"type": "string"}},
           "required": ["name"], "additionalProperties": False}
    return [
        {"path": f"{INTEGRATION}.org.default.pets.listPets", "name": "pets.listPets",
         "description": "List all pets", "method": "GET", "url": f"{base_url}/pets",
         "inputSchema": {"type": "object", "properties": {"limit": {"type": "integer"}},
                         "additionalProperties": False}},
        {"path": f"{INTEGRATION}.org.default.pets.createPet", "name": "pets.createPet",
         "description": "Create a pet", "method": "POST", "url": f"{base_url}/pets",
         "requiresApproval": True,
         "inputSchema": {"type": "object", "properties": {"body": pet}, "required": ["body"],
                         "additionalProperties": False}},
        {"path": f"{INTEGRATION}.org.default.pets.slow", "name": "pets.slow",
         "description": "Answers when the test lets it", "method": "GET",
         "url": f"{base_url}/slow", "inputSchema": {"type": "object", "properties": {}}},
        {"path": f"{INTEGRATION}.org.default.pets.deleteAll", "name": "pets.deleteAll",
         "description": "Delete every pet", "method": "DELETE", "url": f"{base_url}/pets",
         "blocked": True, "inputSchema": {"type": "object", "properties": {}}},
    ]


class Catalog:
    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self.index = NoIndex()

    def _visible(self) -> list[dict[str, Any]]:
        return [t for t in self.tools if not t.get("blocked")]

    def search(self, query: str, *, namespace: str | None = None, limit: int = 12,
               offset: int = 0, include_schema: bool = False) -> dict[str, Any]:
        words = [w for w in query.lower().split() if w]
        scored = []
        for t in self._visible():
            integration = t["path"].split(".", 1)[0]
            if namespace and integration != namespace:
                continue
            hay = f"{t['path']} {t['description']}".lower()
            score = sum(hay.count(w) for w in words) if words else 1
            if score:
                scored.append((score, t))
        scored.sort(key=lambda st: (-st[0], st[1]["path"]))
        page = scored[offset:offset + limit]
        items = []
        for score, t in page:
            item = {"path": t["path"], "name": t["name"], "description": t["description"],
                    "integration": t["path"].split(".", 1)[0], "score": float(score)}
            if include_schema:
                item["inputSchema"] = t["inputSchema"]
            items.append(item)
        more = offset + len(page) < len(scored)
        return {"items": items, "total": len(scored), "hasMore": more,
                "nextOffset": offset + len(page) if more else None}

    def integrations(self) -> list[dict[str, Any]]:
        slugs = sorted({t["path"].split(".", 1)[0] for t in self.tools})
        return [{"slug": s, "pluginId": "openapi"} for s in slugs]

    def find(self, path: str) -> dict[str, Any] | None:
        return next((t for t in self.tools if t["path"] == path), None)


class Executions:
    """Pauses and settled outcomes in a SQLite file; resume is idempotent."""

    def __init__(self, catalog: Catalog, db: Path) -> None:
        self.catalog = catalog
        self.db = db
        self.calls: list[tuple[str, dict[str, Any]]] = []
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS execution (id TEXT PRIMARY KEY, path TEXT, "
                      "args TEXT, status TEXT, outcome TEXT)")

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    async def call(self, path: str, args: dict[str, Any], *, auto_approve: bool = False,
                   origin: str = "api") -> dict[str, Any]:
        tool = self.catalog.find(path)
        execution_id = f"exec_{uuid.uuid4().hex}"
        if tool is None:
            return self._completed(execution_id, {"ok": False, "error": {
                "code": "tool_not_found", "message": f"no tool {path}"}})
        if tool.get("blocked"):
            return self._completed(execution_id, {"ok": False, "error": {
                "code": "blocked", "message": f"{path} is blocked by a policy"}})
        if tool.get("requiresApproval") and not auto_approve:
            interaction = {"kind": "form", "message": f"Approve {path}?", "address": path,
                           "args": args}
            with self._conn() as c:
                c.execute("INSERT INTO execution VALUES (?, ?, ?, 'paused', ?)",
                          (execution_id, path, json.dumps(args), json.dumps(interaction)))
            return {"status": "paused", "executionId": execution_id, "interaction": interaction}
        import anyio.to_thread  # a real call blocks: keep it off the server's event loop

        envelope = await anyio.to_thread.run_sync(self._run, tool, args)
        return self._completed(execution_id, envelope)

    async def resume(self, execution_id: str, action: str,
                     content: dict[str, Any] | None = None) -> dict[str, Any] | None:
        with self._conn() as c:
            row = c.execute("SELECT path, args, status, outcome FROM execution WHERE id = ?",
                            (execution_id,)).fetchone()
        if row is None:
            return None
        path, args, status, outcome = row
        if status != "paused":
            return json.loads(outcome)
        if action == "accept":
            import anyio.to_thread

            envelope = await anyio.to_thread.run_sync(self._run, self.catalog.find(path) or {},
                                                      json.loads(args))
        else:
            envelope = {"ok": False, "error": {"code": "declined",
                                               "message": f"the user chose {action}"}}
        return self._completed(execution_id, envelope, update=True)

    def get(self, execution_id: str) -> dict[str, Any] | None:  # sync, as the core's
        with self._conn() as c:
            row = c.execute("SELECT status, outcome FROM execution WHERE id = ?",
                            (execution_id,)).fetchone()
        if row is None:
            return None
        if row[0] == "paused":
            return {"status": "paused", "executionId": execution_id,
                    "interaction": json.loads(row[1])}
        return json.loads(row[1])

    def _completed(self, execution_id: str, envelope: dict[str, Any], *,
                   update: bool = False) -> dict[str, Any]:
        out = {"status": "completed", "executionId": execution_id, "result": envelope}
        with self._conn() as c:
            if update:
                c.execute("UPDATE execution SET status = 'completed', outcome = ? WHERE id = ?",
                          (json.dumps(out), execution_id))
            else:
                c.execute("INSERT INTO execution VALUES (?, '', '{}', 'completed', ?)",
                          (execution_id, json.dumps(out)))
        return out

    def _run(self, tool: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((tool.get("path", ""), args))
        body = json.dumps(args.get("body")).encode() if "body" in args else None
        req = urllib.request.Request(tool["url"], data=body, method=tool["method"],
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return {"ok": True, "data": json.loads(resp.read()),
                    "http": {"status": resp.status, "headers": {}}}


class NoPlugins:
    """The plugin registry of a catalog without plugins (the server's lifespans ask it)."""

    def get(self, _plugin_id: str) -> None:
        return None


class NoIndex:
    """The search index of a catalog that searches in memory (the server warms an index)."""

    def ensure_current(self) -> None:
        return None


class ContractServices:
    def __init__(self, base_url: str, db: Path, tools: list[dict[str, Any]] | None = None,
                 ) -> None:
        self.catalog = Catalog(tools if tools is not None else tools_for(base_url))
        self.executions = Executions(self.catalog, db)
        self.extras: dict[str, Any] = {}
        self.registry = NoPlugins()

    def close(self) -> None:
        """The server's lifespan closes its Services at shutdown."""
