"""An OpenAPI source's v2 config (spec to blob, sourceUrl and a renamed name kept)."""

from __future__ import annotations

from typing import Any

from executor_local.migrate.plan.configs.common import (
    OAUTH,
    TOKEN,
    URL_PATTERN,
    ConfigResult,
    as_dict,
    credential_placements,
    to_blob,
)


def openapi_config(data: dict[str, Any], source_name: str) -> ConfigResult:
    v1 = data.get("config") if isinstance(data.get("config"), dict) else {}
    result = ConfigResult(config={})
    out = result.config
    spec = v1.get("spec")
    source_url = v1.get("sourceUrl")
    if source_url is None and isinstance(spec, str) and URL_PATTERN.match(spec.strip()):
        source_url = spec.strip()
    if source_url is not None:
        out["sourceUrl"] = source_url
    for key in ("baseUrl", "googleDiscoveryUrls"):
        if key in v1:
            out[key] = v1[key]
    method = credential_placements(result, as_dict(v1.get("headers")),
                                   as_dict(v1.get("queryParams")))
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
        to_blob(result, "openapi", "spec", "specHash", spec, ("config", "spec"))
    elif spec is not None:
        out["spec"] = spec
    return result
