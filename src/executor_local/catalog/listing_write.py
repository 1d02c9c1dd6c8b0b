"""Writing a plugin's ``Listing`` for one connection: tools, definitions, plugin_storage
bindings, and the search index, exactly as the fixture ``executor-1.5.9-migrated/mixed`` holds
them (one tool row per connection; bindings keyed ``<integration>.<tool>`` per owner)."""

from __future__ import annotations

import sqlite3
from typing import Any

from executor_local.catalog.search_index import SearchIndex
from executor_local.integrations.base import Listing
from executor_local.store import tables
from executor_local.store.ids import blob_namespace, subject_for
from executor_local.store.rows import dumps, query_all


def storage_data(plugin: Any, plugin_id: str, integration: str, tool: str,
                 binding: dict[str, Any]) -> dict[str, Any]:
    """The ``plugin_storage.data`` document; a plugin may shape it (``storage_data``)."""
    shaper = getattr(plugin, "storage_data", None)
    if callable(shaper):
        return shaper(integration, tool, binding)
    if plugin_id == "mcp":
        return {"namespace": integration, "toolId": f"{integration}.{tool}", "binding": binding}
    return {"integration": integration, "toolName": tool, "binding": binding}


def tool_rowids(conn: sqlite3.Connection, tenant: str, owner: str, integration: str,
                connection: str | None = None) -> list[int]:
    sql = ('SELECT rowid FROM "tool" WHERE tenant = ? AND owner = ? AND subject = ? AND '
           "integration = ?")
    params: list[Any] = [tenant, owner, subject_for(owner), integration]
    if connection is not None:
        sql += " AND connection = ?"
        params.append(connection)
    return [int(r[0]) for r in query_all(conn, sql, tuple(params))]


def drop_connection_tools(conn: sqlite3.Connection, index: SearchIndex, tenant: str, owner: str,
                          integration: str, connection: str) -> None:
    rowids = tool_rowids(conn, tenant, owner, integration, connection)
    index.remove(conn, rowids)
    key = (tenant, owner, subject_for(owner), integration, connection)
    where = "tenant = ? AND owner = ? AND subject = ? AND integration = ? AND connection = ?"
    tables.delete(conn, "tool", where, key)
    tables.delete(conn, "definition", where, key)


def write_listing(conn: sqlite3.Connection, index: SearchIndex, *, tenant: str, owner: str,
                  integration: str, plugin_id: str, plugin: Any, connection: str,
                  listing: Listing, now: int) -> int:
    """Replace the connection's tools with ``listing``; returns the number of tools."""
    drop_connection_tools(conn, index, tenant, owner, integration, connection)
    collection = getattr(plugin, "binding_collection", "operation")
    tool_rows, storage_rows, seen = [], [], set()
    for spec in listing.tools:
        if spec.name in seen:
            continue
        seen.add(spec.name)
        tool_rows.append(tables.new_tool(
            tenant, owner, integration, connection, plugin_id, spec.name, spec.description or "",
            dumps(spec.input_schema) if spec.input_schema is not None else None,
            dumps(spec.output_schema) if spec.output_schema is not None else None,
            dumps(spec.annotations) if spec.annotations else None, now))
        if spec.binding is not None:
            data = storage_data(plugin, plugin_id, integration, spec.name, spec.binding)
            storage_rows.append(tables.new_plugin_data(
                tenant, owner, plugin_id, collection, f"{integration}.{spec.name}", dumps(data),
                now))
    tables.insert(conn, tool_rows)
    tables.insert(conn, [tables.new_definition(tenant, owner, integration, connection, plugin_id,
                                               name, dumps(schema), now)
                         for name, schema in listing.definitions.items()])
    for row in storage_rows:  # keep created_at of a binding that already existed
        old = tables.plugin_data(conn, tenant, owner, plugin_id, row.collection, row.key)
        if old is not None:
            row.created_at = old.created_at
    tables.insert(conn, storage_rows, replace=True)
    index.add(conn, tool_rowids(conn, tenant, owner, integration, connection))
    index.mark(conn)
    keep_learned(conn, tenant=tenant, integration=integration, plugin_id=plugin_id,
                 listing=listing, now=now)
    return len(tool_rows)


def keep_learned(conn: sqlite3.Connection, *, tenant: str, integration: str, plugin_id: str,
                 listing: Listing, now: int) -> None:
    """Store what listing taught the plugin (``Listing.blobs``/``config``): e.g. the GraphQL
    snapshot a migrated config lacked, and the config pointing at it, so the next boot (and
    Executor reading the same file) needs no introspection."""
    blobs = getattr(listing, "blobs", None) or {}
    config = getattr(listing, "config", None)
    if blobs:
        namespace = blob_namespace(tenant, "org", plugin_id)
        for key, value in blobs.items():
            tables.put_blob(conn, namespace, key, value)
    if isinstance(config, dict):
        tables.update(conn, "integration", {"config": dumps(config), "updated_at": now},
                      "tenant = ? AND slug = ?", (tenant, integration))


def drop_unused_bindings(conn: sqlite3.Connection, tenant: str, owner: str, integration: str,
                         plugin_id: str) -> None:
    """Remove bindings of tools no connection of this owner still has."""
    sql = ('DELETE FROM "plugin_storage" WHERE tenant = ? AND owner = ? AND subject = ? AND '
           "plugin_id = ? AND key LIKE ? ESCAPE '\\' AND substr(key, ?) NOT IN (SELECT name FROM "
           '"tool" WHERE tenant = ? AND owner = ? AND subject = ? AND integration = ?)')
    like = integration.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
    sub = subject_for(owner)
    conn.execute(sql, (tenant, owner, sub, plugin_id, like, len(integration) + 2, tenant, owner,
                       sub, integration)).close()
