"""SQLite file-set operations the migration needs: probe, snapshot, checkpoint, verify, move.

Every connection opened here is closed here, before any file operation on its file: on Windows
an open handle makes the rename fail (the seed bug).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from executor_local import fs
from executor_local.errors import DataCorrupt, DataDirOwned, ExecutorError
from executor_local.store.open import connect

SNAPSHOT_BUSY_TIMEOUT_MS = 2000


@contextlib.contextmanager
def opened(path: Path, *, busy_timeout_ms: int = 5000) -> Iterator[sqlite3.Connection]:
    """A connection that is closed when the block ends, whatever happens."""
    conn = connect(path, busy_timeout_ms=busy_timeout_ms)
    try:
        yield conn
    finally:
        conn.close()


def query_one(conn: sqlite3.Connection, sql: str, args: tuple[object, ...] = ()) -> tuple | None:  # type: ignore[type-arg]
    cur = conn.execute(sql, args)
    try:
        return cur.fetchone()
    finally:
        cur.close()


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def is_busy_error(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def corrupt_error(path: Path, exc: BaseException) -> DataCorrupt:
    return DataCorrupt(
        f"{path} is corrupt and cannot be read; nothing was changed",
        path=path,
        cause=exc,
        hint=(
            f"The original is untouched at {path}. Restore a backup with "
            "'executor backups restore NAME', or move the file aside to start fresh."
        ),
    )


def checkpoint_truncate(conn: sqlite3.Connection, path: Path) -> None:
    """Move every WAL frame into the base file and empty the WAL, or fail loudly."""
    row = query_one(conn, "PRAGMA wal_checkpoint(TRUNCATE)")
    if row is None:
        return
    busy, log_frames, checkpointed = row
    if busy != 0 or (log_frames != -1 and log_frames != checkpointed):
        raise DataDirOwned(
            f"could not checkpoint {path}: another program is reading or writing it "
            f"(busy={busy}, wal frames={log_frames}, checkpointed={checkpointed})",
            path=path,
        )


def checkpoint_set(path: Path) -> None:
    """Checkpoint a file set if its base exists, then flush it, so the base alone holds all."""
    if not path.exists():
        return
    with opened(path) as conn:
        checkpoint_truncate(conn, path)
    for member in fs.sqlite_set(path):
        fs.fsync_file(member)


def snapshot(db: Path, dest: Path) -> None:
    """Copy ``db`` (with whatever its WAL holds) to ``dest`` through SQLite's backup API.

    The source is opened in exclusive locking mode first: that fails while any other process
    has the database open, so a still-running writer (another executor, the TS Executor) is
    detected and refused instead of being copied mid-write.
    """
    try:
        src = connect(db, busy_timeout_ms=SNAPSHOT_BUSY_TIMEOUT_MS)
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db, exc) from exc
    try:
        try:
            src.execute("PRAGMA locking_mode=EXCLUSIVE").close()
            # A write lock, then a read transaction: exclusive locking mode keeps the locks
            # after the rollback, and the backup API refuses a source in a write transaction.
            src.execute("BEGIN IMMEDIATE")
            src.execute("ROLLBACK")
            src.execute("BEGIN")
            query_one(src, "SELECT COUNT(*) FROM sqlite_master")
        except sqlite3.OperationalError as exc:
            if not is_busy_error(exc):
                raise (corrupt_error(db, exc) if is_corruption(exc) else exc) from exc
            raise DataDirOwned(
                f"{db} is open in another program, which may still be writing it",
                path=db,
                cause=exc,
                hint="Quit the other program (an older Executor, a database browser) and retry.",
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise corrupt_error(db, exc) from exc
        fs.create_private_file(dest)
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)
        except sqlite3.DatabaseError as exc:
            raise corrupt_error(db, exc) from exc
        finally:
            dst.close()
        src.execute("ROLLBACK")
    finally:
        src.close()
    fs.fsync_file(dest)


def verify(path: Path, expected: dict[str, int], stamp: str) -> None:
    """integrity_check, the ledger stamp and every planned row count, then checkpoint again."""
    with opened(path) as conn:
        row = query_one(conn, "PRAGMA integrity_check")
        if row is None or row[0] != "ok":
            raise ExecutorError(f"the v2 database built at {path} failed its integrity check: "
                                f"{row[0] if row else 'no answer'}", path=path)
        if query_one(conn, "SELECT 1 FROM data_migration WHERE name=?", (stamp,)) is None:
            raise ExecutorError(f"the v2 database built at {path} lacks its stamp", path=path)
        for table, count in sorted(expected.items()):
            got = query_one(conn, f'SELECT COUNT(*) FROM "{table}"')
            if got is None or got[0] != count:
                raise ExecutorError(
                    f"the v2 database built at {path} has {got[0] if got else '?'} rows in "
                    f"{table}, the plan says {count}", path=path)
        checkpoint_truncate(conn, path)
    for member in fs.sqlite_set(path):
        fs.fsync_file(member)
