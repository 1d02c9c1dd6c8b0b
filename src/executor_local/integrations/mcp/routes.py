"""``POST /api/mcp/probe``, ``POST /api/mcp/servers``, ``GET|DELETE /api/mcp/servers/:slug``.

Bodies: an add request as :func:`executor_local.integrations.mcp.config.build_config` reads it
(``endpoint`` + ``remoteTransport``/``headers``/``secretHeaders``/``queryParams``/
``secretQueryParams``, or ``command`` + ``args``/``env``/``secretEnv``/``cwd``), plus ``slug``,
``name`` and the secret values for the first connection: ``values`` ``{variable: value}``,
``value`` (one variable) or ``from`` ``{provider, id}``. Values go to the secret store through
the catalog's connection; responses carry item ids at most. Without values a server that
needs credentials is added unconnected (its tools come with its first connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput, NotFound, UpstreamFailed
from executor_local.server.http import body, reply, services, sync

CONNECTION = "main"
log = logging.getLogger("executor.mcp")


def _plugin(request: Request) -> Any:
    return services(request).registry.get("mcp")


def _values(data: dict[str, Any], variables: list[str]) -> dict[str, str] | None:
    """Plain values for a probe (``values`` or ``value``); None when the request names a
    stored secret instead (``from``), which a probe cannot read."""
    if isinstance(data.get("values"), dict):
        return {str(k): str(v) for k, v in data["values"].items()}
    if isinstance(data.get("value"), str) and len(variables) == 1:
        return {variables[0]: data["value"]}
    return None


def _refused(result: dict[str, Any]) -> InvalidInput | UpstreamFailed:
    error = result.get("error") or {}
    if error.get("code") == "invalid_arguments":
        return InvalidInput(error.get("message", "invalid MCP server request"),
                            code="invalid_mcp_server")
    return UpstreamFailed(f"the MCP server could not be probed: {error.get('message')}",
                          code=error.get("code") or "upstream_failed")


async def probe(request: Request) -> JSONResponse:
    """Executor's probe answer (``connected``, ``requiresAuthentication``, ``name``, ``slug``,
    ``toolCount``, ``serverName``, ``instructions``) plus the tools and the config to be
    written. A server that refuses the credentials is ``connected: false``, not an error."""
    from executor_local.integrations.mcp import build_integration, preview
    from executor_local.integrations.mcp.config import McpConfigError

    data = await body(request)
    try:
        variables = build_integration({**data, "slug": data.get("slug") or "probe"})["variables"]
    except McpConfigError as exc:
        raise InvalidInput(str(exc), code="invalid_mcp_server") from None
    result = await preview(_plugin(request), data, _values(data, variables) or
                           dict.fromkeys(variables, ""))
    error = result.get("error") or {}
    base = {"requiresOAuth": False, "supportsDynamicRegistration": False}
    if not result.get("ok") and error.get("status") in (401, 403):
        return reply({**base, "connected": False, "requiresAuthentication": True,
                      "name": data.get("name") or "", "slug": data.get("slug") or "",
                      "toolCount": None, "serverName": None, "instructions": None,
                      "error": error})
    if not result.get("ok"):
        raise _refused(result)
    server, planned = result["server"], result["integration"]
    return reply({**base, "connected": True, "requiresAuthentication": bool(variables),
                  "name": planned["description"], "slug": planned["slug"],
                  "toolCount": len(result["tools"]), "serverName": server.get("name"),
                  "instructions": server.get("instructions"), "transport": result["transport"],
                  "tools": result["tools"], "integration": planned})


async def add(request: Request) -> JSONResponse:
    from executor_local.integrations.mcp import build_integration, preview
    from executor_local.integrations.mcp.config import McpConfigError

    data = await body(request)
    svc = services(request)
    try:
        planned = build_integration({**data, "slug": data.get("slug") or "pending"})
        if data.get("slug"):
            planned = build_integration(data)
    except McpConfigError as exc:
        raise InvalidInput(str(exc), code="invalid_mcp_server") from None
    values = _values(data, planned["variables"])
    if not data.get("slug"):
        if values is None and planned["variables"]:
            raise InvalidInput("give a slug: the server's name cannot be read without its "
                               "credentials' values", code="invalid_mcp_server")
        probed = await preview(_plugin(request), data, values or {})
        if not probed.get("ok"):
            raise _refused(probed)
        planned = probed["integration"]
    out = await svc.catalog.add_integration(planned["slug"], "mcp",
                                            description=planned["description"],
                                            config=planned["config"])
    origins = [o for o in ("values", "value", "from") if data.get(o) is not None]
    if planned["variables"] and origins:  # else, as Executor: connect it later
        payload: dict[str, Any] = {"integration": planned["slug"], "name": CONNECTION,
                                   "template": planned["template"],
                                   "owner": data.get("owner", "org")}
        for origin in origins:
            payload[origin] = data[origin]
        try:
            out["connection"] = await svc.catalog.create_connection(payload)
        except BaseException:
            # no half-added server: the integration goes if its first connection cannot be made
            await sync(svc.catalog.remove_integration, planned["slug"])
            raise
    out["variables"] = planned["variables"]
    return reply(out, 201)


async def one(request: Request) -> JSONResponse:
    """Executor's ``getServer`` shape: ``{slug, description, kind, canRemove, canRefresh,
    config}``; DELETE answers ``{removed: true}``."""
    cat = services(request).catalog
    slug = request.path_params["slug"]
    found = await sync(cat.integration, slug)
    if found.get("kind") != "mcp":
        raise NotFound(f"{slug!r} is not an MCP server integration",
                       code="integration_not_found")
    if request.method == "DELETE":
        out = await sync(cat.remove_integration, slug)
        return reply({"removed": True, **(out if isinstance(out, dict) else {})})
    row = await sync(cat._integration_row, slug)
    config = cat.plugin_integration(row).config
    return reply({"slug": found["slug"], "description": found.get("description"),
                  "kind": "mcp", "canRemove": found.get("canRemove", True),
                  "canRefresh": found.get("canRefresh", False), "config": config})


REFRESH_EVERY_S = 60.0


class _Refresher:
    """Re-lists a connection in the catalog when its server's tools changed (list_changed,
    an unknown-tool answer) or its list passed the TTL; one refresh per connection at a time."""

    def __init__(self, catalog: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.catalog = catalog
        self.loop = loop
        self.running: set[tuple[str, str | None]] = set()

    def changed(self, slug: str, connection: str | None) -> None:
        """The pool's listener; may be called from any thread."""
        self.loop.call_soon_threadsafe(self._start, slug, connection)

    def _start(self, slug: str, connection: str | None) -> None:
        if (slug, connection) not in self.running:
            self.running.add((slug, connection))
            self.loop.create_task(self.refresh(slug, connection))

    async def refresh(self, slug: str, connection: str | None) -> None:
        try:
            for conn in await sync(self.catalog.connections, slug):
                if connection is None or conn.get("name") == connection:
                    await self.catalog.refresh_connection(conn["owner"], slug, conn["name"])
                    log.info("re-listed the tools of %s.%s.%s", slug, conn["owner"],
                             conn["name"])
        except Exception as exc:  # the kept list stays; the next change or TTL tries again
            log.warning("re-listing the tools of %s failed: %s", slug, exc)
        finally:
            self.running.discard((slug, connection))

    async def every(self, pool: Any, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            for slug, connection in pool.due_for_refresh():
                self._start(slug, connection)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The MCP session pool's life: bound to the server's loop at startup (sessions opened
    from worker threads run there too), the catalog re-listing connections whose tools
    changed, and at shutdown every session ended and stdio server stopped. Importing the
    plugin here is cheap: the SDK loads with the first session."""
    svc = getattr(app.state, "services", None)
    plugin = svc.registry.get("mcp") if svc is not None else None
    ticker = None
    if plugin is not None:
        plugin.bind()
        refresher = _Refresher(svc.catalog, asyncio.get_running_loop())
        plugin.on_tools_changed(refresher.changed)
        ticker = asyncio.get_running_loop().create_task(
            refresher.every(plugin.pool, REFRESH_EVERY_S))
    try:
        yield
    finally:
        if ticker is not None:
            ticker.cancel()
        if plugin is not None:
            plugin.pool.remove_listener(refresher.changed)
            await plugin.close()


def _register_lifespan() -> None:
    """Enter :func:`lifespan` with the app (``server.app.LIFESPANS``, once)."""
    from executor_local.server import app as server_app

    if lifespan not in server_app.LIFESPANS:
        server_app.LIFESPANS.append(lifespan)


def routes() -> list[BaseRoute]:
    _register_lifespan()
    return [Route("/api/mcp/probe", probe, methods=["POST"]),
            Route("/api/mcp/servers", add, methods=["POST"]),
            Route("/api/mcp/servers/{slug}", one, methods=["GET", "DELETE"])]
