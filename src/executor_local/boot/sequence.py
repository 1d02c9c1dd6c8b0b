"""The boot function: the first-launch sequence of design §2, one step per line."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from executor_local.boot.locate import DataDirChoice, ensure_data_dir
from executor_local.boot.own import acquire_ownership
from executor_local.boot.steps import step

log = logging.getLogger("executor.boot")

DEFAULT_PORT = 4788


@dataclass
class DaemonOptions:
    data_dir: DataDirChoice
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth_token: str | None = None


def boot_daemon(opts: DaemonOptions) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; return the exit code."""
    with step("locate"):
        choice = ensure_data_dir(opts.data_dir)
        log.info("data dir %s (%s)", choice.path, choice.reason)
    with step("own"):
        ownership = acquire_ownership(choice.path)
    try:
        with step("migrate"):
            from executor_local.migrate.gate import ensure_v2

            ensure_v2(choice.db_path)
        with step("serve"):
            from executor_local.daemon.app import create_app
            from executor_local.daemon.server import bind_socket
            from executor_local.store.open import open_store

            store = open_store(choice.db_path)
            sock = bind_socket(opts.host, opts.port)
            app = create_app(store)
        port = sock.getsockname()[1]
        try:
            from executor_local.daemon.server import run_server

            run_server(app, sock, lambda: announce(opts.host, port))
        finally:
            sock.close()
            store.close()
    finally:
        ownership.release()
    return 0


def announce(host: str, port: int) -> None:
    """Step 7: the desktop-shell contract, byte for byte, flushed at once."""
    with step("announce"):
        sys.stdout.write(f"EXECUTOR_READY:{port}\n")
        sys.stdout.flush()
        sys.stdout.write(f"Daemon ready on http://{host}:{port}\n")
        sys.stdout.flush()
