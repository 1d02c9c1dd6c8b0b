"""Step 3, recover: finish or roll back an interrupted migration (or restore) from its journal.

- no journal: nothing was in flight; snapshot/staging files without one are debris, removed;
- ``building``: the canonical set was never touched: delete the snapshot and staging sets,
  restore auth.json, delete the journal (a fresh migration follows);
- ``built``/``canonical-moved``/``committed``: roll forward (see ``flip``);
- unreadable journal: with ``data.db`` present, discard it and the debris; with ``data.db``
  missing, fail closed and touch nothing (the TS Executor does the same).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from executor_local import fs
from executor_local.errors import DataCorrupt
from executor_local.migrate import auth_file, preflight
from executor_local.migrate import journal as journal_io
from executor_local.migrate.flip import complete_flip
from executor_local.migrate.journal import Journal, JournalUnreadable
from executor_local.migrate.layout import TEMP_RE, Layout
from executor_local.migrate.sqlite_files import SourceChanged

log = logging.getLogger("executor.migrate")


def recover(layout: Layout) -> str | None:
    """Bring the data dir to a state with no migration in flight; say what was done."""
    swept = sweep_temp_files(layout)
    done = _recover(layout)
    if swept and not done:
        return f"removed {swept} temp file(s) of an interrupted write"
    return done


def sweep_temp_files(layout: Layout) -> int:
    """Remove ``*.tmp-<pid>-<hex>`` files of writers that are gone (we hold the owner lock, so
    no live executor is writing the journal; a live pid's file is left alone all the same)."""
    from executor_local.procinfo import pid_alive

    swept = 0
    for tmp in layout.temp_files():
        match = TEMP_RE.search(tmp.name)
        if match is None or (int(match.group(1)) != os.getpid() and
                             pid_alive(int(match.group(1)))):
            continue
        log.info("migrate: removing %s, left by an interrupted write", tmp.name)
        fs.remove(tmp)
        swept += 1
    if swept:
        fs.fsync_dir(layout.data_dir)
    return swept


def _recover(layout: Layout) -> str | None:
    try:
        journal = journal_io.read(layout.journal)
    except JournalUnreadable as exc:
        if not preflight.holds_data(layout.db):  # an empty data.db is no proof either
            backups = ", ".join(p.name for p in layout.backups()) or "none"
            raise DataCorrupt(
                "cannot recover an interrupted migration: its journal is unreadable and "
                f"data.db is missing or empty; nothing was touched (backups here: {backups})",
                path=layout.journal,
                cause=exc,
                hint=(f"Move {layout.journal.name} out of {layout.data_dir}, then restore a "
                      "backup with 'executor backups restore NAME'."),
            ) from exc
        log.warning("migrate: discarding an unreadable journal (%s)", exc)
        _remove_debris(layout)
        journal_io.remove(layout.journal)
        return "discarded an unreadable journal"
    if journal is None:
        if layout.leftovers():
            _remove_debris(layout)
            return "removed leftovers of an earlier run"
        return None
    preflight.check_interrupted(layout, journal)  # may refuse, or turn a lost install back
    if journal.phase == "building":
        roll_back(layout.journal, journal)
        return f"rolled back an unfinished {journal.kind} ({journal.nonce})"
    try:
        complete_flip(layout.journal, journal)
    except SourceChanged as exc:
        # Another program wrote to the v1 data after its snapshot: that migration is void.
        roll_back(layout.journal, journal)
        return (f"rolled back an unfinished {journal.kind} ({journal.nonce}): {exc.message}; "
                "it starts over")
    return f"completed an interrupted {journal.kind} ({journal.nonce})"


def roll_back(journal_path: Path, journal: Journal) -> None:
    """Undo a ``building`` journal: the canonical set is intact, so only debris goes."""
    if journal.snapshot:
        fs.remove_sqlite_set(Path(journal.snapshot))
    fs.remove_sqlite_set(Path(journal.staging))
    auth_file.restore(journal)
    journal_io.remove(journal_path)


def _remove_debris(layout: Layout) -> None:
    for base in layout.leftovers():
        fs.remove_sqlite_set(base)
