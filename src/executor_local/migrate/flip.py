"""The flip: put the verified staging file in place of ``data.db``, keeping the old set.

Shared by the migration and by ``backups restore``. Safe to re-run from any crash point: the
staging base file is the marker. While it exists the install rename has not happened, so moving
the canonical set aside and installing staging is still to do; once it is gone ``data.db`` may
already be the new database and must never be moved or deleted again (TS "does not delete
installed v2" test).
"""

from __future__ import annotations

import logging
from pathlib import Path

from executor_local import fs
from executor_local.errors import DataDirOwned, FileLocked
from executor_local.migrate import journal as journal_io
from executor_local.migrate.journal import Journal
from executor_local.migrate.sqlite_files import checkpoint_set
from executor_local.migrate.testhooks import leak_cursor, pause

log = logging.getLogger("executor.migrate")


def complete_flip(journal_path: Path, journal: Journal) -> None:
    """Roll a ``built`` or ``canonical-moved`` journal forward to the end, then clean up."""
    canonical, staging, backup = Path(journal.source), Path(journal.staging), Path(journal.backup)
    if journal.phase in ("built", "canonical-moved") and staging.exists():
        if journal.phase == "built":
            # The backup must hold all its data in its base file: a WAL moved without the
            # base's checkpoint would be a second copy of the truth.
            checkpoint_set(canonical)
            pause("canonical-flushed")
            journal.phase = "canonical-moved"
            journal_io.write(journal_path, journal)
        leak_cursor(canonical)
        # A rollback-mode v1 may keep a (non-hot) -journal: it belongs with its base too.
        members = [*zip(fs.sqlite_set(canonical), fs.sqlite_set(backup), strict=True),
                   (_rollback_journal(canonical), _rollback_journal(backup))]
        for member_src, member_dst in members:
            move_set_members_one(member_src, member_dst)
            pause(f"canonical-moved{member_src.name[len(canonical.name):] or '-base'}")
        pause("canonical-moved")
        refuse_stray_sidecars(canonical)
        fs.replace(staging, canonical)
        fs.fsync_dir(canonical.parent)
        pause("staging-consumed")
    if journal.phase != "committed":
        journal.phase = "committed"
        journal_io.write(journal_path, journal)
        pause("committed")
    clean_up(journal_path, journal)


def move_set_members_one(src: Path, dst: Path) -> None:
    """Move one member of the canonical set to the backup name (idempotent)."""
    if not src.exists():
        return
    if dst.exists():
        fs.remove(src)
    else:
        fs.replace(src, dst)
    fs.fsync_dir(dst.parent)


def refuse_stray_sidecars(canonical: Path) -> None:
    """No WAL may sit beside the new base: SQLite would replay it against the wrong file.

    The canonical set's sidecars were moved to the backup just before, so one here means
    another program opened data.db in the middle of the flip; stop rather than install.
    """
    for sidecar in [*fs.sqlite_set(canonical)[1:], _rollback_journal(canonical)]:
        if sidecar.exists():
            raise DataDirOwned(
                f"{sidecar} appeared while data.db was being replaced: another program has "
                "data.db open", path=sidecar,
                hint="Quit the other program; the next launch finishes the migration.")


def _rollback_journal(base: Path) -> Path:
    return base.with_name(base.name + "-journal")


def clean_up(journal_path: Path, journal: Journal) -> None:
    """Remove the snapshot and staging sets, then the journal: the migration is over.

    The new data.db is already in place, so a file that stays locked here (a scanner holding
    the old snapshot) is not fatal: the journal stays at ``committed`` and the next launch
    finishes the clean-up.
    """
    try:
        if journal.snapshot:
            fs.remove_sqlite_set(Path(journal.snapshot))
        fs.remove_sqlite_set(Path(journal.staging))
        journal_io.remove(journal_path)
    except FileLocked as exc:
        log.warning("migrate: clean-up left %s behind (%s); the next launch retries it",
                    exc.path, exc.message)
        return
    log.debug("migrate: cleaned up after %s", journal.nonce)

