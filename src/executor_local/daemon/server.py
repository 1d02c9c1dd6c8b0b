"""Binding the port and running uvicorn (pure-Python h11) until SIGTERM/SIGINT."""

from __future__ import annotations

import errno
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any

from executor_local.errors import ExecutorError, PortInUse

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
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or (
            getattr(exc, "winerror", None) == 10048
        ):
            raise PortInUse(
                f"cannot listen on {host}:{port}: address already in use", cause=exc
            ) from exc
        raise ExecutorError(f"cannot listen on {host}:{port}", cause=exc) from exc
    sock.set_inheritable(False)
    return sock


def run_server(app: Any, sock: socket.socket, on_started: Callable[[], None]) -> None:
    """Serve ``app`` on ``sock`` until a stop signal; return normally after a clean shutdown."""
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                on_started()

    config = uvicorn.Config(
        app,
        http="h11",
        ws="none",
        loop="asyncio",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _Server(config)
    # uvicorn re-raises the stop signal after its shutdown, into the handler that was installed
    # before it started. Install ones that just note it, so a SIGTERM ends in a clean exit 0
    # (and our own cleanup) instead of death by the default handler.
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda s, _f: received.append(s))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        log.info("stopped by %s", signal.Signals(received[0]).name)
