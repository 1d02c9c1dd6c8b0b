"""Step 2, own: take the single-owner lock of the data dir and hold it for life.

The lock is an open ``BEGIN EXCLUSIVE`` transaction on ``data.db.owner-lock`` (rollback-journal
mode, so ``data.db`` can stay WAL). The kernel releases it when the process dies, even by SIGKILL,
so there is no stale pid file to clean (the TS Executor's O_EXCL pid file was racy, its #1175).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from executor_local import fs
from executor_local.errors import DataDirOwned, ExecutorError

log = logging.getLogger("executor.own")

LOCK_NAME = "data.db.owner-lock"


@dataclass
class Ownership:
    """Held ownership of one data dir; ``release()`` is idempotent."""

    data_dir: Path
    lock_path: Path
    _conn: sqlite3.Connection | None = field(default=None, repr=False)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        finally:
            conn.close()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def __enter__(self) -> Ownership:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, by code where Python has it and by text where not."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def acquire_ownership(data_dir: Path) -> Ownership:
    """Take the lock in the (already real) ``data_dir`` or raise ``DataDirOwned``."""
    lock_path = data_dir / LOCK_NAME
    existed = lock_path.exists()
    try:
        # timeout=0: try once; a second launch must learn at once that it lost.
        conn = sqlite3.connect(str(lock_path), timeout=0, isolation_level=None)
    except sqlite3.Error as exc:
        raise ExecutorError(
            f"cannot open the ownership lock {lock_path}", path=lock_path, cause=exc
        ) from exc
    try:
        conn.execute("PRAGMA journal_mode=DELETE").close()
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error as exc:
        conn.close()
        if is_busy(exc):
            raise DataDirOwned(
                f"the data dir {data_dir} is already owned by another executor process",
                path=lock_path,
                cause=exc,
            ) from exc
        raise ExecutorError(
            f"cannot take the ownership lock {lock_path}", path=lock_path, cause=exc
        ) from exc
    if not existed:
        fs.chmod_private(lock_path)
    log.debug("own: holding %s", lock_path)
    return Ownership(data_dir, lock_path, conn)
