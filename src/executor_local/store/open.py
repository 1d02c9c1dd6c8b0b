"""Opening the serving v2 store."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from executor_local import fs
from executor_local.store.schema import V1_TO_V2_STAMP, create_v2_schema, stamp


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, by code where Python has it (3.11+) and by text where not."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def connect(path: Path, *, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """A connection with the per-connection settings every open needs (TS #877, #1003)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}").close()
        conn.execute("PRAGMA foreign_keys=ON").close()
    except BaseException:
        conn.close()
        raise
    return conn


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating if absent) the v2 ``data.db`` in WAL mode, with its ledger stamp.

    Only called after the migrate step, which guarantees the file is absent or v2.
    """
    if not path.exists():
        # SQLite gives -wal/-shm the mode of the base file, so create the base private first.
        fs.create_private_file(path)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL").close()
        conn.execute("BEGIN IMMEDIATE")
        create_v2_schema(conn)
        # A fresh or pre-ledger v2 database is v2 by construction: stamp it so the v1 gate
        # never probes its shape again (TS #982).
        stamp(conn, V1_TO_V2_STAMP, int(time.time() * 1000))
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn
