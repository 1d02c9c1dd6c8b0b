"""``GET /api/tools`` (filters), ``GET /api/tools/schema?address=``, ``GET /api/search``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput
from executor_local.server.http import flag, reply, services, sync


async def list_tools(request: Request) -> JSONResponse:
    q = request.query_params
    cat = services(request).catalog
    return reply(await sync(cat.list_tools, integration=q.get("integration"),
                            owner=q.get("owner"), connection=q.get("connection"),
                            query=q.get("query"), include_blocked=flag(request,
                                                                       "includeBlocked")))


async def schema(request: Request) -> JSONResponse:
    address = request.query_params.get("address")
    if not address:
        raise InvalidInput("address is required: /api/tools/schema?address=<tool address>",
                           code="invalid_address")
    cat = services(request).catalog
    resolved = await sync(cat.resolve_tool, address)
    if resolved.effective.action == "block":
        raise cat._not_found(address)
    return reply(await sync(cat.schema_view, address))


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {raw!r}") from None


async def search(request: Request) -> JSONResponse:
    q = request.query_params
    cat = services(request).catalog
    return reply(await sync(cat.search, q.get("query", ""), namespace=q.get("namespace"),
                            limit=_int(request, "limit", 12), offset=_int(request, "offset", 0),
                            include_schema=flag(request, "includeSchema")))


def routes() -> list[BaseRoute]:
    return [Route("/api/tools", list_tools, methods=["GET"]),
            Route("/api/tools/schema", schema, methods=["GET"]),
            Route("/api/search", search, methods=["GET"])]
