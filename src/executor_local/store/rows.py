"""Row helpers shared by the store and the migration: JSON cells as Executor writes them, the
deterministic cuid-shaped row ids, and small queries that close their cursors.

Every query helper closes its cursor before returning: in CPython 3.11+ a connection closed while
an unfinished cursor is still referenced keeps its file handle open, and on Windows that makes
the later rename of the file fail (design §5, "Close explicitly").
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def dumps(value: Any) -> str:
    """JSON as Executor's ``JSON.stringify`` writes it: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(value: Any, fallback: Any = None) -> Any:
    """Parse a JSON column that may be text, bytes (JSON stored as a BLOB), NULL or already
    parsed; text that is not JSON gives ``fallback``."""
    if isinstance(value, (dict, list)):
        return value
    text = as_text(value)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return fallback


def as_text(value: Any) -> str | None:
    """A text cell: bytes decoded as UTF-8 (v1 sometimes stored JSON as BLOB), None kept."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if value is None or isinstance(value, str) else str(value)


def as_int(value: Any, default: int) -> int:
    """An integer cell, or ``default`` when NULL or unreadable."""
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def row_id(*parts: str) -> str:
    """A deterministic cuid-shaped id (24 chars, ``[a-z][a-z0-9]{23}``) from a row's natural key.

    Deterministic so a rebuilt staging file is identical and a re-run never duplicates rows;
    shaped like Executor's cuids so nothing that inspects ids can tell them apart. The id is
    a letter picked by digest byte 16, then the first 16 digest bytes (big-endian) mod 36**23
    as 23 base-36 digits; the digits are produced three at a time from a table, in two halves
    that fit a machine word, because this runs once for every row the migration writes.
    """
    digest = _sha256("\0".join(parts).encode("utf-8")).digest()
    high, low = divmod(int.from_bytes(digest[:16], "big") % _ID_RANGE, _36_POW_12)
    table = _TRIPLES or _triples()
    a, d4 = divmod(low, 46656)
    a, d3 = divmod(a, 46656)
    d1, d2 = divmod(a, 46656)
    b, c3 = divmod(high, 46656)
    b, c2 = divmod(b, 46656)
    b, c1 = divmod(b, 46656)  # b < 36**2: its triple has a leading zero, dropped
    head = _FIRST[digest[16]] + table[b][1:]
    return f"{head}{table[c1]}{table[c2]}{table[c3]}{table[d1]}{table[d2]}{table[d3]}{table[d4]}"


_sha256 = hashlib.sha256
_ID_RANGE = 36**23
_36_POW_12 = 36**12
_FIRST = tuple(_BASE36[10 + i % 26] for i in range(256))
_TRIPLES: tuple[str, ...] = ()  # "000" .. "zzz", made on first use (5 ms, not at every start)


def _triples() -> tuple[str, ...]:
    global _TRIPLES
    _TRIPLES = tuple(a + b + c for a in _BASE36 for b in _BASE36 for c in _BASE36)
    return _TRIPLES


def query_all(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
    """The rows of a small query; the cursor is closed before returning."""
    cur = conn.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def scalar(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    rows = query_all(conn, sql, params)
    return int(rows[0][0] or 0) if rows else 0


def table_names(conn: sqlite3.Connection) -> set[str]:
    sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return {str(r[0]) for r in query_all(conn, sql)}


def insert_many(dst: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> int:
    cur = dst.cursor()
    try:
        cur.executemany(sql, rows)
        return max(cur.rowcount, 0)
    finally:
        cur.close()
