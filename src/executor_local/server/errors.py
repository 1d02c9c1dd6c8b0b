"""One mapping from error types to HTTP answers: ``{"error": {"code", "message", "hint"}}``.

The types are ``executor_local.errors``' (shared with the CLI renderer): ``http_status`` and
``code`` live on the class. Anything unexpected is a 500 with a correlation id; its details go
to the daemon log only (never the cause's text to the client: it might carry a value).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from executor_local.errors import ExecutorError

log = logging.getLogger("executor.server")


def error_body(code: str, message: str, hint: str | None = None,
               details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if hint:
        err["hint"] = hint
    if details is not None:
        err["details"] = details
    return {"error": err}


def status_of(exc: ExecutorError) -> int:
    return int(getattr(exc, "http_status", 500))


async def executor_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExecutorError)
    status = status_of(exc)
    if status >= 500:
        log.warning("request failed: %s (%s)", exc.message, type(exc).__name__)
    return JSONResponse(error_body(getattr(exc, "code", "internal_error"), exc.message,
                                   exc.hint, getattr(exc, "details", None)), status_code=status)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    ref = secrets.token_hex(4)
    log.error("unexpected error [%s] on %s %s: %s", ref, request.method, request.url.path,
              type(exc).__name__)
    log.debug("unexpected error [%s]", ref, exc_info=exc)
    return JSONResponse(error_body("internal_error", f"Internal error [{ref}]",
                                   "This is a bug; the daemon log has the details."),
                        status_code=500)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404/405 as our JSON error shape."""
    status = int(getattr(exc, "status_code", 500))
    code = {404: "route_not_found", 405: "method_not_allowed"}.get(status, "http_error")
    return JSONResponse(error_body(code, str(getattr(exc, "detail", "")) or code),
                        status_code=status, headers=getattr(exc, "headers", None))


def handlers() -> dict[Any, Any]:
    from starlette.exceptions import HTTPException

    return {ExecutorError: executor_error, HTTPException: http_error, Exception: unexpected}
