"""``POST /api/executions`` (``{tool, args, autoApprove?}``, or ``{code}`` for code mode),
``GET /api/executions/:id``, ``POST /api/executions/:id/resume``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput
from executor_local.executions.service import ExecutionNotFound
from executor_local.server.http import body, reply, services, sync


async def start(request: Request) -> JSONResponse:
    data = await body(request)
    ex = services(request).executions
    auto = data.get("autoApprove", False)
    if not isinstance(auto, bool):
        raise InvalidInput("autoApprove must be true or false")
    if isinstance(data.get("code"), str):
        return reply(await ex.execute_code(data["code"], auto_approve=auto, origin="api"))
    tool = data.get("tool")
    if not isinstance(tool, str) or not tool:
        raise InvalidInput("give {tool, args} (or {code} for a program)", code="invalid_body")
    return reply(await ex.call(tool, data.get("args") or {}, auto_approve=auto, origin="api"))


async def get(request: Request) -> JSONResponse:
    eid = request.path_params["execution_id"]
    out = await sync(services(request).executions.get, eid)
    if out is None:
        raise ExecutionNotFound(f"no execution {eid!r}")
    return reply(out)


async def resume(request: Request) -> JSONResponse:
    data = await body(request)
    ex = services(request).executions
    return reply(await ex.resume(request.path_params["execution_id"], data.get("action"),
                                 data.get("content")))


def routes() -> list[BaseRoute]:
    return [Route("/api/executions", start, methods=["POST"]),
            Route("/api/executions/{execution_id}", get, methods=["GET"]),
            Route("/api/executions/{execution_id}/resume", resume, methods=["POST"])]
