"""The ASGI app served on 127.0.0.1: the HTTP API (and later MCP at /mcp).

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


async def health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def info(request: Request) -> JSONResponse:
    """Who is serving: version, pid, data dir, origin (useful to clients and tests)."""
    return JSONResponse(request.app.state.info)


def create_app(store: sqlite3.Connection | None = None, *, token: str, port: int,
               allowed_hosts: Iterable[str] = (), info_payload: dict[str, Any] | None = None,
               ) -> LocalSecurity:
    """Build the app around an open v2 store, wrapped in the local security checks."""
    app = Starlette(routes=[
        Route("/api/health", health, methods=["GET"]),
        Route("/api/info", info, methods=["GET"]),
    ])
    app.state.store = store
    app.state.info = info_payload or {}
    return LocalSecurity(app, token=token, port=port, allowed_hosts=allowed_hosts)
