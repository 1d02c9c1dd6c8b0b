"""``daemon status`` and ``daemon stop``: read the manifest, trust it only when it is live.

Stdlib only (no uvicorn, no starlette): a status check must stay fast. A stale manifest (its pid
dead, or recycled by another process) is removed, but only while holding the owner lock, so a
reader can never delete the manifest a new owner has just written.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executor_local.boot.own import acquire_ownership
from executor_local.daemon.manifest import (
    STARTING,
    Manifest,
    manifest_path,
    read_manifest,
    remove_manifest,
)
from executor_local.errors import DaemonNotRunning, DataDirOwned, ExecutorError

log = logging.getLogger("executor.daemon")

STOP_TIMEOUT_S = 10.0
POLL_S = 0.05

RUNNING = "running"          # live and answers health
STARTING_STATE = "starting"  # live, still booting (recovering, migrating)
UNREACHABLE = "unreachable"  # live, says ready, but does not answer health
NOT_RUNNING = "not running"


@dataclass
class DaemonStatus:
    state: str
    data_dir: Path
    manifest: Manifest | None = None
    stale: Manifest | None = None  # a stale manifest found (and removed when we could)
    stale_removed: bool = False

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "state": self.state,
            "data_dir": str(self.data_dir),
            "manifest": str(manifest_path(self.data_dir)),
            "pid": m.pid if m else None,
            "origin": m.origin if m else None,
            "port": m.port if m else None,
            "version": m.version if m else None,
            "kind": m.kind if m else None,
            "started_at": m.started_at if m else None,
            "stale_manifest_pid": self.stale.pid if self.stale else None,
            "stale_manifest_removed": self.stale_removed,
        }

    def describe(self) -> str:
        m = self.manifest
        if m is None:
            text = f"not running (data dir {self.data_dir})"
        elif self.state == RUNNING:
            text = (f"running at {m.origin} (pid {m.pid}, version {m.version}, since "
                    f"{m.started_at})\ndata dir {self.data_dir}")
        elif self.state == STARTING_STATE:
            text = f"starting (pid {m.pid}, since {m.started_at}); data dir {self.data_dir}"
        else:
            text = (f"unreachable: pid {m.pid} owns {self.data_dir} but does not answer "
                    f"{m.origin}/api/health")
        if self.stale is not None:
            done = "removed" if self.stale_removed else "ignored"
            text += f"\n(a stale manifest of pid {self.stale.pid}, no longer running, was {done})"
        return text


def inspect(data_dir: Path, *, clean: bool = True) -> DaemonStatus:
    """The daemon's state for ``data_dir``; removes a stale manifest when ``clean``."""
    m, present = read_manifest(data_dir)
    if m is not None and m.is_live():
        if m.state == STARTING:
            return DaemonStatus(STARTING_STATE, data_dir, m)
        return DaemonStatus(RUNNING if m.answers_health() else UNREACHABLE, data_dir, m)
    status = DaemonStatus(NOT_RUNNING, data_dir, stale=m)
    if present and clean:
        status.stale_removed = clean_stale_manifest(data_dir)
    return status


def clean_stale_manifest(data_dir: Path) -> bool:
    """Remove a manifest whose process is gone, under the owner lock; False if owned."""
    try:
        ownership = acquire_ownership(data_dir)
    except DataDirOwned:
        return False  # an owner exists; it replaces the manifest itself
    with ownership:
        m, present = read_manifest(data_dir)
        if present and (m is None or not m.is_live()):
            log.info("removing the stale manifest %s", manifest_path(data_dir))
            return remove_manifest(data_dir)
    return False


def stop(data_dir: Path, timeout_s: float = STOP_TIMEOUT_S) -> Manifest:
    """SIGTERM the live owner, wait until its health and its process are gone, clean up.

    The pid comes from a manifest checked against the process start time, so a recycled pid
    is never signalled.
    """
    status = inspect(data_dir)
    m = status.manifest
    if m is None:
        raise DaemonNotRunning(f"no daemon is running for {data_dir}", step="stop",
                               path=manifest_path(data_dir))
    try:
        os.kill(m.pid, signal.SIGTERM)  # on Windows this is TerminateProcess
    except ProcessLookupError:
        pass
    except OSError as exc:
        raise ExecutorError(f"cannot signal the daemon (pid {m.pid})", step="stop",
                            cause=exc) from exc
    deadline = time.monotonic() + timeout_s
    while m.is_live() or (m.origin and m.answers_health(timeout=0.5)):
        if time.monotonic() > deadline:
            raise ExecutorError(f"the daemon (pid {m.pid}) did not stop within {timeout_s:.0f} s",
                                step="stop", hint=f"Run `executor doctor`; as a last resort "
                                f"kill -9 {m.pid} (the data stays consistent).")
        time.sleep(POLL_S)
    # A clean exit removes its own manifest; after a hard one (Windows) we do it.
    if read_manifest(data_dir)[1]:
        clean_stale_manifest(data_dir)
    return m

