"""Refusals before anything is written: data sets the migration (or its recovery) must not touch.

``check_data_files`` runs first in ``migrate_if_needed``, before the probe opens ``data.db``
(an SQLite open of a WAL database creates ``-wal``/``-shm`` and, in a read-only dir, fails with a
bare "attempt to write a readonly database"). It refuses, with nothing written:

- a ``data.db`` that is a symbolic or hard link (reliability matrix #7/#8, howtocorrupt §2.6):
  SQLite names its WAL after the path it was given, and the flip renames names, not files;
- a dir or a ``data.db`` file we may not write (read-only, another user's ``-wal``; #25-#27);
- a zero-byte ``data.db`` when something says it held data: a backup, leftovers of a migration,
  or a non-empty ``-wal`` (#14/#15); alone it is a fresh install (#13);

``check_dir_writable`` runs in ``boot.locate.ensure_data_dir``, before the owner lock is created,
so a read-only data dir is one clear refusal (exit 10) for every command that writes.

``check_interrupted`` runs in ``recover`` on a readable journal: a ``building`` migration whose
``data.db`` is gone or empty is refused instead of rolled back (its snapshot may be the only
copy), and a flip whose installed database vanished (no staging, no ``data.db``) puts the moved
set back before rolling back, so a launch never starts fresh over data that is in a backup (#23).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from executor_local import fs
from executor_local.datadir import sqlite_files
from executor_local.errors import DataCorrupt, NotWritable, UnsupportedLayout
from executor_local.migrate.journal import Journal
from executor_local.migrate.layout import Layout

log = logging.getLogger("executor.migrate")


def holds_data(db: Path) -> bool:
    """True when ``db`` is a file with at least one byte (SQLite makes zero-byte files on open)."""
    try:
        st = db.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


def check_data_files(layout: Layout, *, writes: bool = True) -> None:
    """Refuse a data set the migration must not touch; write nothing either way.

    ``writes=False`` (a dry run) skips the checks that only matter to a run that writes.
    """
    if not layout.data_dir.is_dir():
        return
    _refuse_links(layout.db)
    if writes:
        _refuse_not_writable(layout)
    _refuse_suspect_empty(layout)


def _refuse_links(db: Path) -> None:
    if not db.is_symlink() and db.exists() and not db.is_file():
        kind = "a directory" if db.is_dir() else "not a regular file"
        raise UnsupportedLayout(
            f"{db} is {kind}, where executor keeps its database file; it was left untouched",
            path=db,
            hint=f"Move {db} out of {db.parent} (or point --data-dir at another dir), then run "
                 "again; nothing was written.")
    if db.is_symlink():
        raise UnsupportedLayout(
            f"{db} is a symbolic link to {os.path.realpath(db)}; executor-local keeps data.db, "
            "its -wal and its backups as plain files side by side, so it was left untouched",
            path=db,
            hint=f"Point --data-dir at {Path(os.path.realpath(db)).parent} instead, or replace "
                 "the link with the file itself, then run again; nothing was written.")
    try:
        links = db.stat().st_nlink
    except FileNotFoundError:
        return
    if links > 1:
        raise UnsupportedLayout(
            f"{db} has {links} hard links: another name for the same file would keep using it "
            "(with its own -wal) after the migration moves data.db aside, so it was left "
            "untouched",
            path=db,
            hint=f"Remove the other links (find them with: find / -xdev -samefile {db}), or "
                 "replace data.db with a copy of itself, then run again; nothing was written.")


def read_only_mount(path: Path) -> bool:
    """True when ``path`` is on a file system mounted read-only (POSIX statvfs)."""
    try:
        return bool(os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):
        return False


def check_dir_writable(data_dir: Path) -> None:
    """Refuse a data dir this user cannot create files in (read-only mode, mount or owner)."""
    if read_only_mount(data_dir):
        raise NotWritable(
            f"the data dir {data_dir} is on a read-only file system; executor needs to create "
            "its lock, journal, backups and database files there",
            path=data_dir,
            hint="Remount that file system read-write (or copy the data dir to a writable disk "
                 "and pass --data-dir), then run again; nothing was written.")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise NotWritable(
            f"the data dir {data_dir} is read-only to this user{_owner_note(data_dir)}; "
            "executor needs to create its lock, journal, backups and database files there",
            path=data_dir)


FOREIGN_OWNER_ENV = "EXECUTOR_ALLOW_FOREIGN_OWNER"


def foreign_owner(data_dir: Path) -> tuple[int, str] | None:
    """(uid, name) of the data dir's owner when it is not this user (POSIX); else None."""
    if not hasattr(os, "geteuid"):
        return None
    try:
        uid = data_dir.stat().st_uid
    except OSError:
        return None
    if uid == os.geteuid():
        return None
    return uid, _user_name(uid)


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def check_owner(data_dir: Path) -> None:
    """Refuse another user's data dir (typically: run as root with sudo on the user's dir).

    What we would create there (lock, log, backups, a v2 data.db) would belong to us, mode
    0600, and the owner's next launch could not open them. ``--allow-foreign-owner`` (or
    ``EXECUTOR_ALLOW_FOREIGN_OWNER=1``) goes ahead anyway.
    """
    found = foreign_owner(data_dir)
    if found is None or os.environ.get(FOREIGN_OWNER_ENV) == "1":
        return
    uid, name = found
    me = f"uid {os.geteuid()} ({_user_name(os.geteuid())})"
    raise NotWritable(
        f"the data dir {data_dir} belongs to {name} (uid {uid}), not to this user, {me}: the "
        f"files executor would create there would belong to {_user_name(os.geteuid())} and "
        f"{name}'s next launch could not open them",
        path=data_dir,
        hint=(f"Run it as {name}: sudo -u {name} executor ... (or su - {name}); or pass "
              "--allow-foreign-owner (EXECUTOR_ALLOW_FOREIGN_OWNER=1) to use it anyway. "
              "Nothing was written."))


def check_auth_file(auth: Path) -> None:
    """Refuse an auth.json the migration could not read or replace, before anything is written:
    not a file, unreadable, nested too deeply, not JSON, or in a folder we cannot write."""
    from executor_local.migrate.v1.secrets import read_auth_file

    if not (auth.exists() or auth.is_symlink()):
        return
    real = Path(os.path.realpath(auth))
    if not real.is_file():
        raise UnsupportedLayout(
            f"{auth} is {'a directory' if real.is_dir() else 'not a regular file'}, where "
            "executor expects the file secret store (a JSON object); it was left untouched",
            path=auth,
            hint=f"Move {auth} aside (or set EXECUTOR_AUTH_FILE to the real file), then run "
                 "again; nothing was written.")
    read_auth_file(real)  # unreadable or corrupt: refused here, naming the file
    folder = real.parent
    if read_only_mount(folder) or not os.access(folder, os.W_OK | os.X_OK):
        why = ("is on a read-only file system" if read_only_mount(folder)
               else f"cannot be written by this user{_owner_note(folder)}")
        raise NotWritable(
            f"the folder of {real}, {folder}, {why}; the migration keeps the v1 auth.json "
            "beside it and writes the v2 one there",
            path=folder,
            hint=f"Give your user write access to {folder} and run again; nothing was written.")


def _refuse_not_writable(layout: Layout) -> None:
    check_dir_writable(layout.data_dir)
    for member in fs.sqlite_set(layout.db):
        if member.exists() and not os.access(member, os.W_OK):
            raise NotWritable(
                f"{member} cannot be written by this user{_owner_note(member)}; SQLite needs "
                "write access to every file of the data.db set, so nothing was changed",
                path=member)


def _owner_note(path: Path) -> str:
    """`` (owned by uid 0 (root), mode 0644)`` where the OS has owners, else nothing."""
    try:
        st = path.stat()
    except OSError:
        return ""
    if not hasattr(os, "getuid"):
        return " (it is marked read-only)"
    try:
        import pwd

        owner = f"uid {st.st_uid} ({pwd.getpwuid(st.st_uid).pw_name})"
    except (ImportError, KeyError):
        owner = f"uid {st.st_uid}"
    mine = "" if st.st_uid == os.getuid() else f"; this user is uid {os.getuid()}"
    if read_only_mount(path):
        mine += "; the file system is mounted read-only"
    return f" (owned by {owner}, mode {st.st_mode & 0o7777:04o}{mine})"


def _refuse_suspect_empty(layout: Layout) -> None:
    db = layout.db
    if not db.exists() or holds_data(db):
        return
    wal = sqlite_files(db).wal
    if holds_data(wal):
        raise DataCorrupt(
            f"{db} is empty but {wal.name} beside it holds {wal.stat().st_size} bytes: that log "
            "belongs to a database that is no longer there, so both were left untouched",
            path=db,
            hint=(f"If you have the database that {wal.name} belongs to, put it back as "
                  f"{db.name}; to start fresh instead, move {db.name} and {wal.name} out of "
                  f"{layout.data_dir}. Nothing was changed."))
    evidence = [p.name for p in layout.backups() + layout.leftovers()]
    if layout.journal.exists():
        evidence.append(layout.journal.name)
    if evidence:
        raise DataCorrupt(
            f"{db} is empty, but {', '.join(evidence)} beside it "
            f"{'shows' if len(evidence) == 1 else 'show'} that it held data; it was left "
            "untouched rather than started fresh",
            path=db,
            hint=("Restore a backup with 'executor backups restore NAME' (list them with "
                  "'executor backups list'), or delete the empty data.db to start fresh. "
                  "Nothing was changed."))


def check_interrupted(layout: Layout, journal: Journal) -> None:
    """Before recovery acts on a readable journal: refuse or undo what it must not assume.

    A ``building`` migration assumes the canonical set is intact, so rolling it back deletes
    the snapshot; with ``data.db`` gone or empty that snapshot may be the only copy: refuse.
    A ``canonical-moved`` flip with neither staging nor ``data.db`` lost its install (the
    database it put in place is gone): move the set back from the backup name and let recovery
    roll back, so the next step migrates the original again instead of starting empty.
    """
    canonical, staging = Path(journal.source), Path(journal.staging)
    if journal.phase == "building" and journal.kind == "v1-v2" and not holds_data(canonical):
        kept = [Path(p).name for p in (journal.snapshot, journal.staging)
                if p and holds_data(Path(p))]
        state = "empty" if canonical.exists() else "missing"
        where = f" (its snapshot may hold the data: {', '.join(kept)})" if kept else ""
        fresh = f"move data.db and {layout.journal.name} out of {layout.data_dir}"
        raise DataCorrupt(
            f"an interrupted migration was reading {canonical}, which is now {state}; "
            f"nothing was touched{where}",
            path=canonical,
            hint=(f"If {kept[0]} holds your data, move it to data.db and remove "
                  f"{layout.journal.name}; to start fresh instead, {fresh}. Then run again."
                  if kept else f"To start fresh, {fresh}. Then run again."))
    if journal.phase != "canonical-moved" or staging.exists() or canonical.exists():
        return
    pairs = list(zip(fs.sqlite_set(journal.backup), fs.sqlite_set(canonical), strict=True))
    if not pairs[0][0].exists():
        return  # nothing to put back: the flip had moved nothing (a restore onto no data.db)
    clash = [str(c) for b, c in pairs if b.exists() and c.exists()]
    if clash:
        raise DataCorrupt(
            f"an interrupted flip lost its new database and {', '.join(clash)} sits where the "
            f"kept set {journal.backup} would go back; nothing was touched", path=canonical,
            hint=f"Move {', '.join(clash)} out of {layout.data_dir}, then run again.")
    log.warning("migrate: the database the interrupted %s installed is gone; putting %s back",
                journal.kind, Path(journal.backup).name)
    for kept, original in pairs:
        if kept.exists():
            fs.replace(kept, original)
    fs.fsync_dir(canonical.parent)
    journal.phase = "building"  # what is left is a roll back: snapshot, staging, auth.json
