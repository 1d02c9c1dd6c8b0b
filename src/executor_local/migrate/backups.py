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
from executor_local.errors import ExecutorError
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


def restore_backup(layout: Layout, name: str, auth_path: Path | None = None) -> Path:
    """Put backup ``name`` in place of data.db; returns where the current set was kept.

    Restoring the v1 data of a migration also puts back the auth.json the same migration kept
    (``auth.json.v1-v2-<ms>-<nonce>``, same suffix), so an older Executor finds its secrets
    again; the current auth.json is kept as ``auth.json.before-restore-<ms>-<nonce>``. The
    secrets go after the database: if a crash falls between, the next migration still
    resolves every value under its new item id.
    """
    chosen = next((b for b in list_backups(layout) if b.name == name), None)
    if chosen is None:
        names = ", ".join(b.name for b in list_backups(layout)) or "none"
        raise ExecutorError(f"no backup named {name!r} in {layout.data_dir} (backups: {names})",
                            path=layout.data_dir, hint="List them with 'executor backups list'.")
    nonce, ms = new_nonce(), int(time.time() * 1000)
    journal = Journal(kind="restore", nonce=nonce, created_ms=ms, source=str(layout.db),
                      snapshot=None, staging=str(layout.staging(nonce)),
                      backup=str(layout.backup("before-restore", ms, nonce)))
    journal_io.write(layout.journal, journal)
    try:
        # Through SQLite, so a backup with a WAL of its own lands as one checkpointed file.
        snapshot(chosen.path, Path(journal.staging))
        for sidecar in fs.sqlite_set(Path(journal.staging))[1:]:
            fs.remove(sidecar)
        journal.phase = "built"
        journal_io.write(layout.journal, journal)
        pause("restore-built")
    except BaseException:
        roll_back(layout.journal, journal)
        raise
    complete_flip(layout.journal, journal)
    if chosen.kind == "v1-v2":
        _restore_auth(chosen, auth_path or auth_file.default_auth_path(), ms, nonce)
    return Path(journal.backup)


def _restore_auth(chosen: Backup, auth_path: Path, ms: int, nonce: str) -> None:
    kept = auth_path.with_name(f"{auth_path.name}.{chosen.name[len('data.db.'):]}")
    if not kept.exists():
        return
    if auth_path.exists():
        current = auth_path.with_name(f"{auth_path.name}.before-restore-{ms}-{nonce}")
        fs.copy_file(auth_path, current)
    fs.write_atomic(auth_path, kept.read_bytes())
