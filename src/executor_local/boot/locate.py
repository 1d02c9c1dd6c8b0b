"""Step 1, locate: find the data dir (design §3), first match wins.

1. ``--data-dir``, then ``EXECUTOR_DATA_DIR``;
2. the legacy Executor location ``~/.executor`` when it already holds a ``data.db``;
3. ``platformdirs.user_data_dir("executor", appauthor=False)`` (Local, not Roaming, on Windows).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from executor_local import fs
from executor_local.datadir import DB_NAME, LOG_DIR_NAME, platform_data_dir

DATA_DIR_ENV = "EXECUTOR_DATA_DIR"


@dataclass(frozen=True)
class DataDirChoice:
    """Where the data lives and why it was chosen."""

    path: Path
    source: str  # "option" | "env" | "legacy" | "platform"
    reason: str

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def log_dir(self) -> Path:
        return self.path / LOG_DIR_NAME


def legacy_data_dir() -> Path:
    """Where the TypeScript Executor kept its data: ``~/.executor``."""
    return Path.home() / ".executor"


def locate_data_dir(option: str | os.PathLike[str] | None, env: Mapping[str, str]) -> DataDirChoice:
    """Choose the data dir without touching the disk beyond a few ``stat`` calls."""
    if option:
        return DataDirChoice(_absolute(option), "option", "given with --data-dir")
    if env.get(DATA_DIR_ENV):
        return DataDirChoice(_absolute(env[DATA_DIR_ENV]), "env", f"given by ${DATA_DIR_ENV}")
    legacy = legacy_data_dir()
    if (legacy / DB_NAME).is_file():
        return DataDirChoice(legacy, "legacy", f"legacy Executor data found at {legacy}/data.db")
    return DataDirChoice(platform_data_dir(), "platform", "the platform's user data dir (default)")


def ensure_data_dir(choice: DataDirChoice) -> DataDirChoice:
    """Create the data dir 0700 when new, then resolve symlinks: the real path is what the lock,
    the journal and every sibling file use, so two spellings of one dir collide on one lock."""
    fs.make_private_dir(choice.path)
    real = Path(os.path.realpath(choice.path))
    from executor_local.migrate.preflight import check_dir_writable, check_owner  # before the lock

    check_dir_writable(real)  # a read-only dir is a clear refusal, not a failed lock file
    check_owner(real)  # root on a user's dir would leave root-owned files the user cannot open
    return DataDirChoice(real, choice.source, choice.reason)


def _absolute(value: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(value))))
