"""Read and write functions per v2 table, over the record types (``store.records``).

All take an open connection (a reader from ``Database.read`` or the writer inside
``Database.write``) and the tenant; none opens a transaction itself, so callers group writes.
Cursors are closed before returning.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from executor_local.store.ids import blob_ids, integration_row_id, owner_row_id, subject_for
from executor_local.store.records import (
    BlobRow,
    ConnectionRow,
    DefinitionRow,
    IntegrationRow,
    PluginStorageRow,
    PolicyRow,
    Record,
    ToolRow,
)
from executor_local.store.rows import insert_many, query_all

R = TypeVar("R", bound=Record)


# -- generic ---------------------------------------------------------------------------------


def select(conn: sqlite3.Connection, cls: type[R], where: str = "", params: Sequence[Any] = (),
           order: str = "rowid", limit: int | None = None) -> list[R]:
    cols = ", ".join(f'"{c}"' for c in cls.columns())
    sql = f'SELECT {cols} FROM "{cls.TABLE}"' + (f" WHERE {where}" if where else "")
    sql += f" ORDER BY {order}" if order else ""
    sql += f" LIMIT {int(limit)}" if limit is not None else ""
    return [cls.from_row(r) for r in query_all(conn, sql, tuple(params))]


def insert(conn: sqlite3.Connection, records: Iterable[Record], *, replace: bool = False) -> int:
    """Insert records of one type (``INSERT OR REPLACE`` when ``replace``)."""
    records = list(records)
    if not records:
        return 0
    cls = type(records[0])
    cols = cls.columns()
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    sql = (f'{verb} INTO "{cls.TABLE}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
           f"VALUES ({', '.join('?' for _ in cols)})")
    return insert_many(conn, sql, (r.to_row() for r in records))


def delete(conn: sqlite3.Connection, table: str, where: str, params: Sequence[Any]) -> int:
    cur = conn.execute(f'DELETE FROM "{table}" WHERE {where}', tuple(params))
    try:
        return max(cur.rowcount, 0)
    finally:
        cur.close()


def update(conn: sqlite3.Connection, table: str, values: dict[str, Any], where: str,
           params: Sequence[Any]) -> int:
    sets = ", ".join(f'"{k}" = ?' for k in values)
    cur = conn.execute(f'UPDATE "{table}" SET {sets} WHERE {where}',
                       (*values.values(), *params))
    try:
        return max(cur.rowcount, 0)
    finally:
        cur.close()


# -- integration -----------------------------------------------------------------------------


def integrations(conn: sqlite3.Connection, tenant: str) -> list[IntegrationRow]:
    return select(conn, IntegrationRow, "tenant = ?", (tenant,), order="slug")


def integration(conn: sqlite3.Connection, tenant: str, slug: str) -> IntegrationRow | None:
    rows = select(conn, IntegrationRow, "tenant = ? AND slug = ?", (tenant, slug))
    return rows[0] if rows else None


def new_integration(tenant: str, slug: str, plugin_id: str, description: str, config: str | None,
                    now: int, *, can_remove: bool = True, can_refresh: bool = False,
                    ) -> IntegrationRow:
    return IntegrationRow(slug, plugin_id, description, config, int(can_remove), int(can_refresh),
                          now, now, integration_row_id(tenant, slug), tenant)


# -- connection ------------------------------------------------------------------------------


def connections(conn: sqlite3.Connection, tenant: str, *, integration: str | None = None,
                owner: str | None = None) -> list[ConnectionRow]:
    where, params = ["tenant = ?"], [tenant]
    if integration is not None:
        where.append("integration = ?")
        params.append(integration)
    if owner is not None:
        where.append("owner = ?")
        params.append(owner)
    return select(conn, ConnectionRow, " AND ".join(where), params,
                  order="integration, owner, name")


def connection(conn: sqlite3.Connection, tenant: str, owner: str, integration: str, name: str,
               ) -> ConnectionRow | None:
    rows = select(conn, ConnectionRow,
                  "tenant = ? AND owner = ? AND subject = ? AND integration = ? AND name = ?",
                  (tenant, owner, subject_for(owner), integration, name))
    return rows[0] if rows else None


def new_connection(tenant: str, owner: str, integration: str, name: str, template: str,
                   provider: str, item_ids: str, now: int, *,
                   identity_label: str | None = None) -> ConnectionRow:
    return ConnectionRow(
        integration, name, template, provider, item_ids, identity_label, None, None, None, None,
        None, None, now, now, owner_row_id("connection", tenant, owner, integration, name),
        tenant, owner, subject_for(owner), None)


# -- tool, definition, plugin_storage --------------------------------------------------------


def tools(conn: sqlite3.Connection, tenant: str, *, integration: str | None = None,
          owner: str | None = None, connection: str | None = None) -> list[ToolRow]:
    where, params = ["tenant = ?"], [tenant]
    for col, val in (("integration", integration), ("owner", owner), ("connection", connection)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    return select(conn, ToolRow, " AND ".join(where), params,
                  order="integration, owner, connection, name")


def tool(conn: sqlite3.Connection, tenant: str, owner: str, integration: str, connection: str,
         name: str) -> ToolRow | None:
    rows = select(conn, ToolRow, "tenant = ? AND owner = ? AND subject = ? AND integration = ? "
                  "AND connection = ? AND name = ?",
                  (tenant, owner, subject_for(owner), integration, connection, name))
    return rows[0] if rows else None


def new_tool(tenant: str, owner: str, integration: str, connection: str, plugin_id: str,
             name: str, description: str, input_schema: str | None, output_schema: str | None,
             annotations: str | None, now: int) -> ToolRow:
    return ToolRow(integration, connection, plugin_id, name, description, input_schema,
                   output_schema, annotations, now, now,
                   owner_row_id("tool", tenant, owner, integration, connection, name),
                   tenant, owner, subject_for(owner))


def definitions(conn: sqlite3.Connection, tenant: str, owner: str, integration: str,
                connection: str) -> list[DefinitionRow]:
    return select(conn, DefinitionRow, "tenant = ? AND owner = ? AND subject = ? AND "
                  "integration = ? AND connection = ?",
                  (tenant, owner, subject_for(owner), integration, connection), order="rowid")


def new_definition(tenant: str, owner: str, integration: str, connection: str, plugin_id: str,
                   name: str, schema: str, now: int) -> DefinitionRow:
    return DefinitionRow(integration, connection, plugin_id, name, schema, now,
                         owner_row_id("definition", tenant, owner, integration, connection, name),
                         tenant, owner, subject_for(owner))


def plugin_data(conn: sqlite3.Connection, tenant: str, owner: str, plugin_id: str,
                collection: str, key: str) -> PluginStorageRow | None:
    rows = select(conn, PluginStorageRow, "tenant = ? AND owner = ? AND subject = ? AND "
                  "plugin_id = ? AND collection = ? AND key = ?",
                  (tenant, owner, subject_for(owner), plugin_id, collection, key))
    return rows[0] if rows else None


def new_plugin_data(tenant: str, owner: str, plugin_id: str, collection: str, key: str,
                    data: str, now: int) -> PluginStorageRow:
    return PluginStorageRow(plugin_id, collection, key, data, now, now,
                            owner_row_id("plugin_storage", tenant, owner, plugin_id, collection,
                                         key),
                            tenant, owner, subject_for(owner))


# -- blob ------------------------------------------------------------------------------------


def blob(conn: sqlite3.Connection, namespace: str, key: str) -> str | None:
    rows = query_all(conn, 'SELECT value FROM "blob" WHERE namespace = ? AND key = ?',
                     (namespace, key))
    return str(rows[0][0]) if rows else None


def put_blob(conn: sqlite3.Connection, namespace: str, key: str, value: str) -> None:
    """Content-addressed, so an existing (namespace, key) already holds this value: kept."""
    rid, bid = blob_ids(namespace, key)
    insert_many(conn, 'INSERT OR IGNORE INTO "blob" (namespace, key, value, row_id, id) '
                      "VALUES (?, ?, ?, ?, ?)", [(namespace, key, value, rid, bid)])


def blobs(conn: sqlite3.Connection, namespace: str) -> list[BlobRow]:
    return select(conn, BlobRow, "namespace = ?", (namespace,))


# -- tool_policy -----------------------------------------------------------------------------


def policies(conn: sqlite3.Connection, tenant: str) -> list[PolicyRow]:
    return select(conn, PolicyRow, "tenant = ?", (tenant,), order="owner, position, id")


def policy(conn: sqlite3.Connection, tenant: str, owner: str, policy_id: str) -> PolicyRow | None:
    rows = select(conn, PolicyRow, "tenant = ? AND owner = ? AND subject = ? AND id = ?",
                  (tenant, owner, subject_for(owner), policy_id))
    return rows[0] if rows else None


def new_policy(tenant: str, owner: str, policy_id: str, pattern: str, action: str,
               position: str, now: int) -> PolicyRow:
    return PolicyRow(policy_id, pattern, action, position, now, now,
                     owner_row_id("tool_policy", tenant, owner, policy_id), tenant, owner,
                     subject_for(owner))
