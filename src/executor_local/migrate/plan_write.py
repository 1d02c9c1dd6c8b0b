"""Write a ``MigrationPlan`` into a v2 staging database, streaming the big v1 tables.

Tools, definitions, plugin_storage and blobs are read from the v1 snapshot with one cursor each
and fed to ``executemany`` through generators, so memory stays flat however big the file is;
every cursor is closed in ``finally``. Inserts are ``INSERT OR IGNORE`` on v2's unique keys and
the counts returned are the rows really written, for the driver to check against the plan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from executor_local.migrate.rows import as_int, as_text, dumps, loads, query_all, row_id
from executor_local.migrate.v1_forms import KNOWN_LEDGER_NAMES
from executor_local.migrate.v2_connections import Owner
from executor_local.store.schema import V1_TO_V2_STAMP, stamp, table_columns

if TYPE_CHECKING:
    from executor_local.migrate.plan import MigrationPlan

# The data is written already in the form these 1.5.9 ledger entries produce; stamping them says
# so, and keeps Executor from re-running them should it ever open the file.
POST_FORM_STAMPS = tuple(name for name in KNOWN_LEDGER_NAMES if name != V1_TO_V2_STAMP)

# ------------------------------------------------------------------------------------------------
# Writer
# ------------------------------------------------------------------------------------------------


def write_plan(
    plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection
) -> dict[str, int]:
    """Insert the plan into ``dst`` (v2 schema already created) and stamp the ledger.

    Runs inside the caller's open transaction: no BEGIN or COMMIT here. Big tables are streamed
    from ``src`` cursor by cursor, each closed in ``finally``. Returns the rows actually written
    per table, for the caller to compare with ``plan.expected_counts``.
    """
    counts = {
        "integration": _insert(dst, "integration", plan.integrations),
        "oauth_client": _insert(dst, "oauth_client", plan.oauth_clients),
        "connection": _insert(dst, "connection", plan.connections),
        "tool_policy": _insert(dst, "tool_policy", plan.tool_policies),
        "tool": _stream(dst, _TOOL_INSERT, src, _tool_sql(src), lambda rows: _tools(plan, rows)),
        "definition": _definitions(plan, src, dst),
        "plugin_storage": _plugin_storage(plan, src, dst),
        "blob": _blobs(plan, src, dst),
    }
    for name in (V1_TO_V2_STAMP, *POST_FORM_STAMPS):
        stamp(dst, name, plan.now_ms)
    return counts


_TOOL_INSERT = (
    "INSERT OR IGNORE INTO tool (integration, connection, plugin_id, name, description, "
    "input_schema, output_schema, annotations, created_at, updated_at, row_id, tenant, owner, "
    "subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _tool_sql(src: sqlite3.Connection) -> str:
    cols = table_columns(src, "tool")

    def opt(name: str) -> str:
        return f"t.{name}" if name in cols else "NULL"

    return (
        f"SELECT t.scope_id, t.source_id, t.plugin_id, t.name, t.description, "
        f"{opt('input_schema')}, {opt('output_schema')}, {opt('annotations')}, t.created_at, "
        "t.updated_at, b.data FROM tool t LEFT JOIN plugin_storage b ON t.plugin_id = 'mcp' "
        "AND b.scope_id = t.scope_id AND b.plugin_id = 'mcp' AND b.collection = 'binding' "
        "AND b.key = t.source_id || '.' || t.name ORDER BY t.rowid"
    )


def _tools(plan: MigrationPlan, rows: Iterable[tuple]) -> Iterator[tuple]:
    for (
        scope,
        sid,
        plugin_id,
        name,
        description,
        input_s,
        output_s,
        notes,
        created,
        updated,
        binding,
    ) in rows:
        targets = plan.targets.get((scope, sid))
        if not targets:
            continue
        plugin = normalize_plugin(str(plugin_id or ""), "")
        input_s, output_s, notes = as_text(input_s), as_text(output_s), as_text(notes)
        if plugin == "openapi":
            output_s = unwrap_output_envelope(output_s)
        if plugin == "mcp":
            notes = mcp_annotations(notes, binding)
        for owner, connection in targets:
            yield (
                sid,
                connection,
                plugin,
                name,
                description or "",
                input_s,
                output_s,
                notes,
                as_int(created, plan.now_ms),
                as_int(updated, plan.now_ms),
                row_id("tool", owner.tenant, owner.owner, owner.subject, sid, connection, name),
                owner.tenant,
                owner.owner,
                owner.subject,
            )


def _definitions(plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection) -> int:
    cols = table_columns(src, "definition")
    if not cols:
        return 0
    schema = "schema" if "schema" in cols else "NULL"
    sql = (
        f"SELECT scope_id, source_id, plugin_id, name, {schema}, created_at FROM definition "
        "ORDER BY rowid"
    )

    def rows(cursor: Iterable[tuple]) -> Iterator[tuple]:
        for scope, sid, plugin_id, name, body, created in cursor:
            for owner, connection in plan.targets.get((scope, sid), []):
                yield (
                    sid,
                    connection,
                    normalize_plugin(str(plugin_id or ""), ""),
                    name,
                    as_text(body) or "{}",
                    as_int(created, plan.now_ms),
                    row_id(
                        "definition",
                        owner.tenant,
                        owner.owner,
                        owner.subject,
                        sid,
                        connection,
                        name,
                    ),
                    owner.tenant,
                    owner.owner,
                    owner.subject,
                )

    insert = (
        "INSERT OR IGNORE INTO definition (integration, connection, plugin_id, name, "
        "schema, created_at, row_id, tenant, owner, subject) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    return _stream(dst, insert, src, sql, rows)


_STORAGE_INSERT = (
    "INSERT OR IGNORE INTO plugin_storage (plugin_id, collection, key, data, created_at, "
    "updated_at, row_id, tenant, owner, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _plugin_storage(plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection) -> int:
    sql = (
        "SELECT scope_id, plugin_id, collection, key, data, created_at, updated_at FROM "
        "plugin_storage WHERE collection != 'source' ORDER BY rowid"
    )

    def rows(cursor: Iterable[tuple]) -> Iterator[tuple]:
        for scope, plugin_id, collection, key, data, created, updated in cursor:
            owner = plan.owners[scope]
            plugin = normalize_plugin(str(plugin_id or ""), "")
            text = as_text(data) or "{}"
            if collection == "operation" and plugin in ("openapi", "graphql"):
                moved = _operation_row(loads(text))
                if moved is not None:
                    key, text = moved
                    owner = Owner(owner.tenant, "org", "")
            yield _storage_tuple(
                plugin,
                collection,
                key,
                text,
                as_int(created, plan.now_ms),
                as_int(updated, plan.now_ms),
                owner,
            )

    written = _stream(dst, _STORAGE_INSERT, src, sql, rows)
    if table_columns(src, "google_discovery_binding"):
        sql = (
            "SELECT scope_id, source_id, id, binding, created_at FROM google_discovery_binding "
            "ORDER BY rowid"
        )

        def google(cursor: Iterable[tuple]) -> Iterator[tuple]:
            for scope, sid, tool_id, binding, created in cursor:
                owner = plan.owners[scope]
                tool = strip_tool_prefix(str(sid), str(tool_id))
                data = dumps({"integration": sid, "toolName": tool, "binding": loads(binding)})
                when = as_int(created, plan.now_ms)
                yield _storage_tuple(
                    "googleDiscovery",
                    "operation",
                    f"{sid}.{tool}",
                    data,
                    when,
                    when,
                    Owner(owner.tenant, "org", ""),
                )

        written += _stream(dst, _STORAGE_INSERT, src, sql, google)
    return written


def _storage_tuple(
    plugin: str, collection: str, key: str, data: str, created: int, updated: int, owner: Owner
) -> tuple:
    return (
        plugin,
        collection,
        key,
        data,
        created,
        updated,
        row_id("plugin_storage", owner.tenant, owner.owner, owner.subject, plugin, collection, key),
        owner.tenant,
        owner.owner,
        owner.subject,
    )


def _operation_row(data: Any) -> tuple[str, str] | None:
    """Re-key an OpenAPI/GraphQL operation row to ``<integration>.<toolName>`` (1.5.9's shape)."""
    if not isinstance(data, dict) or "binding" not in data:
        return None
    integration, tool = data.get("integration"), data.get("toolName")
    if not (isinstance(integration, str) and isinstance(tool, str)):
        sid, tool_id = data.get("sourceId"), data.get("toolId")
        if not (isinstance(sid, str) and isinstance(tool_id, str)):
            return None
        integration, tool = sid, strip_tool_prefix(sid, tool_id)
    body = {"integration": integration, "toolName": tool, "binding": data["binding"]}
    return f"{integration}.{tool}", dumps(body)


_BLOB_INSERT = (
    "INSERT OR IGNORE INTO blob (namespace, key, value, row_id, id) VALUES (?, ?, ?, ?, ?)"
)


def _blobs(plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection) -> int:
    def specs() -> Iterator[tuple]:
        seen: set[tuple[str, str]] = set()
        for blob in plan.spec_blobs:
            if (blob.namespace, blob.key) in seen:
                continue
            seen.add((blob.namespace, blob.key))
            value: Any = source_data(src, blob.scope_id, blob.source_id, blob.plugin_id)
            for step in blob.path:
                value = value.get(step) if isinstance(value, dict) else None
            if isinstance(value, str):
                yield _blob_tuple(blob.namespace, blob.key, value)

    written = _insert_many(dst, _BLOB_INSERT, specs())
    if not table_columns(src, "blob"):
        return written

    def rows(cursor: Iterable[tuple]) -> Iterator[tuple]:
        for namespace, key, value in cursor:
            v2 = v2_blob_namespace(str(namespace), plan.owners)
            if v2 is not None:
                yield _blob_tuple(v2, key, as_text(value) or "")

    return written + _stream(
        dst, _BLOB_INSERT, src, "SELECT namespace, key, value FROM blob ORDER BY rowid", rows
    )


def _blob_tuple(namespace: str, key: str, value: str) -> tuple:
    return (namespace, key, value, row_id("blob", namespace, key), dumps([namespace, key]))


# ------------------------------------------------------------------------------------------------
# Row rules shared by planner and writer
# ------------------------------------------------------------------------------------------------


def v2_blob_namespace(namespace: str, owners: dict[str, Owner]) -> str | None:
    """``<scope>/<plugin>`` -> ``o:<tenant>/<plugin>`` or ``u:<tenant>:<subject>/<plugin>``."""
    scope, sep, plugin = namespace.partition("/")
    if not sep or not scope or not plugin or scope not in owners:
        return None
    owner = owners[scope]
    partition = f"o:{owner.tenant}" if owner.owner == "org" else f"u:{owner.tenant}:{owner.subject}"
    return f"{partition}/{plugin}"


def mcp_annotations(annotations: str | None, binding_data: Any) -> str | None:
    """Stamp an MCP tool with its upstream binding (``mcp.toolName``, ``upstream``), as 1.5.9."""
    base = loads(annotations) if annotations else None
    if isinstance(base, dict) and isinstance(base.get("mcp"), dict):
        return annotations
    data = loads(binding_data)
    binding = data.get("binding") if isinstance(data, dict) else None
    tool = binding.get("toolName") if isinstance(binding, dict) else None
    if not isinstance(tool, str) or not tool:
        return annotations
    upstream = binding.get("annotations") if isinstance(binding.get("annotations"), dict) else None
    base = dict(base) if isinstance(base, dict) else {}
    destructive = bool(upstream) and upstream.get("destructiveHint") is True
    out = dict(base)
    out["requiresApproval"] = (
        base["requiresApproval"] if base.get("requiresApproval") is not None else destructive
    )
    if destructive and "approvalDescription" not in base:
        title = upstream.get("title") if upstream else None
        out["approvalDescription"] = title if title is not None else tool
    out["mcp"] = {"toolName": tool, **({"upstream": upstream} if upstream is not None else {})}
    return dumps(out)


def unwrap_output_envelope(schema: str | None) -> str | None:
    """Drop the retired ``{status, headers, data}`` envelope from an OpenAPI output schema
    (what the 2026-06-11-openapi-output-envelope-unwrap ledger entry does)."""
    if not schema or '"headers"' not in schema or '"status"' not in schema:
        return schema
    value = loads(schema)
    if not isinstance(value, dict) or value.get("type") != "object":
        return schema
    props = value.get("properties")
    required = value.get("required")
    if (
        value.get("additionalProperties") is not False
        or not isinstance(props, dict)
        or not isinstance(required, list)
        or sorted(map(str, required)) != ["data", "headers", "status"]
        or "data" not in props
    ):
        return schema
    if props.get("status") != {"type": "integer"} or props.get("headers") != {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }:
        return schema
    data = props["data"]
    return None if isinstance(data, dict) and not data else dumps(data)


def source_data(src: sqlite3.Connection, scope: str, sid: str, plugin_id: str) -> Any:
    """The parsed ``plugin_storage[source]`` data of one v1 source (its own plugin's row first)."""
    rows = query_all(
        src,
        "SELECT data FROM plugin_storage WHERE scope_id = ? AND collection = 'source'"
        " AND key = ? ORDER BY (plugin_id = ?) DESC, rowid LIMIT 1",
        (scope, sid, plugin_id),
    )
    return loads(rows[0][0]) if rows else None


def _insert(dst: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    columns = list(rows[0])
    sql = (
        f'INSERT OR IGNORE INTO "{table}" ({", ".join(columns)}) '
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    return _insert_many(dst, sql, (tuple(_cell(r[c]) for c in columns) for r in rows))


def _cell(value: Any) -> Any:
    return dumps(value) if isinstance(value, (dict, list)) else value


def _insert_many(dst: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> int:
    cur = dst.cursor()
    try:
        cur.executemany(sql, rows)
        return max(cur.rowcount, 0)
    finally:
        cur.close()


def _stream(
    dst: sqlite3.Connection,
    insert: str,
    src: sqlite3.Connection,
    select: str,
    transform: Callable[[Iterable[tuple]], Iterator[tuple]],
) -> int:
    """Feed ``select``'s rows, transformed, into ``insert`` without materialising them."""
    cur = src.cursor()
    try:
        cur.execute(select)
        return _insert_many(dst, insert, transform(cur))
    finally:
        cur.close()


def normalize_plugin(plugin_id: str, kind: str) -> str:
    """v1 plugin ids as v2 knows them (``graphql-greenfield`` became ``graphql``)."""
    return "graphql" if plugin_id == "graphql-greenfield" else (plugin_id or kind)


def strip_tool_prefix(sid: str, tool_id: str) -> str:
    return tool_id[len(sid) + 1 :] if tool_id.startswith(f"{sid}.") else tool_id
