"""The CLI's way to the HTTP API: find (or start) the daemon, send one request, explain failures.

The daemon's origin and bearer come from its manifest in the data dir; when none answers, one is
started in the background through the same election ``daemon run`` uses, so eight ``executor
call``s at once still give one daemon. Progress chatter goes to stderr so stdout stays the result.
httpx is imported only here, inside the functions that send.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import click

from executor_local.cli.app import Context
from executor_local.datadir import DEFAULT_PORT
from executor_local.errors import EXIT_UNEXPECTED, ExecutorError

REQUEST_TIMEOUT_S = 330.0  # a tool call may run up to its own 300 s deadline


class ApiError(ExecutorError):
    """The API answered with an error: the HTTP status, Executor's error code and its message."""

    exit_code = EXIT_UNEXPECTED
    default_hint = "Check the arguments; `executor --log-level debug ...` shows the request."

    def __init__(self, message: str, *, status: int, code: str | None, body: Any = None,
                 hint: str | None = None) -> None:
        super().__init__(message, step="api", hint=hint)
        self.status = status
        self.code = code
        self.body = body


@dataclass
class Api:
    origin: str
    bearer: str | None

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, timeout_s: float = REQUEST_TIMEOUT_S) -> Any:
        """Send ``method /api<path>``; the decoded JSON (or text) of a 2xx, else ``ApiError``."""
        try:
            import httpx
        except ImportError as exc:
            raise ExecutorError("this build of executor has no httpx, which the catalog "
                                "commands need", step="api", cause=exc,
                                hint="Install httpx, or use a newer bundle.") from exc

        headers = {"Accept": "application/json"}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            # A plain-http origin (the local daemon) never uses TLS: skip loading the CA bundle
            # (~70 ms) that a verifying context costs on every CLI run.
            verify = not self.origin.startswith("http://")
            response = httpx.request(method, f"{self.origin}/api{path}", params=clean or None,
                                     json=body, headers=headers, timeout=timeout_s,
                                     verify=verify)
        except httpx.TimeoutException:
            raise ExecutorError(f"{method} /api{path}: the daemon at {self.origin} did not "
                                f"answer within {timeout_s:g} s", step="api") from None
        except httpx.HTTPError as exc:
            raise ExecutorError(f"{method} /api{path}: could not reach the daemon at "
                                f"{self.origin} ({exc})", step="api",
                                hint="Check `executor daemon status`.") from None
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise _api_error(method, path, response.status_code, data)
        return data

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str, body: Any = None) -> Any:
        return self.request("DELETE", path, body=body)


def segment(value: str) -> str:
    """One path segment of a route, escaped."""
    return quote(value, safe="")


def _api_error(method: str, path: str, status: int, data: Any) -> ApiError:
    err = data.get("error") if isinstance(data, dict) else None
    err = err if isinstance(err, dict) else (data if isinstance(data, dict) else {})
    code = err.get("code") or err.get("_tag")
    message = err.get("message") or (data if isinstance(data, str) and data else None)
    if not message:
        message = f"HTTP {status}"
    hint = err.get("hint") if isinstance(err.get("hint"), str) else None
    suggestions = err.get("suggestions") or (err.get("details") or {}).get("suggestions") \
        if isinstance(err.get("details") or {}, dict) else None
    if suggestions:
        hint = "Did you mean: " + ", ".join(str(s) for s in suggestions[:5])
    elif status == 401:
        hint = "The daemon refused the bearer token; restart it or check $EXECUTOR_AUTH_TOKEN."
    label = f" ({code})" if code else ""
    return ApiError(f"{method} /api{path}: {message}{label}", status=status, code=code,
                    body=data, hint=hint)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def connect(ctx: Context, *, start: bool = True) -> Api:
    """The API of the daemon serving the data dir, starting one when none does."""
    from executor_local.daemon.manifest import live_manifest

    token = os.environ.get("EXECUTOR_AUTH_TOKEN") or None
    base = os.environ.get("EXECUTOR_BASE_URL")
    if base:
        return Api(base.rstrip("/"), token)
    choice = ctx.locate()
    manifest = live_manifest(choice.path) if choice.path.exists() else None
    if manifest is not None and manifest.answers_health():
        return Api(str(manifest.origin), token or manifest.bearer)
    if not start:
        from executor_local.errors import DaemonNotRunning

        raise DaemonNotRunning(f"no daemon serves {choice.path}")
    from executor_local.boot.background import start_in_background
    from executor_local.boot.sequence import DaemonOptions

    port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else 0
    click.echo(f"Starting the daemon for {choice.path} ...", err=True)
    started = start_in_background(DaemonOptions(choice, port=port), log_level=ctx.log_level)
    m = started.manifest
    if not started.attached:
        click.echo(f"Daemon ready on {m.origin} (pid {m.pid})", err=True)
    return Api(str(m.origin), token or m.bearer)


def print_result(ctx: Context, payload: Any, text: str | None = None) -> None:
    """JSON on --json; otherwise ``text`` (or the payload as indented JSON)."""
    if ctx.as_json or text is None:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(text)


def json_option(f: Any) -> Any:
    """``--json`` after the command too, same as the global option."""
    def set_json(click_ctx: click.Context, _param: Any, value: bool) -> bool:
        if value and isinstance(click_ctx.obj, Context):
            click_ctx.obj.as_json = True
        return value

    return click.option("--json", "as_json_local", is_flag=True, expose_value=False,
                        callback=set_json, help="Machine-readable output.")(f)
