"""Helpers for the daemon tests: raw HTTP with chosen headers, the manifest, and cleanup of
background daemons (which outlive the CLI process that started them)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from proc import wait_for


def request(port: int, path: str, *, token: str | None = None, method: str = "GET",
            headers: dict[str, str] | None = None, body: bytes | None = None,
            host: str | None = None) -> tuple[int, dict[str, str], str]:
    """One request with exactly the headers given (``host=""`` sends no Host at all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host:
            conn.putheader("Host", host)
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def manifest(data_dir: Path) -> dict | None:  # type: ignore[type-arg]
    path = data_dir / "server-control" / "server.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an unreaped child is a zombie: dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def kill_daemons(data_dir: Path) -> None:
    """SIGKILL whatever daemon the manifest names (a test that failed half-way)."""
    m = manifest(data_dir)
    if m and isinstance(m.get("pid"), int) and m["pid"] != os.getpid() and pid_alive(m["pid"]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(m["pid"], signal.SIGKILL)
        wait_for(lambda: not pid_alive(m["pid"]), 10, f"pid {m['pid']} to die")


@pytest.fixture
def reap(data_dir: Path) -> Iterator[None]:
    """Kill background daemons of ``data_dir`` left by a failing test."""
    yield
    kill_daemons(data_dir)


@contextlib.contextmanager
def lock_holder(lock: Path) -> Iterator[subprocess.Popen[str]]:
    """A plain process (not a daemon) holding the owner lock, as `executor migrate` would."""
    code = ("import sqlite3, sys\n"
            f"c = sqlite3.connect({str(lock)!r}, isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=DELETE'); c.execute('BEGIN EXCLUSIVE')\n"
            "print('held', flush=True); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def lock_is_free(lock: Path) -> bool:
    conn = sqlite3.connect(str(lock), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def no_traceback(*texts: str) -> bool:
    return not any("Traceback" in t for t in texts)
