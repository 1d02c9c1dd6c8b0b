"""The boot function: the first-launch sequence of design §2, one step per line."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from executor_local.boot.desktop import print_ready
from executor_local.boot.locate import DataDirChoice, ensure_data_dir
from executor_local.boot.own import claim_data_dir
from executor_local.boot.steps import step
from executor_local.daemon.logfile import open_daemon_log
from executor_local.daemon.server import StopSignals
from executor_local.daemon.session import DaemonSession, open_session
from executor_local.daemon.shiv_prune import start_pruning
from executor_local.datadir import DEFAULT_PORT
from executor_local.migrate import testhooks
from executor_local.migrate.layout import Layout
from executor_local.migrate.recover import recover
from executor_local.migrate.run import MigrationResult, migrate_if_needed

log = logging.getLogger("executor.boot")



@dataclass
class DaemonOptions:
    data_dir: DataDirChoice
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    kind: str = "cli-daemon"  # "desktop-sidecar" when EXECUTOR_CLIENT=desktop


def boot_daemon(opts: DaemonOptions) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; return the exit code."""
    with step("locate"):
        choice = ensure_data_dir(opts.data_dir)
        open_daemon_log(choice.path)
        log.info("data dir %s (%s)", choice.path, choice.reason)
    with step("own"):
        ownership = claim_data_dir(choice.path, kind=opts.kind)
    try:
        layout = Layout(choice.path)
        with step("recover"):
            recovered = recover(layout)
            if recovered:
                log.warning("recovered: %s", recovered)
        with step("migrate"):
            # Backs up (the v1 set is kept whole as data.db.v1-v2-<ms>-<nonce>) and migrates.
            migration = migrate_if_needed(layout)
            report_migration(migration)
        with step("serve"):
            session = open_session(choice.path, choice.db_path, host=opts.host, port=opts.port,
                                   token=opts.auth_token, allowed_hosts=opts.allowed_hosts,
                                   starting=ownership.manifest)
        stops = StopSignals()  # before READY: a stop sent at once must still end cleanly
        try:
            announce(session)
            session.run(stops)
        finally:
            stops.restore()
            session.close()
    finally:
        ownership.release()
    return 0


def report_migration(migration: MigrationResult) -> None:
    """Say on stderr what the migration did, as the TS Executor does after a migration."""
    if migration.migrated:
        log.warning("migrated local Executor data to v2; the v1 data is kept at %s",
                    migration.backup)
    for warning in migration.warnings:
        log.warning("migration: %s", warning)


def announce(session: DaemonSession) -> None:
    """Step 7: the desktop-shell contract, byte for byte, flushed at once; then, off the
    critical path, prune this program's old shiv extractions."""
    with step("announce"):
        testhooks.dump_modules_at_ready()
        print_ready(session.port)
        sys.stdout.write(f"Daemon ready on {session.origin}\n")
        sys.stdout.flush()
    start_pruning()
