"""A lock held as an open exclusive SQLite transaction on a file of its own.

The kernel releases it when the holder dies, even by SIGKILL, so there is never a stale lock
to reclaim (the TS Executor's O_EXCL pid files were, its #1175). Rollback-journal mode keeps
the lock file apart from the WAL of the database it guards. Used for the data dir's single
owner (boot.own) and for electing one spawner of a background daemon (boot.background).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from executor_local import fs


def take_lock(path: Path, *, timeout_s: float) -> sqlite3.Connection:
    """Hold ``path`` exclusively, waiting up to ``timeout_s`` (0: try once).

    Raises ``sqlite3.Error`` when it cannot (``store.open.is_busy`` says whether it is held).
    """
    # Created 0600 before SQLite opens it, so it is never world-readable, even for a moment.
    fs.create_private_file(path)
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE").close()
        conn.execute("BEGIN EXCLUSIVE")
    except BaseException:
        conn.close()
        raise
    return conn


def release_lock(conn: sqlite3.Connection) -> None:
    """Let the lock go (idempotent in effect: a closed connection holds nothing)."""
    try:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
    finally:
        conn.close()
