"""The daemon's connection policy for ``data.db``, in one place.

- WAL journal (readers never block the writer nor each other), ``busy_timeout`` 5 s on every
  connection (Executor 1.5.9 or a CLI may hold the write lock for a moment), foreign keys on.
- One writer connection, guarded by a ``threading.Lock``: every write is ``BEGIN IMMEDIATE`` ...
  ``COMMIT`` under the lock, so two requests never interleave transactions on it.
- Readers: one connection per thread (``threading.local``), opened on first use, ``query_only``.
  Starlette runs sync handlers in a thread pool and the catalog is sync, so a thread reads on its
  own connection without a lock while the writer commits.
- Every connection opened here is closed by ``Database.close`` (the readers are tracked).
- Our own tables (prefix ``executor_local_``) are created on open; Executor 1.5.9 ignores
  tables it does not know (tests/test_compat_1_5_9.py proves it on our files).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from executor_local.store.open import connect
from executor_local.store.rows import query_all

LOCAL_DDL = (
    'CREATE TABLE IF NOT EXISTS "executor_local_execution" ("id" text PRIMARY KEY NOT NULL, '
    '"kind" text NOT NULL, "status" text NOT NULL, "tenant" text NOT NULL, "address" text NOT NULL,'
    ' "args" text, "payload" text, "interaction" text, "action" text, "result" text, '
    '"origin" text NOT NULL, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, '
    '"expires_at" integer NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "executor_local_execution_status_idx" ON '
    '"executor_local_execution" ("status", "expires_at")',
    'CREATE TABLE IF NOT EXISTS "executor_local_meta" ("key" text PRIMARY KEY NOT NULL, '
    '"value" text NOT NULL)',
    # Secret items the catalog minted for a connection's value(s): removed with the last
    # connection that points at them. Items named with ``from`` are the person's own: kept.
    'CREATE TABLE IF NOT EXISTS "executor_local_secret_item" ("provider" text NOT NULL, '
    '"item_id" text NOT NULL, "created_at" integer NOT NULL, PRIMARY KEY ("provider", '
    '"item_id"))',
)

# The tables (and FTS shadow tables) the catalog adds beside Executor's; all carry the prefix.
LOCAL_PREFIX = "executor_local_"


def db_path_of(conn: sqlite3.Connection) -> Path:
    """The file behind an open connection's ``main`` schema."""
    for _seq, name, file in query_all(conn, "PRAGMA database_list"):
        if name == "main" and file:
            return Path(file)
    raise ValueError("connection has no file-backed main database")


class Database:
    """The writer (with its lock) and the per-thread readers of one ``data.db``."""

    def __init__(self, path: Path, writer: sqlite3.Connection | None = None) -> None:
        self.path = Path(path)
        self._own_writer = writer is None
        self._writer = writer if writer is not None else connect(self.path)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        try:
            self._writer.execute("PRAGMA journal_mode=WAL").close()
            self._writer.execute("PRAGMA synchronous=NORMAL").close()
            with self.write() as conn:
                for statement in LOCAL_DDL:
                    conn.execute(statement).close()
        except BaseException:
            if self._own_writer:
                self._writer.close()
            raise

    @classmethod
    def around(cls, writer: sqlite3.Connection) -> Database:
        """Adopt the connection the serve step opened (``store.open.open_store``) as writer."""
        return cls(db_path_of(writer), writer)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; rolled back on any exception.

        Re-entrant: a write inside a write joins the outer transaction.
        """
        with self._lock:
            conn = self._writer
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE").close()
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK").close()
                raise
            conn.execute("COMMIT").close()

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader connection (inside a ``write`` on this thread: the writer, so a
        transaction sees its own changes)."""
        if self._lock._is_owned() and self._writer.in_transaction:  # type: ignore[attr-defined]
            yield self._writer
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("database is closed")
            conn = connect(self.path)
            conn.execute("PRAGMA query_only=ON").close()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        yield conn

    def close(self) -> None:
        """Close the readers and (when this object opened it) the writer."""
        self._closed = True
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        if self._own_writer:
            self._writer.close()
