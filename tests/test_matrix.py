"""Rows of the reliability matrix (shared/reference/reliability-matrix.md §5.1-5.5) that the other
suites do not cover; docs/reliability-matrix.md maps every row to its test or its explanation.

Each test names its row (``#N``). Everything runs in its own tmp dir and never sleeps; rows that
need root (another user, a tmpfs) or Linux (/proc, fork) skip with the reason elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import dbcheck
import v1gen
from executor_local import fs
from executor_local.errors import (
    EXIT_CANNOT_WRITE,
    EXIT_CORRUPT,
    EXIT_NO_SPACE,
    EXIT_TOO_NEW,
    DataCorrupt,
    DataTooNew,
    DiskFailure,
    ExecutorError,
    NoSpace,
    UnsupportedLayout,
)
from executor_local.migrate import journal as journal_io
from executor_local.migrate.journal import Journal
from executor_local.migrate.layout import Layout
from executor_local.migrate.recover import recover
from executor_local.migrate.run import migrate_if_needed
from executor_local.store.open import open_store
from migration_env import (
    SeededV1,
    assert_complete_v2,
    assert_invariant,
    assert_untouched_v1,
    launch,
    seed_v1,
)
from proc import pythonpath_env

LINUX = sys.platform.startswith("linux")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_linux = pytest.mark.skipif(not LINUX, reason="reads /proc/self/fd (Linux only)")


class NoSleep:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)


@pytest.fixture(autouse=True)
def no_sleep() -> Iterator[NoSleep]:
    """The retry policy with an injected sleep: a test never waits on a retry."""
    clock = NoSleep()
    with fs.use(policy=fs.RetryPolicy(sleep=clock.sleep)):
        yield clock


@pytest.fixture
def seed(tmp_path: Path) -> SeededV1:
    return seed_v1(tmp_path)


run = launch


def dir_state(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: its sha256 and mtime, to prove a refusal changed nothing."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            out[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                st.st_mtime_ns)
    return out


def without_shm(state: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """A dir state without ``-shm`` files: SQLite's shared-memory index, which any reader of a
    WAL database (our read-only probe too) may rewrite; it holds no data."""
    return {name: value for name, value in state.items() if not name.endswith("-shm")}


def no_debris(layout: Layout) -> None:
    assert not layout.journal.exists()
    assert layout.leftovers() == []
    assert [p.name for p in layout.data_dir.glob("*.tmp-*")] == []


def untouched_after_refusal(seed: SeededV1) -> None:
    assert_untouched_v1(seed)
    no_debris(seed.layout)
    assert list(seed.auth_path.parent.glob("auth.json.*")) == []


def make_too_new(db: Path) -> None:
    conn = open_store(db)
    try:
        conn.execute("INSERT INTO data_migration(name, time_completed) "
                     "VALUES ('2099-01-01-from-the-future', 1)")
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# 5.1 happy paths and environment
# ---------------------------------------------------------------------------------------------


def test_03_already_v2_is_a_no_op_that_leaves_data_db_alone(seed: SeededV1) -> None:
    assert run(seed).migrated
    before = dir_state(seed.data_dir)
    again = run(seed)
    assert again.status == "v2" and not again.migrated
    assert dir_state(seed.data_dir)["data.db"] == before["data.db"]  # bytes and mtime
    assert len(seed.layout.backups()) == 1
    no_debris(seed.layout)


def _kill_mid_transaction(db: Path) -> None:
    """A rollback-mode writer that spills changed pages into data.db, then dies (SIGKILL)."""
    code = (
        "import os, signal, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=-16')\n"  # 16 KiB: the big change must spill to the file
        "c.execute('BEGIN')\n"
        "c.execute('CREATE TABLE spill(x)')\n"
        "for _ in range(200):\n"
        "    c.execute('INSERT INTO spill VALUES (?)', ('y' * 4000,))\n"
        "c.execute(\"UPDATE blob SET value = value || 'uncommitted'\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(db)], timeout=60)
    assert proc.returncode == -signal.SIGKILL


class Recording(fs.Primitives):
    """The real primitives, remembering every path they mutate."""

    def __init__(self) -> None:
        self.touched: list[tuple[str, str]] = []

    def replace(self, src: str, dst: str) -> None:
        self.touched += [("replace", src), ("replace", dst)]
        super().replace(src, dst)

    def remove(self, path: str) -> None:
        self.touched.append(("remove", path))
        super().remove(path)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_05_hot_rollback_journal_is_rolled_back_by_sqlite_not_by_us(tmp_path: Path) -> None:
    seed = seed_v1(tmp_path, live_wal=False)
    conn = sqlite3.connect(seed.db)
    conn.execute("PRAGMA journal_mode=DELETE").close()  # a rollback-mode v1
    conn.close()
    before = dbcheck.row_checksum(seed.db)
    _kill_mid_transaction(seed.db)
    hot = Path(f"{seed.db}-journal")
    assert hot.read_bytes()[:8] == bytes.fromhex("d9d505f920a163d7"), "the journal is not hot"
    prims = Recording()
    with fs.use(prims):
        result = run(seed)
    assert result.migrated
    (backup,) = seed.layout.backups()
    assert dbcheck.row_checksum(backup) == before  # the migration saw the pre-transaction state
    assert "spill" not in dbcheck.tables(backup)
    assert not any(path.endswith("-journal") for _op, path in prims.touched)
    assert not hot.exists()  # SQLite played it back and deleted it when it opened data.db


def test_05b_a_persistent_journal_goes_with_its_base_into_the_backup(tmp_path: Path) -> None:
    """journal_mode=PERSIST keeps a (cold) -journal beside the v1; it must not stay beside v2."""
    seed = seed_v1(tmp_path, live_wal=False)
    conn = sqlite3.connect(seed.db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=PERSIST").close()
    conn.execute("INSERT INTO blob(namespace, key, value) VALUES ('s/x', 'k', 'v')").close()
    conn.close()
    assert Path(f"{seed.db}-journal").exists()
    before = dbcheck.row_checksum(seed.db)
    assert run(seed).migrated
    (backup,) = seed.layout.backups()
    assert not Path(f"{seed.db}-journal").exists()
    assert Path(f"{backup}-journal").exists()
    assert dbcheck.row_checksum(backup) == before


@pytest.mark.parametrize("name", [
    "Data dir ü",
    "hash#and%20percent",
    pytest.param("what?mode=ro&x=1", marks=pytest.mark.skipif(
        sys.platform == "win32", reason="'?' is not allowed in Windows file names")),
    "100% sure #1",
])
def test_06_paths_with_uri_special_characters(tmp_path: Path, name: str) -> None:
    seed = seed_v1(tmp_path / name)
    assert run(seed).migrated
    assert_complete_v2(seed)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_07_symlinked_data_dir_keeps_the_backup_beside_the_real_file(
        tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    link = tmp_path / "link to data"
    link.symlink_to(seed.data_dir)
    beside_link = sorted(p.name for p in tmp_path.iterdir())
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path)}
    done = subprocess.run([sys.executable, "-m", "executor_local", "--data-dir", str(link),
                           "migrate", "--json"], env=child_env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    backup = Path(json.loads(done.stdout)["backup"])
    assert backup.parent == seed.data_dir.resolve()
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == beside_link
    assert_complete_v2(seed)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_07_symlinked_data_db_is_refused_with_nothing_written(tmp_path: Path) -> None:
    seed = seed_v1(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for member in fs.sqlite_set(seed.db):
        if member.exists():
            fs.replace(member, elsewhere / member.name)
    seed.db.symlink_to(elsewhere / "data.db")
    before = dir_state(tmp_path)
    with pytest.raises(UnsupportedLayout) as info:
        run(seed)
    assert info.value.exit_code == EXIT_TOO_NEW
    assert "symbolic link" in info.value.message and str(elsewhere) in info.value.hint
    assert dir_state(tmp_path) == before


def test_08_hard_linked_data_db_is_refused_with_exit_5(seed: SeededV1, tmp_path: Path) -> None:
    other = tmp_path / "another name for data.db"
    os.link(seed.db, other)
    before = dir_state(tmp_path)
    with pytest.raises(UnsupportedLayout) as info:
        run(seed)
    assert info.value.exit_code == EXIT_TOO_NEW
    assert str(seed.db) in info.value.message and "2 hard links" in info.value.message
    assert info.value.hint
    assert dir_state(tmp_path) == before


def test_09_the_snapshot_is_taken_under_sqlite_s_exclusive_lock(
        seed: SeededV1, monkeypatch: pytest.MonkeyPatch) -> None:
    """However the snapshot is copied (the backup API on Windows, where a raw read past 1 GiB
    trips on the locked PENDING_BYTE page; the files in the kernel on POSIX), the v1 set is never
    copied through the fs layer's byte copy, and a writer cannot slip in while it is copied."""
    canonical = {str(p) for p in fs.sqlite_set(seed.db)}
    copied: list[str] = []

    class NoRawCopy(fs.Primitives):
        def copyfile(self, src: str, dst: str) -> None:
            copied.append(src)
            super().copyfile(src, dst)

    probes: list[str] = []

    writer = ("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=0)\n"
              "try:\n    c.execute('BEGIN IMMEDIATE')\n    print('wrote')\n"
              "except sqlite3.OperationalError as e:\n    print('locked:', e)\n")

    def racing_copy(*args, **kw):  # type: ignore[no-untyped-def]
        out = subprocess.run([sys.executable, "-c", writer, str(seed.db)], capture_output=True,
                             text=True, timeout=60).stdout
        probes.append(out.strip())
        return real_create(*args, **kw)

    real_create = fs.create_private_file
    monkeypatch.setattr(fs, "create_private_file", racing_copy)
    with fs.use(NoRawCopy()):
        assert run(seed).migrated
    assert not canonical.intersection(copied)
    # the first file the snapshot creates is its copy: a writer at that moment is locked out
    assert probes[0].startswith("locked:"), probes
    assert_complete_v2(seed)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("EXECUTOR_SLOW_TESTS") != "1",
                    reason="writes about 3 GiB; set EXECUTOR_SLOW_TESTS=1 to run it")
def test_09_a_database_past_one_gib_migrates(tmp_path: Path) -> None:
    seed = seed_v1(tmp_path, live_wal=False)
    conn = sqlite3.connect(seed.db)
    for i in range(6):  # one value may not pass SQLITE_MAX_LENGTH (1e9 bytes)
        conn.execute("INSERT INTO blob(namespace, key, value) VALUES (?, ?, zeroblob(?))",
                     (f"{v1gen.SCOPE}/big", f"part-{i}", 200 * 2**20))
    conn.commit()
    conn.close()
    assert seed.db.stat().st_size > 2**30
    seed.checksum = dbcheck.row_checksum(seed.db)
    assert run(seed).migrated
    assert_complete_v2(seed)


# ---------------------------------------------------------------------------------------------
# 5.2 bad inputs
# ---------------------------------------------------------------------------------------------


def _garbage(db: Path) -> None:
    db.write_bytes(os.urandom(8192))


def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _damaged_page(db: Path) -> None:
    page_size = int.from_bytes(db.read_bytes()[16:18], "big")
    with open(db, "r+b") as f:
        f.seek(page_size * 1)  # page 2's b-tree page type byte
        f.write(b"\x07")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _damaged_page],
                         ids=["10-garbage", "11-truncated", "12-damaged-page"])
def test_10_11_12_corrupt_data_exits_6_and_names_the_untouched_original(
        tmp_path: Path, damage: Callable[[Path], None]) -> None:
    seed = seed_v1(tmp_path, live_wal=False)
    damage(seed.db)
    damaged = seed.db.read_bytes()
    with pytest.raises(DataCorrupt) as info:
        run(seed)
    assert info.value.exit_code == EXIT_CORRUPT
    assert f"The original is untouched at {seed.db}" in info.value.hint
    assert seed.db.read_bytes() == damaged
    no_debris(seed.layout)
    assert seed.layout.backups() == []
    assert seed.auth_path.read_bytes() == seed.auth_bytes
    assert list(seed.auth_path.parent.glob("auth.json.*")) == []
    for sidecar in fs.sqlite_set(seed.db)[1:]:  # SQLite's own, empty, if it opened the file
        assert not sidecar.exists() or sidecar.name.endswith("-shm") or \
            sidecar.stat().st_size == 0


def test_13_zero_byte_data_db_alone_is_a_fresh_install(tmp_path: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    (d / "data.db").touch()
    recover(Layout(d))
    assert migrate_if_needed(Layout(d), tmp_path / "auth.json").status == "fresh"
    open_store(d / "data.db").close()
    assert dbcheck.is_stamped_v2(d / "data.db")


def _evidence_backup(layout: Layout, tmp: Path) -> None:
    v1gen.make_v1_final(layout.backup("v1-v2", 1, "deadbeef"))


def _evidence_building_journal(layout: Layout, tmp: Path) -> None:
    snap = layout.source("deadbeef")
    v1gen.make_v1_final(snap)
    journal_io.write(layout.journal, Journal(
        kind="v1-v2", nonce="deadbeef", created_ms=1, source=str(layout.db),
        snapshot=str(snap), staging=str(layout.staging("deadbeef")),
        backup=str(layout.backup("v1-v2", 1, "deadbeef"))))


def _evidence_torn_journal(layout: Layout, tmp: Path) -> None:
    v1gen.make_v1_final(layout.staging("deadbeef"))
    layout.journal.write_text('{"pha')


@pytest.mark.parametrize("evidence", [
    _evidence_backup, _evidence_building_journal, _evidence_torn_journal,
], ids=["backup", "building-journal", "24-torn-journal"])
def test_14_zero_byte_data_db_with_evidence_of_data_is_refused(
        tmp_path: Path, evidence: Callable[[Layout, Path], None]) -> None:
    layout = Layout(tmp_path / "data")
    layout.data_dir.mkdir()
    evidence(layout, tmp_path)
    for member in fs.sqlite_set(layout.db)[1:]:  # evidence files only; data.db alone is empty
        member.unlink(missing_ok=True)
    for p in list(layout.data_dir.glob("*-wal")) + list(layout.data_dir.glob("*-shm")):
        p.unlink()
    layout.db.touch()
    before = dir_state(tmp_path)
    with pytest.raises(DataCorrupt) as info:
        recover(layout)
        migrate_if_needed(layout, tmp_path / "auth.json")
    assert info.value.exit_code == EXIT_CORRUPT
    assert info.value.message and info.value.hint
    assert dir_state(tmp_path) == before  # nothing deleted, nothing created


def test_15_zero_byte_data_db_beside_a_non_empty_wal_is_refused(tmp_path: Path) -> None:
    donor = seed_v1(tmp_path / "donor")
    layout = Layout(tmp_path / "data")
    layout.data_dir.mkdir()
    shutil.copyfile(f"{donor.db}-wal", f"{layout.db}-wal")
    layout.db.touch()
    before = dir_state(layout.data_dir)
    with pytest.raises(DataCorrupt) as info:
        recover(layout)
        migrate_if_needed(layout, tmp_path / "auth.json")
    assert info.value.exit_code == EXIT_CORRUPT and "data.db-wal" in info.value.message
    assert dir_state(layout.data_dir) == before


@pytest.mark.parametrize("keep_shm", [True, False], ids=["with-shm", "without-shm"])
def test_16_truncated_wal_migrates_what_sqlite_recovers(tmp_path: Path, keep_shm: bool) -> None:
    seed = seed_v1(tmp_path)
    wal = Path(f"{seed.db}-wal")
    wal.write_bytes(wal.read_bytes()[:-100])  # the last frame, the live WAL row, is cut
    if not keep_shm:
        Path(f"{seed.db}-shm").unlink()
    recovered = dbcheck.row_checksum(seed.db)  # what SQLite recovers from the set as found
    assert recovered["blob"][0] == seed.checksum["blob"][0] - 1  # the cut row is gone
    seed.checksum = recovered
    assert run(seed).migrated
    assert_complete_v2(seed)  # the backup holds exactly what SQLite recovered


def test_17_a_mispaired_wal_is_migrated_as_sqlite_presents_it(tmp_path: Path) -> None:
    """Not detectable (a WAL names no database); what we guarantee is never to make the pair."""
    other = seed_v1(tmp_path / "other")
    seed = seed_v1(tmp_path / "mine", live_wal=False)
    shutil.copyfile(f"{other.db}-wal", f"{seed.db}-wal")
    seed.checksum = dbcheck.row_checksum(seed.db)
    assert run(seed).migrated
    assert_complete_v2(seed)  # the backup holds exactly what SQLite showed: nothing dropped


@pytest.mark.parametrize("shape", ["too-new", "unknown"])
def test_18_too_new_or_unknown_data_leaves_every_byte_of_the_dir(tmp_path: Path,
                                                                 shape: str) -> None:
    d = tmp_path / "data"
    d.mkdir()
    if shape == "too-new":
        make_too_new(d / "data.db")
    else:
        conn = sqlite3.connect(d / "data.db")
        conn.execute("CREATE TABLE something_else (x)")
        conn.commit()
        conn.close()
    before = dir_state(tmp_path)
    with pytest.raises(DataTooNew) as info:
        recover(Layout(d))
        migrate_if_needed(Layout(d), tmp_path / "auth.json")
    assert info.value.exit_code == EXIT_TOO_NEW and "left untouched" in info.value.message
    assert dir_state(tmp_path) == before  # no -wal, no -shm, no journal: zero writes


def test_18_too_new_with_a_live_wal_keeps_the_database_and_its_wal(tmp_path: Path) -> None:
    """With WAL content only SQLite can read it; its read-only open may refresh -shm only."""
    d = tmp_path / "data"
    d.mkdir()
    make_too_new(d / "data.db")
    code = ("import os, sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "c.execute(\"INSERT INTO data_migration VALUES ('2099-02-02-later', 2)\")\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(d / "data.db")], check=True, timeout=60)
    before = dir_state(d)
    with pytest.raises(DataTooNew):
        migrate_if_needed(Layout(d), tmp_path / "auth.json")
    after = dir_state(d)
    assert {k: v for k, v in after.items() if not k.endswith("-shm")} == \
        {k: v for k, v in before.items() if not k.endswith("-shm")}


def test_20_building_journal_with_garbage_staging_restarts_from_v1(seed: SeededV1) -> None:
    layout = seed.layout
    snap, staging = layout.source("0badf00d"), layout.staging("0badf00d")
    snap.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    staging.write_bytes(os.urandom(5000))
    Path(f"{staging}-wal").write_bytes(os.urandom(777))
    journal_io.write(layout.journal, Journal(
        kind="v1-v2", nonce="0badf00d", created_ms=1, source=str(seed.db), snapshot=str(snap),
        staging=str(staging), backup=str(layout.backup("v1-v2", 1, "0badf00d")),
        auth_path=str(seed.auth_path), auth_backup=str(seed.auth_path) + ".v1-v2-1-0badf00d",
        auth_existed=True))
    assert recover(layout) == "rolled back an unfinished v1-v2 (0badf00d)"
    untouched_after_refusal(seed)
    assert migrate_if_needed(layout, seed.auth_path).migrated
    assert_complete_v2(seed)


def test_21_partial_staging_without_a_journal_is_debris(seed: SeededV1) -> None:
    layout = seed.layout
    data = seed.db.read_bytes()
    layout.staging("12345678").write_bytes(data[: len(data) // 3])
    Path(f"{layout.staging('12345678')}-wal").write_bytes(b"\0" * 100)
    layout.source("12345678").write_bytes(data[:4096])
    assert recover(layout) == "removed leftovers of an earlier run"
    untouched_after_refusal(seed)
    assert migrate_if_needed(layout, seed.auth_path).migrated
    assert_complete_v2(seed)


def _committed_journal(seed: SeededV1, phase: str) -> Journal:
    """A journal for the migration that already ran, as if its last steps had not."""
    backup = seed.layout.backups()[0]
    nonce = backup.name.rsplit("-", 1)[1]
    auth_backup = next(seed.auth_path.parent.glob("auth.json.v1-v2-*"))
    return Journal(kind="v1-v2", nonce=nonce, created_ms=1, source=str(seed.db),
                   snapshot=str(seed.layout.source(nonce)),
                   staging=str(seed.layout.staging(nonce)), backup=str(backup),
                   auth_path=str(seed.auth_path), auth_backup=str(auth_backup),
                   auth_existed=True, phase=phase)


def test_22_committed_journal_over_an_installed_v2_finishes_clean_up(seed: SeededV1) -> None:
    assert run(seed).migrated
    installed = dir_state(seed.data_dir)["data.db"]
    journal = _committed_journal(seed, "committed")
    Path(journal.snapshot or "").write_bytes(b"leftover snapshot")
    journal_io.write(seed.layout.journal, journal)
    assert recover(seed.layout) is not None
    assert dir_state(seed.data_dir)["data.db"] == installed
    assert_complete_v2(seed)  # the backup is kept, the snapshot and the journal are gone


def test_23_an_install_that_vanished_puts_the_backup_back(seed: SeededV1) -> None:
    """The flip moved v1 aside, then neither staging nor the new data.db is there (a lost
    rename, or someone deleted it): recovery must not leave a dir that starts empty."""
    assert run(seed).migrated
    journal = _committed_journal(seed, "canonical-moved")
    journal_io.write(seed.layout.journal, journal)
    for member in fs.sqlite_set(seed.db):
        fs.remove(member)  # the installed v2 is gone
    assert recover(seed.layout) is not None
    untouched_after_refusal(seed)  # the v1 set is data.db again, auth.json as it was
    assert migrate_if_needed(seed.layout, seed.auth_path).migrated
    assert_complete_v2(seed)


def test_24_truncated_journal_with_data_db_restarts_and_keeps_v1(seed: SeededV1) -> None:
    """An unreadable journal beside a data.db: the ordering (staging is consumed before data.db
    can be missing) makes its debris redundant, so it is discarded and the migration redone."""
    seed.layout.journal.write_text('{"pha')
    seed.layout.staging("feedface").write_bytes(b"half")
    assert recover(seed.layout) == "discarded an unreadable journal"
    untouched_after_refusal(seed)
    assert migrate_if_needed(seed.layout, seed.auth_path).migrated
    assert_complete_v2(seed)


# ---------------------------------------------------------------------------------------------
# 5.3 environment and permission faults
# ---------------------------------------------------------------------------------------------

NOBODY = 65534
as_another_user = pytest.mark.skipif(
    not (IS_ROOT and LINUX), reason="needs root on Linux to run a forked child as 'nobody'")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A tmp dir another user can reach (pytest's own tmp_path is 0700 root)."""
    base = Path(tempfile.mkdtemp(prefix="executor-matrix-"))
    os.chmod(base, 0o711)
    try:
        yield base
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                os.chmod(path, 0o700)
        shutil.rmtree(base)


def cli_as_nobody(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``executor ARGS`` in a forked child that dropped to uid/gid 65534; (exit code, stderr)."""
    # What the child needs, imported before the fork: 'nobody' cannot read /root's modules.
    import logging.handlers  # noqa: F401

    import executor_local.boot.sequence  # noqa: F401
    from executor_local.cli import main

    err = tempfile.TemporaryFile()  # noqa: SIM115 - shared with the child, closed below
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(err.fileno()), "wb"),
                                          write_through=True)
            os.environ.update(env)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    with err:
        err.seek(0)
        return os.waitstatus_to_exitcode(status), err.read().decode()


def _nobody_seed(base: Path) -> SeededV1:
    seed = seed_v1(base)
    for path in [base, *base.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    os.chmod(seed.data_dir, 0o700)
    return seed


@as_another_user
@pytest.mark.parametrize("command", [["migrate"], ["daemon", "run", "--foreground",
                                                   "--port", "0"]], ids=["migrate", "daemon"])
def test_25_read_only_data_dir_is_refused_naming_it(shared_tmp: Path,
                                                    command: list[str]) -> None:
    seed = _nobody_seed(shared_tmp)
    os.chmod(seed.data_dir, 0o555)
    before = dir_state(shared_tmp)
    code, err = cli_as_nobody(["--data-dir", str(seed.data_dir), *command],
                              {"EXECUTOR_AUTH_FILE": str(seed.auth_path)})
    assert code == EXIT_CANNOT_WRITE, err
    assert f"the data dir {seed.data_dir} is read-only" in err and "what to do:" in err
    assert "Traceback" not in err and "this is a bug" not in err
    assert dir_state(shared_tmp) == before  # no lock, no log, no journal: nothing created


@as_another_user
def test_26_read_only_data_db_is_refused_naming_it(shared_tmp: Path) -> None:
    seed = _nobody_seed(shared_tmp)
    os.chmod(seed.db, 0o444)
    before = dir_state(shared_tmp)
    code, err = cli_as_nobody(["--data-dir", str(seed.data_dir), "migrate"],
                              {"EXECUTOR_AUTH_FILE": str(seed.auth_path)})
    assert code == EXIT_CANNOT_WRITE, err
    assert f"{seed.db} cannot be written by this user" in err and "mode 0444" in err
    after = dir_state(shared_tmp)
    assert set(after) - set(before) == {"data/data.db.owner-lock"}  # the command's own lock
    assert {k: after[k] for k in before} == before


@as_another_user
def test_27_wal_owned_by_another_user_is_refused_and_kept(shared_tmp: Path) -> None:
    seed = _nobody_seed(shared_tmp)
    wal = Path(f"{seed.db}-wal")
    os.chown(wal, 0, 0)  # as a 'sudo executor' run leaves it
    os.chmod(wal, 0o644)
    before = dir_state(shared_tmp)
    code, err = cli_as_nobody(["--data-dir", str(seed.data_dir), "migrate"],
                              {"EXECUTOR_AUTH_FILE": str(seed.auth_path)})
    assert code == EXIT_CANNOT_WRITE, err
    assert str(wal) in err and "owned by uid 0 (root)" in err and "uid 65534" in err
    after = dir_state(shared_tmp)
    assert {k: after[k] for k in before} == before  # the WAL and every other file kept


class FailingWrites(fs.Primitives):
    """Fails the Nth call of one primitive with an errno, once or from then on."""

    def __init__(self, op: str, n: int, code: int, *, persistent: bool = False,
                 only: Callable[[str], bool] = lambda path: True, half: bool = False) -> None:
        self.op, self.n, self.code, self.persistent = op, n, code, persistent
        self.only, self.half = only, half
        self.calls = 0
        self.failed: list[str] = []

    def _maybe_fail(self, op: str, path: str) -> None:
        if op != self.op or not self.only(path):
            return
        self.calls += 1
        if self.calls == self.n or (self.persistent and self.calls > self.n):
            self.failed.append(path)
            raise OSError(self.code, os.strerror(self.code), path)

    def copyfile(self, src: str, dst: str) -> None:
        if self.half and self.op == "copyfile" and self.only(src):
            with open(src, "rb") as f, open(dst, "wb") as out:  # a partial copy, then ENOSPC
                out.write(f.read()[: os.path.getsize(src) // 2])
        self._maybe_fail("copyfile", src)
        super().copyfile(src, dst)

    def write(self, fd: int, data: bytes) -> int:
        self._maybe_fail("write", _fd_path(fd))
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self._maybe_fail("fsync", _fd_path(fd))
        super().fsync(fd)

    def fsync_dir(self, path: str) -> None:
        self._maybe_fail("fsync", path)
        super().fsync_dir(path)


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"<fd {fd}>"


def after_failed_launch(seed: SeededV1) -> str:
    """The state a failed launch left, checked; then the next (healthy) launch must complete.

    ``v1``: rolled back, nothing left behind. ``building``/``built``: a journal whose rollback
    could not finish (its own flush failed too), the v1 set still whole in place.
    ``canonical-moved``/``committed``: stopped inside the flip; the next launch rolls forward.
    ``done``: failed after the last step (flushing the dir once the journal was removed).
    """
    journal = journal_io.read(seed.layout.journal)
    if journal is None and seed.db.exists() and dbcheck.is_stamped_v2(seed.db):
        assert_complete_v2(seed)  # failed flushing the dir after removing the journal
        state = "done"
    elif journal is None:
        untouched_after_refusal(seed)
        state = "v1"
    else:
        state = journal.phase
        if state in ("building", "built"):  # nothing was swapped (auth.json: restored next)
            assert dbcheck.row_checksum(seed.db) == seed.checksum
            assert seed.layout.backups() == []
    recover(seed.layout)
    migrate_if_needed(seed.layout, seed.auth_path)
    assert_complete_v2(seed)
    return state


def test_28_enospc_copying_auth_json_leaves_no_partial_backup(seed: SeededV1) -> None:
    prims = FailingWrites("copyfile", 1, errno.ENOSPC, half=True)
    with fs.use(prims), pytest.raises(NoSpace) as info:
        run(seed)
    assert prims.failed == [str(seed.auth_path)]
    assert info.value.exit_code == EXIT_NO_SPACE and "disk is full" in info.value.message
    assert list(seed.auth_path.parent.iterdir()) == [seed.auth_path]  # no partial, no temp
    assert after_failed_launch(seed) == "v1"


def test_29_sqlite_full_while_building_rolls_back(seed: SeededV1,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import executor_local.migrate.run as run_module

    conn = sqlite3.connect(seed.db)  # a row the v2 file needs new pages for
    conn.execute("INSERT INTO blob(namespace, key, value) VALUES (?, 'big', ?)",
                 (f"{v1gen.SCOPE}/big", "b" * 65536))
    conn.commit()
    conn.close()
    seed.checksum = dbcheck.row_checksum(seed.db)
    real = run_module.create_v2_schema

    def then_cap_the_file(conn: sqlite3.Connection) -> None:
        real(conn)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages + 1}").close()  # SQLITE_FULL soon after

    monkeypatch.setattr(run_module, "create_v2_schema", then_cap_the_file)
    with pytest.raises(NoSpace) as info:
        run(seed)
    assert info.value.exit_code == EXIT_NO_SPACE and "rolled back" in info.value.message
    monkeypatch.setattr(run_module, "create_v2_schema", real)
    assert after_failed_launch(seed) == "v1"


@needs_linux
@pytest.mark.parametrize("nth", [1, 2, 3, 4, 5], ids=["building", "built", "flip-checked",
                                                      "canonical-moved", "committed"])
def test_30_enospc_writing_the_journal(seed: SeededV1, nth: int) -> None:
    prims = FailingWrites("write", nth, errno.ENOSPC,
                          only=lambda path: journal_io.VERSION and ".v1-v2-migration.json" in path)
    with fs.use(prims), pytest.raises(NoSpace) as info:
        run(seed)
    assert prims.failed, "the journal write never failed"
    assert info.value.exit_code == EXIT_NO_SPACE and str(seed.layout.journal) in info.value.message
    if nth == 1:
        assert dir_state(seed.data_dir).keys() == {"data.db", "data.db-wal", "data.db-shm"}
    # before the install: rolled back; the failed `committed` write: v2 in, journal kept
    expected = "canonical-moved" if nth == 5 else "v1"
    assert after_failed_launch(seed) == expected


def _count_fsyncs(tmp_path: Path) -> int:
    probe_seed = seed_v1(tmp_path / "count")
    prims = FailingWrites("fsync", 10**9, errno.EIO)
    with fs.use(prims):
        assert run(probe_seed).migrated
    return prims.calls


@needs_linux
@pytest.mark.parametrize("persistent", [False, True], ids=["once", "from-then-on"])
def test_31_eio_from_any_fsync_stops_the_migration(tmp_path: Path, persistent: bool) -> None:
    """test_syscall.c style: fail the Nth fsync (file or dir) with EIO, for every N. Never carry
    on past it: before the install everything is rolled back; after it, the journal finishes."""
    total = _count_fsyncs(tmp_path)
    assert total > 10
    outcomes = {}
    for n in range(1, total + 1):
        seed = seed_v1(tmp_path / f"n{n}")
        prims = FailingWrites("fsync", n, errno.EIO, persistent=persistent)
        with fs.use(prims), pytest.raises(DiskFailure) as info:
            run(seed)
        assert info.value.exit_code == EXIT_CANNOT_WRITE
        assert prims.failed[0] in info.value.message and "disk reported an error" in \
            info.value.message
        outcomes[n] = after_failed_launch(seed)
    # never carried on: every failure before the flip's first move is a full rollback (or, when
    # the rollback's own flush fails too, a journal the next launch rolls back or forward)
    assert outcomes[1] == "v1"
    assert "canonical-moved" in outcomes.values() or "committed" in outcomes.values()
    first_in_flip = min(n for n, s in outcomes.items() if s in ("canonical-moved", "committed"))
    assert all(s in ("v1", "building", "built") for n, s in outcomes.items() if n < first_in_flip)
    assert all(s != "v1" for n, s in outcomes.items() if n > first_in_flip)


@pytest.mark.parametrize(("code", "winerror", "ignored"), [
    (errno.EINVAL, None, True),
    (errno.EOPNOTSUPP, None, True),
    (errno.EBADF, 6, True),  # a Windows read-only handle
    (errno.EACCES, 5, True),
    (errno.EBADF, None, False),  # on POSIX a bad descriptor is our bug: say so
    (errno.EIO, None, False),
    (errno.ENOSPC, None, False),
])
def test_31_only_cannot_flush_errors_are_ignored(tmp_path: Path, code: int,
                                                 winerror: int | None, ignored: bool) -> None:
    class Fails(fs.Primitives):
        def fsync(self, fd: int) -> None:
            exc = OSError(code, os.strerror(code))
            if winerror is not None:
                exc.winerror = winerror  # type: ignore[attr-defined]
            raise exc

    (tmp_path / "f").write_bytes(b"x")
    with fs.use(Fails()):
        if ignored:
            fs.fsync_file(tmp_path / "f")
            return
        with pytest.raises(ExecutorError) as info:
            fs.fsync_file(tmp_path / "f")
    assert isinstance(info.value, NoSpace if code == errno.ENOSPC else DiskFailure)
    assert str(tmp_path / "f") in info.value.message and info.value.hint


def test_32_free_space_check_refuses_before_writing(seed: SeededV1,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import executor_local.migrate.run as run_module

    usage = shutil.disk_usage(seed.data_dir)
    monkeypatch.setattr(run_module.shutil, "disk_usage",
                        lambda path: usage._replace(free=4096))
    before = without_shm(dir_state(seed.data_dir.parent))
    with pytest.raises(NoSpace) as info:
        run(seed)
    assert info.value.exit_code == EXIT_NO_SPACE and "MiB free" in info.value.message
    assert without_shm(dir_state(seed.data_dir.parent)) == before


def _launch(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "migrate", *args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (root, Linux): ENOSPC for real, for SQLite's writes too."""
    if not (IS_ROOT and LINUX):
        pytest.skip("mounting a tmpfs needs root on Linux")
    mnt = tmp_path / "small disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                           str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def full_disk_failure(exc: BaseException) -> str:
    """``no-space`` for our exit 8; ``sqlite-ioerr`` for a full disk SQLite reported as an I/O
    error (it does for its -shm: SQLITE_IOERR_SHMSIZE), which ``run._as_space_error`` does not
    map yet, so it leaves as exit 1. Anything else fails the test."""
    if isinstance(exc, NoSpace):
        assert exc.exit_code == EXIT_NO_SPACE and exc.message and exc.hint
        return "no-space"
    raise exc  # anything else, SQLite's "disk I/O error" on a full disk included, is a bug


def leave_free(disk: Path, free: int) -> Path:
    """Fill ``disk`` with a ballast file until about ``free`` bytes are left."""
    ballast = disk / "ballast"
    want = max(0, shutil.disk_usage(disk).free - free)
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = b"\0" * 65536
        while want > 0:
            try:
                want -= os.write(fd, chunk[:want])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return ballast


@pytest.mark.parametrize("free_kib", list(range(0, 720, 48)))
def test_28_29_a_disk_that_fills_up_at_any_step(small_disk: Path, free_kib: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the free-space check (forced open), the disk fills up wherever the migration is:
    the journal, the auth.json backup, the snapshot, SQLite's build, the checkpoint, the flip.
    Exit 8, the v1 whole, no partial file left; with space again, the next launch completes."""
    monkeypatch.setenv("EXECUTOR_TEST_MODE", "1")
    monkeypatch.setenv("EXECUTOR_TEST_FREE_BYTES", str(2**40))
    seed = seed_v1(small_disk / "root")
    ballast = leave_free(small_disk, free_kib * 1024)
    outcome = None
    try:
        run(seed)
    except Exception as exc:
        outcome = full_disk_failure(exc)
    ballast.unlink()
    if outcome is None:
        assert_complete_v2(seed)
    else:
        assert after_failed_launch(seed) in ("v1", "canonical-moved", "committed", "done")


@pytest.mark.parametrize("point", ["snapshot-taken", "built", "canonical-moved-base"])
def test_49_crash_then_a_full_disk_during_recovery(small_disk: Path, tmp_path: Path,
                                                   env: dict[str, str], point: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_TEST_MODE", "1")
    monkeypatch.setenv("EXECUTOR_TEST_FREE_BYTES", str(2**40))  # a 4 MiB disk: past the check
    seed = seed_v1(small_disk / "root")
    marker = tmp_path / "paused-at"
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
                 "EXECUTOR_TEST_MODE": "1", "EXECUTOR_MIGRATION_PAUSE_AT": point,
                 "EXECUTOR_MIGRATION_PAUSE_FILE": str(marker),
                 "EXECUTOR_TEST_FREE_BYTES": str(2**40)}  # a 4 MiB disk: past the pre-check
    child = _launch(seed.data_dir, child_env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # polling for the child's pause marker
        assert marker.exists(), child.communicate()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    ballast = leave_free(small_disk, 0)
    outcome = None
    try:
        recover(seed.layout)
        migrate_if_needed(seed.layout, seed.auth_path)
    except Exception as exc:
        outcome = full_disk_failure(exc)
    ballast.unlink()
    after_failed_launch(seed)  # whatever the full disk left, the next launch completes
    assert outcome in (None, "no-space")


# ---------------------------------------------------------------------------------------------
# 5.4 concurrency
# ---------------------------------------------------------------------------------------------


def test_35_two_migrate_commands_at_once_migrate_once(tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path)}
    launches = [_launch(seed.data_dir, child_env, "--json") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in launches]
    statuses = []
    for code, out, err in results:
        assert "Traceback" not in err
        if code == 0:
            statuses.append(json.loads(out)["status"])
        else:
            assert code == 4 and "already running" in err, (code, err)
            statuses.append("refused")
    assert statuses.count("migrated") == 1 and set(statuses) <= {"migrated", "v2", "refused"}
    assert_complete_v2(seed)


LEAK_CHECK = r"""
import gc, json, os, sys, warnings
from pathlib import Path
warnings.simplefilter("error", ResourceWarning)
unraisable = []
sys.unraisablehook = lambda u: unraisable.append(repr(u.exc_value))
from executor_local.migrate.layout import Layout
from executor_local.migrate.recover import recover
from executor_local.migrate.run import migrate_if_needed
gc.disable()  # only explicit close() may release a handle, as on Windows
data_dir, auth = Path(sys.argv[1]), Path(sys.argv[2])
recover(Layout(data_dir))
assert migrate_if_needed(Layout(data_dir), auth).migrated
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith((str(data_dir), str(auth.parent))):
        held.append(target)
gc.enable()
gc.collect()
print(json.dumps({"held": held, "unraisable": unraisable}))
"""


@needs_linux
def test_41_no_handle_left_open_and_no_resource_warning(seed: SeededV1,
                                                        env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", LEAK_CHECK,
         str(seed.data_dir), str(seed.auth_path)],
        env=pythonpath_env(env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"held": [], "unraisable": []}
    assert_complete_v2(seed)


@needs_linux
def test_42_no_descriptor_is_closed_while_sqlite_still_has_the_file_open(
        seed: SeededV1, monkeypatch: pytest.MonkeyPatch) -> None:
    """howtocorrupt §2.2: closing any descriptor of a file drops this process's POSIX locks on
    it, SQLite's included. Our raw descriptors (os.open: the snapshot's locked copy, fsyncs)
    may only be closed once no other descriptor of this process has the file open, and a file
    object (open()) is never made on a file SQLite has open."""
    roots = (str(seed.data_dir), str(seed.auth_path.parent))
    ours: dict[int, str] = {}
    seen: list[str] = []
    violations: list[str] = []

    def others_holding(target: str, exclude: int | None) -> bool:
        for name in os.listdir("/proc/self/fd"):
            if exclude is not None and int(name) == exclude:
                continue
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{name}") == target:
                    return True
        return False

    real_os_open, real_os_close, real_io_open = os.open, os.close, io.open

    def spy_os_open(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        fd = real_os_open(path, flags, mode, dir_fd=dir_fd)
        target = os.path.realpath(os.fspath(path)) if isinstance(path, (str, Path)) else ""
        if target.startswith(roots):
            ours[fd] = target
            seen.append(target)
        return fd

    def spy_os_close(fd: int) -> None:
        target = ours.pop(fd, None)
        if target is not None and others_holding(target, fd):
            violations.append(f"close {target}")
        real_os_close(fd)

    def spy_io_open(file, *a, **kw):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, Path)):
            target = os.path.realpath(file)
            if target.startswith(roots) and os.path.exists(target) \
                    and others_holding(target, None):
                violations.append(f"open {target}")
        return real_io_open(file, *a, **kw)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(os, "close", spy_os_close)
    monkeypatch.setattr(io, "open", spy_io_open)
    monkeypatch.setattr("builtins.open", spy_io_open)
    assert run(seed).migrated
    monkeypatch.undo()
    assert str(seed.db) in seen, "the spy saw no descriptor of ours on data.db"
    assert violations == []
    assert_complete_v2(seed)


# ---------------------------------------------------------------------------------------------
# 5.5 crash consistency
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_v1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, bytes]:
    """A v1-final data dir of about 48 MiB (made once), its row checksum and auth.json."""
    root = tmp_path_factory.mktemp("large-v1")
    auth = root / "auth.json"
    v1gen.make_large_v1(root / "data" / "data.db", 48 * 2**20, auth_path=auth)
    return root / "data", dbcheck.row_checksum(root / "data" / "data.db"), auth.read_bytes()


def _staged_bytes(data_dir: Path, kind: str) -> int:
    total = 0
    for path in data_dir.glob(f"data.db.{kind}-*"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("run_seed", range(4))
def test_44_sigkill_at_a_random_moment_of_a_large_build(
        tmp_path: Path, env: dict[str, str], large_v1: tuple[Path, dict, bytes],
        run_seed: int) -> None:
    template, checksum, auth_bytes = large_v1
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    auth = tmp_path / "xdg" / "auth.json"
    auth.parent.mkdir()
    auth.write_bytes(auth_bytes)
    seed = SeededV1(data_dir, auth, checksum, auth_bytes)
    rng = random.Random(4400 + run_seed)
    kind = rng.choice(["source", "building", "building"])  # the snapshot copy, or the build
    threshold = int(rng.uniform(0.05, 0.85) * (template / "data.db").stat().st_size)
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(auth)}
    child = _launch(data_dir, child_env)
    try:
        deadline = time.monotonic() + 120
        while child.poll() is None and _staged_bytes(data_dir, kind) < threshold:
            assert time.monotonic() < deadline, "the build never reached the threshold"
            time.sleep(0.001)  # polling the staging file's size
        killed = child.poll() is None
        if killed:
            os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert killed or child.returncode == 0
    if seed.layout.journal.exists():
        # Killed mid-migration: only a kill leaves a journal, and the next launch must finish
        # (or undo) it, which assert_complete_v2 below checks.
        assert killed, "a migration that exited by itself left its journal behind"
    else:
        assert assert_invariant(seed) in ("v1", "v2")
    again = _launch(data_dir, child_env, "--json")
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert_complete_v2(seed)


class Tracing(fs.Primitives):
    """Records the fs layer's durable operations, in order, by path."""

    def __init__(self) -> None:
        self.trace: list[tuple[str, str, str]] = []
        self.phases: list[str] = []  # each journal phase, in the order it was written

    def replace(self, src: str, dst: str) -> None:
        self.trace.append(("replace", src, dst))
        if dst.endswith(".v1-v2-migration.json"):
            self.phases.append(json.loads(Path(src).read_text())["phase"])
        super().replace(src, dst)

    def remove(self, path: str) -> None:
        self.trace.append(("remove", path, ""))
        super().remove(path)

    def write(self, fd: int, data: bytes) -> int:
        self.trace.append(("write", _fd_path(fd), ""))
        return super().write(fd, data)

    def copyfile(self, src: str, dst: str) -> None:
        self.trace.append(("write", dst, ""))
        super().copyfile(src, dst)

    def fsync(self, fd: int) -> None:
        self.trace.append(("fsync", _fd_path(fd), ""))
        super().fsync(fd)

    def fsync_dir(self, path: str) -> None:
        self.trace.append(("fsync_dir", path, ""))
        super().fsync_dir(path)


def durability_violations(tracing: Tracing, seed: SeededV1) -> list[str]:
    """The ordering a power-loss model checks (ALICE's two most common bugs), on a trace:
    (45) a file is fsynced after its last write and before it is renamed into place, and the
    staging file before the ``built`` phase; (46) every rename or remove is followed by an fsync
    of its dir before the next journal phase is written and before the migration returns."""
    journal = str(seed.layout.journal)
    phases = iter(tracing.phases)
    pending_dirs: set[str] = set()
    flushed: set[str] = set()
    found: list[str] = []
    staging_flushed_before_built = False
    for op, path, dst in tracing.trace:
        if op == "write":
            flushed.discard(path)
        elif op == "fsync":
            flushed.add(path)
        elif op == "fsync_dir":
            pending_dirs.discard(path)
        elif op == "replace":
            if path not in flushed and not path.endswith("-shm"):  # -shm: an index, no data
                found.append(f"#45: {path} renamed to {dst} before being fsynced")
            if dst == journal:
                if pending_dirs:
                    found.append(f"#46: {sorted(pending_dirs)} unflushed at a new phase")
                if next(phases) == "built":
                    staging_flushed_before_built = any(
                        p.startswith(str(seed.data_dir / "data.db.building-")) for p in flushed)
            pending_dirs.add(os.path.dirname(dst))
            if path in flushed:
                flushed.add(dst)
        elif op == "remove":
            pending_dirs.add(os.path.dirname(path))
    if pending_dirs:
        found.append(f"#46: {sorted(pending_dirs)} never flushed after a rename or remove")
    if not staging_flushed_before_built:
        found.append("#45: staging not fsynced before the `built` phase")
    return found


@needs_linux
def test_45_46_every_rename_is_of_flushed_data_and_is_flushed_before_the_next_step(
        seed: SeededV1) -> None:
    tracing = Tracing()
    with fs.use(tracing):
        assert run(seed).migrated
    assert any(op == "replace" and dst == str(seed.db) for op, _p, dst in tracing.trace)
    assert durability_violations(tracing, seed) == []


@needs_linux
@pytest.mark.parametrize("drop", ["file", "dir"])
def test_45_46_negative_control_the_check_sees_a_missing_fsync(
        seed: SeededV1, monkeypatch: pytest.MonkeyPatch, drop: str) -> None:
    """The harness proves itself: with file (or dir) fsyncs dropped the same check fails."""
    tracing = Tracing()
    if drop == "file":
        monkeypatch.setattr(Tracing, "fsync", lambda self, fd: None)
    else:
        monkeypatch.setattr(Tracing, "fsync_dir", lambda self, path: None)
    with fs.use(tracing):
        assert run(seed).migrated
    found = durability_violations(tracing, seed)
    assert found and all(v.startswith("#45" if drop == "file" else "#46") for v in found), found
