"""``POST /api/web/tickets`` (bearer), ``GET /login?ticket=``, ``POST /logout``, static files.

The ticket route is under ``/api``, so ``LocalSecurity`` demands the bearer: only someone who
can read ``auth.json`` (the CLI) can mint a login link. ``/login`` spends the ticket, sets the
session cookie and redirects (303) to the page asked for, so the ticket never stays in the
address bar or in history as a working link.
"""

from __future__ import annotations

import time
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from executor_local.errors import InvalidInput
from executor_local.server.http import body, reply
from executor_local.server.web.guard import (
    action,
    cookie_name,
    host_of,
    html_response,
    redirect,
    secure,
    web_state,
)
from executor_local.server.web.layout import bare_page
from executor_local.server.web.sessions import SESSION_IDLE_S, Session

STATIC = {"console.css": "text/css; charset=utf-8",
          "console.js": "text/javascript; charset=utf-8"}


def safe_next(value: object) -> str:
    """A path on this daemon (never ``//host`` or a scheme), else ``/``."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") \
            or "\\" in value or any(ord(c) < 0x21 for c in value):
        return "/"
    return value


async def mint(request: Request) -> Response:
    data = await body(request, required=False)
    next_path = data.get("next", "/")
    if next_path is not None and not isinstance(next_path, str):
        raise InvalidInput("next must be a path like /resume/<id>", code="invalid_body")
    ticket, ttl = web_state(request).mint_ticket(safe_next(next_path))
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return reply({"url": f"{origin}/login?ticket={ticket}", "expiresInSeconds": ttl,
                  "expiresAt": int((time.time() + ttl) * 1000)})


async def login(request: Request) -> Response:
    redeemed = web_state(request).redeem(request.query_params.get("ticket", ""),
                                         host_of(request))
    if redeemed is None:
        return html_response(bare_page(
            "This login link no longer works",
            "A login link works once and for two minutes. Run `executor web` for a new one."),
            401)
    sid, _session, next_path = redeemed
    response = redirect(next_path)
    response.set_cookie(cookie_name(request), sid, max_age=int(SESSION_IDLE_S), path="/",
                        httponly=True, samesite="strict")
    return response


@action
async def logout(request: Request, _session: Session, _form: dict[str, str]) -> Response:
    web_state(request).end(request.cookies.get(cookie_name(request)))
    response = html_response(bare_page("Logged out", "Run `executor web` to log in again."))
    response.delete_cookie(cookie_name(request), path="/", httponly=True, samesite="strict")
    return response


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return secure(Response("not found", status_code=404, media_type="text/plain"))
    data = resources.files("executor_local.server.web").joinpath("static", name).read_bytes()
    response = Response(data, media_type=STATIC[name])
    secure(response)
    response.headers["Cache-Control"] = "no-cache"
    return response
