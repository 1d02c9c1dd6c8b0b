"""Test-only seams, inert unless ``EXECUTOR_TEST_MODE=1``.

- Pause points: with ``EXECUTOR_MIGRATION_PAUSE_AT=<point>`` and ``EXECUTOR_MIGRATION_PAUSE_FILE``,
  the process writes the point's name to the file and blocks forever there, so a test can
  SIGKILL it at exactly that instant (the crash sweep; the TS Executor's pauseMigrationForTest).
- Hold points: with ``EXECUTOR_MIGRATION_HOLD_AT=<point>`` and ``EXECUTOR_MIGRATION_HOLD_FILE``,
  the process writes the marker and waits (up to 120 s) until ``<marker>.go`` exists, so a test
  can act at that instant (start a writer on data.db) and then let the migration go on. Several
  points, comma-separated, wait for ``<marker>.<point>.go`` each.
- ``EXECUTOR_TEST_MODULES_AT_READY=<file>``: the modules imported at READY, written there.
- ``EXECUTOR_TEST_LEAK_CURSOR=1``: just before the flip moves ``data.db``, leave a connection to it
  closed
  while an unfinished cursor lives in a reference cycle, as a library that releases handles
  lazily would. On Windows only the GC nudge of the fs layer then lets the rename through.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from executor_local import fs


def active() -> bool:
    return os.environ.get("EXECUTOR_TEST_MODE") == "1"


def dump_modules_at_ready() -> None:
    """``EXECUTOR_TEST_MODULES_AT_READY=<file>``: write the names in ``sys.modules`` there just
    before READY, so a test can prove that nothing compiled was imported before it."""
    target = os.environ.get("EXECUTOR_TEST_MODULES_AT_READY")
    if active() and target:
        import sys

        fs.write_atomic(target, "\n".join(sorted(sys.modules)).encode())


def pause(point: str) -> None:
    if not active():
        return
    if point in os.environ.get("EXECUTOR_MIGRATION_HOLD_AT", "").split(","):
        _hold(point)
    if os.environ.get("EXECUTOR_MIGRATION_PAUSE_AT") != point:
        return
    marker = os.environ.get("EXECUTOR_MIGRATION_PAUSE_FILE")
    if not marker:
        return
    # Atomically: a test that sees the marker must also see which point it names.
    fs.write_atomic(marker, point.encode())
    threading.Event().wait()  # until SIGKILL


def _hold(point: str) -> None:
    marker = os.environ.get("EXECUTOR_MIGRATION_HOLD_FILE")
    if not marker:
        return
    fs.write_atomic(marker, point.encode())
    go, deadline = Path(marker + ".go"), time.monotonic() + 120
    several = "," in os.environ.get("EXECUTOR_MIGRATION_HOLD_AT", "")
    if several:  # one go-ahead per point: <marker>.<point>.go
        go = Path(f"{marker}.{point}.go")
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for the test's go-ahead


class _Cycle:
    def __init__(self) -> None:
        self.me = self
        self.cursor: sqlite3.Cursor | None = None


def leak_cursor(path: Path) -> None:
    """Leave ``path`` held by a closed connection's live cursor, reachable only via a cycle."""
    if not active() or os.environ.get("EXECUTOR_TEST_LEAK_CURSOR") != "1":
        return
    conn = sqlite3.connect(str(path))
    holder = _Cycle()
    holder.cursor = conn.execute("SELECT name FROM sqlite_master UNION ALL SELECT 1")
    holder.cursor.fetchone()  # unfinished statement
    conn.close()
    del holder, conn  # only gc.collect() can free the cycle now
