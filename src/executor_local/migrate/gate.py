"""Step 5, migrate: make sure ``data.db`` is absent or v2 before the store opens it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from executor_local.errors import DataCorrupt, DataTooNew
from executor_local.store.schema import V1_TO_V2_STAMP


def ensure_v2(db_path: Path) -> None:
    """Refuse anything the serving store must not open (placeholder until the migrator lands)."""
    if not db_path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            cur = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            tables = {row[0] for row in cur.fetchall()}
            cur.close()
            stamped = False
            if "data_migration" in tables:
                cur = conn.execute("SELECT 1 FROM data_migration WHERE name=?", (V1_TO_V2_STAMP,))
                stamped = cur.fetchone() is not None
                cur.close()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DataCorrupt(f"{db_path} is not a readable SQLite database", path=db_path,
                          cause=exc) from exc
    if "source" in tables and not stamped:
        raise DataTooNew(f"{db_path} holds v1 data, which this build cannot migrate yet",
                         path=db_path)
