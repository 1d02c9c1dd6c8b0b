"""``GET|POST /api/policies``, ``PATCH|DELETE /api/policies/:id`` (owner in the body)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput
from executor_local.server.http import body, reply, services, sync


async def collection(request: Request) -> JSONResponse:
    cat = services(request).catalog
    if request.method == "GET":
        return reply(await sync(cat.policies))
    data = await body(request)
    for field in ("pattern", "action"):
        if not isinstance(data.get(field), str):
            raise InvalidInput(f"{field} is required (a string)", code="invalid_policy")
    return reply(await sync(cat.create_policy, data.get("owner", "org"), data["pattern"],
                            data["action"], data.get("position")))


async def one(request: Request) -> JSONResponse:
    cat = services(request).catalog
    pid = request.path_params["policy_id"]
    data = await body(request, required=request.method != "DELETE")
    if request.method == "DELETE":
        return reply(await sync(cat.remove_policy, pid, data.get("owner")))
    return reply(await sync(cat.update_policy, pid, data.get("owner", "org"),
                            pattern=data.get("pattern"), action=data.get("action"),
                            position=data.get("position")))


def routes() -> list[BaseRoute]:
    return [Route("/api/policies", collection, methods=["GET", "POST"]),
            Route("/api/policies/{policy_id}", one, methods=["PATCH", "DELETE"])]
