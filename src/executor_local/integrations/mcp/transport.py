"""Open one initialized MCP client session to a target: streamable HTTP, legacy SSE, auto
(streamable first, then SSE) or a local stdio command, with the official SDK (imported here
only, after READY).

The session is an async context manager, entered and exited in one task (the SDK's transports
are anyio task groups): the pool runs each in a task of its own. ``on_end`` fires when the
transport's read side ends (the stdio server died, the SSE stream dropped), so the pool can tell
a dead session from an idle one without a call failing first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from executor_local.integrations.mcp.config import (
    RemoteTarget,
    StdioTarget,
    Target,
    redact_url,
    scrub,
)

CLIENT_NAME = "executor-local"

# The HTTP client logs every request URL at INFO and the SDK the endpoint at DEBUG; a query
# parameter may carry a credential, so neither may reach the daemon log.
for _name in ("httpx2", "httpcore2", "httpx", "httpcore", "mcp.client.streamable_http"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class ConnectError(Exception):
    """The server could not be reached or refused the handshake; the message is safe to show
    (no header, query or env values), ``status`` is the HTTP status when one answered."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class Opened:
    session: Any  # mcp.ClientSession
    server_info: dict[str, Any]
    instructions: str | None
    capabilities: dict[str, Any]
    transport: str  # the one that worked: streamable-http | sse | stdio
    pid: int | None = None


class _Watched:
    """A read stream that reports its end (EOF or closed) once, delegating everything else."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    async def receive(self) -> Any:
        import anyio

        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class StderrPump:
    """Copies a stdio server's stderr to the daemon log, bounded: lines cut at ``max_line``
    bytes, at most ``burst`` lines per ``window`` seconds (then one "suppressed N" line), and
    ``max_total`` bytes over the process's life. A thread, because the pipe must be drained
    whatever the event loop is doing, or a chatty server blocks on a full pipe."""

    def __init__(self, logger: logging.Logger, *, max_line: int = 2000, burst: int = 50,
                 window: float = 10.0, max_total: int = 1024 * 1024,
                 secrets: tuple[str, ...] = ()) -> None:
        self.secrets = secrets
        self.read_fd, self.write_fd = os.pipe()
        self.logger = logger
        self.max_line, self.burst, self.window, self.max_total = max_line, burst, window, max_total
        self.errlog = os.fdopen(self.write_fd, "w", encoding="utf-8", errors="replace")
        self.thread = threading.Thread(target=self._run, name=f"{logger.name}-stderr", daemon=True)
        self.lines_logged = 0
        self.lines_suppressed = 0

    def start(self) -> None:
        self.thread.start()

    def child_started(self) -> None:
        """Drop our copy of the write end, so the pipe ends when the server (and its children)
        exit."""
        with contextlib.suppress(OSError):
            self.errlog.close()

    def _run(self) -> None:
        window_start, in_window, total, suppressed = time.monotonic(), 0, 0, 0
        with os.fdopen(self.read_fd, "rb") as pipe:
            for raw in pipe:
                now = time.monotonic()
                if now - window_start >= self.window:
                    if suppressed:
                        self.logger.warning("(%d stderr lines suppressed)", suppressed)
                    window_start, in_window, suppressed = now, 0, 0
                line = scrub(raw[: self.max_line].decode("utf-8", "replace").rstrip(),
                             self.secrets)
                if total >= self.max_total or in_window >= self.burst:
                    suppressed += 1
                    self.lines_suppressed += 1
                    continue
                in_window += 1
                total += len(line)
                self.lines_logged += 1
                cut = " …" if len(raw) > self.max_line else ""
                self.logger.info("stderr: %s%s", line, cut)
                if total >= self.max_total:
                    self.logger.warning("stderr log limit (%d bytes) reached; the rest is dropped",
                                        self.max_total)
        if suppressed:
            self.logger.warning("(%d stderr lines suppressed)", suppressed)


def _http_status_hook(seen: dict[str, int]) -> Callable[[Any], Awaitable[None]]:
    async def hook(response: Any) -> None:
        seen["status"] = response.status_code

    return hook


def _http_client(headers: dict[str, str], timeout_s: float, seen: dict[str, int]) -> Any:
    import httpx2

    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout_s, read=300.0),
                              event_hooks={"response": [_http_status_hook(seen)]})


def innermost(exc: BaseException) -> BaseException:
    """The leaf of a task-group exception group (anyio wraps failures in them) that says what
    went wrong: the first ordinary exception, else the first leaf (a cancellation)."""
    leaves: list[BaseException] = []
    pending = [exc]
    while pending:
        item = pending.pop(0)
        children = getattr(item, "exceptions", None)
        if children:
            pending[:0] = list(children)
        else:
            leaves.append(item)
    return next((e for e in leaves if isinstance(e, Exception)), leaves[0] if leaves else exc)


def _describe(exc: BaseException) -> str:
    """One line for an exception, unwrapping task-group groups; never a header or env value
    (the SDK's messages carry the URL at most, which callers redact)."""
    exc = innermost(exc)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def _refusal(target: RemoteTarget, seen: dict[str, int], exc: BaseException) -> ConnectError:
    status = seen.get("status")
    where = redact_url(target.url)
    if status in (401, 403):
        return ConnectError(f"{where} answered {status}: the connection's credentials were "
                            "refused (check the header or query values)", status=status,
                            retryable=False)
    if status is not None and status >= 400:
        return ConnectError(f"{where} answered HTTP {status} to the MCP handshake", status=status,
                            retryable=status >= 500 or status == 429)
    detail = scrub(_describe(exc).replace(target.url, where), target.secrets)
    return ConnectError(f"could not connect to the MCP server at {where}: {detail}")


async def _initialize(stack: contextlib.AsyncExitStack, read: Any, write: Any,
                      on_message: Callable[[Any], Awaitable[None]], on_end: Callable[[], None],
                      timeout_s: float) -> tuple[Any, Any]:
    import anyio
    from mcp import ClientSession, types

    session = await stack.enter_async_context(ClientSession(
        _Watched(read, on_end), write, message_handler=on_message,
        client_info=types.Implementation(name=CLIENT_NAME, version="1")))
    with anyio.fail_after(timeout_s):
        result = await session.initialize()
    return session, result


async def _unwind(stack: contextlib.AsyncExitStack, exc: BaseException) -> Exception:
    """Close a half-opened transport in this task and return the failure to report.

    A transport task that fails (connection refused) cancels the task that is waiting on the
    handshake; the real error comes out of the task group only when the stack is closed, here.
    A cancellation from outside, or an exit signal, is re-raised as it is.
    """
    try:
        suppressed = await stack.__aexit__(type(exc), exc, exc.__traceback__)
    except BaseException as raised:
        exc = raised
    else:
        if suppressed:
            exc = ConnectError("the connection closed during the MCP handshake")
    if isinstance(exc, Exception):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        leaf = innermost(exc)
        if isinstance(leaf, Exception):
            return leaf
    raise exc


def _opened(session: Any, result: Any, transport: str, pid: int | None = None) -> Opened:
    info = result.server_info.model_dump(by_alias=True, mode="json", exclude_none=True) if (
        result.server_info) else {}
    caps = result.capabilities.model_dump(by_alias=True, mode="json", exclude_none=True) if (
        result.capabilities) else {}
    return Opened(session=session, server_info=info, instructions=result.instructions,
                  capabilities=caps, transport=transport, pid=pid)


@contextlib.asynccontextmanager
async def open_session(target: Target, *, log_name: str,
                       on_message: Callable[[Any], Awaitable[None]],
                       on_end: Callable[[], None], timeout_s: float = 30.0,
                       on_spawn: Callable[[Any], None] | None = None) -> AsyncIterator[Opened]:
    """An initialized ClientSession for ``target``; ConnectError when it cannot be had."""
    import anyio.to_thread

    from executor_local.integrations.mcp import sdk

    await anyio.to_thread.run_sync(sdk.load)  # off the loop, under the SDK's one import lock
    if isinstance(target, StdioTarget):
        async with _open_stdio(target, log_name, on_message, on_end, timeout_s) as opened:
            yield opened
        return
    order = ["streamable-http", "sse"] if target.transport == "auto" else [target.transport]
    failure: ConnectError | None = None
    for transport in order:
        stack = contextlib.AsyncExitStack()
        seen: dict[str, int] = {}
        try:
            await stack.__aenter__()
            if transport == "sse":
                from mcp.client.sse import sse_client

                def factory(headers: Any = None, timeout: Any = None, auth: Any = None,
                            _seen: dict[str, int] = seen) -> Any:
                    import httpx2

                    return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth,
                                              event_hooks={"response": [_http_status_hook(_seen)]})

                read, write = await stack.enter_async_context(sse_client(
                    target.url, headers=target.headers, timeout=timeout_s,
                    httpx_client_factory=factory))
            else:
                from mcp.client.streamable_http import streamable_http_client

                client = await stack.enter_async_context(
                    _http_client(target.headers, timeout_s, seen))
                read, write = await stack.enter_async_context(
                    streamable_http_client(target.url, http_client=client))
            session, result = await _initialize(stack, read, write, on_message, on_end, timeout_s)
        except BaseException as exc:  # any failure to connect: try the next transport
            failure = _refusal(target, seen, await _unwind(stack, exc))
            if failure.status in (401, 403):
                break  # SSE will not accept credentials streamable HTTP refused
            continue
        try:
            yield _opened(session, result, transport)
        finally:
            await stack.aclose()
        return
    assert failure is not None
    if len(order) > 1:
        failure = ConnectError(f"{failure} (tried streamable HTTP, then SSE)",
                               status=failure.status, retryable=failure.retryable)
    raise failure


@contextlib.asynccontextmanager
async def _open_stdio(target: StdioTarget, log_name: str,
                      on_message: Callable[[Any], Awaitable[None]], on_end: Callable[[], None],
                      timeout_s: float) -> AsyncIterator[Opened]:
    from mcp.client.stdio import StdioServerParameters, stdio_client

    pump = StderrPump(logging.getLogger(log_name), secrets=target.secrets)
    pump.start()
    params = StdioServerParameters(command=target.command, args=list(target.args),
                                   env=dict(target.env) or None, cwd=target.cwd)
    stack = contextlib.AsyncExitStack()
    await stack.__aenter__()
    try:
        try:
            read, write = await stack.enter_async_context(stdio_client(params, errlog=pump.errlog))
        finally:
            pump.child_started()
        session, result = await _initialize(stack, read, write, on_message, on_end, timeout_s)
    except BaseException as exc:
        exc = innermost(await _unwind(stack, exc))
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise ConnectError(f"could not start {target.command!r}: {exc.strerror}",
                               retryable=False) from None
        raise ConnectError(f"the stdio MCP server {target.command!r} did not complete the "
                           f"handshake: {scrub(_describe(exc), target.secrets)} (its stderr "
                           f"is in the daemon log, logger {log_name})") from None
    try:
        yield _opened(session, result, "stdio")
    finally:
        await stack.aclose()
