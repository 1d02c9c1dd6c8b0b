"""``GET /api/integrations``, ``GET|PATCH|DELETE /api/integrations/:slug``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.server.http import body, reply, services, sync


async def list_integrations(request: Request) -> JSONResponse:
    return reply(await sync(services(request).catalog.integrations))


async def one(request: Request) -> JSONResponse:
    cat = services(request).catalog
    slug = request.path_params["slug"]
    if request.method == "GET":
        return reply(await sync(cat.integration, slug))
    if request.method == "DELETE":
        return reply(await sync(cat.remove_integration, slug))
    data = await body(request)
    return reply(await sync(cat.patch_integration, slug, name=data.get("name"),
                            description=data.get("description")))


def routes() -> list[BaseRoute]:
    return [Route("/api/integrations", list_integrations, methods=["GET"]),
            Route("/api/integrations/{slug}", one, methods=["GET", "PATCH", "DELETE"])]
