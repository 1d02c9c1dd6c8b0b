"""Pooled MCP client sessions, one per (integration, credentials), on the daemon's loop.

Why a pool: opening a session costs a handshake (and, for stdio, a process), and servers keep
state in a session. Each session lives in an asyncio task the pool owns (the SDK's transports
are anyio task groups that must be entered and left in one task); callers on the same loop use
it concurrently, callers on another loop or thread are marshalled onto the pool's loop.

- idle sessions close after ``idle_timeout`` (5 min, as Executor, #1435);
- a session whose transport ended (a stdio server that died, a dropped stream) is replaced on
  the next call, after a backoff that grows with consecutive failures;
- the last good tool list is kept per key; it is marked stale by ``tools/list_changed``, by an
  unknown-tool answer and after ``tools_ttl`` (15 min), and listeners hear about the first two
  so the catalog can re-list.

``close()`` ends every session; the app's lifespan calls it on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from executor_local.integrations.mcp.config import Target
from executor_local.integrations.mcp.transport import (
    ConnectError,
    Opened,
    innermost,
    open_session,
)

log = logging.getLogger("executor.mcp")
T = TypeVar("T")

IDLE_TIMEOUT_S = 300.0
TOOLS_TTL_S = 900.0
MAX_PAGES = 100
Listener = Callable[[str, "str | None"], None]


class SessionGone(ConnectError):
    """The session ended under a request (the server died or the stream dropped)."""


@dataclass
class ToolCache:
    tools: list[dict[str, Any]]
    server_info: dict[str, Any]
    instructions: str | None
    fetched_at: float
    stale: bool = False


@dataclass
class _Backoff:
    failures: int = 0
    not_before: float = 0.0

    def failed(self, now: float) -> None:
        self.failures += 1
        delay = 0.0 if self.failures <= 1 else min(0.5 * 2 ** (self.failures - 2), 30.0)
        self.not_before = now + delay


@dataclass(eq=False)
class _Entry:
    key: str
    slug: str
    target: Target
    log_name: str
    connect_timeout: float
    opened: Opened | None = None
    error: BaseException | None = None
    dead: bool = False
    retired: bool = False  # closed as idle, not failed
    last_used: float = field(default_factory=time.monotonic)
    inflight: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class SessionPool:
    def __init__(self, *, idle_timeout: float = IDLE_TIMEOUT_S, tools_ttl: float = TOOLS_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout = idle_timeout
        self.tools_ttl = tools_ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._tools: dict[str, ToolCache] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._listeners: list[Listener] = []
        self._seen: dict[str, tuple[str, set[str]]] = {}  # key -> (slug, connections used)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # -- loop binding -----------------------------------------------------------------------

    def bind(self) -> None:
        """Own the running loop (the app's lifespan calls this on startup; otherwise the first
        caller's loop is taken)."""
        self._loop = asyncio.get_running_loop()
        self._closed = False

    async def _on_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        current = asyncio.get_running_loop()
        loop = self._loop
        if loop is None or loop.is_closed() or (not loop.is_running() and loop is not current):
            self._loop, loop = current, current
            self._entries.clear()  # sessions of a dead loop cannot be used or closed
        if loop is current:
            return await make()
        future = asyncio.run_coroutine_threadsafe(make(), loop)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)

    # -- listeners and freshness ------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """``listener(integration_slug, connection_or_None)``: its tools changed upstream."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self, key: str, slug: str) -> None:
        """Mark ``key``'s list stale and tell the listeners, once per connection that used it
        (or once with None when no call named one)."""
        self.mark_stale(key)
        connections = sorted(self._seen.get(key, (slug, set()))[1])
        for listener in list(self._listeners):
            for connection in connections or [None]:
                try:
                    listener(slug, connection)
                except Exception:
                    log.exception("a tools-changed listener failed for %s", slug)

    def mark_stale(self, key: str) -> None:
        cache = self._tools.get(key)
        if cache:
            cache.stale = True

    def needs_refresh(self, key: str) -> bool:
        cache = self._tools.get(key)
        return cache is None or cache.stale or self._clock() - cache.fetched_at >= self.tools_ttl

    def due_for_refresh(self) -> list[tuple[str, str]]:
        """``(slug, connection)`` of the lists in use that are older than the TTL or stale:
        the catalog re-lists them (only lists a call has used, so an idle stdio server is not
        started just to be listed)."""
        out: list[tuple[str, str]] = []
        for key, (slug, connections) in self._seen.items():
            if key in self._tools and self.needs_refresh(key):
                out.extend((slug, c) for c in sorted(connections))
        return out

    def cached_tools(self, key: str) -> ToolCache | None:
        return self._tools.get(key)

    def stats(self) -> dict[str, Any]:
        """Counts only: the keys hash the connections' secrets and stay inside the pool."""
        return {"sessions": sum(1 for e in self._entries.values() if not e.dead),
                "lists": len(self._tools)}

    # -- sessions ---------------------------------------------------------------------------

    async def _run_entry(self, entry: _Entry) -> None:
        async def on_message(message: Any) -> None:
            from mcp import types

            if isinstance(message, types.ToolListChangedNotification):
                log.info("%s: the server's tool list changed", entry.slug)
                self._changed(entry.key, entry.slug)
            elif isinstance(message, Exception):
                log.debug("%s: transport error: %s", entry.slug, type(message).__name__)

        def on_end() -> None:
            if not entry.dead:
                entry.dead = True
                entry.wake.set()

        try:
            async with open_session(entry.target, log_name=entry.log_name, on_message=on_message,
                                    on_end=on_end, timeout_s=entry.connect_timeout) as opened:
                entry.opened = opened
                entry.ready.set()
                while not entry.dead and not self._closed:
                    idle_for = self._clock() - entry.last_used
                    if entry.inflight == 0 and idle_for >= self.idle_timeout:
                        # dead before any await, so no caller can pick up a closing session
                        entry.dead = entry.retired = True
                        log.debug("%s: idle session closed", entry.slug)
                        break
                    entry.wake.clear()
                    with anyio.move_on_after(max(self.idle_timeout - idle_for, 0.05)):
                        await entry.wake.wait()
        except Exception as exc:
            entry.error = exc
        finally:
            crashed = entry.dead and not entry.retired and not self._closed
            entry.dead = True
            entry.ready.set()
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]
            if crashed or (entry.error is not None and entry.opened is None):
                self._backoff.setdefault(entry.key, _Backoff()).failed(self._clock())
            if crashed and entry.opened is not None:
                log.warning("%s: the MCP session ended (server exited or stream dropped); "
                            "the next call reconnects", entry.slug)

    async def _session(self, key: str, slug: str, target: Target, log_name: str,
                       timeout: float) -> _Entry:
        """A ready session for ``key``, reserved (``inflight`` counted): release it."""
        if self._closed:
            raise ConnectError("the MCP session pool is shut down", retryable=True)
        entry = self._entries.get(key)
        if entry is None or entry.dead:
            backoff = self._backoff.get(key)
            wait = (backoff.not_before - self._clock()) if backoff else 0.0
            if wait > 0:
                if wait > timeout:
                    raise ConnectError(f"the MCP server failed {backoff.failures} times in a row; "
                                       f"retrying in {wait:.1f} s", retryable=True)
                await asyncio.sleep(wait)
            entry = self._entries.get(key)
            if entry is None or entry.dead:
                entry = _Entry(key=key, slug=slug, target=target, log_name=log_name,
                               connect_timeout=min(timeout, 60.0))
                self._entries[key] = entry
                entry.task = asyncio.get_running_loop().create_task(
                    self._run_entry(entry), name=f"mcp-session-{slug}")
        entry.inflight += 1  # reserved before it is ready, so it cannot be closed as idle
        try:
            with anyio.move_on_after(timeout + 5.0) as waited:
                await entry.ready.wait()
            if waited.cancelled_caught:
                entry.dead = True
                entry.wake.set()
                raise ConnectError(f"connecting to the MCP server took over {timeout:.0f} s")
            if entry.opened is None or entry.dead:
                error = entry.error
                if isinstance(error, ConnectError):
                    raise error
                raise ConnectError(f"the MCP session could not be opened: "
                                   f"{error or 'it ended'}")
        except BaseException:
            entry.inflight -= 1
            raise
        return entry

    async def use(self, key: str, slug: str, target: Target, log_name: str, timeout: float,
                  work: Callable[[Opened], Awaitable[T]], *, connection: str | None = None,
                  retry_gone: bool = False) -> T:
        """Run ``work(opened)`` on a pooled session (opened or reopened as needed).

        A request the server never saw (it forgot the session) is sent again on a new one;
        ``retry_gone`` also resends after a dropped connection (for idempotent reads).
        """
        async def run() -> T:
            for attempt in (1, 2):
                entry = await self._session(key, slug, target, log_name, timeout)
                if connection:
                    self._seen.setdefault(key, (slug, set()))[1].add(connection)
                entry.last_used = self._clock()
                try:
                    result = await work(entry.opened)  # type: ignore[arg-type]
                except Exception as exc:
                    gone = _is_gone(exc)
                    if gone is None:
                        raise
                    entry.dead = True
                    entry.wake.set()
                    reason, resendable = gone
                    if (resendable or retry_gone) and attempt == 1:
                        continue
                    raise SessionGone(f"the MCP session ended during the request: "
                                      f"{reason}") from None
                finally:
                    entry.inflight -= 1
                    entry.last_used = self._clock()
                    entry.wake.set()
                self._backoff.pop(key, None)
                return result
            raise AssertionError("unreachable")

        return await self._on_loop(run)

    async def list_tools(self, key: str, slug: str, target: Target, log_name: str,
                         timeout: float) -> tuple[ToolCache, list[str]]:
        """The server's tools (all pages); on failure the last good list with a warning, or
        the failure when there is none."""
        async def fetch(opened: Opened) -> list[dict[str, Any]]:
            from mcp import types

            tools: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                with anyio.fail_after(timeout):
                    page = await opened.session.list_tools(params=params)
                tools.extend(t.model_dump(by_alias=True, mode="json", exclude_none=True)
                             for t in page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            return tools

        try:
            entry_tools: list[dict[str, Any]] = await self.use(
                key, slug, target, log_name, timeout, fetch, retry_gone=True)
        except Exception as exc:
            cache = self._tools.get(key)
            if cache is None:
                raise
            age = self._clock() - cache.fetched_at
            return cache, [f"refreshing the tool list failed ({describe(exc)}); kept the last "
                           f"good list of {len(cache.tools)} tools from {age:.0f} s ago"]
        entry = self._entries.get(key)
        opened = entry.opened if entry else None
        cache = ToolCache(tools=entry_tools,
                          server_info=opened.server_info if opened else {},
                          instructions=opened.instructions if opened else None,
                          fetched_at=self._clock())
        self._tools[key] = cache
        return cache, []

    def tool_unknown(self, key: str, slug: str) -> None:
        """An unknown-tool answer: the list drifted; mark it stale and tell the listeners."""
        self._changed(key, slug)

    async def close(self) -> None:
        """End every session (stdio servers are stopped); safe to call twice."""
        self._closed = True
        loop = self._loop
        if loop is None or loop.is_closed():
            self._entries.clear()
            return

        async def shut() -> None:
            entries = list(self._entries.values())
            for entry in entries:
                entry.wake.set()
            tasks = [e.task for e in entries if e.task is not None]
            if tasks:
                await asyncio.wait(tasks, timeout=10.0)
            self._entries.clear()

        current = asyncio.get_running_loop()
        if loop is current or not loop.is_running():
            await shut()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(shut(), loop))


def _is_gone(exc: BaseException) -> tuple[str, bool] | None:
    """Why ``exc`` means the session is unusable, and whether the request can be sent again
    on a new session (the server never saw it), or None when the session is fine."""
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, MCPError):
        if exc.code == -32000:  # CONNECTION_CLOSED: the request may have run
            return "connection closed", False
        message = (exc.message or "").lower()
        if "session terminated" in message or "session not found" in message:  # HTTP 404
            return "the server no longer knows the session", True
    return None


def describe(exc: BaseException) -> str:
    exc = innermost(exc)
    return str(exc) or type(exc).__name__
