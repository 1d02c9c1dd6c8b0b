"""Who may see and change what in the console: the session cookie, the Origin and CSRF checks.

``LocalSecurity`` (daemon/security.py) has already refused a foreign Host and a non-loopback
Origin, and lets console paths through without the bearer. Here:

- a page needs a live session (cookie ``executor_console_<port>``, HttpOnly, SameSite=Strict;
  the port is in the name because cookies ignore ports);
- a POST also needs ``Origin`` equal to this daemon's own origin — SameSite does not separate
  two ports of 127.0.0.1, which are the same *site*, so a page on another local port would
  otherwise ride the cookie — and the session's synchronizer token in the ``csrf`` field;
- a request another origin made with ``fetch`` (an ``Origin`` or ``Sec-Fetch-Site`` that is not
  ours, and not a top-level navigation) is refused even for reading; pages carry no CORS
  headers, so none could read them anyway.

Every answer gets ``no-store``, ``Referrer-Policy: same-origin`` (never a referrer to another
site; ``no-referrer`` would make browsers send ``Origin: null`` on our own forms), a CSP
allowing only our own script and style, and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from executor_local.server.web.sessions import Session, WebState

MAX_FORM = 20 * 1024 * 1024
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make Origin "null"
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}

Handler = Callable[[Request, Session], Awaitable[Response]]
Action = Callable[[Request, Session, dict[str, str]], Awaitable[Response]]


def web_state(request: Request) -> WebState:
    state = getattr(request.app.state, "web", None)
    if state is None:
        state = request.app.state.web = WebState()
    return state


def host_of(request: Request) -> str:
    return request.headers.get("host", "")


def own_origin(request: Request) -> str:
    return f"http://{host_of(request)}"


def cookie_name(request: Request) -> str:
    port = host_of(request).rsplit(":", 1)[-1] if ":" in host_of(request) else "80"
    return f"executor_console_{''.join(c for c in port if c.isdigit())}"


def current(request: Request) -> Session | None:
    return web_state(request).session(request.cookies.get(cookie_name(request)),
                                      host_of(request))


def secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def html_response(body: str, status: int = 200) -> HTMLResponse:
    return secure(HTMLResponse(body, status_code=status))  # type: ignore[return-value]


def redirect(path: str) -> Response:
    return secure(RedirectResponse(path, status_code=303))


def refused(text: str, status: int = 403) -> Response:
    from executor_local.server.web.layout import bare_page

    return html_response(bare_page("Refused", text), status)


def login_needed(path: str = "/") -> Response:
    from executor_local.server.web.layout import bare_page

    # Only an approval link is echoed back into the command to type (never arbitrary text).
    here = f" {path}" if re.fullmatch(r"/resume/[A-Za-z0-9_-]{1,100}", path) else ""
    response = html_response(bare_page(
        "Log in to the console",
        f"This console opens through a one-time link. Run `executor web{here}` (or "
        "`executor open`) in a terminal; it prints the link and opens it in your browser."), 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="executor"'
    return response


def cross_origin(request: Request) -> bool:
    """True for a request another origin made (fetch, a form on another port)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request):
        return True
    site = request.headers.get("sec-fetch-site")
    return site is not None and site not in ("same-origin", "none")


def navigation(request: Request) -> bool:
    """A top-level page load (a link followed, an address typed): it shows the page to the
    person, never to the page that linked it, and cannot be framed (CSP, X-Frame-Options)."""
    return (request.headers.get("sec-fetch-mode") == "navigate"
            and request.headers.get("sec-fetch-dest", "document") == "document")


def page(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A GET page: a session, and no other origin asking (a link from elsewhere is fine: the
    approval link may be followed from an agent's page)."""
    @wraps(fn)
    async def handler(request: Request) -> Response:
        if cross_origin(request) and not navigation(request):
            return refused("Requests from another origin are refused.")
        session = current(request)
        if session is None:
            return login_needed(request.url.path)
        return secure(await fn(request, session))
    return handler


def action(fn: Action) -> Callable[[Request], Awaitable[Response]]:
    """A POST: our own Origin (required), a session, and its CSRF token in the form."""
    @wraps(fn)
    async def handler(request: Request) -> Response:
        if request.headers.get("origin") != own_origin(request) or cross_origin(request):
            return refused("This form was not sent from the console itself (Origin check).")
        session = current(request)
        if session is None:
            return login_needed()
        form = await read_form(request)
        if form is None:
            return refused("The form is too large or not a form.", 400)
        if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
            return refused("The form's CSRF token is missing or stale; reload the page and "
                           "try again.")
        return secure(await fn(request, session, form))
    return handler


async def read_form(request: Request) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body (no multipart dependency)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", ""):
        return None
    raw = await request.body()
    if len(raw) > MAX_FORM:
        return None
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return {k: v[-1] for k, v in parsed.items()}

