"""Small row helpers shared by the migration's readers and writers.

The generic ones (JSON cells, row ids, closing queries) live in ``store.rows`` so the serving
catalog writes rows by the same rules; they are re-exported here for the migration's modules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from executor_local.store.rows import (  # noqa: F401 (re-exported for migrate/)
    as_int,
    as_text,
    dumps,
    insert_many,
    loads,
    query_all,
    row_id,
    scalar,
    table_names,
)
from executor_local.store.schema import table_columns


def select_dicts(
    conn: sqlite3.Connection,
    table: str,
    cols: Iterable[str],
    where: str = "",
    params: tuple[Any, ...] = (),
) -> list[dict[str, Any]]:
    """Rows of a small table as dicts, in insertion order; columns it lacks read as None.

    v1 files come from many releases, so readers name the columns they want and tolerate absent
    ones instead of failing on an older layout.
    """
    present = table_columns(conn, table)
    cols = list(cols)
    select = ", ".join(f'"{c}"' if c in present else "NULL" for c in cols)
    sql = f'SELECT {select} FROM "{table}"' + (f" WHERE {where}" if where else "")
    rows = query_all(conn, sql + " ORDER BY rowid", params)
    return [dict(zip(cols, row, strict=True)) for row in rows]


def stream(
    dst: sqlite3.Connection,
    insert: str,
    src: sqlite3.Connection,
    select: str,
    transform: Callable[[Iterable[tuple]], Iterator[tuple]],
) -> int:
    """Feed ``select``'s rows, transformed, into ``insert`` without materialising them."""
    cur = src.cursor()
    try:
        cur.execute(select)
        return insert_many(dst, insert, transform(cur))
    finally:
        cur.close()
