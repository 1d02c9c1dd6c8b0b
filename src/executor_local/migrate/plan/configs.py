"""v1 source configuration -> v2 ``integration.config``, per plugin kind.

The result is the shape Executor 1.5.9 leaves after its boot ledger has run too: the
``authenticationTemplate`` in the canonical placements model (2026-06-05-auth-config-placements)
and OpenAPI spec / GraphQL introspection text moved to blobs with a content hash in the config
(2026-06-12-*-to-blob). A credential placement names a v1 slot; the slot maps say which template
and which variable a bound secret feeds, for the connection planner.

Kept where 1.5.9 drops it (each one on purpose):
- a renamed OpenAPI source keeps its plugin-side name as ``config.name`` (v1 PATCH changed only
  ``openapi_source.name``; the integration's description stays ``source.name`` as in 1.5.9);
- an OpenAPI spec given as a URL is also kept as ``config.sourceUrl`` (the blob, as in 1.5.9,
  holds the URL text, which is all the document v1 stored);
- a remote MCP header or query credential becomes an ``apikey`` method with its header name
  (1.5.9 writes method ``none`` and loses the name while its connection still holds the token);
- a stdio MCP server keeps ``command``, ``args``, ``env`` and every other key;
- a Google Discovery source keeps its whole v1 config, auth and credential headers;
- GraphQL ``introspectionJson`` moves to a blob instead of vanishing; unknown config keys of any
  kind are carried over verbatim.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

API_KEY = "apiKey"
OAUTH = "oauth2"
TOKEN = "token"
NONE_METHOD = {"slug": "none", "kind": "none"}

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


@dataclass
class InlineBlob:
    """Text the config moved out to the blob table: found again in the v1 row at ``path``."""

    plugin: str
    key: str
    path: tuple[str, ...]


@dataclass
class Credential:
    """A credential placement whose value came inline (no binding row): planned as a binding."""

    slot: str
    kind: str  # "secret" or "text"
    value: str


@dataclass
class ConfigResult:
    config: dict[str, Any]
    slot_template: dict[str, str] = field(default_factory=dict)
    slot_variable: dict[str, str] = field(default_factory=dict)
    blobs: list[InlineBlob] = field(default_factory=list)
    inline: list[Credential] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build_config(kind: str, data: Any, source_name: str) -> ConfigResult:
    """The v2 config of one v1 source from its ``plugin_storage[source]`` data."""
    data = data if isinstance(data, dict) else {}
    if kind == "openapi":
        return _openapi(data, source_name)
    if kind == "mcp":
        return _mcp(data)
    if kind in ("graphql", "graphql-greenfield"):
        return _graphql(data)
    config = data.get("config") if isinstance(data.get("config"), dict) else _strip_identity(data)
    result = ConfigResult(config=dict(config))
    result.warnings.append(f"unknown source kind {kind!r}: its v1 config was copied as-is")
    return result


def google_discovery_config(
    config: Any, auth: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> ConfigResult:
    """A Google Discovery source: the v1 config, its auth block and credential entries, kept."""
    out = dict(config) if isinstance(config, dict) else {}
    out["auth"] = auth
    result = ConfigResult(config=out)
    method = _placements(result, entries.get("headers", {}), entries.get("queryParams", {}))
    methods = [method] if method else []
    if auth.get("kind") == OAUTH:
        methods.append({"slug": OAUTH, "kind": OAUTH})
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    return result


# ------------------------------------------------------------------------------------------------


def _openapi(data: dict[str, Any], source_name: str) -> ConfigResult:
    v1 = data.get("config") if isinstance(data.get("config"), dict) else {}
    result = ConfigResult(config={})
    out = result.config
    spec = v1.get("spec")
    source_url = v1.get("sourceUrl")
    if source_url is None and isinstance(spec, str) and _URL.match(spec.strip()):
        source_url = spec.strip()
    if source_url is not None:
        out["sourceUrl"] = source_url
    for key in ("baseUrl", "googleDiscoveryUrls"):
        if key in v1:
            out[key] = v1[key]
    method = _placements(result, _dict(v1.get("headers")), _dict(v1.get("queryParams")))
    known = {
        "spec",
        "sourceUrl",
        "baseUrl",
        "googleDiscoveryUrls",
        "headers",
        "queryParams",
        "oauth2",
    }
    out.update({k: v for k, v in v1.items() if k not in known})
    methods = [method] if method else []
    oauth = v1.get("oauth2")
    if isinstance(oauth, dict) and oauth.get("securitySchemeName") and oauth.get("tokenUrl"):
        scheme = str(oauth["securitySchemeName"])
        methods.append(
            {
                "slug": scheme,
                "kind": OAUTH,
                "authorizationUrl": oauth.get("authorizationUrl") or "",
                "tokenUrl": oauth["tokenUrl"],
                "scopes": list(oauth.get("scopes") or []),
            }
        )
        slot = f"oauth2:{scheme.lower()}:connection"
        result.slot_template[slot] = scheme
        result.slot_variable[slot] = TOKEN
    elif oauth is not None:
        out["oauth2"] = oauth
        result.warnings.append("its OAuth2 settings are in an unknown form; kept as config.oauth2")
    if methods:
        out["authenticationTemplate"] = methods
    name = data.get("name")
    if isinstance(name, str) and name and name != source_name:
        out["name"] = name
    if isinstance(spec, str):
        _to_blob(result, "openapi", "spec", "specHash", spec, ("config", "spec"))
    elif spec is not None:
        out["spec"] = spec
    return result


def _graphql(data: dict[str, Any]) -> ConfigResult:
    v1 = data.get("config") if isinstance(data.get("config"), dict) else data
    path_root: tuple[str, ...] = ("config",) if v1 is not data else ()
    result = ConfigResult(config={})
    out = result.config
    if "endpoint" in v1:
        out["endpoint"] = v1["endpoint"]
    name = v1.get("name", data.get("name"))
    if name is not None:
        out["name"] = name
    method = _placements(result, _dict(v1.get("headers")), _dict(v1.get("queryParams")))
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
        _oauth_slot(result, auth)
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    introspection = v1.get("introspectionJson")
    if isinstance(introspection, str):
        _to_blob(
            result,
            "graphql",
            "introspection",
            "introspectionHash",
            introspection,
            (*path_root, "introspectionJson"),
        )
    return result


def _mcp(data: dict[str, Any]) -> ConfigResult:
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
    headers = _dict(v1.get("headers"))
    query = _dict(v1.get("queryParams"))
    if auth and auth.get("kind") in ("header", "query"):
        headers, query = _with_auth_entry(auth, headers, query)
    method = _placements(result, headers, query)
    known = {"endpoint", "transport", "remoteTransport", "headers", "queryParams", "auth"}
    out.update({k: v for k, v in v1.items() if k not in known})
    methods = [method] if method else []
    if auth and auth.get("kind") == OAUTH:
        methods.append({"slug": OAUTH, "kind": OAUTH})
        _oauth_slot(result, auth)
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    return result


# ------------------------------------------------------------------------------------------------


def _placements(
    result: ConfigResult, headers: dict[str, Any], query: dict[str, Any]
) -> dict[str, Any] | None:
    """Split static entries (kept in config) from credential placements (one ``apikey`` method).

    One placement fills the canonical ``token`` variable; several get one variable each, named
    after the header (slugified, de-duplicated), so one connection carries all their values.
    """
    found: list[tuple[str, str, dict[str, Any]]] = []
    statics: dict[str, dict[str, Any]] = {"headers": {}, "queryParams": {}}
    for carrier, values, key in (("header", headers, "headers"), ("query", query, "queryParams")):
        for name, value in values.items():
            if isinstance(value, dict) and value.get("kind") in ("binding", "secret", "text"):
                found.append((carrier, name, value))
            else:
                statics[key][name] = value
    for key, values in statics.items():
        if values:
            result.config[key] = values
    if not found:
        return None
    taken: set[str] = set()
    placements = []
    for carrier, name, value in found:
        variable = TOKEN if len(found) == 1 else _variable(name, taken)
        placement: dict[str, Any] = {"carrier": carrier, "name": name}
        if value.get("prefix"):
            placement["prefix"] = value["prefix"]
        if variable != TOKEN:
            placement["variable"] = variable
        placements.append(placement)
        slot = value.get("slot")
        if value.get("kind") == "secret" and isinstance(value.get("secretId"), str):
            slot = slot or _slot(carrier, name)
            result.inline.append(Credential(slot, "secret", value["secretId"]))
        elif value.get("kind") == "text":
            slot = slot or _slot(carrier, name)
            result.inline.append(Credential(slot, "text", str(value.get("text") or "")))
        if isinstance(slot, str):
            result.slot_template[slot] = API_KEY
            result.slot_variable[slot] = variable
    return {"slug": API_KEY, "kind": "apikey", "placements": placements}


def _slot(carrier: str, name: str) -> str:
    return f"{'header' if carrier == 'header' else 'query_param'}:{name.lower()}"


def _with_auth_entry(
    auth: dict[str, Any], headers: dict[str, Any], query: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Put an MCP ``auth`` header/query credential among the placements, under its own slot."""
    kind = auth["kind"]
    entry: dict[str, Any] = {"kind": "binding", "slot": auth.get("secretSlot") or f"auth:{kind}"}
    if isinstance(auth.get("secretId"), str) and not auth.get("secretSlot"):
        entry = {"kind": "secret", "secretId": auth["secretId"], "slot": f"auth:{kind}"}
    if auth.get("prefix") is not None:
        entry["prefix"] = auth["prefix"]
    if kind == "header":
        return {**headers, str(auth.get("headerName") or ""): entry}, query
    return headers, {**query, str(auth.get("paramName") or ""): entry}


def _variable(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "input"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _oauth_slot(result: ConfigResult, auth: dict[str, Any]) -> None:
    slot = auth.get("connectionSlot")
    if isinstance(slot, str) and slot:
        result.slot_template[slot] = OAUTH
        result.slot_variable[slot] = TOKEN


def _to_blob(
    result: ConfigResult,
    plugin: str,
    prefix: str,
    hash_field: str,
    text: str,
    path: tuple[str, ...],
) -> None:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    result.config[hash_field] = digest
    result.blobs.append(InlineBlob(plugin=plugin, key=f"{prefix}/{digest}", path=path))


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _strip_identity(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("namespace", "scope", "name")}
