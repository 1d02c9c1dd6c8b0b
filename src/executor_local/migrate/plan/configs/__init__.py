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

from typing import Any

from executor_local.migrate.plan.configs.common import (
    API_KEY,
    NONE_METHOD,
    OAUTH,
    TOKEN,
    ConfigResult,
    Credential,
    InlineBlob,
    strip_identity,
)
from executor_local.migrate.plan.configs.google import google_discovery_config
from executor_local.migrate.plan.configs.graphql import graphql_config
from executor_local.migrate.plan.configs.mcp import mcp_config
from executor_local.migrate.plan.configs.openapi import openapi_config

__all__ = ["API_KEY", "NONE_METHOD", "OAUTH", "TOKEN", "ConfigResult", "Credential",
           "InlineBlob", "build_config", "google_discovery_config"]


def build_config(kind: str, data: Any, source_name: str) -> ConfigResult:
    """The v2 config of one v1 source from its ``plugin_storage[source]`` data."""
    data = data if isinstance(data, dict) else {}
    if kind == "openapi":
        return openapi_config(data, source_name)
    if kind == "mcp":
        return mcp_config(data)
    if kind in ("graphql", "graphql-greenfield"):
        return graphql_config(data)
    config = data.get("config") if isinstance(data.get("config"), dict) else strip_identity(data)
    result = ConfigResult(config=dict(config))
    result.warnings.append(f"unknown source kind {kind!r}: its v1 config was copied as-is")
    return result
