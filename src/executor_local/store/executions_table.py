"""Our ``executor_local_execution`` table: paused executions that must survive a restart."""

from __future__ import annotations

import sqlite3
from typing import Any

from executor_local.store.records import ExecutionRow
from executor_local.store.tables import insert, select, update


def get(conn: sqlite3.Connection, execution_id: str) -> ExecutionRow | None:
    rows = select(conn, ExecutionRow, "id = ?", (execution_id,))
    return rows[0] if rows else None


def put(conn: sqlite3.Connection, row: ExecutionRow) -> None:
    insert(conn, [row], replace=True)


def transition(conn: sqlite3.Connection, execution_id: str, from_status: str,
               values: dict[str, Any]) -> bool:
    """Move one execution out of ``from_status``; False when another resume got there first."""
    return update(conn, ExecutionRow.TABLE, values, "id = ? AND status = ?",
                  (execution_id, from_status)) == 1


def prune(conn: sqlite3.Connection, before_ms: int) -> int:
    """Forget settled or expired executions last touched before ``before_ms``."""
    cur = conn.execute('DELETE FROM "executor_local_execution" WHERE status != ? AND '
                       "updated_at < ?", ("paused", before_ms))
    try:
        return max(cur.rowcount, 0)
    finally:
        cur.close()
