"""``GET|POST /api/connections``, ``GET|PATCH|DELETE /api/connections/:owner/:integration/:name``,
``POST …/refresh``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.server.http import body, reply, services, sync


async def collection(request: Request) -> JSONResponse:
    cat = services(request).catalog
    if request.method == "GET":
        q = request.query_params
        return reply(await sync(cat.connections, q.get("integration"), q.get("owner")))
    return reply(await cat.create_connection(await body(request)))


async def one(request: Request) -> JSONResponse:
    cat = services(request).catalog
    p = request.path_params
    key = (p["owner"], p["integration"], p["name"])
    if request.method == "GET":
        return reply(await sync(cat.connection, *key))
    if request.method == "DELETE":
        return reply(await sync(cat.remove_connection, *key))
    return reply(await sync(cat.patch_connection, *key, await body(request)))


async def refresh(request: Request) -> JSONResponse:
    p = request.path_params
    cat = services(request).catalog
    return reply(await cat.refresh_connection(p["owner"], p["integration"], p["name"]))


def routes() -> list[BaseRoute]:
    base = "/api/connections/{owner}/{integration}/{name}"
    return [Route("/api/connections", collection, methods=["GET", "POST"]),
            Route(base, one, methods=["GET", "PATCH", "DELETE"]),
            Route(base + "/refresh", refresh, methods=["POST"])]
