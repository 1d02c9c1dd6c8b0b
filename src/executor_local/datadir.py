"""The data dir's layout (design §4): the name of every file and folder, in one place.

```
<data dir>/
  data.db, data.db-wal, data.db-shm, data.db-journal   the store (a SQLite file set)
  data.db.owner-lock                                   the owner lock (boot/own.py)
  data.db.v1-v2-migration.json                         the migration journal (migrate/journal.py)
  data.db.source-<nonce>[-wal|-shm]                    the migration's consistent snapshot
  data.db.building-<nonce>[-wal|-shm]                  the v2 database being built (staging)
  data.db.v1-v2-<ms>-<nonce>[-wal|-shm]                the v1 backup (TS Executor's names)
  data.db.before-restore-<ms>-<nonce>[-wal|-shm]       the set a restore replaced
  server-control/server.json                           who owns the dir, where it serves
  server-control/auth.json                             the daemon's bearer token
  logs/daemon.log                                      the detached daemon's log
<platform data dir>/auth.json                          the file-secrets provider (Executor's)
```

Stdlib only and at the bottom of the layers: the migrator, boot, the daemon and the secrets
provider all name these files, and none of them may import another for a file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "executor"
DB_NAME = "data.db"
WAL_SUFFIX = "-wal"
SHM_SUFFIX = "-shm"
# A rollback-journal database (an older v1) may keep a (non-hot) ``-journal``; it belongs with
# its base like the WAL sidecars do.
JOURNAL_SUFFIX = "-journal"
OWNER_LOCK_NAME = f"{DB_NAME}.owner-lock"
MIGRATION_JOURNAL_NAME = f"{DB_NAME}.v1-v2-migration.json"
SNAPSHOT_PREFIX = f"{DB_NAME}.source-"
STAGING_PREFIX = f"{DB_NAME}.building-"
CONTROL_DIR_NAME = "server-control"
MANIFEST_NAME = "server.json"
TOKEN_NAME = "auth.json"
LOG_DIR_NAME = "logs"
DAEMON_LOG_NAME = "daemon.log"
FILE_SECRETS_NAME = "auth.json"

# A backup of a whole file set: the v1 set after a migration, or the set a restore replaced.
BACKUP_RE = re.compile(r"^data\.db\.(v1-v2|before-restore)-(\d+)-([0-9a-f]{8})$")

# The port the daemon serves on unless told otherwise (Executor's).
DEFAULT_PORT = 4788


@dataclass(frozen=True)
class SqliteFiles:
    """The members of one SQLite file set, by name (never by position)."""

    base: Path

    @property
    def wal(self) -> Path:
        return self.base.with_name(self.base.name + WAL_SUFFIX)

    @property
    def shm(self) -> Path:
        return self.base.with_name(self.base.name + SHM_SUFFIX)

    @property
    def journal(self) -> Path:
        return self.base.with_name(self.base.name + JOURNAL_SUFFIX)

    @property
    def sidecars(self) -> list[Path]:
        """``-wal`` and ``-shm``: what a WAL-mode database keeps beside its base."""
        return [self.wal, self.shm]

    @property
    def members(self) -> list[Path]:
        """Base, ``-wal``, ``-shm``: the set that moves and is removed together."""
        return [self.base, self.wal, self.shm]

    @property
    def with_journal(self) -> list[Path]:
        """Every member a database may have: base, ``-wal``, ``-shm`` and ``-journal``."""
        return [*self.members, self.journal]


def sqlite_files(base: Path | str) -> SqliteFiles:
    return SqliteFiles(Path(base))


@dataclass(frozen=True)
class DataDir:
    """Every path of one data dir."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def db_files(self) -> SqliteFiles:
        return SqliteFiles(self.db)

    @property
    def owner_lock(self) -> Path:
        return self.root / OWNER_LOCK_NAME

    @property
    def migration_journal(self) -> Path:
        return self.root / MIGRATION_JOURNAL_NAME

    def snapshot(self, nonce: str) -> Path:
        return self.root / f"{SNAPSHOT_PREFIX}{nonce}"

    def staging(self, nonce: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{nonce}"

    def backup(self, kind: str, ms: int, nonce: str) -> Path:
        """``kind`` is ``v1-v2`` or ``before-restore``."""
        return self.root / f"{DB_NAME}.{kind}-{ms}-{nonce}"

    @property
    def control_dir(self) -> Path:
        return self.root / CONTROL_DIR_NAME

    @property
    def manifest(self) -> Path:
        return self.control_dir / MANIFEST_NAME

    @property
    def token(self) -> Path:
        return self.control_dir / TOKEN_NAME

    @property
    def log_dir(self) -> Path:
        return self.root / LOG_DIR_NAME

    @property
    def daemon_log(self) -> Path:
        return self.log_dir / DAEMON_LOG_NAME


def platform_data_dir() -> Path:
    """The platform's user data dir for Executor (Local, not Roaming, on Windows)."""
    # Imported here: platformdirs is only needed when no explicit or legacy dir applies.
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))


def file_secrets_path() -> Path:
    """Where Executor's file-secrets provider keeps ``auth.json`` (the platform data dir, not
    the chosen data dir: Executor reads it there whatever ``--data-dir`` says)."""
    return platform_data_dir() / FILE_SECRETS_NAME
