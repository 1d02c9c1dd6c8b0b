"""Small request helpers every router uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from executor_local.errors import InvalidInput

T = TypeVar("T")
MAX_BODY = 20 * 1024 * 1024


def services(request: Request) -> Any:
    return request.app.state.services


async def body(request: Request, *, required: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise InvalidInput("the request needs a JSON object body", code="invalid_body")
        return {}
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"the body is larger than {MAX_BODY} bytes", code="body_too_large")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", code="invalid_body") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_body")
    return data


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def reply(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


async def sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a sync catalog call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)
