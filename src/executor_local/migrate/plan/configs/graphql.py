"""A GraphQL source's v2 config (introspection JSON to a blob instead of vanishing)."""

from __future__ import annotations

from typing import Any

from executor_local.migrate.plan.configs.common import (
    NONE_METHOD,
    OAUTH,
    ConfigResult,
    as_dict,
    credential_placements,
    oauth_slot,
    to_blob,
)


def graphql_config(data: dict[str, Any]) -> ConfigResult:
    v1 = data.get("config") if isinstance(data.get("config"), dict) else data
    path_root: tuple[str, ...] = ("config",) if v1 is not data else ()
    result = ConfigResult(config={})
    out = result.config
    if "endpoint" in v1:
        out["endpoint"] = v1["endpoint"]
    name = v1.get("name", data.get("name"))
    if name is not None:
        out["name"] = name
    method = credential_placements(result, as_dict(v1.get("headers")),
                                   as_dict(v1.get("queryParams")))
    known = {
        "endpoint",
        "name",
        "headers",
        "queryParams",
        "auth",
        "introspectionJson",
        "namespace",
        "scope",
        "config",
    }
    out.update({k: v for k, v in v1.items() if k not in known})
    methods = [method] if method else []
    auth = v1.get("auth") if isinstance(v1.get("auth"), dict) else {}
    if auth.get("kind") == OAUTH:
        methods.append({"slug": OAUTH, "kind": OAUTH})
        oauth_slot(result, auth)
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    introspection = v1.get("introspectionJson")
    if isinstance(introspection, str):
        to_blob(
            result,
            "graphql",
            "introspection",
            "introspectionHash",
            introspection,
            (*path_root, "introspectionJson"),
        )
    return result
