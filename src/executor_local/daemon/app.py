"""The ASGI app served on 127.0.0.1: the HTTP API and MCP at /mcp.

Every request passes ``security.LocalSecurity`` first (Host, Origin, bearer), so routes added
here are authenticated by default; only ``GET /api/health`` is public.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from executor_local.daemon.security import LocalSecurity
from executor_local.mcp.mount import McpMount


async def health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def info(request: Request) -> JSONResponse:
    """Who is serving: version, pid, data dir, origin (useful to clients and tests)."""
    return JSONResponse(request.app.state.info)


def create_app(store: sqlite3.Connection | None = None, *, token: str, port: int,
               allowed_hosts: Iterable[str] = (), info_payload: dict[str, Any] | None = None,
               services: Any = None) -> LocalSecurity:
    """Build the app around an open v2 store, wrapped in the local security checks.

    ``services`` (docs/catalog-contract.md) is what /mcp serves; /mcp reads
    ``app.state.services`` per request, so it may also be attached later.
    """
    mcp = McpMount(lambda: app.state.services)
    app = Starlette(routes=[
        Route("/api/health", health, methods=["GET"]),
        Route("/api/info", info, methods=["GET"]),
        Route("/mcp", mcp),  # every method: POST, GET (SSE), DELETE
    ], lifespan=mcp.lifespan)
    app.state.services = services
    app.state.store = store
    app.state.info = info_payload or {}
    return LocalSecurity(app, token=token, port=port, allowed_hosts=allowed_hosts)
