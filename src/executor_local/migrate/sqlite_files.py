"""SQLite file-set operations the migration needs: probe, snapshot, checkpoint, verify, move.

Every connection opened here is closed here, before any file operation on its file: on Windows
an open handle makes the rename fail (the seed bug).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from executor_local import fs
from executor_local.datadir import sqlite_files
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


def snapshot(db: Path, dest: Path) -> dict[str, Any]:
    """Copy ``db`` (with whatever its WAL holds) to ``dest``, consistently, through SQLite.

    The source is opened in exclusive locking mode and locked with ``BEGIN EXCLUSIVE`` first:
    that fails while any other connection reads or writes it (in WAL mode, while any other
    connection has it open at all), so a still-running writer (another executor, the TS
    Executor) is detected and refused instead of being copied mid-write; an idle connection
    that holds no SQLite lock (rollback mode) is found in the OS's table of open files where
    there is one (Linux). While that lock is held nothing can change the base file or its WAL,
    so on POSIX the two are copied as they are, in the kernel, and SQLite recovers the copied
    WAL when the snapshot is first opened, exactly as it would read it in place. Windows copies
    through the backup API: its locks are mandatory, and a database above 1 GiB has locked
    bytes a plain read would trip on.

    Returns the source's fingerprint taken under the lock (``fingerprint``): the flip compares
    it again under its own lock, so a write made by another program after the snapshot is never
    lost into what becomes the backup.

    The snapshot is scratch, never read after a crash (recovery deletes it while the journal
    says ``building``, and nothing after ``built`` needs it), so it is not flushed to disk.
    """
    try:
        src = connect(db, busy_timeout_ms=SNAPSHOT_BUSY_TIMEOUT_MS)
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db, exc) from exc
    held: dict[str, int] = {}
    try:
        _lock_exclusively(src, db)
        refuse_other_holders(db)
        _no_checkpoint_on_close(src, db)
        fp = fingerprint(db, held)
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
            src_files, dest_files = sqlite_files(db), sqlite_files(dest)
            for member, copy in ((db, dest), (src_files.wal, dest_files.wal)):
                _copy_locked(member, copy, held)
        src.execute("ROLLBACK")
    finally:
        src.close()
        # Closing any descriptor of a file drops every POSIX lock this process holds on it,
        # SQLite's included: ours are closed only once SQLite is done with the file.
        close_held(held)
    return fp


def _lock_exclusively(conn: sqlite3.Connection, db: Path) -> None:
    """Hold ``db`` so no other connection can read or write it, then open a read transaction.

    ``BEGIN EXCLUSIVE`` (not IMMEDIATE): in rollback-journal mode only the EXCLUSIVE lock
    conflicts with another connection's read transaction. Exclusive locking mode keeps the lock
    after the rollback, and the backup API refuses a source in a write transaction.
    """
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE").close()
        conn.execute("BEGIN EXCLUSIVE")
        query_one(conn, "SELECT COUNT(*) FROM sqlite_master")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        query_one(conn, "SELECT COUNT(*) FROM sqlite_master")
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise (corrupt_error(db, exc) if is_corruption(exc) else exc) from exc
        raise held_elsewhere(db, cause=exc) from exc
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db, exc) from exc


def held_elsewhere(db: Path, cause: BaseException | None = None,
                   handles: list[Any] | None = None) -> DataDirOwned:
    """``DataDirOwned`` for a data.db another program has open, naming it where the OS can."""
    if handles is None:
        handles = other_holders(db) or []
    who = "; ".join(f"pid {h.pid} ({h.command or 'unknown command'}) has {Path(h.path).name} "
                    "open" for h in handles)
    return DataDirOwned(
        f"{db} is open in another program, which may still be writing it"
        + (f": {who}" if who else ""),
        path=db,
        cause=cause,
        hint=("Quit the other program (an older Executor, a database browser"
              + (", " + ", ".join(f"pid {h.pid}" for h in handles) if handles else "")
              + ") and run again; nothing was migrated."),
    )


def other_holders(db: Path) -> list[Any] | None:
    """Other processes with a member of the ``data.db`` set open (Linux); None: cannot tell.

    This is what finds an idle connection, which holds no SQLite lock in rollback mode.
    """
    from executor_local import procinfo  # stdlib only; /proc is read only on Linux

    members = sqlite_files(db).with_journal
    return procinfo.open_handles([m for m in members if m.exists()])


def refuse_other_holders(db: Path) -> None:
    handles = other_holders(db)
    if handles:
        raise held_elsewhere(db, handles=handles)


def _no_checkpoint_on_close(conn: sqlite3.Connection, db: Path) -> None:
    """Keep the source's files byte for byte as they are when this connection closes.

    The last connection to a WAL database checkpoints it on close; Python 3.12+ can turn that
    off. Older Pythons checkpoint here, under the lock, so the fingerprint taken next is what
    the files stay (the data is the same either way; only where it lies changes).
    """
    flag = getattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None)
    if flag is not None and hasattr(conn, "setconfig"):
        conn.setconfig(flag, True)
        return
    conn.execute("ROLLBACK")  # a checkpoint cannot run inside the read transaction
    try:
        checkpoint_truncate(conn, db)
    finally:
        conn.execute("BEGIN")
        query_one(conn, "SELECT COUNT(*) FROM sqlite_master")


def open_held(member: Path, held: dict[str, int]) -> int:
    """One read-only descriptor per file, kept in ``held`` until SQLite is done with it."""
    key = str(member)
    if key not in held:
        held[key] = os.open(key, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    return held[key]


def close_held(held: dict[str, int]) -> None:
    for fd in held.values():
        os.close(fd)
    held.clear()


def fingerprint(db: Path, held: dict[str, int]) -> dict[str, Any]:
    """What changes whenever another program commits to ``db``: the base file's identity, size,
    mtime and change counter, and the WAL's size and header (salts change on every restart).

    Call it while holding the exclusive lock. Descriptors it opens go to ``held``, to be
    closed only once SQLite is done with the file (POSIX locks are per process, per file).
    """
    out: dict[str, Any] = {}
    for key, member in (("base", db), ("wal", sqlite_files(db).wal)):
        try:
            fd = open_held(member, held)
        except FileNotFoundError:
            out[key] = None
            continue
        st = os.fstat(fd)
        if key == "wal" and st.st_size == 0:
            out[key] = None  # an empty WAL and none are the same state
            continue
        head = os.pread(fd, 100 if key == "base" else 32, 0) if hasattr(os, "pread") else b""
        out[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino,
                    "dev": st.st_dev, "head": head.hex()}
    return out


def lock_check_and_checkpoint(db: Path, accepted: list[dict[str, Any]],
                              record: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The flip's check, under the exclusive lock: nobody has ``db`` open, it is exactly what
    the snapshot copied or what an earlier, interrupted flip checkpointed (one of ``accepted``;
    ``SourceChanged`` otherwise); then checkpoint it, ``record`` its fingerprint while the lock
    is still held (so a crash right after still rolls forward), and flush it so the base alone
    holds all. Returns that fingerprint: a write that slips in after the lock is let go changes
    it (``flip._check_moved_set``).
    """
    held: dict[str, int] = {}
    conn = connect(db, busy_timeout_ms=SNAPSHOT_BUSY_TIMEOUT_MS)
    try:
        _lock_exclusively(conn, db)
        conn.execute("ROLLBACK")
        now = fingerprint(db, held)
        if not any(same_data(now, fp) for fp in accepted):
            raise SourceChanged(db)
        refuse_other_holders(db)
        checkpoint_truncate(conn, db)
        locked = fingerprint(db, held)
        record(locked)
    finally:
        conn.close()
        close_held(held)
    # An ordinary connection once more: its close removes the -wal and a stale -shm, which a
    # connection in exclusive locking mode leaves (it never uses the -shm). Anything another
    # program wrote in between shows in the fingerprint, now that the base alone holds all.
    checkpoint_set(db)
    try:
        after = fingerprint(db, held)
    finally:
        close_held(held)
    if not same_data(after, locked):
        raise SourceChanged(db)
    return after


def same_data(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Two fingerprints of one file set (its base may have been renamed in between)."""
    return (a or {}) == (b or {})


class SourceChanged(ExecutorError):
    """Another program wrote to data.db after the snapshot: the migration must start over."""

    def __init__(self, db: Path) -> None:
        super().__init__(f"{db} changed after it was copied for the migration: another "
                         "program wrote to it", path=db)


def _copy_locked(member: Path, copy: Path, held: dict[str, int]) -> None:
    """Copy one member of a locked set (absent: nothing); its descriptor goes to ``held``."""
    try:
        fd = open_held(member, held)
    except FileNotFoundError:
        return
    fs.copy_open_file(fd, copy)


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
