"""Step 2, own: take the single-owner lock of the data dir and hold it for life.

The lock is an open ``BEGIN EXCLUSIVE`` transaction on ``data.db.owner-lock`` (rollback-journal
mode, so ``data.db`` can stay WAL). The kernel releases it when the process dies, even by SIGKILL,
so there is no stale pid file to clean (the TS Executor's O_EXCL pid file was racy, its #1175).

The lock is the gate; ``server-control/server.json`` only says who holds it. A daemon that finds
the dir owned attaches when the owner answers health, waits while the owner is still starting,
and otherwise fails with exit 4 naming the owner's pid (TS #1086: never a second owner, never a
silent failure).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from executor_local import procinfo
from executor_local.daemon.manifest import (
    STARTING,
    Manifest,
    read_manifest,
    remove_manifest,
    write_manifest,
)
from executor_local.datadir import OWNER_LOCK_NAME
from executor_local.errors import EXIT_OK, DataDirOwned, ExecutorError
from executor_local.store.lockfile import release_lock, take_lock
from executor_local.store.open import is_busy

log = logging.getLogger("executor.own")

LOCK_NAME = OWNER_LOCK_NAME
# How long a second launch waits for an owner that is still starting (it may be migrating).
STARTING_WAIT_S = 30.0
# How long it waits for an owner with no manifest, or one that does not answer health.
GRACE_S = 3.0
POLL_S = 0.1


@dataclass
class Ownership:
    """Held ownership of one data dir; ``release()`` is idempotent.

    ``manifest`` is the record this owner wrote, removed again on release.
    """

    data_dir: Path
    lock_path: Path
    _conn: sqlite3.Connection | None = field(default=None, repr=False)
    manifest: Manifest | None = None

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self.manifest is not None:
                # Before the lock goes: the next owner must never see ours as its own.
                remove_manifest(self.data_dir, pid=self.manifest.pid)
        except Exception as exc:  # a leftover manifest is stale and harmless; the lock is not
            log.warning("own: could not remove the manifest: %s", exc)
        finally:
            release_lock(conn)

    @property
    def held(self) -> bool:
        return self._conn is not None

    def __enter__(self) -> Ownership:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class AlreadyRunning(ExecutorError):
    """Not a failure: a live daemon owns the dir and answers health, so this launch attaches."""

    exit_code = EXIT_OK

    def __init__(self, manifest: Manifest) -> None:
        super().__init__(f"Daemon already running at {manifest.origin}")
        self.manifest = manifest


def acquire_ownership(data_dir: Path) -> Ownership:
    """Take the lock in the (already real) ``data_dir`` or raise ``DataDirOwned``."""
    lock_path = data_dir / LOCK_NAME
    try:
        # Try once: a second launch must learn at once that it lost.
        conn = take_lock(lock_path, timeout_s=0)
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise owned_error(data_dir, cause=exc) from exc
        raise ExecutorError(
            f"cannot take the ownership lock {lock_path}", path=lock_path, cause=exc
        ) from exc
    log.debug("own: holding %s", lock_path)
    return Ownership(data_dir, lock_path, conn)


def owner_pid(data_dir: Path) -> tuple[int | None, Manifest | None]:
    """The owner's pid: from a live manifest, else from the kernel's lock table (Linux)."""
    m, _ = read_manifest(data_dir)
    if m is not None and m.is_live():
        return m.pid, m
    holders = procinfo.lock_holders(data_dir / LOCK_NAME) or []
    return (holders[0] if len(holders) == 1 else None), None


def owned_error(data_dir: Path, cause: BaseException | None = None, *,
                health_checked: bool = False) -> DataDirOwned:
    """``DataDirOwned`` naming the owner; it says "already running", which desktop shells
    match to offer attaching instead of a crash dialog."""
    pid, m = owner_pid(data_dir)
    who = f"pid {pid}" if pid is not None else "pid unknown"
    if m is not None and m.origin:
        who += f", {m.origin}"
    if m is None:
        why = "; it advertises no server (perhaps `executor migrate` is running)"
    elif m.state == STARTING:
        why = "; it is still starting"
    else:
        why = "; it does not answer /api/health" if health_checked else ""
    return DataDirOwned(
        f"another executor is already running on the data dir {data_dir} ({who}){why}",
        path=data_dir / LOCK_NAME,
        hint=("Wait for it, stop it (executor daemon stop"
              + (f", or kill {pid}" if pid is not None else "") + "), or use another --data-dir."),
        cause=cause,
    )


def claim_data_dir(data_dir: Path, *, kind: str = "cli-daemon",
                   starting_wait_s: float = STARTING_WAIT_S, grace_s: float = GRACE_S,
                   ) -> Ownership:
    """The daemon's own step: take the lock and advertise ourselves as ``starting``.

    If another process holds the lock: raise ``AlreadyRunning`` as soon as its manifest answers
    health; keep trying while it is still starting (up to ``starting_wait_s``) or for a short
    grace otherwise (it may be between the lock and its manifest, or stopping); then raise
    ``DataDirOwned`` naming it. Trying the lock again on each round means a launch during a
    ``daemon restart`` simply becomes the next owner.
    """
    began = time.monotonic()
    while True:
        try:
            ownership = acquire_ownership(data_dir)
            break
        except DataDirOwned as exc:
            m, _ = read_manifest(data_dir)
            live = m if m is not None and m.is_live() else None
            if live is not None and live.answers_health():
                raise AlreadyRunning(live) from None
            waited = time.monotonic() - began
            limit = starting_wait_s if live is not None and live.state == STARTING else grace_s
            if waited >= limit:
                raise owned_error(data_dir, exc.cause, health_checked=True) from exc.cause
            time.sleep(POLL_S)
    try:
        stale, _ = read_manifest(data_dir)
        if stale is not None:
            log.info("own: replacing the stale manifest of pid %d", stale.pid)
        ownership.manifest = Manifest.for_this_process(data_dir, kind=kind)
        write_manifest(data_dir, ownership.manifest)
    except BaseException:
        ownership.release()
        raise
    return ownership
