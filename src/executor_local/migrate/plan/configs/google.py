"""A Google Discovery source's v2 config (its whole v1 config, auth and headers, kept)."""

from __future__ import annotations

from typing import Any

from executor_local.migrate.plan.configs.common import (
    NONE_METHOD,
    OAUTH,
    ConfigResult,
    credential_placements,
)


def google_discovery_config(
    config: Any, auth: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> ConfigResult:
    """A Google Discovery source: the v1 config, its auth block and credential entries, kept."""
    out = dict(config) if isinstance(config, dict) else {}
    out["auth"] = auth
    result = ConfigResult(config=out)
    method = credential_placements(result, entries.get("headers", {}),
                                   entries.get("queryParams", {}))
    methods = [method] if method else []
    if auth.get("kind") == OAUTH:
        methods.append({"slug": OAUTH, "kind": OAUTH})
    out["authenticationTemplate"] = methods or [dict(NONE_METHOD)]
    return result
