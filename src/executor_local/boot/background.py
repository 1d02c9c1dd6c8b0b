"""Background start: ``daemon run`` without ``--foreground`` spawns itself detached.

Several launches at once (a desktop shell, a terminal, an MCP client auto-starting) must give one
daemon, so the spawners elect one of themselves with a start lock: an exclusive SQLite transaction
on ``server-control/daemon-start.lock``, freed by the kernel if its holder dies (no stale pid
file to reclaim, unlike the TS start lock). Whoever holds it re-checks the manifest, spawns,
and keeps the lock until the child answers health; the others wait for the lock, then find the
daemon running and attach. The child is an ordinary ``daemon run --foreground``, so the owner lock
(boot.own) still decides ownership against launches that did not take part in the election.

The child's stdout and stderr go to ``logs/daemon.log``: when it fails before READY, the spawner
prints the end of that log (TS §2.10: its background daemon discarded all output).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from executor_local import fs
from executor_local.boot.locate import ensure_data_dir
from executor_local.boot.own import owned_error
from executor_local.boot.steps import step
from executor_local.daemon.logfile import DETACHED_ENV, open_daemon_log, tail
from executor_local.daemon.manifest import Manifest, control_dir, live_manifest
from executor_local.errors import EXIT_CODES, EXIT_OWNED, EXIT_UNEXPECTED, ExecutorError
from executor_local.store.lockfile import release_lock, take_lock
from executor_local.store.open import is_busy

if TYPE_CHECKING:  # the boot sequence (and the migrator it imports) is the child's business
    from executor_local.boot.sequence import DaemonOptions

log = logging.getLogger("executor.daemon")

START_LOCK_NAME = "daemon-start.lock"
START_TIMEOUT_S = 60.0
POLL_S = 0.05


class DaemonStartFailed(ExecutorError):
    """The spawned daemon exited or stayed unready; carries its exit code and the log's end."""

    default_hint = "Read the log lines above, or run `executor daemon run --foreground`."

    def __init__(self, message: str, *, exit_code: int, log_path: Path, log_tail: str,
                 hint: str | None = None) -> None:
        super().__init__(message, step="serve", path=log_path, hint=hint)
        self.exit_code = exit_code
        self.log_path = log_path
        self.log_tail = log_tail


@dataclass(frozen=True)
class Started:
    manifest: Manifest
    attached: bool  # True: a daemon was already running, we started none
    log_path: Path
    notes: tuple[str, ...] = ()  # what the child said the person must know (it migrated...)


def boot_notes(log_text: str, pid: int) -> tuple[str, ...]:
    """The warnings the child's boot steps logged (migrated, recovered, migration warnings):
    a foreground run prints them on stderr; a background start repeats them on the terminal."""
    marker = f" pid {pid} WARNING executor.boot: "
    return tuple(line.split(marker, 1)[1] for line in log_text.splitlines() if marker in line)


def start_in_background(opts: DaemonOptions, *, allow_remote: bool = False,
                        log_level: str = "info", timeout_s: float = START_TIMEOUT_S) -> Started:
    """Make sure a daemon serves the data dir; start one detached if none does."""
    with step("locate"):
        choice = ensure_data_dir(opts.data_dir)
        log_path = open_daemon_log(choice.path)
    running = _running(choice.path)
    if running is not None:
        return Started(running, True, log_path)
    with start_lock(choice.path, wait_s=timeout_s + 10):
        # The previous holder may have started it while we waited.
        running = _running(choice.path)
        if running is not None:
            return Started(running, True, log_path)
        return _spawn_and_wait(choice.path, opts, allow_remote, log_level, timeout_s, log_path)


@contextlib.contextmanager
def start_lock(data_dir: Path, wait_s: float) -> Iterator[None]:
    """Hold the spawner election lock (waiting up to ``wait_s`` for it)."""
    path = control_dir(data_dir) / START_LOCK_NAME
    fs.make_private_dir(path.parent)
    try:
        conn = take_lock(path, timeout_s=wait_s)
    except sqlite3.Error as exc:
        if not is_busy(exc):
            raise
        raise ExecutorError(
            f"another `executor daemon run` has been starting the daemon for over "
            f"{wait_s:.0f} s", step="start", path=path,
            hint="Check `executor daemon status` and logs/daemon.log.", cause=exc) from exc
    try:
        yield
    finally:
        release_lock(conn)


def self_command() -> list[str]:
    """How to run this program again: the pyz, the installed script, or ``-m``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not argv0 or argv0 in ("-c", "-m") or argv0.endswith("__main__.py"):
        return [sys.executable, "-m", "executor_local"]
    path = os.path.abspath(argv0)
    if path.lower().endswith(".exe"):  # a Windows launcher (pipx) runs on its own
        return [path]
    return [sys.executable, path]


def _running(data_dir: Path) -> Manifest | None:
    m = live_manifest(data_dir)
    return m if m is not None and m.answers_health() else None


def _child_argv(data_dir: Path, opts: DaemonOptions, allow_remote: bool, log_level: str,
                ) -> list[str]:
    argv = [*self_command(), "--data-dir", str(data_dir), "--log-level", log_level,
            "daemon", "run", "--foreground", "--port", str(opts.port), "--hostname", opts.host]
    for host in opts.allowed_hosts:
        argv += ["--allowed-host", host]
    return argv + (["--allow-remote"] if allow_remote else [])


def _detach_kwargs() -> dict[str, object]:
    if os.name == "nt":
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        return {"creationflags": flags}
    return {"start_new_session": True}  # no terminal, no signals from this shell's job


def _spawn_and_wait(data_dir: Path, opts: DaemonOptions, allow_remote: bool, log_level: str,
                    timeout_s: float, log_path: Path) -> Started:
    env = {**os.environ, DETACHED_ENV: "1"}
    if opts.auth_token:
        env["EXECUTOR_AUTH_TOKEN"] = opts.auth_token  # not in argv, where `ps` shows it
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as out:
        child = subprocess.Popen(
            _child_argv(data_dir, opts, allow_remote, log_level), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, cwd=str(data_dir), env=env, close_fds=True,
            **_detach_kwargs(),  # type: ignore[arg-type]
        )
    log.info("started the daemon in the background: pid %d", child.pid)
    deadline = time.monotonic() + timeout_s
    while True:
        running = _running(data_dir)
        if running is not None:
            notes = boot_notes(tail(log_path, lines=200, since=offset), child.pid)
            return Started(running, running.pid != child.pid, log_path, notes)
        code = child.poll()
        if code is not None:
            running = _running(data_dir)
            if code == 0 and running is not None:  # it attached to another owner
                return Started(running, True, log_path)
            raise _exited(data_dir, code, log_path, tail(log_path, since=offset))
        if time.monotonic() > deadline:
            _stop_child(child)
            raise DaemonStartFailed(
                f"the daemon (pid {child.pid}) did not answer /api/health within "
                f"{timeout_s:.0f} s, so it was stopped", exit_code=EXIT_UNEXPECTED,
                log_path=log_path, log_tail=tail(log_path, since=offset),
                hint="Read the log lines above; a long migration may need --start-timeout.")
        time.sleep(POLL_S)


def _exited(data_dir: Path, code: int, log_path: Path, log_tail: str) -> ExecutorError:
    """The error for a child that exited before READY, with its exit code when it is ours."""
    if code == EXIT_OWNED:
        err: ExecutorError = owned_error(data_dir)
        err.log_path, err.log_tail = log_path, log_tail  # type: ignore[attr-defined]
        return err
    lines = log_tail.splitlines()
    reason = next((line.split("error:", 1)[1].strip() for line in reversed(lines)
                   if "executor: error:" in line), None)
    todo = next((line.split("what to do:", 1)[1].strip() for line in reversed(lines)
                 if line.lstrip().startswith("what to do:")), None)
    expected = code in EXIT_CODES and code not in (0, EXIT_UNEXPECTED)
    return DaemonStartFailed(
        f"the daemon exited with code {code} before it was ready"
        + (f": {reason}" if reason else ""),
        exit_code=code if expected else EXIT_UNEXPECTED,
        log_path=log_path,
        # An error the child explained is said once, here; the log's end only for the others.
        log_tail="" if expected and reason else log_tail,
        hint=(f"{todo} (the daemon's log: {log_path})" if expected and todo else None))


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)
