"""A tool's default approval when no policy rule matches (reference §5.4).

``annotations.requiresApproval`` when the tool row has it (MCP stamps it; plugins may set it);
else what the plugin's binding says: OpenAPI POST/PUT/PATCH/DELETE, GraphQL mutations. Migrated
OpenAPI and GraphQL tools carry no annotations (the fixture's rows), so the binding decides.
"""

from __future__ import annotations

from typing import Any

from executor_local.store.rows import loads

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

# SQL giving the two binding facts per tool row ``t`` (joined to plugin_storage ``ps``).
BINDING_JOIN = (
    'LEFT JOIN "plugin_storage" ps ON ps.tenant = t.tenant AND ps.owner = t.owner AND '
    "ps.subject = t.subject AND ps.plugin_id = t.plugin_id AND "
    "ps.collection IN ('operation', 'binding') AND ps.key = t.integration || '.' || t.name"
)
BINDING_COLUMNS = ("json_extract(ps.data, '$.binding.method'), "
                   "json_extract(ps.data, '$.binding.kind')")


def requires_approval(annotations: Any, method: Any = None, kind: Any = None) -> bool:
    ann = loads(annotations) if isinstance(annotations, (str, bytes)) else annotations
    if isinstance(ann, dict) and isinstance(ann.get("requiresApproval"), bool):
        return ann["requiresApproval"]
    if isinstance(method, str) and method.upper() in MUTATING:
        return True
    return kind == "mutation"


def from_binding(annotations: Any, binding: dict[str, Any] | None) -> bool:
    binding = binding or {}
    return requires_approval(annotations, binding.get("method"), binding.get("kind"))


def approval_description(annotations: Any) -> str | None:
    ann = loads(annotations) if isinstance(annotations, (str, bytes)) else annotations
    if isinstance(ann, dict) and isinstance(ann.get("approvalDescription"), str):
        return ann["approvalDescription"]
    return None
