"""``/mcp`` in the daemon's app: the SDK's streamable-HTTP session manager, started lazily.

The daemon's ``create_app`` holds an ``McpMount`` (this module is stdlib-only) and passes its
``lifespan`` to Starlette, so uvicorn's lifespan owns the session manager's task group. The SDK
(pydantic, mcp) is imported on the first ``/mcp`` request, in a worker thread, never before
READY; until then the app carries none of it.

``LocalSecurity`` wraps the whole app, so ``/mcp`` is behind the Host/Origin checks and the
bearer like every other route. The SDK's own DNS-rebinding checks are therefore off (they
would duplicate ours, with a narrower allow-list than ``--allowed-host``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

from executor_local.mcp.settings import BadQuery, TransportSettings

log = logging.getLogger("executor.mcp")


class McpMount:
    """An ASGI app for ``/mcp`` plus the lifespan that runs its session manager."""

    def __init__(self, services: Callable[[], Any] | None = None,
                 settings: TransportSettings | None = None) -> None:
        # Without a getter, the Services are the serving app's ``state.services``.
        self._services = services
        self._settings = settings or TransportSettings.from_env()
        self._manager: Any = None
        self._tg: Any = None
        self._stop: Any = None
        self._lock: Any = None
        self._imported: Any = None  # set once the SDK import (one, in one thread) is done
        self._import_error: ImportError | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Give the session manager a task group for the app's whole life."""
        import anyio  # starlette's dependency: already loaded when the app runs

        self._stop, self._lock, self._imported = anyio.Event(), anyio.Lock(), anyio.Event()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            prewarm = anyio.CancelScope()
            tg.start_soon(self._in_scope, prewarm, self._prewarm)
            try:
                yield
            finally:
                prewarm.cancel()  # a stop does not wait for the SDK import
                self._stop.set()  # the host leaves manager.run(), which ends every session
                self._tg = None

    @staticmethod
    async def _in_scope(cancel_scope: Any, func: Callable[[], Any]) -> None:
        with cancel_scope:
            await func()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._tg is None:
            await _json_error(send, 503, "the MCP endpoint needs the app's lifespan (uvicorn "
                                         "lifespan='on')")
            return
        if self._services is None:
            state = getattr(scope.get("app"), "state", None)
            self._services = lambda: getattr(state, "services", None)
        try:
            manager = self._manager or await self._start()
        except ImportError as exc:  # a build without the SDK: say so instead of a bare 500
            log.error("MCP is unavailable: %s", exc)
            await _json_error(send, 503, f"this build of executor cannot serve MCP: {exc}")
            return
        problem = _query_problem(scope)
        if problem:
            await _json_error(send, 400, problem)
            return
        await manager.handle_request(scope, receive, send)

    async def _prewarm(self) -> None:
        """Import the SDK in the background once the app is up (after READY), so the first
        MCP client (often the bridge that just started this daemon) does not wait for it.

        The import runs in a daemon thread that a stop abandons: on a first launch it waits
        for the bundle's compiled part to unpack (seconds), and a SIGTERM meanwhile must still
        end the process within the desktop contract's 5 s. (anyio's worker threads are not
        daemon threads: the interpreter would join one at exit.)
        """
        import asyncio
        import threading

        loop = asyncio.get_running_loop()
        done: asyncio.Future[ImportError | None] = loop.create_future()

        def settle(result: ImportError | None) -> None:
            if not done.done():
                done.set_result(result)

        def work() -> None:
            result: ImportError | None = None
            try:
                _import_server()
            except ImportError as exc:  # a build without the SDK: /mcp will say so when asked
                result = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: the daemon stopped
                loop.call_soon_threadsafe(settle, result)

        threading.Thread(target=work, name="mcp-sdk-import", daemon=True).start()
        try:
            self._import_error = await done
            if self._import_error is not None:
                log.debug("MCP is not available: %s", self._import_error)
        finally:
            self._imported.set()

    async def _start(self) -> Any:
        # The import (pydantic, the SDK: ~0.5 s) runs off the event loop (``_prewarm``), so
        # the daemon keeps answering other requests meanwhile.
        await self._imported.wait()
        if self._import_error is not None:
            raise self._import_error
        async with self._lock:
            if self._manager is None:
                self._manager = await self._tg.start(self._host)
        return self._manager

    async def _host(self, *, task_status: Any) -> None:
        import sse_starlette
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        from executor_local.mcp.server import build_server

        # Keepalive comments on every SSE stream (idle GET streams included): Executor #1983.
        sse_starlette.EventSourceResponse.DEFAULT_PING_INTERVAL = self._settings.sse_ping_s  # type: ignore[misc]
        manager = StreamableHTTPSessionManager(
            app=build_server(self._services, self._settings),
            json_response=False,
            stateless=False,
            security_settings=None,
            session_idle_timeout=self._settings.session_idle_s,
        )
        async with manager.run():
            log.info("MCP session manager started")
            task_status.started(manager)
            await self._stop.wait()


def _import_server() -> None:
    """The SDK and every mode's tools (code mode's sandbox too), off the event loop."""
    from executor_local.integrations.mcp import sdk

    sdk.load()  # under the lock the upstream client takes too
    importlib.import_module("executor_local.mcp.server")
    from executor_local.mcp import registry

    registry.load_modes()


def _query_problem(scope: Any) -> str | None:
    """An unknown ``?mode=``/``?elicitation_mode=`` is refused before the SDK sees it."""
    raw = scope.get("query_string", b"").decode("latin-1")
    if not raw:
        return None
    from executor_local.mcp import registry
    from executor_local.mcp.settings import options_from_query

    try:
        options_from_query(dict(parse_qsl(raw)), registry.known_modes(), registry.default_mode())
    except BadQuery as exc:
        return str(exc)
    return None


async def _json_error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None,
                       "error": {"code": -32600, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
