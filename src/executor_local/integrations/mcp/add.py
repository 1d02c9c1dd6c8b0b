"""Adding an MCP server: the integration row to write and the preview shown before it.

The HTTP routes and the CLI share these, so both validate and name things the same way.
Secret values are passed separately (``values``, by variable name) and go to the connection,
never into the config.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from executor_local.integrations.base import Credentials
from executor_local.integrations.mcp.config import (
    McpConfigError,
    build_config,
    default_method,
    is_stdio,
    secret_variables,
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:64]


def derive_slug(config: dict[str, Any], server_name: str | None = None) -> str:
    """Executor's namespace rule: the server's name, else the endpoint's host (or the
    command's base name), slugified."""
    if server_name and slugify(server_name):
        return slugify(server_name)
    if is_stdio(config):
        base = re.split(r"[\\/]", str(config.get("command", "")))[-1]
        return slugify(base.rsplit(".", 1)[0]) or "mcp"
    host = urlsplit(str(config.get("endpoint", ""))).hostname or ""
    return slugify(host.removeprefix("www.").removeprefix("mcp.")) or "mcp"


def build_integration(request: dict[str, Any], *, server_name: str | None = None
                      ) -> dict[str, Any]:
    """``{"slug", "description", "config", "template", "variables"}`` for an add request.

    ``variables`` are the secret inputs the first connection must supply (by name);
    ``template`` is the auth method slug that connection binds.
    """
    config = build_config(request)
    slug = request.get("slug") or request.get("namespace")
    if slug is None:
        slug = derive_slug(config, server_name or request.get("name"))
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise McpConfigError("slug", f"{slug!r} must be 1-64 of a-z, 0-9, '_' or '-', "
                             "starting with a letter or digit")
    description = request.get("name") or request.get("description") or server_name or slug
    method = default_method(config) or {"slug": "none", "kind": "none"}
    return {"slug": slug, "description": str(description), "config": config,
            "template": method.get("slug", "none"), "variables": secret_variables(config)}


def credentials_for(config: dict[str, Any], values: dict[str, str] | None) -> Credentials:
    """Credentials for the config's first method from plain values (probe, first connection);
    a missing variable is an McpConfigError naming it."""
    values = dict(values or {})
    needed = secret_variables(config)
    missing = [v for v in needed if v not in values]
    if missing:
        raise McpConfigError("values", f"missing secret value for {', '.join(missing)}")
    return Credentials(method=default_method(config), values={k: values[k] for k in needed})


async def preview(plugin: Any, request: dict[str, Any], values: dict[str, str] | None = None,
                  *, timeout_s: float = 30.0) -> dict[str, Any]:
    """Probe the server an add request describes and say what adding it would write."""
    try:
        config = build_config(request)
        credentials = credentials_for(config, values)
    except McpConfigError as exc:
        return {"ok": False, "error": {"code": "invalid_arguments", "message": str(exc),
                                       "details": {"field": exc.field}}}
    probed = await plugin.probe(config, credentials, timeout_s=timeout_s)
    if not probed.get("ok"):
        return probed
    try:
        planned = build_integration(request, server_name=probed["server"].get("name"))
    except McpConfigError as exc:
        return {"ok": False, "error": {"code": "invalid_arguments", "message": str(exc),
                                       "details": {"field": exc.field}}}
    return {**probed, "integration": {k: planned[k] for k in
                                      ("slug", "description", "config", "template",
                                       "variables")}}
