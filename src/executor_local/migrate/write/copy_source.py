"""The v1 tables as the staging connection sees them, for one ``write_plan`` call.

``CopySource`` registers the per-row Python rules as SQL functions, fills two small temp tables
(each scope's v2 owner, each source's fan-out) and, when the snapshot could not be attached,
copies the big v1 tables raw into the temp schema; leaving drops all of it again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from executor_local.migrate.plan.rules import (
    blob_partition,
    mcp_annotations,
    normalize_plugin,
    operation_row,
    unwrap_output_envelope,
    v2_blob_namespace,
)
from executor_local.migrate.rows import (
    as_int,
    as_text,
    dumps,
    insert_many,
    loads,
    query_all,
    row_id,
)
from executor_local.store.schema import table_columns

if TYPE_CHECKING:
    from executor_local.migrate.plan.planner import MigrationPlan

# The schema name the v1 snapshot is attached under on the staging connection.
SOURCE_SCHEMA = "v1"

# The v1 tables the SQL copies read (the others are small and read through ``src``).
COPIED_TABLES = ("tool", "definition", "plugin_storage", "blob")

OWNERS = 'temp."_v1v2_owner"'
TARGETS = 'temp."_v1v2_target"'


class CopySource:
    """The v1 tables as ``dst`` sees them, plus the plan's lookups and row rules, for one call.

    Entering registers the SQL functions and fills the temp tables; leaving drops both, whether
    the writing worked or not (a failed write is rolled back by the caller anyway).
    """

    def __init__(self, plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection):
        self.plan = plan
        self.src = src
        self.dst = dst
        self.attached = _is_attached(src, dst)
        self.columns = {t: table_columns(src, t) for t in COPIED_TABLES}
        self._temp: list[str] = []
        self._functions: list[tuple[str, int]] = []
        self._op_cache: tuple[Any, tuple[str, str] | None] = (None, None)
        self.failure: BaseException | None = None

    def table(self, name: str) -> str:
        """The qualified name ``dst`` reads the v1 table ``name`` under."""
        if self.attached:
            return f'{SOURCE_SCHEMA}."{name}"'
        return f'temp."_v1v2_src_{name}"'

    def run(self, sql: str) -> int:
        """Execute one INSERT ... SELECT on ``dst``; the rows it wrote."""
        try:
            cur = self.dst.execute(sql, {"now": self.plan.now_ms})
        except sqlite3.OperationalError:
            if self.failure is not None:
                raise self.failure  # noqa: B904 (SQLite's error stays attached as the context)
            raise
        try:
            return max(cur.rowcount, 0)
        finally:
            cur.close()

    # -- set-up and tear-down --------------------------------------------------------------------

    def __enter__(self) -> CopySource:
        try:
            self._register()
            self._lookups()
            if not self.attached:
                for name in COPIED_TABLES:
                    self._copy_raw(name)
        except BaseException:
            self._close(quietly=True)
            raise
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self._close(quietly=kind is not None)

    def _close(self, *, quietly: bool) -> None:
        """Drop the temp tables; the functions are replaced by ``None`` (sqlite3 cannot remove
        one), which releases the plan they reference and makes a stray later call fail."""
        try:
            for name in reversed(self._temp):
                self._exec(f"DROP TABLE IF EXISTS {name}")
        except sqlite3.Error:
            if not quietly:
                raise
        finally:
            self._temp.clear()
            for fname, nargs in self._functions:
                self.dst.create_function(fname, nargs, None)
            self._functions.clear()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.dst.execute(sql, params).close()

    def _register(self) -> None:
        owners = self.plan.owners
        functions: dict[str, tuple[int, Callable[..., Any]]] = {
            "v1v2_row_id": (-1, row_id),
            "v1v2_text": (1, as_text),
            "v1v2_text_or": (2, lambda value, fallback: as_text(value) or fallback),
            "v1v2_or_empty": (1, lambda value: value or ""),
            "v1v2_plugin": (1, lambda value: normalize_plugin(str(value or ""), "")),
            "v1v2_int": (2, as_int),
            "v1v2_unwrap": (1, unwrap_output_envelope),
            "v1v2_mcp": (2, mcp_annotations),
            "v1v2_op": (2, self._operation),
            "v1v2_op_row_id": (7, self._operation_row_id),
            "v1v2_pair": (2, lambda a, b: dumps([a, b])),
            "v1v2_blob_ns": (1, lambda ns: v2_blob_namespace(str(ns), owners)),
        }
        for fname, (nargs, func) in functions.items():
            self.dst.create_function(fname, nargs, self._kept(func), deterministic=True)
            self._functions.append((fname, nargs))

    def _kept(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func``, keeping what it raises: SQLite reports only "user-defined function raised
        exception", ``run`` re-raises the real error (what the Python writer raised)."""

        def call(*args: Any) -> Any:
            try:
                return func(*args)
            except BaseException as exc:
                if self.failure is None:
                    self.failure = exc
                raise

        return call

    def _moved(self, text: str) -> tuple[str, str] | None:
        """``operation_row`` of an operation row's data: (new key, new data), or None when
        the row stays as it is. SQL asks for several fields of one row in turn, so the last
        answer is kept for the next question."""
        last, moved = self._op_cache
        if last is None or text != last:
            moved = operation_row(loads(text))
            self._op_cache = (text, moved)
        return moved

    def _operation(self, text: str, field: int) -> str | None:
        """Field ``field`` (0 key, 1 data) of the re-keyed operation row, None when it stays."""
        moved = self._moved(text)
        return None if moved is None else moved[field]

    def _operation_row_id(
        self,
        tenant: str,
        owner: str,
        subject: str,
        plugin: str,
        collection: str,
        key: str,
        text: str,
    ) -> str:
        """The row id of an operation row: a re-keyed one is org-owned under its new key."""
        moved = self._moved(text)
        if moved is not None:
            owner, subject, key = "org", "", moved[0]
        return row_id("plugin_storage", tenant, owner, subject, plugin, collection, key)

    def _lookups(self) -> None:
        """Two small temp tables: each v1 scope's v2 owner, and each source's fan-out."""
        self._temp.append(OWNERS)
        self._exec(
            f"CREATE TEMP TABLE {OWNERS[5:]} (scope TEXT PRIMARY KEY, tenant TEXT, owner TEXT, "
            "subject TEXT, part TEXT)"
        )
        self._temp.append(TARGETS)
        self._exec(
            f"CREATE TEMP TABLE {TARGETS[5:]} (scope TEXT, sid TEXT, ord INTEGER, tenant TEXT, "
            "owner TEXT, subject TEXT, connection TEXT, PRIMARY KEY (scope, sid, ord))"
        )
        owners = (
            (scope, o.tenant, o.owner, o.subject, blob_partition(o))
            for scope, o in self.plan.owners.items()
        )
        insert_many(self.dst, f"INSERT INTO {OWNERS} VALUES (?, ?, ?, ?, ?)", owners)
        targets = (
            (scope, sid, i, owner.tenant, owner.owner, owner.subject, connection)
            for (scope, sid), fan in self.plan.targets.items()
            for i, (owner, connection) in enumerate(fan)
        )
        insert_many(self.dst, f"INSERT INTO {TARGETS} VALUES (?, ?, ?, ?, ?, ?, ?)", targets)

    def _copy_raw(self, name: str) -> None:
        """Copy a v1 table as it is (rowids, declared types, values) into the temp schema."""
        info = query_all(self.src, f'PRAGMA table_info("{name}")')
        if not info:
            return
        table = self.table(name)
        self._temp.append(table)
        decl = ", ".join(f'"{col}" {ctype}' for _, col, ctype, *_ in info)
        self._exec(f"CREATE TEMP TABLE {table[5:]} ({decl})")
        cols = ", ".join(f'"{col}"' for _, col, *_ in info)
        marks = ", ".join("?" for _ in range(len(info) + 1))
        cur = self.src.execute(f'SELECT rowid, {cols} FROM "{name}" ORDER BY rowid')
        try:
            insert_many(self.dst, f"INSERT INTO {table} (rowid, {cols}) VALUES ({marks})", cur)
        finally:
            cur.close()
        if name == "plugin_storage" and any(col == "key" for _, col, *_ in info):
            index = 'temp."_v1v2_src_plugin_storage_key"'
            self._exec(f"CREATE INDEX {index} ON {table[5:]} (key)")


def _is_attached(src: sqlite3.Connection, dst: sqlite3.Connection) -> bool:
    """Whether ``dst`` has ``src``'s main database attached as ``SOURCE_SCHEMA`` (and ``src``
    has nothing uncommitted that ``dst`` would not see)."""
    if src.in_transaction:
        return False
    files = {name: path for _, name, path in query_all(dst, "PRAGMA database_list")}
    attached = files.get(SOURCE_SCHEMA)
    main = {name: path for _, name, path in query_all(src, "PRAGMA database_list")}.get("main")
    if not attached or not main:
        return False
    try:
        return os.path.samefile(attached, main)
    except OSError:
        return False
