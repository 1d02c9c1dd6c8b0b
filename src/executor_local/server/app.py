"""Composing the app: every router mounted here, in one place.

``ROUTERS`` are our API areas. ``PLUGIN_ROUTERS`` are the plugin packages' "add" routes
(``/api/openapi/...``, ``/api/mcp/...``, ``/api/graphql/...``): a module path exposing
``routes() -> list[BaseRoute]``, imported when the app is built (after READY); one that is not
there yet (a plugin not merged) is skipped with a debug line. ``LIFESPANS`` are factories
``(app) -> async context manager`` entered for the life of the server (the MCP SDK's session
manager needs one; uvicorn runs with ``lifespan="on"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from executor_local.server.errors import handlers

log = logging.getLogger("executor.server")

ROUTERS = (
    "executor_local.server.routes.meta",
    "executor_local.server.routes.tools",
    "executor_local.server.routes.integrations",
    "executor_local.server.routes.connections",
    "executor_local.server.routes.providers",
    "executor_local.server.routes.policies",
    "executor_local.server.routes.executions",
    "executor_local.server.routes.docs",
)

PLUGIN_ROUTERS: list[str] = [
    "executor_local.integrations.openapi.routes",
    "executor_local.integrations.mcp.routes",
    "executor_local.integrations.graphql.routes",
]

# Ours for plugin areas, mounted last: a plugin's own router for the same path wins.
FALLBACK_ROUTERS = ("executor_local.server.routes.openapi_add",)

# Extra ASGI mounts (``/mcp`` and the like): module paths exposing ``routes()`` too.
MOUNTS: list[str] = [
    "executor_local.mcp.routes",
]

LIFESPANS: list[Callable[[Starlette], contextlib.AbstractAsyncContextManager[Any]]] = []


def collect_routes(optional: list[str]) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for name in ROUTERS:
        out.extend(importlib.import_module(name).routes())
    for name in optional:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                log.debug("router %s not present", name)
                continue
            raise
        out.extend(module.routes())
    return out


def build_app(services: Any, *, info: dict[str, Any] | None = None) -> Starlette:
    """The Starlette app (not yet wrapped in ``LocalSecurity``: the daemon does that)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for factory in LIFESPANS:
                await stack.enter_async_context(factory(app))
            hooks = getattr(services, "extras", {}).get("lifespans", []) if services else []
            for factory in hooks:
                await stack.enter_async_context(factory(app))
            if services is not None:  # build a stale search index now, not at the first search
                warm = asyncio.get_running_loop().run_in_executor(
                    None, services.catalog.index.ensure_current)
            try:
                yield
            finally:
                if services is not None:
                    with contextlib.suppress(Exception):  # a stop stays within 5 s
                        await asyncio.wait_for(asyncio.shield(warm), 2)
                    services.close()

    fallbacks = [r for name in FALLBACK_ROUTERS for r in importlib.import_module(name).routes()]
    app = Starlette(routes=[*collect_routes([*PLUGIN_ROUTERS, *MOUNTS]), *fallbacks],
                    exception_handlers=handlers(), lifespan=lifespan)
    app.state.services = services
    app.state.info = info or {}
    return app
