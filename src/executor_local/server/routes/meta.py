"""``/api/health`` (public), ``/api/info``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route


async def health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def info(request: Request) -> JSONResponse:
    """Who is serving: version, pid, data dir, origin, tenant (useful to clients and tests)."""
    out = dict(request.app.state.info)
    services = getattr(request.app.state, "services", None)
    if services is not None:
        out["tenant"] = services.tenant.tenant
    return JSONResponse(out)


def routes() -> list[BaseRoute]:
    return [Route("/api/health", health, methods=["GET"]),
            Route("/api/info", info, methods=["GET"])]
