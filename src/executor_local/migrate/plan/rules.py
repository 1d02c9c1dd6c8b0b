"""Row rules shared by the planner and the writer, in Python.

The planner calls them while it reads the small v1 tables; the writer registers most of them as
SQL functions (``write.copy_source``) for the cells the SQL copy cannot reshape by itself.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from executor_local.migrate.rows import dumps, loads, query_all
from executor_local.store.records import Owner


def v2_blob_namespace(namespace: str, owners: dict[str, Owner]) -> str | None:
    """``<scope>/<plugin>`` -> ``o:<tenant>/<plugin>`` or ``u:<tenant>:<subject>/<plugin>``."""
    scope, sep, plugin = namespace.partition("/")
    if not sep or not scope or not plugin or scope not in owners:
        return None
    return f"{blob_partition(owners[scope])}/{plugin}"


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


def normalize_plugin(plugin_id: str, kind: str) -> str:
    """v1 plugin ids as v2 knows them (``graphql-greenfield`` became ``graphql``)."""
    return "graphql" if plugin_id == "graphql-greenfield" else (plugin_id or kind)


def strip_tool_prefix(sid: str, tool_id: str) -> str:
    return tool_id[len(sid) + 1 :] if tool_id.startswith(f"{sid}.") else tool_id


def operation_row(data: Any) -> tuple[str, str] | None:
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


def blob_partition(owner: Owner) -> str:
    return f"o:{owner.tenant}" if owner.owner == "org" else f"u:{owner.tenant}:{owner.subject}"
