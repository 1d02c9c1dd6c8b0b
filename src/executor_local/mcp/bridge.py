"""``executor mcp``: a stdio MCP server that is a bridge to the daemon's ``/mcp``.

It never opens the database and never imports the SDK: it moves JSON-RPC lines between
stdin/stdout and streamable HTTP with the manifest's bearer, so every client that launches a
command shares the one daemon (and its catalog, policies and pauses). The daemon is started
when none runs (the background-start election: many bridges starting at once give one daemon).

Both protocol eras pass through: handshake-era messages go on the session the client's own
``initialize`` opened (``mcp-session-id``); 2026-07-28 requests carry their version in
``_meta`` and are sent stateless with the headers that era wants.

A daemon restart under a live bridge: a request the daemon never received (connection refused,
or its session is unknown to the new daemon) is sent again after the bridge reconnects and
re-initializes with the client's original ``initialize``, so the client sees nothing. A request
cut off while the daemon ran it fails with a JSON-RPC error saying so: it may have run, so it is
not repeated behind the client's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlencode

from executor_local.mcp.bridge_wire import modern_version, post_headers, read_stdin
from executor_local.mcp.sse import events

log = logging.getLogger("executor.mcp")

CONNECTION_LOST = -32000  # implementation-defined server error range
READ_TIMEOUT_S = 120.0  # SSE keepalives come every 15 s, so silence this long is a dead daemon
EOF_GRACE_S = 10.0  # after stdin closes, in-flight requests get this long to answer


@dataclass(frozen=True)
class Endpoint:
    origin: str
    bearer: str = field(repr=False)  # a secret: never in a log line


class Unreachable(Exception):
    """The daemon could not be reached or started; the message says why."""


class _Retry(Exception):
    """The daemon never received this message: reconnect and send it again."""


class _Lost(Exception):
    """The connection died after the daemon received the request."""


class Bridge:
    """One stdio client's link to the daemon.

    ``connect`` returns the daemon's endpoint, starting the daemon if needed (blocking; it runs
    in a worker thread). ``query`` is the ``/mcp`` query string (``mode``,
    ``elicitation_mode``).
    """

    def __init__(self, connect: Callable[[], Endpoint], query: dict[str, str],
                 out: BinaryIO | None = None) -> None:
        self._connect = connect
        self._query = urlencode(query)
        self._out = out or sys.stdout.buffer
        self._endpoint: Endpoint | None = None
        self._generation = 0  # bumped on every reconnect / re-initialize
        self._lock = asyncio.Lock()
        self._session_id: str | None = None
        self._version: str | None = None  # negotiated in the handshake era
        self._init_params: dict[str, Any] | None = None
        self._initialized = False
        self._session_changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: Any = None

    # --- main loop -----------------------------------------------------------------------------

    async def run(self, lines: asyncio.Queue[bytes | None]) -> None:
        """Serve until stdin closes (``None`` on the queue), then end the session and return."""
        import httpx

        timeout = httpx.Timeout(30.0, read=READ_TIMEOUT_S)
        async with httpx.AsyncClient(timeout=timeout) as http:
            self._http = http
            getter = asyncio.create_task(self._get_stream())
            try:
                while (line := await lines.get()) is not None:
                    for message in self._parse(line):
                        await self._dispatch(message)
                if self._tasks:  # stdin closed: answers already on their way still go out
                    await asyncio.wait(list(self._tasks), timeout=EOF_GRACE_S)
            finally:
                getter.cancel()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(getter, *self._tasks, return_exceptions=True)
                await self._end_session()

    def _parse(self, line: bytes) -> list[dict[str, Any]]:
        if not line.strip():
            return []
        try:
            message = json.loads(line)
        except ValueError as exc:
            self._write({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32700, "message": f"parse error: stdin line is not JSON ({exc})"}})
            return []
        batch = message if isinstance(message, list) else [message]
        good = [m for m in batch if isinstance(m, dict)]
        if len(good) != len(batch):
            self._write({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32600, "message": "invalid request: a JSON-RPC message is an object"}})
        return good

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # a request: answered on its own time
            task = asyncio.create_task(self._request(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        # Notifications and our answers to the server's requests (elicitation): in order.
        if message.get("method") == "notifications/cancelled" and modern_version(message):
            return  # the 2026 HTTP wire has no client notifications
        try:
            await self._send(message, notify=True)
        except (_Retry, _Lost, Unreachable) as exc:
            log.warning("could not pass %s to the daemon: %s",
                        message.get("method") or "a response", exc)
        if message.get("method") == "notifications/initialized":
            self._initialized = True
            self._session_changed.set()

    async def _request(self, message: dict[str, Any]) -> None:
        if message.get("method") == "initialize" and isinstance(message.get("params"), dict):
            self._init_params = message["params"]
            self._session_id = None
        for attempt in range(3):
            generation = self._generation
            try:
                await self._send(message)
                return
            except _Retry as why:
                if attempt == 2:
                    self._reply_error(message, CONNECTION_LOST, f"the executor daemon could not "
                                      f"be reached after reconnecting: {why}")
                    return
                try:
                    await self._recover(generation, message)
                except Unreachable as exc:
                    self._reply_error(message, CONNECTION_LOST, str(exc))
                    return
            except _Lost as why:
                self._reply_error(message, CONNECTION_LOST, (
                    f"the connection to the executor daemon was lost while it ran "
                    f"{message.get('method')} ({why}); the daemon probably restarted. It was "
                    "not sent again because it may have run: check, then call it again."))
                return
            except Unreachable as exc:
                self._reply_error(message, CONNECTION_LOST, str(exc))
                return

    # --- HTTP -----------------------------------------------------------------------------------

    def _headers(self, message: dict[str, Any], endpoint: Endpoint) -> dict[str, str]:
        return post_headers(message, endpoint.bearer, self._session_id, self._version)

    async def _endpoint_now(self) -> Endpoint:
        if self._endpoint is None:
            try:
                self._endpoint = await asyncio.to_thread(self._connect)
            except Unreachable:
                raise
            except Exception as exc:  # the daemon would not start: say why, keep serving
                raise Unreachable(f"cannot reach or start the executor daemon: {exc}") from exc
        return self._endpoint

    def _url(self, endpoint: Endpoint) -> str:
        return f"{endpoint.origin}/mcp" + (f"?{self._query}" if self._query else "")

    async def _send(self, message: dict[str, Any], *, notify: bool = False,
                    echo: bool = True) -> dict[str, Any] | None:
        """POST one message; write what comes back to stdout (unless ``echo`` is off, for our
        own re-initialize) and return the response to it."""
        import httpx

        endpoint = await self._endpoint_now()
        had_session = self._session_id is not None
        received = False
        answer: dict[str, Any] | None = None
        try:
            async with self._http.stream("POST", self._url(endpoint), json=message,
                                         headers=self._headers(message, endpoint)) as resp:
                received = True
                if resp.status_code == 404 and had_session and not modern_version(message):
                    raise _Retry("the daemon does not know this session (it restarted)")
                if resp.status_code == 401:
                    self._endpoint = None  # the bearer changed: read the manifest again
                    raise _Retry("the daemon refused the bearer")
                if message.get("method") == "initialize" and resp.status_code < 300:
                    self._session_id = resp.headers.get("mcp-session-id") or self._session_id
                    self._session_changed.set()
                kind = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if resp.status_code == 202 or (notify and resp.status_code < 300):
                    return None
                if kind == "text/event-stream":
                    async for data in events(resp.aiter_lines()):
                        reply = self._relay(data, message, echo)
                        answer = reply or answer
                elif kind == "application/json":
                    reply = self._relay((await resp.aread()).decode(), message, echo,
                                        status=resp.status_code)
                    answer = reply or answer
                elif "id" in message:
                    self._reply_error(message, -32603, f"the daemon answered "
                                      f"{message.get('method')} with HTTP {resp.status_code} "
                                      f"({kind or 'no body'})")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._endpoint = None
            raise _Retry(f"cannot connect to {endpoint.origin}: {exc}") from exc
        except httpx.TransportError as exc:
            if not received and isinstance(exc, httpx.RemoteProtocolError):
                self._endpoint = None
                raise _Retry(f"{endpoint.origin} closed the connection: {exc}") from exc
            self._endpoint = None
            raise _Lost(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                        ) from exc
        if "id" in message and "method" in message and answer is None and received and echo:
            # The stream ended without the answer: the daemon went away mid-request.
            self._endpoint = None
            raise _Lost("the response stream ended without an answer")
        return answer

    def _relay(self, data: str, request: dict[str, Any], echo: bool,
               status: int = 200) -> dict[str, Any] | None:
        """One message from the daemon to stdout; returns it when it answers ``request``."""
        try:
            message = json.loads(data)
        except ValueError:
            if "id" in request:
                self._reply_error(request, -32603, f"the daemon answered HTTP {status} with a "
                                  "body that is not JSON")
            return None
        if not isinstance(message, dict):
            return None
        is_answer = "method" not in message and ("result" in message or "error" in message)
        if is_answer and message.get("id") is None and "id" in request:
            message["id"] = request["id"]  # an HTTP-level rejection names no id
        if is_answer and request.get("method") == "initialize" and "result" in message:
            version = (message.get("result") or {}).get("protocolVersion")
            self._version = version if isinstance(version, str) else None
        if echo or not is_answer:
            self._write(message)
        return message if is_answer else None

    # --- recovery -----------------------------------------------------------------------------

    async def _recover(self, generation: int, message: dict[str, Any]) -> None:
        """Reconnect (starting the daemon if needed) and re-open the session, once per failure
        however many requests noticed it."""
        async with self._lock:
            if self._generation != generation:
                return
            self._generation += 1
            self._endpoint = None
            await self._endpoint_now()
            if modern_version(message) or message.get("method") == "initialize":
                return
            if self._init_params is None:
                raise Unreachable("the daemon lost this session and the client never sent "
                                  "initialize, so it cannot be re-opened")
            self._session_id = None
            init = {"jsonrpc": "2.0", "id": f"executor-bridge-reinit-{self._generation}",
                    "method": "initialize", "params": self._init_params}
            try:
                answer = await self._send(init, echo=False)
                if not answer or "result" not in answer:
                    raise Unreachable(f"the daemon refused to re-open the session: {answer}")
                if self._initialized:
                    await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                                     notify=True)
            except (_Retry, _Lost) as exc:
                raise Unreachable(f"re-opening the MCP session failed: {exc}") from exc
            log.info("re-opened the MCP session after the daemon restarted")
            self._session_changed.set()

    async def _get_stream(self) -> None:
        """The session's GET stream: what the daemon sends unasked (list changes, requests)."""
        import httpx

        while True:
            await self._session_changed.wait()
            self._session_changed.clear()
            sid = self._session_id
            if not (sid and self._initialized) or self._endpoint is None:
                continue
            endpoint = self._endpoint
            headers = {"Authorization": f"Bearer {endpoint.bearer}",
                       "Accept": "text/event-stream", "Mcp-Session-Id": sid}
            if self._version:
                headers["MCP-Protocol-Version"] = self._version
            try:
                async with self._http.stream("GET", self._url(endpoint),
                                             headers=headers) as resp:
                    if resp.status_code != 200:
                        continue  # 405: none offered; 404/409: the next session change retries
                    async for data in events(resp.aiter_lines()):
                        with contextlib.suppress(ValueError):
                            message = json.loads(data)
                            if isinstance(message, dict):
                                self._write(message)
            except httpx.ReadTimeout:
                if sid == self._session_id:  # a quiet daemon, not a dead one: open it again
                    self._session_changed.set()
            except httpx.HTTPError as exc:
                log.debug("the GET stream ended: %s", exc)

    async def _end_session(self) -> None:
        if not self._session_id or self._endpoint is None:
            return
        endpoint = self._endpoint
        headers = {"Authorization": f"Bearer {endpoint.bearer}",
                   "Mcp-Session-Id": self._session_id}
        if self._version:
            headers["MCP-Protocol-Version"] = self._version
        with contextlib.suppress(Exception):
            await self._http.delete(self._url(endpoint), headers=headers, timeout=2.0)

    # --- stdout ---------------------------------------------------------------------------------

    def _write(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self._out.flush()

    def _reply_error(self, request: dict[str, Any], code: int, text: str) -> None:
        if "id" in request:
            self._write({"jsonrpc": "2.0", "id": request["id"],
                         "error": {"code": code, "message": text}})


def serve_stdio(connect: Callable[[], Endpoint], query: dict[str, str]) -> int:
    """Run the bridge on this process's stdin/stdout until stdin closes; the exit code."""

    async def main() -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        read_stdin(asyncio.get_running_loop(), queue)
        await Bridge(connect, query).run(queue)

    asyncio.run(main())
    return 0
