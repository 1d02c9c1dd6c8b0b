"""A graphql-core schema from an introspection snapshot, to validate documents and variables
locally before anything is sent upstream.

Executor's own snapshots use a reduced introspection query (no directives, interfaces or
possible types); ``normalize`` fills what graphql-core's ``build_client_schema`` needs so such
a snapshot still validates. When a snapshot cannot be rebuilt at all, callers fall back to a
parse-only check (what Executor does) rather than refusing every call.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

_CACHE: dict[int, Any] = {}
log = logging.getLogger("executor.integrations.graphql")


def normalize(introspection: dict[str, Any]) -> dict[str, Any]:
    """A copy with the keys ``build_client_schema`` requires, defaulted when absent."""
    out = copy.deepcopy(introspection)
    schema = out["__schema"]
    schema.setdefault("directives", [])
    schema.setdefault("subscriptionType", None)
    for t in schema.get("types") or []:
        kind = t.get("kind")
        if kind in ("OBJECT", "INTERFACE"):
            t.setdefault("interfaces", [])
            t["fields"] = t.get("fields") or []
        if kind in ("INTERFACE", "UNION"):
            t.setdefault("possibleTypes", [])
        if kind == "ENUM":
            t["enumValues"] = t.get("enumValues") or []
        if kind == "INPUT_OBJECT":
            t["inputFields"] = t.get("inputFields") or []
        for f in (t.get("fields") or []):
            f.setdefault("args", [])
            f.setdefault("isDeprecated", False)
            f.setdefault("deprecationReason", None)
    return out


def client_schema(introspection: dict[str, Any]) -> Any | None:
    """The GraphQLSchema for a snapshot (cached per snapshot object), or None when the
    snapshot cannot be rebuilt (then only syntax is checked locally)."""
    key = id(introspection)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is introspection:
        return hit[1]
    from graphql import build_client_schema

    try:
        schema = build_client_schema(normalize(introspection))  # type: ignore[arg-type]
    except Exception as exc:
        log.warning("graphql snapshot cannot be rebuilt into a schema (%s); "
                    "checking syntax only", exc)
        schema = None
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = (introspection, schema)
    return schema


def document_errors(document: str, schema: Any | None) -> list[str]:
    """Why ``document`` cannot be sent: a syntax error, or validation errors against
    ``schema`` (when there is one). Empty when it is fine."""
    from graphql import GraphQLError, parse, validate

    try:
        ast = parse(document)
    except GraphQLError as exc:
        return [_located(exc)]
    if schema is None:
        return []
    return [_located(e) for e in validate(schema, ast)]


def variable_errors(document: str, schema: Any, variables: dict[str, Any]) -> list[str]:
    """Coercion errors of ``variables`` against the operation's variable definitions
    (a wrong enum value, a missing required input field, a string for an Int, ...)."""
    from graphql import OperationDefinitionNode, parse
    from graphql.execution.values import get_variable_values

    ast = parse(document)
    op = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
    result = get_variable_values(schema, op.variable_definitions or [], variables)
    if isinstance(result, list):
        return [e.message for e in result]
    return []


def _located(exc: Any) -> str:
    if exc.locations:
        loc = exc.locations[0]
        return f"{exc.message} (line {loc.line}, column {loc.column})"
    return str(exc.message)
