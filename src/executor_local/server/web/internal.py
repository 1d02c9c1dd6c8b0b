"""Calling our own HTTP API in-process, so a console form does exactly what the API does.

The request goes to the Starlette app behind ``LocalSecurity`` (the console has already checked
its session and CSRF token), with a JSON body; the answer is ``(status, decoded JSON)``. The
API's validation, error shapes and secret handling are then the console's too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request


async def call_api(request: Request, method: str, path: str, body: Any = None,
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": urlencode(params or {}).encode(),
        "headers": [(b"host", request.headers.get("host", "127.0.0.1").encode("latin-1")),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode())],
        "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await request.app(scope, receive, send)
    except Exception:  # the app already answered 500 and logged it
        if not chunks:
            return 500, {"error": {"code": "internal_error", "message": "Internal error"}}
    text = b"".join(chunks)
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text.decode("utf-8", "replace")


def error_text(data: Any) -> str:
    """The message (and hint) of an API error answer, for a page."""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        text = str(err.get("message") or err.get("code") or "failed")
        return f"{text} {err['hint']}" if err.get("hint") else text
    if isinstance(err, str):
        return err
    return str(data) if data else "the request failed"
