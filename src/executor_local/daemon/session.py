"""Step 6, serve: open the store, load the bearer, bind the port, build the app, advertise.

After ``open_session`` the port is bound (the kernel already queues connections) and the
manifest says ``ready``; ``run`` then serves until SIGTERM/SIGINT, and ``close`` releases the
socket and the store. The manifest itself goes with the ownership (``Ownership.release``).

The HTTP stack (starlette, uvicorn, asyncio: about 40% of start-to-READY) is imported in
``run``, after READY: the socket is listening by then, so a client that connects at once is
queued by the kernel and answered a few milliseconds later, never refused.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from executor_local import __version__
from executor_local.daemon.auth import load_or_mint_token
from executor_local.daemon.manifest import Manifest, origin_for, write_manifest
from executor_local.daemon.security import is_loopback_name
from executor_local.daemon.server import StopSignals

log = logging.getLogger("executor.daemon")


@dataclass
class DaemonSession:
    data_dir: Path
    store: sqlite3.Connection
    sock: socket.socket
    build_app: Callable[[], object]
    manifest: Manifest

    @property
    def port(self) -> int:
        return int(self.manifest.port or 0)

    @property
    def origin(self) -> str:
        return str(self.manifest.origin)

    def run(self, stops: StopSignals) -> None:
        """Import the HTTP stack, build the app and serve until SIGTERM/SIGINT."""
        from executor_local.daemon.server import run_server

        run_server(self.build_app(), self.sock, stops)

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.store.close()


def open_session(data_dir: Path, db_path: Path, *, host: str, port: int, token: str | None,
                 allowed_hosts: Iterable[str], starting: Manifest | None) -> DaemonSession:
    """Everything the serve step does, in order; on failure nothing stays open."""
    from executor_local.daemon.server import bind_socket
    from executor_local.store.open import open_store

    store = open_store(db_path)
    sock: socket.socket | None = None
    try:
        bearer = token or load_or_mint_token(data_dir)
        sock = bind_socket(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        origin = origin_for(bound_host, bound_port)
        base = starting or Manifest.for_this_process(data_dir)
        manifest = base.serving(bound_host, bound_port, origin, bearer)
        # A remote bind (--allow-remote) is reached by its own name; loopback names need no
        # entry, and one without a port would accept them on any port.
        remote = not is_loopback_name(host) and host not in ("0.0.0.0", "::")
        hosts = [*allowed_hosts, *([host] if remote else [])]
        info = {"version": __version__, "pid": os.getpid(), "data_dir": str(data_dir),
                "origin": origin, "port": bound_port, "started_at": manifest.started_at}

        def build_app() -> object:
            from executor_local.daemon.app import create_app

            return create_app(store, token=bearer, port=bound_port, allowed_hosts=hosts,
                              info_payload=info)

        write_manifest(data_dir, manifest)
    except BaseException:
        if sock is not None:
            sock.close()
        store.close()
        raise
    log.info("serving %s on %s", data_dir, origin)
    return DaemonSession(data_dir, store, sock, build_app, manifest)
