"""Staying alive under resource exhaustion: a connection cap below the descriptor limit, an idle
timeout for connections that never send a request, and logs that stay bounded in any storm.

Any local process can open connections without a token. Unchecked, a few hundred of them use up
the daemon's file descriptors; asyncio's accept loop then logs "out of system resource" for
every queued connection on every tick (hundreds of MB of log in minutes). Here the daemon closes
a connection beyond ``max_connections()`` at once, closes a connection that sent no request for
``IDLE_TIMEOUT_S``, and every log handler drops repeats of one message beyond a few a minute
(``RepeatFilter``), saying how many it dropped.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

log = logging.getLogger("executor.daemon")

# Descriptors kept free for the store, the log, the listener, the event loop and SQLite.
RESERVED_FDS = 32
MAX_CONNECTIONS = 1000
IDLE_TIMEOUT_S = 10.0
BACKLOG = 128


def fd_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows: no descriptor limit of this kind
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def max_connections(limit: int | None = None) -> int:
    """Concurrent connections allowed: well below the descriptor limit, at most 1000."""
    limit = fd_limit() if limit is None else limit
    if limit is None:
        return MAX_CONNECTIONS
    return max(4, min(MAX_CONNECTIONS, limit - max(RESERVED_FDS, limit // 4)))


def guarded_protocol(cap: int) -> type:
    """uvicorn's h11 protocol, closing connections beyond ``cap`` and idle new ones."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > cap:
                log.warning("refusing a connection: %d are open, the cap is %d (descriptor "
                            "limit %s)", len(self.connections), cap, fd_limit())
                transport.close()
                return
            # A connection that never sends a request is closed like an idle keep-alive one.
            self.timeout_keep_alive_task = self.loop.call_later(
                IDLE_TIMEOUT_S, self.timeout_keep_alive_handler)

    return GuardedH11Protocol


_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")


class RepeatFilter(logging.Filter):
    """Let through at most ``burst`` records of one message per ``window_s``; then one line
    saying how many were dropped. Keyed by logger, level and the message with its numbers and
    addresses blanked (asyncio's messages name a different handle or descriptor every time;
    the boot steps share one template but are different messages)."""

    def __init__(self, burst: int = 5, window_s: float = 60.0,
                 clock: Any = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window_s, self.clock = burst, window_s, clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [start, count]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a record whose args do not fit its format: key on the template
            text = str(record.msg)
        key = (record.name, record.levelno, _NUMBERS.sub("#", text)[:200])
        now = self.clock()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] >= self.window_s:
            dropped = int(entry[1]) - self.burst if entry is not None else 0
            self._seen[key] = [now, 1]
            if len(self._seen) > 1000:  # bounded memory, whatever the messages
                self._seen = {key: self._seen[key]}
            if dropped > 0:
                record.msg = f"{record.msg} [{dropped} more like this were not logged]"
            return True
        entry[1] += 1
        if entry[1] <= self.burst:
            return True
        if entry[1] == self.burst + 1:
            record.msg = (f"{record.msg} [repeated; further ones are not logged for "
                          f"{self.window_s:.0f} s]")
            record.exc_info = None  # one traceback per burst is enough
            record.exc_text = None
            return True
        return False


def route_library_logs(handlers: list[logging.Handler]) -> None:
    """asyncio's and uvicorn's records go through our (filtered, rotating) handlers, never to
    logging's last-resort stderr writer, which a detached daemon has pointed at its log file."""
    for name in ("asyncio", "uvicorn", "uvicorn.error"):
        lib = logging.getLogger(name)
        lib.handlers = list(handlers)
        lib.propagate = False
        if lib.level == logging.NOTSET:
            lib.setLevel(logging.WARNING)
    # Any other library's warnings too (the root logger), instead of logging.lastResort.
    root = logging.getLogger()
    root.handlers = list(handlers)
    if root.level == logging.NOTSET or root.level < logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.raiseExceptions = False  # a failing handler must not print tracebacks to stderr
