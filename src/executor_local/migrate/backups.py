"""Backups of data.db: listing them, and restoring one (journaled, crash-safe).

A restore never deletes anything: the current database set moves aside as
``data.db.before-restore-<ms>-<nonce>`` and a copy of the chosen backup takes its place, through
the same journal and flip as the migration, so a crash at any instant is recovered on the next
launch. Restoring a v1 backup means the next launch migrates it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from executor_local import fs
from executor_local.datadir import DB_NAME, sqlite_files
from executor_local.errors import BadArgument
from executor_local.migrate import auth_file
from executor_local.migrate import journal as journal_io
from executor_local.migrate.flip import complete_flip
from executor_local.migrate.journal import Journal
from executor_local.migrate.layout import BACKUP_RE, Layout, new_nonce
from executor_local.migrate.recover import roll_back
from executor_local.migrate.sqlite_files import snapshot
from executor_local.migrate.testhooks import pause


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    kind: str  # "v1-v2" (the v1 data before a migration) or "before-restore"
    created_ms: int
    size: int

    def to_json(self) -> dict[str, object]:
        created = datetime.fromtimestamp(self.created_ms / 1000, tz=UTC)
        return {"name": self.name, "path": str(self.path), "kind": self.kind,
                "created": created.isoformat(timespec="seconds"), "size": self.size}


def list_backups(layout: Layout) -> list[Backup]:
    if not layout.data_dir.is_dir():
        return []
    found = []
    for path in layout.backups():
        match = BACKUP_RE.match(path.name)
        assert match is not None
        size = sum(p.stat().st_size for p in fs.sqlite_set(path) if p.exists())
        found.append(Backup(path.name, path, match.group(1), int(match.group(2)), size))
    return found


def find_backup(layout: Layout, name: str) -> Backup:
    """The backup called ``name`` (its file name, or its full path); a usage error if none."""
    found = list_backups(layout)
    chosen = next((b for b in found if name in (b.name, str(b.path))), None)
    if chosen is None:
        names = ", ".join(b.name for b in found) or "none"
        raise BadArgument(f"no backup named {name!r} in {layout.data_dir} (backups: {names})",
                          path=layout.data_dir, hint="List them with 'executor backups list'.")
    return chosen


def restore_backup(layout: Layout, name: str, auth_path: Path | None = None) -> Path:
    """Put backup ``name`` in place of data.db; returns where the current set was kept.

    Restoring the v1 data of a migration also puts back the auth.json the same migration kept
    (``auth.json.v1-v2-<ms>-<nonce>``, same suffix), so an older Executor finds its secrets
    again; the current auth.json is kept as ``auth.json.before-restore-<ms>-<nonce>``. The
    v1 auth.json is staged and journaled with the restore, and goes in place just before the v1
    data.db does (``flip``), so no instant has a v1 data.db beside a v2 auth.json (an older
    Executor could not read its secrets); a crash in between leaves a v2 data.db beside the v1
    auth.json, which the next launch rolls forward.
    """
    chosen = find_backup(layout, name)
    nonce, ms = new_nonce(), int(time.time() * 1000)
    journal = Journal(kind="restore", nonce=nonce, created_ms=ms, source=str(layout.db),
                      snapshot=None, staging=str(layout.staging(nonce)),
                      backup=str(layout.backup("before-restore", ms, nonce)))
    auth = auth_file.real_auth_path(auth_path or auth_file.default_auth_path())
    kept = auth.with_name(f"{auth.name}.{chosen.name[len(DB_NAME) + 1:]}")
    if chosen.kind == "v1-v2" and kept.exists():
        journal.auth_path, journal.auth_existed = str(auth), auth.exists()
        journal.auth_next = str(auth_file.next_path(auth, ms, nonce))
        journal.auth_backup = str(auth.with_name(f"{auth.name}.before-restore-{ms}-{nonce}"))
    journal_io.write(layout.journal, journal)
    try:
        # Through SQLite, so a backup with a WAL of its own lands as one checkpointed file.
        snapshot(chosen.path, Path(journal.staging))
        for sidecar in sqlite_files(journal.staging).sidecars:
            fs.remove(sidecar)
        if journal.auth_next:
            if auth.exists():  # the current one is kept, as the data it replaces is
                fs.copy_file(auth, journal.auth_backup or "")
            fs.copy_file(kept, journal.auth_next)
        journal.phase = "built"
        journal_io.write(layout.journal, journal)
        pause("restore-built")
    except BaseException:
        roll_back(layout.journal, journal)
        raise
    complete_flip(layout.journal, journal)
    return Path(journal.backup)


@dataclass(frozen=True)
class PrunePlan:
    remove: list[Backup]
    keep: list[Backup]
    kept_last_v1: Backup | None  # the only v1-v2 backup, kept although it matched (no --force)


def plan_prune(found: list[Backup], *, keep: int | None, before_ms: int | None,
               force: bool = False) -> PrunePlan:
    """Which backups go: beyond the ``keep`` newest and (when given) created before
    ``before_ms``; never the last v1-v2 backup (the only copy of the v1 data) unless ``force``."""
    newest_first = sorted(found, key=lambda b: b.created_ms, reverse=True)
    remove = []
    for rank, backup in enumerate(newest_first):
        if keep is not None and rank < keep:
            continue
        if before_ms is not None and backup.created_ms >= before_ms:
            continue
        remove.append(backup)
    kept_last = None
    v1 = [b for b in newest_first if b.kind == "v1-v2"]
    if v1 and not force and all(b in remove for b in v1):
        kept_last = v1[0]
        remove.remove(kept_last)
    keep_list = [b for b in newest_first if b not in remove]
    return PrunePlan(sorted(remove, key=lambda b: b.created_ms), keep_list, kept_last)


def remove_backup(backup: Backup) -> None:
    """Remove one backup's whole file set (sidecars first, then the base)."""
    fs.remove(sqlite_files(backup.path).journal)
    fs.remove_sqlite_set(backup.path)
