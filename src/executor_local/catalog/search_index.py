"""The search index beside the ``tool`` table: ``executor_local_tool_fts`` (SQLite FTS5), or
``executor_local_tool_terms`` with LIKE where this Python's sqlite3 lacks FTS5.

Rows are keyed by the tool row's ``rowid``. The catalog updates the index in the same
transaction as the tools it writes; writes by another program (Executor 1.5.9 on the same file,
a migration) are noticed by a fingerprint of the tool table (count, max rowid, max updated_at)
checked at most every ``CHECK_EVERY_S`` and answered by a rebuild. The index is ours alone: no
trigger is put on Executor's tables.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable

from executor_local.catalog.words import name_words, text_words, words
from executor_local.store.db import Database
from executor_local.store.rows import query_all

FTS = "executor_local_tool_fts"
TERMS = "executor_local_tool_terms"
META_KEY = "tool_index_fingerprint"
CHECK_EVERY_S = 2.0


def has_fts5(conn: sqlite3.Connection) -> bool:
    try:
        rows = query_all(conn, "PRAGMA compile_options")
    except sqlite3.Error:
        return False
    return any(str(r[0]).upper() == "ENABLE_FTS5" for r in rows)


class SearchIndex:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.read() as conn:
            self.fts = has_fts5(conn)
        self.table = FTS if self.fts else TERMS
        self._checked = 0.0
        self._lock = threading.Lock()
        with db.write() as conn:
            if self.fts:
                conn.execute(f'CREATE VIRTUAL TABLE IF NOT EXISTS "{FTS}" USING fts5('
                             "names, words, tokenize = 'unicode61')").close()
            else:
                conn.execute(f'CREATE TABLE IF NOT EXISTS "{TERMS}" ("rowid" integer PRIMARY '
                             'KEY, "names" text NOT NULL, "words" text NOT NULL)').close()

    # -- keeping it current --------------------------------------------------------------

    def only_tenant(self) -> str | None:
        """The one tenant every tool row has, or None (min = max over the index: O(log n))."""
        with self.db.read() as conn:  # one aggregate per query, or SQLite scans the table
            low = query_all(conn, 'SELECT min(tenant) FROM "tool"')[0][0]
            high = query_all(conn, 'SELECT max(tenant) FROM "tool"')[0][0]
        return low if low == high else None

    def fingerprint(self, conn: sqlite3.Connection) -> str:
        rows = query_all(conn, 'SELECT count(*), max(rowid), max(updated_at) FROM "tool"')
        return "|".join(str(v) for v in rows[0])

    def ensure_current(self) -> None:
        """Rebuild when the tool table changed behind our back (checked at most every 2 s)."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_S:
            return
        with self._lock:
            if now - self._checked < CHECK_EVERY_S:
                return
            with self.db.read() as conn:
                current = self.fingerprint(conn)
                stored = query_all(conn, 'SELECT value FROM "executor_local_meta" WHERE key = ?',
                                   (META_KEY,))
            if not stored or stored[0][0] != current:
                self.rebuild()
            self._checked = time.monotonic()

    def rebuild(self) -> None:
        with self.db.write() as conn:
            conn.execute(f'DELETE FROM "{self.table}"').close()
            cur = conn.execute('SELECT rowid, integration, connection, name, description '
                               'FROM "tool"')
            try:
                rows = [(rid, name_words(i, c, n), text_words(d)) for rid, i, c, n, d in cur]
            finally:
                cur.close()
            self._insert(conn, rows)
            self.mark(conn)

    def _insert(self, conn: sqlite3.Connection, rows: Iterable[tuple[int, str, str]]) -> None:
        cur = conn.cursor()
        try:
            cur.executemany(f'INSERT INTO "{self.table}" (rowid, names, words) VALUES (?, ?, ?)',
                            rows)
        finally:
            cur.close()

    def add(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        """Index these tool rows (inside the writer's transaction)."""
        if not rowids:
            return
        marks = ",".join("?" for _ in rowids)
        rows = query_all(conn, f'SELECT rowid, integration, connection, name, description FROM '
                               f'"tool" WHERE rowid IN ({marks})', tuple(rowids))
        self._insert(conn, [(r, name_words(i, c, n), text_words(d)) for r, i, c, n, d in rows])

    def remove(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        for start in range(0, len(rowids), 500):
            chunk = rowids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            conn.execute(f'DELETE FROM "{self.table}" WHERE rowid IN ({marks})',
                         tuple(chunk)).close()

    def mark(self, conn: sqlite3.Connection) -> None:
        """Record that the index matches the tool table as it is in this transaction."""
        conn.execute('INSERT OR REPLACE INTO "executor_local_meta" (key, value) VALUES (?, ?)',
                     (META_KEY, self.fingerprint(conn))).close()

    # -- querying --------------------------------------------------------------------------

    def match_clause(self, query: str, *, every: bool = False,
                     ) -> tuple[str, tuple[str, ...]] | None:
        """SQL condition on the index table (named, not aliased: FTS5's MATCH wants the table
        name) and its parameters; None when the query has no words. Search ranks tools matching
        any word (``every=False``); a listing filter keeps those matching every word."""
        terms = words(query)
        if not terms:
            return None
        joiner = " AND " if every else " OR "
        if self.fts:
            expr = joiner.join(f'"{t}"*' for t in terms)
            return f'"{FTS}" MATCH ?', (expr,)
        likes = joiner.join(f'("{TERMS}".names LIKE ? OR "{TERMS}".words LIKE ?)'
                            for _ in terms)
        params: list[str] = []
        for t in terms:
            params += [f"%{t}%", f"%{t}%"]
        return f"({likes})", tuple(params)

    def score_sql(self) -> str:
        """An ascending sort key: FTS5's bm25 with names weighted 4x, else a constant."""
        # Without FTS5 every match scores the same (an expression: a literal 0 in ORDER BY
        # would name a column).
        return f'bm25("{FTS}", 4.0, 1.0)' if self.fts else f'("{TERMS}".rowid * 0.0)'
