"""The rows the v1 fold writes and reads, and its inline-secret-to-binding rule.

``FoldRows`` holds the fold's state (connection, boot time, warnings, rows written, tables folded)
and the operations every per-plugin backfill of ``v1.fold.Fold`` shares: ``plugin_storage`` and
``credential_binding`` inserts, header/query placements with their secret slots, and the reads
that name what a folded table holds but the v1-final form has no place for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from executor_local.migrate.rows import dumps, loads, query_all, select_dicts, table_names
from executor_local.store.schema import table_columns


class FoldRows:
    """State and row operations of the fold; the row shapes are documented on ``v1.fold.Fold``."""

    def __init__(self, conn: sqlite3.Connection, now: int, warnings: list[str]) -> None:
        self.conn = conn
        self.now = now
        self.warnings = warnings
        self.tables = table_names(conn)
        self.rows = 0
        self.folded: list[str] = []

    def _source_auth(self, auth: Any, plugin: str, scope: str, sid: str) -> Any:
        """An MCP/GraphQL ``auth`` block with its inline secret or connection turned into a slot."""
        if not isinstance(auth, dict):
            return {"kind": "none"} if auth is None else auth
        kind = auth.get("kind")
        if kind in ("header", "query") and isinstance(auth.get("secretId"), str):
            slot = f"auth:{kind}"
            self._binding(plugin, scope, sid, slot, "secret", secret_id=auth["secretId"])
            return {
                ("secretSlot" if k == "secretId" else k): (slot if k == "secretId" else v)
                for k, v in auth.items()
            }
        if kind == "oauth2" and isinstance(auth.get("connectionId"), str):
            slot = "auth:oauth2:connection"
            self._binding(
                plugin, scope, sid, slot, "connection", connection_id=auth["connectionId"]
            )
            return {
                ("connectionSlot" if k == "connectionId" else k): (
                    slot if k == "connectionId" else v
                )
                for k, v in auth.items()
            }
        if kind == "oauth2" and not auth.get("connectionSlot"):
            self.warnings.append(
                f"{plugin} source {sid!r} (scope {scope!r}) used OAuth in a form without a v1 "
                "connection row; its tokens migrate as secrets but it must be re-authorised."
            )
        return auth

    def _placements(
        self, values: dict[str, Any], slot_prefix: str, plugin: str, scope: str, sid: str
    ) -> dict[str, Any]:
        """Turn inline ``{"secretId", "prefix"}`` references into ``{"kind": "binding"}`` ones."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            secret_id = None
            if (
                isinstance(value, dict)
                and isinstance(value.get("secretId"), str)
                and value.get("kind") in (None, "secret")
            ):
                secret_id = value["secretId"]
            if secret_id is None:
                out[name] = value
                continue
            slot = f"{slot_prefix}:{name.lower()}"
            placement: dict[str, Any] = {"kind": "binding", "slot": slot}
            if value.get("prefix") is not None:
                placement["prefix"] = value["prefix"]
            out[name] = placement
            self._binding(plugin, scope, sid, slot, "secret", secret_id=secret_id)
        return out

    def _merged(self, raw: Any, table: str, scope: str, sid: str) -> dict[str, Any]:
        """Header/query entries from a JSON column plus the per-row tables of legacy 0007."""
        values = json_column(raw) if isinstance(raw, (str, bytes)) else raw
        out: dict[str, Any] = dict(values) if isinstance(values, dict) else {}
        if table not in self.tables:
            return out
        cols = (
            "id",
            "scope_id",
            "source_id",
            "name",
            "kind",
            "text_value",
            "secret_id",
            "secret_prefix",
        )
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols, "scope_id = ? AND source_id = ?", (scope, sid)):
            if row["kind"] == "secret" and row["secret_id"]:
                ref: dict[str, Any] = {"secretId": row["secret_id"]}
                if row["secret_prefix"] is not None:
                    ref["prefix"] = row["secret_prefix"]
                out[row["name"]] = ref
            else:
                out[row["name"]] = row["text_value"] if row["text_value"] is not None else ""
        if table not in self.folded:
            self.folded.append(table)
        return out

    # -- writes ----------------------------------------------------------------------------------

    def _storage(
        self, plugin: str, collection: str, key: str, scope: str, data: Any, created: int
    ) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO plugin_storage (id, scope_id, plugin_id, collection, key, data,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dumps([plugin, collection, key]),
                scope,
                plugin,
                collection,
                key,
                dumps(data),
                created,
                self.now,
            ),
        )
        self.rows += cur.rowcount
        cur.close()

    def _binding(
        self,
        plugin: str,
        scope: str,
        sid: str,
        slot: str,
        kind: str,
        *,
        secret_id: str | None = None,
        connection_id: str | None = None,
    ) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO credential_binding (id, scope_id, plugin_id, source_id,"
            " source_scope_id, slot_key, kind, text_value, secret_id, connection_id, created_at,"
            " updated_at, secret_scope_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL)",
            (
                dumps([plugin, scope, sid, slot]),
                scope,
                plugin,
                sid,
                scope,
                slot,
                kind,
                secret_id,
                connection_id,
                self.now,
                self.now,
            ),
        )
        self.rows += cur.rowcount
        cur.close()

    # -- reads -----------------------------------------------------------------------------------

    def _rows(
        self, table: str, cols: Iterable[str], where: str = "", params: tuple[Any, ...] = ()
    ) -> list[dict[str, Any]]:
        return select_dicts(self.conn, table, cols, where, params)

    def _ids(self, table: str) -> list[str]:
        key = "id" if "id" in table_columns(self.conn, table) else "rowid"
        return [str(r[0]) for r in query_all(self.conn, f'SELECT "{key}" FROM "{table}"')]

    def _warn_unread(self, table: str, read: set[str]) -> None:
        """Name any column of a folded table that holds data the v1-final form has no place for."""
        key = "id" if "id" in table_columns(self.conn, table) else "rowid"
        for column in sorted(table_columns(self.conn, table) - read - {"scope_id", "id"}):
            ids = [
                str(r[0])
                for r in query_all(
                    self.conn, f'SELECT "{key}" FROM "{table}" WHERE "{column}" IS NOT NULL'
                )
            ]
            if ids:
                self.warnings.append(
                    f"v1 table {table} column {column} holds data for rows {ids} that the "
                    "v1-final form has no place for; it is not migrated."
                )


def json_column(value: Any) -> Any:
    """A JSON column of a per-plugin table; text that is not JSON is kept as the text itself."""
    return loads(value, fallback=value)
