"""Rows as Executor's API shapes (``packages/core/api/src/*/api.ts``), and the built-in
``executor`` integration that every listing shows first (as 1.5.9's ``/api/integrations``)."""

from __future__ import annotations

from typing import Any

from executor_local.catalog.addresses import address_of
from executor_local.store.records import ConnectionRow, IntegrationRow, PolicyRow, ToolRow
from executor_local.store.rows import loads

BUILTIN = {"slug": "executor", "name": "Executor", "description": "Executor", "kind": "built-in",
           "canRemove": False, "canRefresh": False, "authMethods": []}


def auth_methods(config: dict[str, Any]) -> list[dict[str, Any]]:
    """``config.authenticationTemplate`` as API auth method descriptors."""
    out = []
    for method in config.get("authenticationTemplate") or []:
        if not isinstance(method, dict) or not method.get("slug"):
            continue
        kind = method.get("kind") or "apikey"
        placements = [
            {"carrier": p.get("carrier", "header"), "name": p.get("name", ""),
             "prefix": p.get("prefix") or "",
             **({"variable": p["variable"]} if p.get("variable") else {}),
             **({"literal": p["literal"]} if p.get("literal") is not None else {})}
            for p in method.get("placements") or [] if isinstance(p, dict)
        ]
        entry: dict[str, Any] = {"id": method["slug"], "label": method.get("label") or
                                 _label(kind, placements), "kind": kind,
                                 "template": method["slug"]}
        if kind != "none" or placements:
            entry["placements"] = placements
        if isinstance(method.get("oauth"), dict):
            entry["oauth"] = method["oauth"]
        out.append(entry)
    return out


def _label(kind: str, placements: list[dict[str, Any]]) -> str:
    if kind == "none":
        return "No authentication"
    names = ", ".join(p["name"] for p in placements if p.get("name"))
    base = {"apikey": "API key", "header": "Header", "oauth": "OAuth"}.get(kind, kind)
    return f"{base} ({names})" if names else base


def integration_json(row: IntegrationRow) -> dict[str, Any]:
    config = loads(row.config) or {}
    if not isinstance(config, dict):
        config = {}
    out: dict[str, Any] = {
        "slug": row.slug, "name": config.get("name") or row.description or row.slug,
        "description": row.description, "kind": row.plugin_id,
        "canRemove": bool(row.can_remove), "canRefresh": bool(row.can_refresh),
        "authMethods": auth_methods(config),
    }
    url = config.get("baseUrl") or config.get("endpoint")
    if isinstance(url, str) and url:
        out["displayUrl"] = url
    return out


def connection_json(row: ConnectionRow) -> dict[str, Any]:
    state = loads(row.provider_state) if row.provider_state else None
    description = state.get("description") if isinstance(state, dict) else None
    return {
        "owner": row.owner, "name": row.name, "integration": row.integration,
        "template": row.template, "provider": row.provider,
        "address": f"tools.{row.integration}.{row.owner}.{row.name}",
        "identityLabel": row.identity_label, "description": description,
        "expiresAt": row.expires_at if isinstance(row.expires_at, (int, float)) else None,
        "oauthClient": row.oauth_client, "oauthClientOwner": row.oauth_client_owner,
        "oauthScope": row.oauth_scope, "missingOAuthScopes": [], "lastHealth": None,
    }


def tool_json(row: ToolRow, requires_approval: bool) -> dict[str, Any]:
    ann = loads(row.annotations) if row.annotations else None
    ann = ann if isinstance(ann, dict) else {}
    return {
        "address": "tools." + address_of(row.integration, row.owner, row.connection, row.name),
        "owner": row.owner, "integration": row.integration, "connection": row.connection,
        "name": row.name, "pluginId": row.plugin_id, "description": row.description,
        "mayElicit": ann.get("mayElicit"), "requiresApproval": requires_approval,
        "approvalDescription": ann.get("approvalDescription"), "static": None,
    }


def policy_json(row: PolicyRow) -> dict[str, Any]:
    return {"id": row.id, "owner": row.owner, "pattern": row.pattern, "action": row.action,
            "position": row.position, "createdAt": row.created_at, "updatedAt": row.updated_at}
