"""The v1 -> v2 migration in-process, under the real fs layer and under Windows rules.

Every scenario runs twice: with the real primitives, and with ``winsim.WindowsSemantics`` and
automatic GC off, so only the fs layer's own ``gc.collect()`` can free a leaked handle. Under a
real Windows CPython (tests/windows/run.sh) the real primitives already follow Windows rules, so
the "windows" case runs them with automatic GC off instead of the Linux double.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbcheck
from executor_local import fs
from executor_local.errors import DataCorrupt, DataDirOwned, DataTooNew, FileLocked, NoSpace
from executor_local.migrate import journal as journal_io
from executor_local.migrate.recover import recover
from executor_local.migrate.run import dry_run, migrate_if_needed
from migration_env import (
    SeededV1,
    assert_complete_v2,
    assert_untouched_v1,
    launch,
    seed_v1,
)
from winsim import WindowsSemantics

ON_WINDOWS = sys.platform == "win32"


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)


@pytest.fixture(params=["real", "windows"])
def layer(request: pytest.FixtureRequest) -> Iterator[fs.Primitives | None]:
    clock = FakeClock()
    if request.param == "real":
        with fs.use(policy=fs.RetryPolicy(sleep=clock.sleep)):
            yield None
        return
    prims = fs.Primitives() if ON_WINDOWS else WindowsSemantics()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep)):
            yield prims
    finally:
        if was_enabled:
            gc.enable()


@pytest.fixture
def seed(tmp_path: Path) -> SeededV1:
    return seed_v1(tmp_path)


run = launch


def test_migrates_v1_final_with_backup_and_secrets(seed: SeededV1, layer: object) -> None:
    result = run(seed)
    assert result.migrated and result.backup is not None
    assert_complete_v2(seed)
    assert dbcheck.count(seed.db, "integration") >= 1
    auth = json.loads(seed.auth_path.read_text())
    assert any(k.startswith("secret_") for k in auth)
    assert fs.is_private_file(seed.db) and fs.is_private_file(seed.auth_path)
    # a second launch is a no-op: the stamp wins
    again = run(seed)
    assert not again.migrated
    assert len(seed.layout.backups()) == 1


def test_migrates_the_early_1_4_7_form(tmp_path: Path, layer: object) -> None:
    seed = seed_v1(tmp_path, early=True)
    assert run(seed).migrated
    assert_complete_v2(seed)


def test_stamp_beats_shape(seed: SeededV1) -> None:
    run(seed)
    conn = sqlite3.connect(str(seed.db))
    conn.execute("CREATE TABLE IF NOT EXISTS source (id text, scope_id text)")
    conn.commit()
    conn.close()
    assert not run(seed).migrated


def test_fresh_dir_is_left_alone(tmp_path: Path) -> None:
    from executor_local.migrate.layout import Layout

    (tmp_path / "d").mkdir()
    assert migrate_if_needed(Layout(tmp_path / "d"), tmp_path / "auth.json").status == "fresh"
    assert list((tmp_path / "d").iterdir()) == []


def test_unreadable_journal_with_db_restarts(seed: SeededV1, layer: object) -> None:
    seed.layout.journal.write_text("{not json")
    assert run(seed).migrated
    assert_complete_v2(seed)


def test_unreadable_journal_without_db_fails_closed(seed: SeededV1) -> None:
    seed.layout.journal.write_text("garbage")
    for member in fs.sqlite_set(seed.db):
        fs.remove(member)
    with pytest.raises(DataCorrupt) as info:
        recover(seed.layout)
    assert info.value.exit_code == 6
    assert seed.layout.journal.read_text() == "garbage"
    assert not seed.db.exists()


def test_leaked_connection_in_a_cycle_is_freed_by_the_nudge(seed: SeededV1,
                                                           layer: object) -> None:
    """A reference cycle keeps a connection to data.db open until gc.collect()."""
    class Holder:
        pass

    holder = Holder()
    holder.me = holder  # type: ignore[attr-defined]
    holder.conn = sqlite3.connect(str(seed.db))  # type: ignore[attr-defined]
    holder.conn.execute("SELECT 1").fetchone()  # type: ignore[attr-defined]
    del holder  # unreachable, but not yet collected: its handle is still open
    # The snapshot's exclusive lock sees no other *process*; the leak is ours. Under Windows
    # rules the flip's rename of data.db would fail without the GC nudge.
    assert run(seed).migrated
    assert_complete_v2(seed)


def test_live_cursor_after_close_blocks_until_collected(seed: SeededV1, layer: object,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_TEST_MODE", "1")
    monkeypatch.setenv("EXECUTOR_TEST_LEAK_CURSOR", "1")
    assert run(seed).migrated
    assert_complete_v2(seed)


def test_outside_holder_refusing_fewer_times_than_the_budget(seed: SeededV1) -> None:
    prims = WindowsSemantics()
    clock = FakeClock()
    prims.hold(seed.db, times=4)
    with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep)):
        assert run(seed).migrated
    assert_complete_v2(seed)
    assert clock.slept[:4] == [0.05, 0.1, 0.25, 0.5]


def test_permanent_holder_exits_7_with_v1_intact(seed: SeededV1) -> None:
    prims = WindowsSemantics()
    clock = FakeClock()
    prims.hold(seed.db)
    with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep)), pytest.raises(FileLocked) as info:
        run(seed)
    assert info.value.exit_code == 7
    assert str(seed.db) in info.value.message
    assert getattr(info.value.__cause__, "winerror", None) == 32  # what the error renders
    assert abs(sum(clock.slept) - 7.9) < 0.01
    assert_untouched_v1(seed)
    assert not seed.layout.journal.exists() and seed.layout.leftovers() == []


def test_a_running_writer_is_refused(seed: SeededV1) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
         "c.execute('select count(*) from source').fetchone(); print('open', flush=True);"
         "sys.stdin.read()", str(seed.db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(DataDirOwned) as info:
            run(seed)
        assert "open in another program" in info.value.message
    finally:
        holder.communicate("", timeout=10)
    assert not seed.layout.journal.exists() and seed.layout.leftovers() == []
    assert dbcheck.row_checksum(seed.db) == seed.checksum


def test_not_enough_space_exits_8_before_writing(seed: SeededV1,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_TEST_MODE", "1")
    monkeypatch.setenv("EXECUTOR_TEST_FREE_BYTES", "1000")
    before = sorted(p.name for p in seed.data_dir.iterdir())
    with pytest.raises(NoSpace) as info:
        run(seed)
    assert info.value.exit_code == 8
    assert sorted(p.name for p in seed.data_dir.iterdir()) == before


def test_corrupt_database_exits_6_and_changes_nothing(tmp_path: Path) -> None:
    from executor_local.migrate.layout import Layout

    d = tmp_path / "d"
    d.mkdir()
    garbage = b"SQLite format 3\x00" + b"\xff" * 5000
    (d / "data.db").write_bytes(garbage)
    with pytest.raises(DataCorrupt) as info:
        migrate_if_needed(Layout(d), tmp_path / "auth.json")
    assert info.value.exit_code == 6 and str(d / "data.db") in info.value.hint
    assert (d / "data.db").read_bytes() == garbage
    assert sorted(p.name for p in d.iterdir()) == ["data.db"]


def test_unknown_shape_and_too_new_exit_5(tmp_path: Path) -> None:
    from executor_local.migrate.layout import Layout

    d = tmp_path / "d"
    d.mkdir()
    conn = sqlite3.connect(str(d / "data.db"))
    conn.execute("CREATE TABLE something_else (x)")
    conn.commit()
    conn.close()
    before = (d / "data.db").read_bytes()
    with pytest.raises(DataTooNew) as info:
        migrate_if_needed(Layout(d), tmp_path / "auth.json")
    assert info.value.exit_code == 5
    assert (d / "data.db").read_bytes() == before


def test_dry_run_leaves_the_data_dir_byte_identical(seed: SeededV1) -> None:
    def snapshot_dir() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in seed.data_dir.iterdir()}

    before = snapshot_dir()
    report = dry_run(seed.layout, seed.auth_path)
    assert report["status"] == "v1"
    assert report["plan"]["counts"]["integration"] >= 1
    assert snapshot_dir() == before
    # and the counts it promised are what the real migration writes
    result = run(seed)
    for table, n in report["plan"]["counts"].items():
        assert dbcheck.count(seed.db, table) == n, table
    assert result.migrated


def test_recovery_never_touches_an_installed_v2(seed: SeededV1, layer: object) -> None:
    """A hand-made `canonical-moved` journal whose staging is gone: data.db is the new v2."""
    result = run(seed)
    assert result.migrated
    j = journal_io.Journal(kind="v1-v2", nonce="deadbeef", created_ms=1, source=str(seed.db),
                           snapshot=None, staging=str(seed.data_dir / "data.db.building-deadbeef"),
                           backup=str(seed.data_dir / "data.db.v1-v2-1-deadbeef"),
                           phase="canonical-moved")
    journal_io.write(seed.layout.journal, j)
    # staging is absent: data.db is the installed v2 and must not be touched
    recover(seed.layout)
    assert dbcheck.is_stamped_v2(seed.db)
    assert not seed.layout.journal.exists()


def test_negative_control_without_the_nudge_the_leak_is_fatal(
        seed: SeededV1, monkeypatch: pytest.MonkeyPatch) -> None:
    """Proves the Windows rules bite: the same leak fails with exit 7 when the nudge is off."""
    monkeypatch.setenv("EXECUTOR_TEST_MODE", "1")
    monkeypatch.setenv("EXECUTOR_TEST_LEAK_CURSOR", "1")
    # On Windows the real primitives are the rules: the refusal comes from the OS itself.
    prims = fs.Primitives() if ON_WINDOWS else WindowsSemantics()
    clock = FakeClock()
    gc.disable()
    try:
        with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep, nudge=False)), \
                pytest.raises(FileLocked) as info:
            run(seed)
        assert info.value.exit_code == 7
        if isinstance(prims, WindowsSemantics):
            assert any(code == 32 for _op, _path, code in prims.refusals)
        else:
            assert getattr(info.value.cause, "winerror", None) == 32, info.value.cause
        assert dbcheck.row_checksum(seed.db) == seed.checksum  # v1 intact
        assert seed.layout.backups() == []
    finally:
        gc.enable()
    gc.collect()
    monkeypatch.delenv("EXECUTOR_TEST_LEAK_CURSOR")
    run(seed)  # the next launch rolls the journal forward
    assert_complete_v2(seed)


def test_a_held_snapshot_during_cleanup_is_not_fatal(seed: SeededV1,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Matrix #40: the v2 is in place; a scanner holding the old snapshot only delays clean-up."""
    prims, clock = WindowsSemantics(), FakeClock()
    real_pause = __import__("executor_local.migrate.flip", fromlist=["pause"]).pause

    def hold_snapshot(point: str) -> None:
        if point == "committed":
            for snap in seed.data_dir.glob("data.db.source-*"):
                prims.hold(snap)
        real_pause(point)

    monkeypatch.setattr("executor_local.migrate.flip.pause", hold_snapshot)
    with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep)):
        assert run(seed).migrated
    assert dbcheck.is_stamped_v2(seed.db)
    assert seed.layout.journal.exists()  # kept at `committed` for the next launch
    prims.foreign.clear()
    with fs.use(prims, fs.RetryPolicy(sleep=clock.sleep)):
        assert recover(seed.layout) is not None
    assert_complete_v2(seed)


def test_a_sidecar_appearing_before_the_install_stops_the_flip(
        seed: SeededV1, monkeypatch: pytest.MonkeyPatch) -> None:
    """Matrix #47: a WAL beside data.db at install time would be replayed against the new base."""
    real_pause = __import__("executor_local.migrate.flip", fromlist=["pause"]).pause

    def plant_wal(point: str) -> None:
        if point == "canonical-moved":
            Path(f"{seed.db}-wal").write_bytes(b"stray")
        real_pause(point)

    monkeypatch.setattr("executor_local.migrate.flip.pause", plant_wal)
    with pytest.raises(DataDirOwned):
        run(seed)
    assert not seed.db.exists() or not dbcheck.is_stamped_v2(seed.db)
    Path(f"{seed.db}-wal").unlink()  # the other program is gone
    monkeypatch.setattr("executor_local.migrate.flip.pause", real_pause)
    run(seed)
    assert_complete_v2(seed)
