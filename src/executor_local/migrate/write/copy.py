"""The SQL copy of the big v1 tables: tools, definitions, plugin_storage and blobs.

Each is one ``INSERT OR IGNORE ... SELECT`` from the v1 tables as ``CopySource`` exposes them,
joined to its owner and fan-out temp tables; cells of an unusual type go through the Python
rules registered as SQL functions, so the rows are those the per-row Python writer produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from executor_local.migrate.plan.rules import source_data, strip_tool_prefix
from executor_local.migrate.rows import as_int, dumps, insert_many, loads, row_id, stream
from executor_local.migrate.write.copy_source import OWNERS, TARGETS, CopySource
from executor_local.store.records import Owner
from executor_local.store.schema import table_columns

# -- SQL for the Python cell rules: a fast path for the usual type, the Python rule otherwise ----


def _text(col: str) -> str:
    """``as_text(col)``."""
    return f"(CASE WHEN typeof({col}) IN ('text', 'null') THEN {col} ELSE v1v2_text({col}) END)"


def _text_or(col: str, fallback: str) -> str:
    """``as_text(col) or fallback``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN (CASE WHEN {col} = '' THEN '{fallback}' ELSE "
        f"{col} END) WHEN 'null' THEN '{fallback}' ELSE v1v2_text_or({col}, '{fallback}') END)"
    )


def _or_empty(col: str) -> str:
    """``col or ""``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN {col} WHEN 'null' THEN '' "
        f"ELSE v1v2_or_empty({col}) END)"
    )


def _plugin(col: str) -> str:
    """``normalize_plugin(str(col or ""), "")``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN (CASE {col} WHEN 'graphql-greenfield' THEN "
        f"'graphql' ELSE {col} END) WHEN 'null' THEN '' ELSE v1v2_plugin({col}) END)"
    )


def _int(col: str) -> str:
    """``as_int(col, plan.now_ms)``."""
    return (
        f"(CASE typeof({col}) WHEN 'integer' THEN {col} WHEN 'null' THEN :now "
        f"ELSE v1v2_int({col}, :now) END)"
    )


# -- the big tables ------------------------------------------------------------------------------


def copy_tools(s: CopySource) -> int:
    """Each tool once per connection of its source, in v1 row order; OpenAPI output schemas
    lose the retired envelope, MCP tools get their upstream binding's annotations."""
    cols = s.columns["tool"]
    if not cols:
        return 0

    def opt(name: str) -> str:
        return f"t.{name}" if name in cols else "NULL"

    output = _text(opt("output_schema"))
    notes = _text(opt("annotations"))
    # An MCP tool's binding row, found through the key index (the unary + keeps SQLite from
    # preferring the plugin/collection index, which would scan every binding for every tool).
    # Two binding rows of one tool would collide in v2's plugin_storage, so the plan's count
    # check fails such a file whichever row is read here.
    binding = (
        f"(SELECT b.data FROM {s.table('plugin_storage')} b WHERE b.key = t.source_id || '.' "
        "|| t.name AND +b.scope_id = t.scope_id AND +b.plugin_id = 'mcp' "
        "AND +b.collection = 'binding' LIMIT 1)"
    )
    return s.run(
        "INSERT OR IGNORE INTO main.tool (integration, connection, plugin_id, name, description, "
        "input_schema, output_schema, annotations, created_at, updated_at, row_id, tenant, owner, "
        f"subject) SELECT t.source_id, g.connection, {_plugin('t.plugin_id')}, t.name, "
        f"{_or_empty('t.description')}, {_text(opt('input_schema'))}, "
        f"(CASE WHEN t.plugin_id = 'openapi' AND instr({output}, '\"headers\"') > 0 "
        f"AND instr({output}, '\"status\"') > 0 THEN v1v2_unwrap({output}) ELSE {output} END), "
        f"(CASE WHEN t.plugin_id = 'mcp' THEN v1v2_mcp({notes}, {binding}) ELSE {notes} END), "
        f"{_int('t.created_at')}, {_int('t.updated_at')}, "
        "v1v2_row_id('tool', g.tenant, g.owner, g.subject, t.source_id, g.connection, t.name), "
        f"g.tenant, g.owner, g.subject FROM {s.table('tool')} t CROSS JOIN {TARGETS} g "
        "ON g.scope = t.scope_id AND g.sid = t.source_id ORDER BY t.rowid, g.ord"
    )


def copy_definitions(s: CopySource) -> int:
    cols = s.columns["definition"]
    if not cols:
        return 0
    body = _text_or("d.schema" if "schema" in cols else "NULL", "{}")
    return s.run(
        "INSERT OR IGNORE INTO main.definition (integration, connection, plugin_id, name, "
        "schema, created_at, row_id, tenant, owner, subject) "
        f"SELECT d.source_id, g.connection, {_plugin('d.plugin_id')}, d.name, {body}, "
        f"{_int('d.created_at')}, v1v2_row_id('definition', g.tenant, g.owner, g.subject, "
        "d.source_id, g.connection, d.name), g.tenant, g.owner, g.subject "
        f"FROM {s.table('definition')} d CROSS JOIN {TARGETS} g "
        "ON g.scope = d.scope_id AND g.sid = d.source_id ORDER BY d.rowid, g.ord"
    )


def copy_plugin_storage(s: CopySource) -> int:
    """Every non-source row under its scope's owner; OpenAPI/GraphQL operation rows re-keyed to
    ``<integration>.<toolName>`` and org-owned (``operation_row``); then Google Discovery
    bindings as ``googleDiscovery`` operation rows."""
    data = _text_or("ps.data", "{}")
    is_op = (
        "(ps.collection = 'operation' "
        "AND ps.plugin_id IN ('openapi', 'graphql', 'graphql-greenfield'))"
    )
    moved = f"({is_op} AND v1v2_op({data}, 0) IS NOT NULL)"
    plugin = _plugin("ps.plugin_id")
    written = s.run(
        "INSERT OR IGNORE INTO main.plugin_storage (plugin_id, collection, key, data, "
        "created_at, updated_at, row_id, tenant, owner, subject) "
        f"SELECT {plugin}, ps.collection, "
        f"(CASE WHEN {is_op} THEN coalesce(v1v2_op({data}, 0), ps.key) ELSE ps.key END), "
        f"(CASE WHEN {is_op} THEN coalesce(v1v2_op({data}, 1), {data}) ELSE {data} END), "
        f"{_int('ps.created_at')}, {_int('ps.updated_at')}, "
        f"(CASE WHEN {is_op} THEN v1v2_op_row_id(o.tenant, o.owner, o.subject, {plugin}, "
        f"ps.collection, ps.key, {data}) ELSE v1v2_row_id('plugin_storage', o.tenant, o.owner, "
        f"o.subject, {plugin}, ps.collection, ps.key) END), o.tenant, "
        f"(CASE WHEN {moved} THEN 'org' ELSE o.owner END), "
        f"(CASE WHEN {moved} THEN '' ELSE o.subject END) "
        f"FROM {s.table('plugin_storage')} ps CROSS JOIN {OWNERS} o ON o.scope = ps.scope_id "
        "WHERE ps.collection != 'source' ORDER BY ps.rowid"
    )
    if table_columns(s.src, "google_discovery_binding"):
        plan = s.plan
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

        written += stream(s.dst, _STORAGE_INSERT, s.src, sql, google)
    return written


_STORAGE_INSERT = (
    "INSERT OR IGNORE INTO plugin_storage (plugin_id, collection, key, data, created_at, "
    "updated_at, row_id, tenant, owner, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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


_BLOB_INSERT = (
    "INSERT OR IGNORE INTO blob (namespace, key, value, row_id, id) VALUES (?, ?, ?, ?, ?)"
)


def copy_blobs(s: CopySource) -> int:
    """Spec texts the configs moved out (read again from their v1 source rows), then the v1
    blobs whose namespace names a known scope, under the v2 namespace."""
    plan, src = s.plan, s.src

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

    written = insert_many(s.dst, _BLOB_INSERT, specs())
    if not s.columns["blob"]:
        return written
    # v2_blob_namespace in SQL for text namespaces: `<scope>/<plugin>` with a known scope.
    slash = "instr(b.namespace, '/')"
    namespace = (
        "(CASE WHEN typeof(b.namespace) = 'text' THEN "
        f"(CASE WHEN o.scope IS NOT NULL THEN o.part || substr(b.namespace, {slash}) END) "
        "ELSE v1v2_blob_ns(b.namespace) END)"
    )
    return written + s.run(
        "INSERT OR IGNORE INTO main.blob (namespace, key, value, row_id, id) "
        f"SELECT {namespace}, b.key, {_text_or('b.value', '')}, "
        f"v1v2_row_id('blob', {namespace}, b.key), v1v2_pair({namespace}, b.key) "
        f"FROM {s.table('blob')} b LEFT JOIN {OWNERS} o ON typeof(b.namespace) = 'text' "
        f"AND {slash} > 1 AND {slash} < length(b.namespace) "
        f"AND o.scope = substr(b.namespace, 1, {slash} - 1) "
        f"WHERE {namespace} IS NOT NULL ORDER BY b.rowid"
    )


def _blob_tuple(namespace: str, key: str, value: str) -> tuple:
    return (namespace, key, value, row_id("blob", namespace, key), dumps([namespace, key]))
