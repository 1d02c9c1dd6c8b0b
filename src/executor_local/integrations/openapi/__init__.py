"""The OpenAPI integration plugin (``plugin_id`` ``openapi``, bindings in ``operation``).

Import cost is small (no httpx or yaml until a spec is loaded or a call is made), so the
registry may import this package after READY without slowing a request.

Public surface: ``plugin`` (list_tools/invoke), ``preview``, ``build_integration``,
``refresh_integration``, ``describe_auth_methods`` (the API's ``authMethods`` view of a config),
``display_url`` and ``SpecError``.
"""

from __future__ import annotations

from typing import Any

from executor_local.integrations.openapi.auth import describe_methods as describe_auth_methods
from executor_local.integrations.openapi.errors import SpecError
from executor_local.integrations.openapi.plugin import OpenApiPlugin, plugin
from executor_local.integrations.openapi.preview import (
    BuiltIntegration,
    build_integration,
    preview,
    refresh_integration,
)


def display_url(config: dict[str, Any]) -> str | None:
    """The URL the API shows for an integration (``displayUrl``): baseUrl, else the source URL."""
    for key in ("baseUrl", "sourceUrl", "specUrl"):
        if isinstance(config.get(key), str) and config[key]:
            return config[key]
    return None


__all__ = [
    "BuiltIntegration",
    "OpenApiPlugin",
    "SpecError",
    "build_integration",
    "describe_auth_methods",
    "display_url",
    "plugin",
    "preview",
    "refresh_integration",
]
