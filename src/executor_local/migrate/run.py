"""Steps 4–5, back up and migrate: v1 -> v2, journaled so a crash at any instant is recoverable.

recover -> probe -> free space -> journal ``building`` -> auth.json backup -> consistent
snapshot ``data.db.source-<nonce>`` -> bring it to v1-final -> plan -> build
``data.db.building-<nonce>`` in one transaction (secrets written inside it, before the stamp)
-> checkpoint -> verify -> drop its sidecars -> journal ``built`` -> flip -> clean up.

The canonical v1 set is never written until the flip, and then only moved, whole, to
``data.db.v1-v2-<ms>-<nonce>``, which stays as the backup.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from executor_local import fs
from executor_local.datadir import DB_NAME, sqlite_files
from executor_local.errors import DataDirOwned, DataTooNew, DiskFailure, NoSpace
from executor_local.migrate import auth_file, testhooks
from executor_local.migrate import journal as journal_io
from executor_local.migrate.flip import complete_flip
from executor_local.migrate.journal import Journal
from executor_local.migrate.layout import Layout, new_nonce
from executor_local.migrate.preflight import check_auth_file, check_data_files, holds_data
from executor_local.migrate.progress import Progress
from executor_local.migrate.recover import roll_back
from executor_local.migrate.sqlite_files import (
    SourceChanged,
    checkpoint_truncate,
    corrupt_error,
    is_corruption,
    opened,
    other_holders,
    query_one,
    snapshot,
    verify,
)
from executor_local.migrate.testhooks import pause
from executor_local.migrate.v1.classify import DataKind
from executor_local.migrate.v1.keychain import copy_keychain_items
from executor_local.store.schema import V1_TO_V2_STAMP, create_v2_schema

if TYPE_CHECKING:
    from executor_local.migrate.plan.planner import MigrationPlan

log = logging.getLogger("executor.migrate")

SPACE_MARGIN_BYTES = 16 * 1024 * 1024

# The staging file is built in one transaction with its rollback journal in memory and without
# fsyncs: it is private, thrown away on any failure (the journal says ``building`` until it is
# verified) and switched to WAL, checkpointed and flushed before the flip. (A bigger page cache
# was measured: no faster, and more memory.)
BUILD_PRAGMAS = ("journal_mode=MEMORY", "synchronous=OFF")


class Status(StrEnum):
    """What the migrate step found or did (``v1``: a dry run's "would migrate")."""

    FRESH = "fresh"
    V1 = "v1"
    V2 = "v2"
    MIGRATED = "migrated"


@dataclass
class MigrationResult:
    """What the migrate step did: ``status`` is fresh, v2, migrated."""

    status: Status
    backup: Path | None = None
    report: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def migrated(self) -> bool:
        return self.status == Status.MIGRATED


def probe(db: Path) -> DataKind:
    """Classify ``data.db`` without changing what it holds (see ``classify.classify``)."""
    from executor_local.migrate.v1.classify import classify

    if not db.exists() or db.stat().st_size == 0:
        return DataKind.EMPTY
    try:
        conn = open_read_only(db)
    except sqlite3.OperationalError:
        conn = None  # e.g. a -wal without its -shm: only a read-write open can recover it
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db, exc) from exc
    try:
        if conn is None:
            with opened(db) as rw:
                return classify(rw)
        return classify(conn)
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise corrupt_error(db, exc) from exc
        raise
    finally:
        if conn is not None:
            conn.close()


def open_read_only(db: Path) -> sqlite3.Connection:
    """Read-only, so probing never checkpoints or otherwise rewrites the original's files.

    When the base file alone is the whole database (no WAL content, no rollback journal to
    replay) it is opened ``immutable``: then SQLite does not even create a -shm, and a refusal
    (too new, unknown shape) leaves every byte of the dir as it was (matrix #18).
    """
    wal, journal = sqlite_files(db).wal, sqlite_files(db).journal
    alone = not holds_data(wal) and not holds_data(journal)
    uri = f"{db.absolute().as_uri()}?mode=ro" + ("&immutable=1" if alone else "")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000").close()
        conn.execute("SELECT COUNT(*) FROM sqlite_master").close()
    except BaseException:
        conn.close()
        raise
    return conn


def refuse_unknown(db: Path, kind: DataKind) -> None:
    if kind == DataKind.TOO_NEW:
        raise DataTooNew(f"{db} was written by a newer program than executor-local "
                         "understands; it was left untouched", path=db)
    if kind == DataKind.UNKNOWN:
        raise DataTooNew(f"{db} is a SQLite database of an unknown shape (neither Executor v1 "
                         "nor v2); it was left untouched", path=db,
                         hint="Check --data-dir points at an Executor data dir.")


def check_free_space(layout: Layout) -> None:
    """Room for the snapshot and the staging file, each at most the size of the v1 set."""
    need = 2 * sum(p.stat().st_size for p in fs.sqlite_set(layout.db) if p.exists())
    need += SPACE_MARGIN_BYTES
    free = shutil.disk_usage(layout.data_dir).free
    if testhooks.active() and os.environ.get("EXECUTOR_TEST_FREE_BYTES"):
        free = int(os.environ["EXECUTOR_TEST_FREE_BYTES"])
    if free < need:
        raise NoSpace(f"migrating {layout.db} needs about {need // 2**20} MiB free, "
                      f"{free // 2**20} MiB are", path=layout.data_dir)


def migrate_if_needed(layout: Layout, auth_path: Path | None = None) -> MigrationResult:
    """Migrate a v1 ``data.db`` to v2; a no-op for fresh and v2 data. Run ``recover`` first."""
    check_data_files(layout)  # before anything opens data.db: a probe may already write
    kind = probe(layout.db)
    refuse_unknown(layout.db, kind)
    if kind != DataKind.V1:
        return MigrationResult(Status.FRESH if kind == DataKind.EMPTY else Status.V2)
    check_free_space(layout)
    auth = auth_file.real_auth_path(auth_path or auth_file.default_auth_path())
    check_auth_file(auth)
    with Progress("migrating v1 data to v2") as progress:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return _migrate(layout, auth, progress)
            except SourceChanged as exc:
                log.warning("migrate: %s (attempt %d of %d); starting over from a new "
                            "snapshot", exc.message, attempt, MAX_ATTEMPTS)
        handles = other_holders(layout.db) or []
        raise DataDirOwned(
            f"{layout.db} kept changing while it was being migrated ({MAX_ATTEMPTS} attempts): "
            "another program is writing to it"
            + "".join(f"; pid {h.pid} ({h.command or 'unknown command'}) has it open"
                      for h in handles) + ". Nothing was migrated; every write is in data.db",
            path=layout.db,
            hint="Quit the program that writes to data.db (an older Executor, a database "
                 "browser, a sync tool), then run again.")


# How many times a migration starts over when another program wrote to data.db meanwhile.
MAX_ATTEMPTS = 3


def _migrate(layout: Layout, auth: Path, progress: Progress) -> MigrationResult:
    nonce, ms = new_nonce(), int(time.time() * 1000)
    journal = Journal(
        kind="v1-v2", nonce=nonce, created_ms=ms, source=str(layout.db),
        snapshot=str(layout.source(nonce)), staging=str(layout.staging(nonce)),
        backup=str(layout.backup("v1-v2", ms, nonce)), auth_path=str(auth),
        auth_backup=str(auth_file.backup_path(auth, ms, nonce)), auth_existed=auth.exists(),
        auth_next=str(auth_file.next_path(auth, ms, nonce)),
    )
    journal_io.write(layout.journal, journal)
    pause("journal-written")
    flip_started = False
    try:
        progress.set("backing up auth.json")
        auth_file.back_up(journal)
        pause("building")
        progress.set("taking a consistent snapshot")
        journal.source_fingerprint = snapshot(layout.db, Path(journal.snapshot or ""))
        pause("snapshot-taken")
        progress.set("building the v2 database")
        plan = _build_staging(journal)
        pause("staging-built")
        progress.set("verifying the v2 database")
        staging = Path(journal.staging)
        verify(staging, plan.expected_counts, V1_TO_V2_STAMP)
        for sidecar in sqlite_files(staging).sidecars:
            fs.remove(sidecar)
        fs.fsync_dir(layout.data_dir)
        if journal.auth_next and Path(journal.auth_next).exists():
            fs.fsync_dir(Path(journal.auth_next).parent)
        journal.phase = "built"
        journal_io.write(layout.journal, journal)
        pause("built")
        progress.set("putting the v2 database in place")
        flip_started = True
        complete_flip(layout.journal, journal)
    except BaseException as exc:
        if not flip_started or _nothing_moved(journal) or journal.phase == "building":
            _roll_back_quietly(layout, journal, exc)
        converted = _as_space_error(exc, layout)
        if converted is exc:
            raise  # `raise exc from exc` would make exc its own cause, hiding the real one
        raise converted from exc
    return MigrationResult(Status.MIGRATED, Path(journal.backup), plan.to_json(),
                           list(plan.warnings))


def merge_warnings(plan: MigrationPlan, fold_warnings: list[str], auth_path: Path | None) -> None:
    """The fold's warnings first, then the planner's, each unresolved secret explained. The
    one merge the real run and the dry run share, so ``--dry-run`` predicts the same list."""
    plan.warnings[:] = auth_file.explain_unresolved([*fold_warnings, *plan.warnings], auth_path)


def _build_staging(journal: Journal) -> MigrationPlan:
    """Read the snapshot, plan, and write the staging v2 database in one transaction."""
    from executor_local.migrate.plan.planner import plan_migration
    from executor_local.migrate.v1.forms import bring_to_v1_final
    from executor_local.migrate.v1.secrets import read_auth_file
    from executor_local.migrate.write.staging import attach_source, detach_source, write_plan

    snap, staging = Path(journal.snapshot or ""), Path(journal.staging)
    auth_path = Path(journal.auth_path) if journal.auth_path else None
    with opened(snap) as src:
        _check_snapshot(src, Path(journal.source))  # a corrupt source stops before any write
        warnings = bring_to_v1_final(src)
        auth = read_auth_file(auth_path) if auth_path else None
        plan = plan_migration(src, auth, now_ms=journal.created_ms)
        merge_warnings(plan, warnings, auth_path)
        fs.create_private_file(staging)
        with opened(staging) as dst:
            for pragma in BUILD_PRAGMAS:
                dst.execute(f"PRAGMA {pragma}").close()
            attach_source(dst, snap)  # write_plan copies the big tables inside SQLite
            dst.execute("BEGIN IMMEDIATE")
            try:
                create_v2_schema(dst)
                write_plan(plan, src, dst)
                # Secrets cannot be atomic with the database: stage them before the stamp
                # commits, idempotently (deterministic item ids); the flip renames them over
                # auth.json once the v2 data.db is in place. A crash before rolls back.
                content = plan.auth_content
                if content is not None and journal.auth_next:
                    auth_file.write(Path(journal.auth_next), content)
                # Keychain copies only add items under new ids; v1 items stay where they were.
                plan.warnings.extend(copy_keychain_items(plan.keychain_copies))
                pause("secrets-written")
                dst.execute("COMMIT")
            except BaseException:
                if dst.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
                    dst.execute("ROLLBACK")
                raise
            detach_source(dst)
            # The store runs in WAL mode; the file is flushed by ``verify`` before the flip.
            dst.execute("PRAGMA journal_mode=WAL").close()
            checkpoint_truncate(dst, staging)
    return plan


def _check_snapshot(src: sqlite3.Connection, source: Path) -> None:
    """``PRAGMA quick_check`` of the snapshot; a corrupt one is the source's exit 6."""
    try:
        row = query_one(src, "PRAGMA quick_check")
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise corrupt_error(source, exc) from exc
        raise
    answer = str(row[0]) if row else "no answer"
    if answer != "ok":
        raise corrupt_error(source, sqlite3.DatabaseError(answer))


def _nothing_moved(journal: Journal) -> bool:
    """True while the canonical set is still whole where it was and staging not installed."""
    return Path(journal.staging).exists() and Path(journal.source).exists() and not Path(
        journal.backup).exists()


def _roll_back_quietly(layout: Layout, journal: Journal, original: BaseException) -> None:
    """Roll back, never letting a rollback failure hide the error that caused it."""
    try:
        roll_back(layout.journal, journal)
    except Exception as exc:  # the original error is what the person must see
        log.error("migrate: rollback after %r also failed: %r; the next launch retries it",
                  original, exc)


def _as_space_error(exc: BaseException, layout: Layout) -> BaseException:
    """A full disk in the middle of the build is the free-space exit code.

    SQLite says SQLITE_FULL, or on some writes only SQLITE_IOERR ("disk I/O error"): that is
    a full disk when the disk has (next to) no room left, and a failing disk otherwise.
    """
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF if isinstance(exc, sqlite3.Error) else 0
    full = code == 13 or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    if code == 10 and not full:  # SQLITE_IOERR
        full = _free_bytes(layout) < SPACE_MARGIN_BYTES
        if not full:
            return DiskFailure(f"a disk I/O error stopped the migration of {layout.db}; it was "
                               "rolled back", path=layout.data_dir, cause=exc)
    if full:
        return NoSpace(f"the disk filled up while migrating {layout.db}; it was rolled back",
                       path=layout.data_dir, cause=exc)
    return exc


def _free_bytes(layout: Layout) -> int:
    try:
        return shutil.disk_usage(layout.data_dir).free
    except OSError:
        return 0


def dry_run(layout: Layout, auth_path: Path | None = None) -> dict[str, Any]:
    """Plan the migration on a private copy outside the data dir, leaving it byte-identical."""
    from executor_local.migrate.plan.planner import plan_migration
    from executor_local.migrate.v1.classify import classify
    from executor_local.migrate.v1.forms import bring_to_v1_final
    from executor_local.migrate.v1.secrets import read_auth_file

    auth = auth_file.real_auth_path(auth_path or auth_file.default_auth_path())
    in_flight = layout.journal.exists()
    if not layout.db.exists():
        return {"status": Status.FRESH, "journal": in_flight}
    check_data_files(layout, writes=False)
    check_auth_file(auth)
    with tempfile.TemporaryDirectory(prefix="executor-dry-run-") as tmp:
        copy = Path(tmp) / DB_NAME
        for src, dst in zip(fs.sqlite_set(layout.db), fs.sqlite_set(copy), strict=True):
            if src.exists():
                fs.copy_file(src, dst)
        try:
            with opened(copy) as conn:
                kind = classify(conn)
                refuse_unknown(layout.db, kind)
                if kind != DataKind.V1:
                    return {"status": Status.V2, "journal": in_flight}
                warnings = bring_to_v1_final(conn)
                plan = plan_migration(conn, read_auth_file(auth) if auth.exists() else None,
                                      now_ms=int(time.time() * 1000))
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise corrupt_error(layout.db, exc) from exc
            raise
        merge_warnings(plan, warnings, auth)
        return {"status": Status.V1, "journal": in_flight, "plan": plan.to_json()}

