"""The migration's view of the data dir: its files by role (names in ``datadir``), and finding
what a crash left."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from executor_local.datadir import (
    BACKUP_RE,
    CONTROL_DIR_NAME,
    MIGRATION_JOURNAL_NAME,
    SHM_SUFFIX,
    SNAPSHOT_PREFIX,
    STAGING_PREFIX,
    WAL_SUFFIX,
    DataDir,
)

JOURNAL_NAME = MIGRATION_JOURNAL_NAME


TEMP_RE = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}$")


def new_nonce() -> str:
    """4 random bytes in hex, as the TS Executor's ``randomBytes(4)``."""
    return os.urandom(4).hex()


@dataclass(frozen=True)
class Layout:
    """Paths of one data dir's store and its migration siblings."""

    data_dir: Path

    @property
    def paths(self) -> DataDir:
        return DataDir(self.data_dir)

    @property
    def db(self) -> Path:
        return self.paths.db

    @property
    def journal(self) -> Path:
        return self.paths.migration_journal

    def source(self, nonce: str) -> Path:
        return self.paths.snapshot(nonce)

    def staging(self, nonce: str) -> Path:
        return self.paths.staging(nonce)

    def backup(self, kind: str, ms: int, nonce: str) -> Path:
        return self.paths.backup(kind, ms, nonce)

    def leftovers(self) -> list[Path]:
        """Snapshot and staging base files (a crash may leave them behind)."""
        found = [p for p in self.data_dir.glob(f"{SNAPSHOT_PREFIX}*") if not _is_sidecar(p)]
        found += [p for p in self.data_dir.glob(f"{STAGING_PREFIX}*") if not _is_sidecar(p)]
        return sorted(found)

    def temp_files(self) -> list[Path]:
        """Temp files of an atomic write (``<name>.tmp-<pid>-<hex>``) a kill left behind."""
        found = [p for p in self.data_dir.glob("*.tmp-*") if TEMP_RE.search(p.name)]
        control = self.data_dir / CONTROL_DIR_NAME
        if control.is_dir():
            found += [p for p in control.glob("*.tmp-*") if TEMP_RE.search(p.name)]
        return sorted(found)

    def backups(self) -> list[Path]:
        """Backup base files, oldest first."""
        found = [p for p in self.data_dir.iterdir() if BACKUP_RE.match(p.name)]
        return sorted(found, key=lambda p: int(BACKUP_RE.match(p.name).group(2)))  # type: ignore[union-attr]


def _is_sidecar(path: Path) -> bool:
    return path.name.endswith((WAL_SUFFIX, SHM_SUFFIX))
