"""The ASGI app served on 127.0.0.1: the HTTP API (and later MCP at /mcp)."""

from __future__ import annotations

import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(store: sqlite3.Connection | None = None) -> Starlette:
    """Build the app around an open v2 store."""
    app = Starlette(routes=[Route("/api/health", health, methods=["GET"])])
    app.state.store = store
    return app
