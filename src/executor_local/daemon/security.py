"""Local security, checked on every request before routing (design §6, reliability §4).

Binding 127.0.0.1 does not stop a web page: with DNS rebinding it can make the browser talk to
our port under its own name. So, in this order:

1. ``Host`` must be a loopback name with our port (or an ``--allowed-host``), else 403;
2. a browser ``Origin`` must be loopback (or allowed), else 403; CORS headers only for those;
3. ``Authorization: Bearer <token>`` on everything but ``GET /api/health``, compared in constant
   time, else 401 with ``WWW-Authenticate`` (an unknown path without the token is 401, not 404,
   so the route map is not disclosed);
4. a body sent with POST/PUT/PATCH must be JSON, which forces a browser preflight, else 415.

The web console's pages (``/``, ``/login``, ``/logout``, ``/resume/...``, ``/ui/...``: see
``is_console_path``) skip 3 and 4 only: they authenticate with their own session cookie and a
CSRF token (``server/web/guard.py``), post HTML forms, and get no CORS headers at all, so no
other origin — not even another loopback port — may read them. ``/api`` and ``/mcp`` stay
bearer-only: the console's cookie is never a credential there.

Plain ASGI with no imports beyond the stdlib, so it wraps any app (the MCP SDK's too).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from executor_local.errors import EXIT_USAGE, ExecutorError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC = {("GET", "/api/health")}
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-Id"
BODY_METHODS = {"POST", "PUT", "PATCH"}
CONSOLE_PATHS = {"/", "/login", "/logout"}
CONSOLE_PREFIXES = ("/resume/", "/ui/")


def is_console_path(path: str) -> bool:
    """A web console route (session cookie + CSRF, checked by the console itself)."""
    return path in CONSOLE_PATHS or path.startswith(CONSOLE_PREFIXES)


class NonLoopbackRefused(ExecutorError):
    exit_code = EXIT_USAGE
    default_hint = ("Use --hostname 127.0.0.1, or add --allow-remote if other machines really "
                    "must reach it (then only the bearer token protects your data).")


def is_loopback_name(host: str) -> bool:
    """``localhost``, ``127.x.y.z``, ``::1`` (brackets allowed)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind_host(host: str, allow_remote: bool) -> str | None:
    """Refuse a non-loopback bind address unless asked explicitly; return a warning then."""
    if is_loopback_name(host):
        return None
    if not allow_remote:
        raise NonLoopbackRefused(f"refusing to listen on {host}: it is not a loopback address, "
                                 "so other machines could reach the daemon", step="serve")
    return (f"WARNING: listening on {host}: other machines on the network can reach this "
            "daemon; only the bearer token protects it.")


def split_host(value: str) -> tuple[str, int | None]:
    """``'[::1]:80'`` → ``('::1', 80)``; ``'localhost'`` → ``('localhost', None)``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[1:end], value[end + 1:]
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    try:
        return host, int(port) if port else None
    except ValueError:
        return host, -1


class LocalSecurity:
    """The ASGI middleware of the module docstring."""

    def __init__(self, app: ASGIApp, *, token: str, port: int,
                 allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.port = port
        self._token_digest = _digest(token)
        self.allowed = {split_host(h) for h in allowed_hosts if h}

    # --- the policy ---------------------------------------------------------------------------

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        host, port = split_host(host_header)
        if (host, port) in self.allowed or (host, None) in self.allowed:
            return True
        return is_loopback_name(host) and (port if port is not None else 80) == self.port

    def origin_allowed(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
            host = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False  # includes "null" (sandboxed frames, file://)
        return is_loopback_name(host) or any(h == host for h, _ in self.allowed)

    def token_ok(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Digests have a fixed length, so not even the token's length leaks through timing.
        return hmac.compare_digest(_digest(given.strip()), self._token_digest)

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method, path = scope["method"], scope["path"]
        origin = headers.get("origin")
        if not self.host_allowed(headers.get("host")):
            await _reply(send, 403, "forbidden: the Host header is not a loopback name for "
                                    "this port")
            return
        if origin is not None and not self.origin_allowed(origin):
            await _reply(send, 403, "forbidden: requests from this Origin are not allowed")
            return
        if is_console_path(path):
            await self.app(scope, receive, send)  # no CORS, no bearer: the console's own guard
            return
        cors = _cors_headers(origin, headers) if origin is not None else []
        if method == "OPTIONS" and origin is not None:
            await _reply(send, 204, None, cors)
            return
        if (method, path) not in PUBLIC and not self.token_ok(headers.get("authorization")):
            await _reply(send, 401, "unauthorized: send Authorization: Bearer <token> (the "
                                    "token is in server-control/auth.json)",
                         [*cors, (b"www-authenticate", b'Bearer realm="executor"')])
            return
        if method in BODY_METHODS and _has_body(headers) and not _is_json(headers):
            await _reply(send, 415, "unsupported media type: send Content-Type: "
                                    "application/json", cors)
            return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers, lower-cased names; the first of a repeated header wins."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _cors_headers(origin: str, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    requested = headers.get("access-control-request-headers")
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-methods", CORS_METHODS.encode()),
        (b"access-control-allow-headers", (requested or CORS_HEADERS).encode("latin-1")),
        (b"access-control-expose-headers", b"Mcp-Session-Id"),
        (b"access-control-max-age", b"600"),
        (b"vary", b"Origin"),
    ]


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _is_json(headers: dict[str, str]) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _reply(send: Send, status: int, text: str | None,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = b"" if text is None else json.dumps({"error": text}).encode()
    headers = [*(extra or [])]
    if text is not None:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
