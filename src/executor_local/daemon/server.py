"""Binding the port and running uvicorn (pure-Python h11) until SIGTERM/SIGINT."""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

from executor_local.daemon.limits import BACKLOG, guarded_protocol, max_connections
from executor_local.errors import ExecutorError, PortInUse
from executor_local.migrate import testhooks

log = logging.getLogger("executor.daemon")

GRACEFUL_SHUTDOWN_S = 3  # in-flight requests get this long; the design promises exit within 5 s


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen before anything is announced, so the printed port is the real one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no port stealing
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: without it a response written as headers then body
        # waits for the client's delayed ACK (40 ms on Linux) on every keep-alive request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or (
            getattr(exc, "winerror", None) == 10048
        ):
            from executor_local.procinfo import describe_port_holders

            who = describe_port_holders(port) if port else None
            raise PortInUse(
                f"cannot listen on {host}:{port}: address already in use"
                + (f" by {who}" if who else ""), cause=exc
            ) from exc
        raise ExecutorError(f"cannot listen on {host}:{port}", cause=exc) from exc
    sock.set_inheritable(False)
    return sock


class StopSignals:
    """SIGTERM/SIGINT handlers that only take note, installed before READY.

    A shell may send SIGTERM the moment it reads READY, before uvicorn has put in its own
    handlers; without these the default handler would kill the process uncleanly. uvicorn also
    re-raises the stop signal after its shutdown into the handler that was there before it,
    which lands here too, so a stop always ends in our cleanup and exit 0.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous = {sig: signal.signal(sig, self._note)
                          for sig in (signal.SIGINT, signal.SIGTERM)}

    def _note(self, sig: int, _frame: object) -> None:
        self.received.append(sig)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _server_class(base: Any) -> Any:
    """uvicorn's Server, told of a stop our handlers noted before its own were in.

    A SIGTERM that came after run_server's first look at ``stops`` and before uvicorn replaced
    the handlers (its import and config: tens of ms) was noted and then never acted on: the
    daemon served on and a stop waited forever (1 launch in 4 of a test that stops right after
    READY)."""

    class Server(base):  # type: ignore[misc,valid-type]
        def __init__(self, config: Any, stops: StopSignals) -> None:
            super().__init__(config)
            self._stops = stops

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                if self._stops.received:
                    self.handle_exit(self._stops.received[0], None)
                yield

    return Server


def run_server(app: Any, sock: socket.socket, stops: StopSignals) -> None:
    """Serve ``app`` on ``sock`` until a stop signal; return normally after a clean shutdown."""
    if stops.received:  # stopped before the server was even up
        return
    testhooks.pause("uvicorn-start")  # a test sends its stop here, after the look above
    import uvicorn

    cap = max_connections()
    log.info("serving at most %d connections at once", cap)
    config = uvicorn.Config(
        app,
        http=guarded_protocol(cap),
        limit_concurrency=cap,
        backlog=BACKLOG,
        ws="none",
        loop="asyncio",
        lifespan="on",  # the MCP SDK's session manager runs in it
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _server_class(uvicorn.Server)(config, stops).run(sockets=[sock])
    if stops.received:
        log.info("stopped by %s", signal.Signals(stops.received[0]).name)
