"""The names of every file the migration makes beside ``data.db`` (design §4; TS names)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

JOURNAL_NAME = "data.db.v1-v2-migration.json"
# A backup of a whole file set: the v1 set after a migration, or the set a restore replaced.
BACKUP_RE = re.compile(r"^data\.db\.(v1-v2|before-restore)-(\d+)-([0-9a-f]{8})$")


TEMP_RE = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}$")


def new_nonce() -> str:
    """4 random bytes in hex, as the TS Executor's ``randomBytes(4)``."""
    return os.urandom(4).hex()


@dataclass(frozen=True)
class Layout:
    """Paths of one data dir's store and its migration siblings."""

    data_dir: Path

    @property
    def db(self) -> Path:
        return self.data_dir / "data.db"

    @property
    def journal(self) -> Path:
        return self.data_dir / JOURNAL_NAME

    def source(self, nonce: str) -> Path:
        return self.data_dir / f"data.db.source-{nonce}"

    def staging(self, nonce: str) -> Path:
        return self.data_dir / f"data.db.building-{nonce}"

    def backup(self, kind: str, ms: int, nonce: str) -> Path:
        return self.data_dir / f"data.db.{kind}-{ms}-{nonce}"

    def leftovers(self) -> list[Path]:
        """Snapshot and staging base files (a crash may leave them behind)."""
        found = [p for p in self.data_dir.glob("data.db.source-*") if not _is_sidecar(p)]
        found += [p for p in self.data_dir.glob("data.db.building-*") if not _is_sidecar(p)]
        return sorted(found)

    def temp_files(self) -> list[Path]:
        """Temp files of an atomic write (``<name>.tmp-<pid>-<hex>``) a kill left behind."""
        found = [p for p in self.data_dir.glob("*.tmp-*") if TEMP_RE.search(p.name)]
        control = self.data_dir / "server-control"
        if control.is_dir():
            found += [p for p in control.glob("*.tmp-*") if TEMP_RE.search(p.name)]
        return sorted(found)

    def backups(self) -> list[Path]:
        """Backup base files, oldest first."""
        found = [p for p in self.data_dir.iterdir() if BACKUP_RE.match(p.name)]
        return sorted(found, key=lambda p: int(BACKUP_RE.match(p.name).group(2)))  # type: ignore[union-attr]


def _is_sidecar(path: Path) -> bool:
    return path.name.endswith(("-wal", "-shm"))
