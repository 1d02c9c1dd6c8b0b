"""The TS Executor's file secret store, ``auth.json``, outside the data dir.

Its place is ``$XDG_DATA_HOME/executor/auth.json`` (``%LOCALAPPDATA%\\executor`` on Windows), the
platform data dir; ``EXECUTOR_AUTH_FILE`` overrides it. The migration rewrites it flat and keeps
the old file byte-identical beside it as ``auth.json.v1-v2-<ms>-<nonce>``.
"""

from __future__ import annotations

import os
from pathlib import Path

from executor_local import datadir, fs
from executor_local.migrate.journal import Journal

AUTH_FILE_ENV = "EXECUTOR_AUTH_FILE"


def default_auth_path() -> Path:
    if os.environ.get(AUTH_FILE_ENV):
        return Path(os.environ[AUTH_FILE_ENV]).absolute()
    return datadir.file_secrets_path()


def explain_unresolved(warnings: list[str], auth_path: Path | None) -> list[str]:
    """Say, in each "could not resolve a file secret" warning, where it was looked for and which
    variables move that place (the planner knows the values, not the file)."""
    if auth_path is None:
        return warnings
    if os.environ.get(AUTH_FILE_ENV):
        where = f"{auth_path} (from ${AUTH_FILE_ENV})"
    else:
        where = (f"{auth_path} (the default; ${AUTH_FILE_ENV} names another file, and on "
                 "Linux $XDG_DATA_HOME moves the default)")
    state = "it does not exist" if not auth_path.exists() else "it has no entry for it"
    note = (f" Looked in {where}: {state}. If v1 kept its secrets elsewhere, set "
            f"{AUTH_FILE_ENV} to that auth.json, restore the v1 backup ('executor backups "
            "restore NAME') and migrate again.")
    return [w + note if w.startswith("Could not resolve local secret") else w for w in warnings]


def backup_path(auth_path: Path, ms: int, nonce: str) -> Path:
    return auth_path.with_name(f"{auth_path.name}.v1-v2-{ms}-{nonce}")


def back_up(journal: Journal) -> None:
    """Copy auth.json aside before anything may rewrite it."""
    if journal.auth_path and journal.auth_backup and Path(journal.auth_path).exists():
        fs.copy_file(journal.auth_path, journal.auth_backup)
        fs.fsync_dir(Path(journal.auth_backup).parent)


def next_path(auth_path: Path, ms: int, nonce: str) -> Path:
    """Where the v2 form waits until the flip has put the v2 data.db in place."""
    return auth_path.with_name(f"{auth_path.name}.next-{ms}-{nonce}")


def real_auth_path(auth_path: Path) -> Path:
    """A symlinked auth.json is written through: its target is what is backed up and replaced."""
    return Path(os.path.realpath(auth_path)) if auth_path.is_symlink() else auth_path


def write(auth_path: Path, content: bytes) -> None:
    fs.make_private_dir(auth_path.parent)
    fs.write_atomic(auth_path, content)


def install_next(journal: Journal) -> bool:
    """After the v2 data.db is in place: the staged v2 auth.json takes the place of the v1 one."""
    if not (journal.auth_next and journal.auth_path):
        return False
    staged = Path(journal.auth_next)
    if not staged.exists():
        return False  # none was staged, or it was installed before a crash
    fs.replace(staged, journal.auth_path)
    fs.fsync_dir(staged.parent)
    return True


def restore(journal: Journal) -> None:
    """Undo a rewrite of auth.json during a rolled-back migration."""
    if not journal.auth_path:
        return
    if journal.auth_next:
        fs.remove(journal.auth_next)
    auth, backup = Path(journal.auth_path), Path(journal.auth_backup or "")
    if journal.auth_backup and backup.exists():
        if not (auth.exists() and auth.read_bytes() == backup.read_bytes()):
            # Only a journal of an older version rewrote auth.json before the flip.
            mode = auth.stat().st_mode & 0o777 if auth.exists() else 0o600
            fs.write_atomic(auth, backup.read_bytes(), mode=mode)
        fs.remove(backup)
        fs.fsync_dir(auth.parent)
    elif not journal.auth_existed and not journal.auth_next:
        fs.remove(auth)  # an older version created it; there was none before
    # auth existed but its backup does not: killed before the copy, so it was never touched.
