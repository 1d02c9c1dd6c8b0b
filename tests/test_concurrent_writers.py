"""Issue 10 B: no write made by another program during a migration may be lost.

Real writer processes commit into the v1 ``data.db`` while a real ``executor migrate`` child
runs: persistent or open-per-write, started before the migration or once staging appears, in
WAL and in rollback-journal mode. Whatever the outcome (migrated, or refused with exit 4),
every row a writer was told is committed must be in the final ``data.db``, never only in the
backup; and in rollback mode an idle connection or an open read transaction is detected.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import dbcheck
import v1gen
from migration_env import SeededV1, assert_complete_v2, assert_untouched_v1, seed_v1
from proc import pythonpath_env, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="real writer processes and /proc: Linux")

# Writes rows `<prefix>-<i>` into the v1 blob table and prints "ok <key>" for each commit it was
# told succeeded. persistent=1 keeps one connection; else one per write. It stops after `n`
# rows, or (n < 0) once the stop file exists; then it waits for stdin to close.
WRITER = r"""
import sqlite3, sys, os, time
db, prefix, n, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5]
persistent = sys.argv[4] == "1"
conn, i = None, 0
while (i < n) if n >= 0 else not os.path.exists(stop):
    key = f"{prefix}-{i}"
    try:
        if conn is None:
            conn = sqlite3.connect(db, isolation_level=None, timeout=0.05)
        conn.execute("INSERT INTO blob(namespace, key, value) VALUES (?, ?, 'w')",
                     (sys.argv[6] + "/writer", key))
        print("ok", key, flush=True)
    except sqlite3.Error as exc:
        print("err", key, exc, flush=True)
    finally:
        if not persistent and conn is not None:
            conn.close()
            conn = None
    i += 1
    if n < 0:
        time.sleep(0.003)  # pacing between writes
print("done", flush=True)
sys.stdin.read()
"""


def _seed(tmp_path: Path, mode: str) -> SeededV1:
    seed = seed_v1(tmp_path)
    if mode == "rollback":
        conn = sqlite3.connect(seed.db)
        conn.execute("PRAGMA journal_mode=DELETE").close()  # checkpoints the live WAL row
        conn.close()
        seed.checksum = dbcheck.row_checksum(seed.db)
    return seed


class Writer:
    def __init__(self, db: Path, prefix: str, n: int, persistent: bool, stop: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), prefix, str(n), "1" if persistent else "0",
             str(stop), v1gen.SCOPE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []

    def wait_done(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.strip() == "done":
                return
        raise AssertionError(f"writer ended early: {self.lines[-3:]}")

    def quit(self) -> set[str]:
        out, _ = self.proc.communicate("", timeout=30)
        self.lines += out.split("\n")
        return {line.split()[1] for line in self.lines if line.startswith("ok ")}


def _migrate(seed: SeededV1, env: dict[str, str], hold_at: str | None = None,
             marker: Path | None = None) -> subprocess.Popen[str]:
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
                 "EXECUTOR_TEST_MODE": "1"}
    if hold_at:
        child_env.update(EXECUTOR_MIGRATION_HOLD_AT=hold_at,
                         EXECUTOR_MIGRATION_HOLD_FILE=str(marker))
    return subprocess.Popen(
        [sys.executable, "-m", "executor_local", "--data-dir", str(seed.data_dir), "migrate"],
        env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _keys(db: Path) -> set[str]:
    with dbcheck.opened(db) as conn:
        return {r[0] for r in dbcheck.rows(conn, "SELECT key FROM blob WHERE key LIKE 'w%-%'")}


def _held(seed: SeededV1, env: dict[str, str], tmp_path: Path, point: str,
          ) -> tuple[subprocess.Popen[str], Path]:
    marker = tmp_path / "held-at"
    child = _migrate(seed, env, point, marker)
    wait_for(lambda: marker.exists() or child.poll() is not None, 60, f"hold at {point}")
    assert child.poll() is None, child.communicate()
    return child, marker


@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_persistent_writer_after_staging_appears_is_refused_with_nothing_lost(
        tmp_path: Path, env: dict[str, str], mode: str) -> None:
    seed = _seed(tmp_path, mode)
    child, marker = _held(seed, env, tmp_path, "staging-built")
    writer = Writer(seed.db, "wp", 20, True, tmp_path / "stop")
    try:
        writer.wait_done()  # 20 commits into v1 while the v2 is built; connection kept open
        Path(f"{marker}.go").touch()
        _, err = child.communicate(timeout=120)
        assert child.returncode == 4, err
        assert f"pid {writer.proc.pid}" in err and "open in another program" in err
    finally:
        committed = writer.quit()
    assert len(committed) == 20
    assert seed.layout.backups() == [] and not seed.layout.journal.exists()
    assert seed.auth_path.read_bytes() == seed.auth_bytes
    assert _keys(seed.db) == committed  # still in data.db, which is still v1
    # with the writer gone, the next launch migrates them
    again = _migrate(seed, env)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert dbcheck.is_stamped_v2(seed.db) and _keys(seed.db) == committed


@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_open_per_write_writer_after_the_snapshot_makes_the_migration_start_over(
        tmp_path: Path, env: dict[str, str], mode: str) -> None:
    seed = _seed(tmp_path, mode)
    child, marker = _held(seed, env, tmp_path, "staging-built")
    writer = Writer(seed.db, "wo", 15, False, tmp_path / "stop")
    writer.wait_done()
    committed = writer.quit()  # gone before the flip: nobody holds data.db any more
    assert len(committed) == 15
    # the held migration goes on; its restart holds at the same point again: let both go
    Path(f"{marker}.go").touch()
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "starting over from a new snapshot" in err
    assert dbcheck.is_stamped_v2(seed.db)
    assert _keys(seed.db) == committed  # in the v2, not only in the backup
    (backup,) = seed.layout.backups()
    assert _keys(backup) == committed
    assert not seed.layout.journal.exists() and seed.layout.leftovers() == []


@pytest.mark.parametrize("persistent", [False, True], ids=["open-per-write", "persistent"])
@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_a_writer_running_through_the_whole_migration_loses_nothing(
        tmp_path: Path, env: dict[str, str], mode: str, persistent: bool) -> None:
    seed = _seed(tmp_path, mode)
    stop = tmp_path / "stop"
    writer = Writer(seed.db, "wr", -1, persistent, stop)
    assert writer.proc.stdout is not None
    writer.lines.append(writer.proc.stdout.readline().strip())  # it has written at least once
    child = _migrate(seed, env)
    _, err = child.communicate(timeout=180)
    stop.touch()
    writer.wait_done()
    committed = writer.quit()
    assert committed, writer.lines[:5]
    assert child.returncode in (0, 4), err
    assert "Traceback" not in err
    final = _keys(seed.db)
    missing = committed - final
    assert not missing, f"{len(missing)} of {len(committed)} committed rows are not in data.db"
    if child.returncode == 4:
        assert "open in another program" in err or "kept changing" in err
        assert seed.layout.backups() == []
    else:
        assert dbcheck.is_stamped_v2(seed.db)


@pytest.mark.parametrize("holder", ["idle", "read-transaction", "connected-only"])
@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_an_idle_connection_or_a_read_transaction_is_detected(
        tmp_path: Path, env: dict[str, str], mode: str, holder: str) -> None:
    seed = _seed(tmp_path, mode)
    action = {"idle": "c.execute('SELECT COUNT(*) FROM source').fetchall()",
              "read-transaction": "c.execute('BEGIN'); c.execute('SELECT * FROM source')"
                                  ".fetchall()",
              "connected-only": "pass"}[holder]
    code = (f"import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            f"{action}\nprint('open', flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(seed.db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "open\n"
        child = _migrate(seed, env)
        _, err = child.communicate(timeout=120)
        assert child.returncode == 4, err
        assert "open in another program" in err and f"pid {proc.pid}" in err
    finally:
        proc.communicate("", timeout=10)
    assert_untouched_v1(seed)
    assert seed.layout.leftovers() == [] and not seed.layout.journal.exists()
    done = _migrate(seed, env)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert_complete_v2(seed)


@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_a_write_between_the_flip_check_and_the_move_puts_the_set_back(
        tmp_path: Path, env: dict[str, str], mode: str) -> None:
    """The flip lets go of its lock before it moves data.db (Windows cannot rename an open
    file): a write that lands right then is found in the moved set, which goes back."""
    seed = _seed(tmp_path, mode)
    child, marker = _held(seed, env, tmp_path, "canonical-flushed")
    writer = Writer(seed.db, "wm", 5, False, tmp_path / "stop")
    writer.wait_done()
    committed = writer.quit()
    assert len(committed) == 5
    Path(f"{marker}.go").touch()
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "was written to while it was being moved aside" in err
    assert dbcheck.is_stamped_v2(seed.db) and _keys(seed.db) == committed
    (backup,) = seed.layout.backups()
    assert _keys(backup) == committed


# Connects (and reads) when told "open", commits 3 rows when told "write", quits at EOF.
LATE_WRITER = r"""
import sqlite3, sys
conn = None
for line in sys.stdin:
    if line.strip() == "open":
        conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0.05)
        conn.execute("SELECT COUNT(*) FROM source").fetchall()
        print("opened", flush=True)
    elif line.strip() == "write":
        try:
            for i in range(3):
                conn.execute("INSERT INTO blob(namespace, key, value) VALUES (?, ?, 'w')",
                             (sys.argv[2] + "/writer", f"wl-{i}"))
                print("ok", f"wl-{i}", flush=True)
        except sqlite3.Error as exc:
            print("err", exc, flush=True)
        print("written", flush=True)
"""


@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_a_connection_opened_before_the_move_that_writes_after_the_install(
        tmp_path: Path, env: dict[str, str], mode: str) -> None:
    """It holds the old data.db (now the backup) and writes into it once the v2 is in: the
    v2 goes back out, the set back in, and the migration starts over (then: exit 4, it is
    still connected; with it gone, the next launch migrates its rows)."""
    seed = _seed(tmp_path, mode)
    marker = tmp_path / "held-at"
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
                 "EXECUTOR_TEST_MODE": "1",
                 "EXECUTOR_MIGRATION_HOLD_AT": "canonical-flushed,staging-installed",
                 "EXECUTOR_MIGRATION_HOLD_FILE": str(marker)}
    child = subprocess.Popen(
        [sys.executable, "-m", "executor_local", "--data-dir", str(seed.data_dir), "migrate"],
        env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    writer = subprocess.Popen([sys.executable, "-c", LATE_WRITER, str(seed.db), v1gen.SCOPE],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdin is not None and writer.stdout is not None
    lines: list[str] = []

    def say(word: str, until: str) -> None:
        writer.stdin.write(word + "\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
        for line in writer.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if line.strip() == until:
                return

    def at(point: str) -> bool:
        return marker.exists() and marker.read_text() == point

    try:
        wait_for(lambda: at("canonical-flushed") or child.poll() is not None, 60, "the check")
        say("open", "opened")  # after the flip's check, before the move
        Path(f"{marker}.canonical-flushed.go").touch()
        wait_for(lambda: at("staging-installed") or child.poll() is not None, 60, "install")
        assert child.poll() is None, child.communicate()
        say("write", "written")  # into the old file, now the backup
        Path(f"{marker}.staging-installed.go").touch()
        _, err = child.communicate(timeout=120)
    finally:
        writer.stdin.close()
        writer.wait(timeout=10)
    committed = {line.split()[1] for line in lines if line.startswith("ok ")}
    if not committed:
        # SQLite itself refused the write: the file it had open was renamed (rollback mode:
        # SQLITE_READONLY_DBMOVED). A visible failure for the writer is the other good outcome.
        assert any(line.startswith("err ") for line in lines), lines
        assert child.returncode == 0, err
        assert dbcheck.is_stamped_v2(seed.db)
        return
    assert "taking it back out" in err, err
    assert child.returncode == 4, err  # it is still connected when the migration starts over
    assert seed.layout.backups() == [] and not dbcheck.is_stamped_v2(seed.db)
    assert committed <= _keys(seed.db)  # nothing it was told is committed is only in a backup
    again = _migrate(seed, env)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert dbcheck.is_stamped_v2(seed.db) and committed <= _keys(seed.db)
