"""Write a ``MigrationPlan`` into a v2 staging database, copying the big v1 tables inside SQLite.

Tools, definitions, plugin_storage and blobs go across in one ``INSERT OR IGNORE ... SELECT``
each, straight from the v1 snapshot, which the driver attaches to the staging connection
(``attach_source``) before it opens its transaction. Fan-out and ownership come from two small
temp tables built from the plan. What SQL cannot do byte-for-byte like Python (row ids, JSON
re-shaping, BLOB or oddly typed cells) is done by SQL functions registered for the length of the
call, running the same Python rules as before and only on the rows that need them, so the rows
written are exactly what the per-row Python writer produced, in the same order. Nothing is read
whole into Python: memory stays flat however big the file is.

A caller whose transaction was already open when it came here (tests drive ``write_plan``
directly), so that nothing could be attached, gets the same SQL over raw copies of those v1
tables in the temp schema. Inserts are ``INSERT OR IGNORE`` on v2's unique keys and the counts
returned are the rows really written, for the driver to check against the plan. Every cursor is
closed by whoever opened it.

The copies themselves are in ``write.copy``, the SQL functions and temp tables they read through
in ``write.copy_source``, the row rules both share in ``plan.rules``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from executor_local.migrate.rows import dumps, insert_many
from executor_local.migrate.v1.classify import KNOWN_LEDGER_NAMES
from executor_local.migrate.write.copy import (
    copy_blobs,
    copy_definitions,
    copy_plugin_storage,
    copy_tools,
)
from executor_local.migrate.write.copy_source import SOURCE_SCHEMA, CopySource
from executor_local.store.schema import V1_TO_V2_STAMP, stamp

if TYPE_CHECKING:
    from executor_local.migrate.plan.planner import MigrationPlan

# The data is written already in the form these 1.5.9 ledger entries produce; stamping them says
# so, and keeps Executor from re-running them should it ever open the file.
POST_FORM_STAMPS = tuple(name for name in KNOWN_LEDGER_NAMES if name != V1_TO_V2_STAMP)

# ------------------------------------------------------------------------------------------------
# Writer
# ------------------------------------------------------------------------------------------------


def attach_source(dst: sqlite3.Connection, snapshot: Path) -> None:
    """Attach the v1 snapshot to the staging connection, so ``write_plan`` copies inside SQLite.

    ATTACH is refused inside a transaction: call it before BEGIN.
    """
    dst.execute(f"ATTACH DATABASE ? AS {SOURCE_SCHEMA}", (str(snapshot),)).close()


def detach_source(dst: sqlite3.Connection) -> None:
    dst.execute(f"DETACH DATABASE {SOURCE_SCHEMA}").close()


def write_plan(
    plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection
) -> dict[str, int]:
    """Insert the plan into ``dst`` (v2 schema already created) and stamp the ledger.

    Runs inside the caller's open transaction: no BEGIN or COMMIT here. ``src`` is the v1-final
    snapshot; attached to ``dst`` as ``SOURCE_SCHEMA`` its big tables are copied by SQLite alone.
    Returns the rows actually written per table, for the caller to compare with
    ``plan.expected_counts``.
    """
    with CopySource(plan, src, dst) as source:
        counts = {
            "integration": _insert(dst, "integration", plan.integrations),
            "oauth_client": _insert(dst, "oauth_client", plan.oauth_clients),
            "connection": _insert(dst, "connection", plan.connections),
            "tool_policy": _insert(dst, "tool_policy", plan.tool_policies),
            "tool": copy_tools(source),
            "definition": copy_definitions(source),
            "plugin_storage": copy_plugin_storage(source),
            "blob": copy_blobs(source),
        }
    for name in (V1_TO_V2_STAMP, *POST_FORM_STAMPS):
        stamp(dst, name, plan.now_ms)
    return counts


def _insert(dst: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    columns = list(rows[0])
    sql = (
        f'INSERT OR IGNORE INTO "{table}" ({", ".join(columns)}) '
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    return insert_many(dst, sql, (tuple(_cell(r[c]) for c in columns) for r in rows))


def _cell(value: Any) -> Any:
    return dumps(value) if isinstance(value, (dict, list)) else value
