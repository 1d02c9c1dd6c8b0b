"""An MCP source's v2 config (stdio command, args and env, and remote header names, kept)."""

from __future__ import annotations

from typing import Any

from executor_local.migrate.plan.configs.common import (
    NONE_METHOD,
    OAUTH,
    ConfigResult,
    as_dict,
    credential_placements,
    oauth_slot,
    with_auth_entry,
)


def mcp_config(data: dict[str, Any]) -> ConfigResult:
    v1 = data.get("config") if isinstance(data.get("config"), dict) else {}
    result = ConfigResult(config={})
    out = result.config
    auth = v1.get("auth") if isinstance(v1.get("auth"), dict) else None
    if v1.get("transport") != "remote":
        # stdio: everything kept; 1.5.9 keeps only the transport and a `none` auth.
        out.update({k: v for k, v in v1.items() if k != "auth"})
        out["auth"] = {"kind": OAUTH} if auth and auth.get("kind") == OAUTH else {"kind": "none"}
        return result
    for key in ("endpoint", "transport", "remoteTransport"):
        if key in v1:
            out[key] = v1[key]
    headers = as_dict(v1.get("headers"))
    query = as_dict(v1.get("queryParams"))
    if auth and auth.get("kind") in ("header", "query"):
        headers, query = with_auth_entry(auth, headers, query)
    method = credential_placements(result, headers, query)
    known = {"endpoint", "transport", "remoteTransport", "headers", "queryParams", "auth"}
    out.update({k: v for k, v in v1.items() if k not in known})
    methods = [method] if method else []
    if auth and auth.get("kind") == OAUTH:
        methods.append({"slug": OAUTH, "kind": OAUTH})
        oauth_slot(result, auth)
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    return result
