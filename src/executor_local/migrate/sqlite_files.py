"""SQLite file-set operations the migration needs: probe, snapshot, checkpoint, verify, move.

Every connection opened here is closed here, before any file operation on its file: on Windows
an open handle makes the rename fail (the seed bug).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from executor_local import fs
from executor_local.errors import DataCorrupt, DataDirOwned, ExecutorError
from executor_local.store.open import connect, is_busy

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
    """Move every WAL frame into the base file and empty the WAL, or fail loudly.

    Only ``main``: a connection that used temp tables would also try its temp database, which
    SQLite answers with "database table is locked".
    """
    row = query_one(conn, "PRAGMA main.wal_checkpoint(TRUNCATE)")
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
    """Copy ``db`` (with whatever its WAL holds) to ``dest``, consistently, through SQLite.

    The source is opened in exclusive locking mode first: that fails while any other process
    has the database open, so a still-running writer (another executor, the TS Executor) is
    detected and refused instead of being copied mid-write. While that lock is held nothing can
    change the base file or its WAL, so on POSIX the two are copied as they are, in the kernel,
    and SQLite recovers the copied WAL when the snapshot is first opened, exactly as it would
    read it in place. Windows copies through the backup API: its locks are mandatory, and a
    database above 1 GiB has locked bytes a plain read would trip on.

    The snapshot is scratch, never read after a crash (recovery deletes it while the journal
    says ``building``, and nothing after ``built`` needs it), so it is not flushed to disk.
    """
    try:
        src = connect(db, busy_timeout_ms=SNAPSHOT_BUSY_TIMEOUT_MS)
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db, exc) from exc
    held: list[int] = []
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
            if not is_busy(exc):
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
        if fs.IS_WINDOWS:
            dst = sqlite3.connect(str(dest))
            try:
                src.backup(dst)
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise  # a full disk is not a corrupt source: run.py maps it to exit 8
                raise corrupt_error(db, exc) from exc
            finally:
                dst.close()
        else:
            for member, copy in zip(fs.sqlite_set(db)[:2], fs.sqlite_set(dest)[:2], strict=True):
                _copy_locked(member, copy, held)
        src.execute("ROLLBACK")
    finally:
        src.close()
        # Closing any descriptor of a file drops every POSIX lock this process holds on it,
        # SQLite's included: ours are closed only once SQLite is done with the file.
        for fd in held:
            os.close(fd)


def _copy_locked(member: Path, copy: Path, held: list[int]) -> None:
    """Copy one member of a locked set (absent: nothing); its descriptor goes to ``held``."""
    try:
        fd = os.open(str(member), os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return
    held.append(fd)
    fs.create_private_file(copy)
    out = os.open(str(copy), os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
    try:
        size, done = os.fstat(fd).st_size, 0
        try:
            while done < size:
                sent = os.sendfile(out, fd, done, size - done)
                if sent == 0:
                    break
                done += sent
        except OSError:  # no file-to-file sendfile here (macOS): plain reads and writes
            os.lseek(out, done, os.SEEK_SET)
            while done < size:
                chunk = os.pread(fd, min(size - done, 1 << 20), done)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
                done += len(chunk)
    finally:
        os.close(out)


def verify(path: Path, expected: dict[str, int], stamp: str) -> None:
    """integrity_check, the ledger stamp and every planned row count, then checkpoint again,
    then flush every member (the build wrote without fsync)."""
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
