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
from executor_local.datadir import sqlite_files
from executor_local.errors import DataDirOwned, FileLocked
from executor_local.migrate import auth_file
from executor_local.migrate import journal as journal_io
from executor_local.migrate.journal import Journal
from executor_local.migrate.sqlite_files import (
    SourceChanged,
    checkpoint_set,
    close_held,
    fingerprint,
    lock_check_and_checkpoint,
    same_data,
)
from executor_local.migrate.testhooks import leak_cursor, pause

log = logging.getLogger("executor.migrate")


def complete_flip(journal_path: Path, journal: Journal) -> None:
    """Roll a ``built`` or ``canonical-moved`` journal forward to the end, then clean up."""
    canonical, staging, backup = Path(journal.source), Path(journal.staging), Path(journal.backup)
    if journal.phase in ("built", "canonical-moved") and staging.exists():
        if journal.phase == "built":
            # The backup must hold all its data in its base file: a WAL moved without the
            # base's checkpoint would be a second copy of the truth.
            if journal.source_fingerprint is not None:
                # Under the lock: nobody has it open, nobody wrote to it since the snapshot.
                # What it holds after the checkpoint is what the moved set must still hold.
                accepted = [fp for fp in (journal.source_fingerprint, journal.flip_fingerprint)
                            if fp is not None]

                def record(checkpointed: dict) -> None:  # type: ignore[type-arg]
                    journal.flip_fingerprint = checkpointed
                    journal_io.write(journal_path, journal)

                lock_check_and_checkpoint(canonical, accepted, record)
            else:
                checkpoint_set(canonical)
            pause("canonical-flushed")
            journal.phase = "canonical-moved"
            journal_io.write(journal_path, journal)
        if journal.kind == "restore" and auth_file.install_next(journal):
            # Back to v1: its auth.json goes first, so a v1 data.db never meets a v2 one.
            pause("auth-installed")
        leak_cursor(canonical)
        # A rollback-mode v1 may keep a (non-hot) -journal: it belongs with its base too.
        members = list(zip(sqlite_files(canonical).with_journal,
                           sqlite_files(backup).with_journal, strict=True))
        for member_src, member_dst in members:
            move_set_members_one(member_src, member_dst)
            pause(f"canonical-moved{member_src.name[len(canonical.name):] or '-base'}")
        pause("canonical-moved")
        for _src, kept in members:  # the backup is private like every other file (v1: 0644)
            if kept.exists():
                fs.chmod_private(kept)
        _check_moved_set(journal_path, journal, members)
        refuse_stray_sidecars(canonical)
        fs.replace(staging, canonical)
        fs.fsync_dir(canonical.parent)
        pause("staging-installed")
        _check_after_install(journal_path, journal, members)
        pause("staging-consumed")
    if journal.phase != "committed":
        # The v2 data.db is in place: now, and only now, its auth.json.
        if auth_file.install_next(journal):
            pause("auth-installed")
        journal.phase = "committed"
        journal_io.write(journal_path, journal)
        pause("committed")
    clean_up(journal_path, journal)


def _check_moved_set(journal_path: Path, journal: Journal, members: list[tuple[Path, Path]],
                     ) -> None:
    """A write that slipped in between the flip's check and the move is in the moved set: put
    the set back and start over, rather than install a v2 that lacks it."""
    if journal.flip_fingerprint is None or _moved_set_intact(journal):
        return
    log.warning("migrate: %s was written to while it was being moved aside; putting it back",
                journal.source)
    _put_back(journal_path, journal, members)


def _check_after_install(journal_path: Path, journal: Journal,
                         members: list[tuple[Path, Path]]) -> None:
    """A program that opened the old data.db just before it moved may write into it (now the
    backup) just after the v2 went in: take the v2 back out, put the set back, start over."""
    canonical, staging = Path(journal.source), Path(journal.staging)
    # Its WAL (or journal) would appear by name beside the new base, until it checkpoints.
    files = sqlite_files(canonical)
    strays = [p for p in [*files.sidecars, files.journal] if p.exists()]
    if journal.flip_fingerprint is None or (_moved_set_intact(journal) and not strays):
        return
    log.warning("migrate: %s was written to while the v2 database went in; taking it back out",
                journal.source)
    fs.replace(canonical, staging)  # staging exists again: recovery redoes this check
    fs.fsync_dir(canonical.parent)
    _put_back(journal_path, journal, members)


def _moved_set_intact(journal: Journal) -> bool:
    held: dict[str, int] = {}
    try:
        now = fingerprint(Path(journal.backup), held)
    finally:
        close_held(held)
    return same_data(now, journal.flip_fingerprint)


def _put_back(journal_path: Path, journal: Journal, members: list[tuple[Path, Path]]) -> None:
    for member_src, member_dst in members:
        if member_dst.exists():
            fs.replace(member_dst, member_src)
    fs.fsync_dir(Path(journal.source).parent)
    journal.phase = "building"  # what is left is a roll back: snapshot, staging, auth.json
    journal_io.write(journal_path, journal)
    raise SourceChanged(Path(journal.source))


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
    files = sqlite_files(canonical)
    for sidecar in [*files.sidecars, files.journal]:
        if sidecar.exists():
            raise DataDirOwned(
                f"{sidecar} appeared while data.db was being replaced: another program has "
                "data.db open", path=sidecar,
                hint="Quit the other program; the next launch finishes the migration.")




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

