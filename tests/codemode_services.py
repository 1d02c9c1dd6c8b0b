"""A ``Services`` for the code-mode MCP tests that follows docs/catalog-contract.md, until the
core engineer's Catalog and Executions are in main (then these tests switch to the real ones).

Real parts: ``CodeMode`` with its worker processes, the petstore upstream over HTTP through
``PetstoreHost``, and paused programs kept in a real SQLite file, so a new ``CodeServices`` on
the same file (a "restarted daemon", with new workers) resumes them by replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codemode_parts import Petstore, PetstoreHost
from executor_local.executions.sandbox.code_runner import CodeMode
from executor_local.executions.sandbox.pool import Pool


class CodeCatalog:
    def __init__(self, host: PetstoreHost) -> None:
        self.host = host

    def integrations(self) -> list[dict[str, Any]]:
        return [{"slug": "petstore", "pluginId": "openapi"}]

    def search(self, query: str, *, namespace: str | None = None, limit: int = 12,
               offset: int = 0, include_schema: bool = False) -> dict[str, Any]:
        return asyncio.run(self.host.search(query, namespace=namespace, limit=limit,
                                            offset=offset))


class CodeExecutions:
    """``execute_code``/``resume``/``get`` with pauses in SQLite, as core's Executions does."""

    def __init__(self, mode: CodeMode, db: Path) -> None:
        self.mode = mode
        self.db = db
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS code_execution (id TEXT PRIMARY KEY, "
                      "status TEXT, payload TEXT, outcome TEXT)")

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def _settle(self, eid: str, out: dict[str, Any]) -> dict[str, Any]:
        out = dict(out)
        payload = out.pop("payload", None)
        out.pop("content", None)
        out["executionId"] = eid
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO code_execution VALUES (?, ?, ?, ?)",
                      (eid, out["status"], json.dumps(payload), json.dumps(out)))
        return out

    async def execute_code(self, code: str, *, auto_approve: bool = False,
                           origin: str = "api") -> dict[str, Any]:
        eid = f"exec_{uuid.uuid4().hex}"
        return self._settle(eid, await self.mode.run(code, auto_approve=auto_approve,
                                                     origin=origin, execution_id=eid))

    async def resume(self, eid: str, action: str, content: Any = None) -> dict[str, Any] | None:
        with self._conn() as c:
            row = c.execute("SELECT status, payload, outcome FROM code_execution WHERE id = ?",
                            (eid,)).fetchone()
        if row is None:
            return None
        if row[0] != "paused":
            return json.loads(row[2])
        out = await self.mode.resume(json.loads(row[1]), action, content, execution_id=eid)
        return self._settle(eid, out)

    async def get(self, eid: str) -> dict[str, Any] | None:
        with self._conn() as c:
            row = c.execute("SELECT outcome FROM code_execution WHERE id = ?",
                            (eid,)).fetchone()
        return json.loads(row[0]) if row else None


class CodeServices:
    def __init__(self, store: Petstore, db: Path) -> None:
        self.pool = Pool(idle=1)
        self.host = PetstoreHost(store)
        self.catalog = CodeCatalog(self.host)
        self.executions = CodeExecutions(CodeMode(self.host, pool=self.pool), db)

    def close(self) -> None:
        self.pool.close()
