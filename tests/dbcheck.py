"""Reading databases in tests without changing them, and proving nothing was lost."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

SIDECARS = ("-wal", "-shm")


@contextlib.contextmanager
def opened(path: Path):  # type: ignore[no-untyped-def]
    """An autocommit connection to ``path`` that is closed when the block ends."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def rows(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
    with contextlib.closing(conn.execute(sql, params)) as cur:
        return cur.fetchall()


def copy_set(src: Path, dst: Path) -> Path:
    for suffix in ("", *SIDECARS):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


def _on_copy(db: Path, fn):  # type: ignore[no-untyped-def]
    """Run ``fn(conn)`` on a private copy of ``db``'s set (opening in place checkpoints it)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_set(db, Path(tmp) / "copy.db")
        conn = sqlite3.connect(str(copy))
        try:
            return fn(conn)
        finally:
            conn.close()


def tables(db: Path) -> set[str]:
    def read(conn: sqlite3.Connection) -> set[str]:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    return _on_copy(db, read)


def row_checksum(db: Path) -> dict[str, tuple[int, str]]:
    """Per table: row count and a digest of every row in a stable order."""
    def read(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
        out = {}
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for name in names:
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
            out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out

    return _on_copy(db, read)


def count(db: Path, table: str) -> int:
    return _on_copy(db, lambda c: c.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def is_stamped_v2(db: Path) -> bool:
    def read(conn: sqlite3.Connection) -> bool:
        try:
            return conn.execute("SELECT 1 FROM data_migration WHERE name="
                                "'2026-06-11-local-v1-to-v2'").fetchone() is not None
        except sqlite3.OperationalError:
            return False

    return _on_copy(db, read)


WAL_WRITER = r"""
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA wal_autocheckpoint=0")
conn.execute("INSERT INTO blob(namespace, key, value) VALUES (?, ?, ?)",
             (sys.argv[2] + "/walmarker", "live-wal-row", "w" * 4096))
# die without a checkpoint: the row lives only in -wal (Windows: TerminateProcess, exit 9)
os.kill(os.getpid(), getattr(signal, "SIGKILL", 9))
"""


def write_live_wal_row(db: Path, scope: str) -> None:
    """Commit a 4 KiB row that exists only in ``data.db-wal``, as a killed writer leaves it."""
    proc = subprocess.run([sys.executable, "-c", WAL_WRITER, str(db), scope], timeout=30)
    # On Windows os.kill is TerminateProcess, with the signal number as the exit code.
    assert proc.returncode == (9 if sys.platform == "win32" else -signal.SIGKILL)
    assert Path(f"{db}-wal").stat().st_size > 4096
