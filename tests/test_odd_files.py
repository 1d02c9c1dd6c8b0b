"""Issue 10 D: odd files get the right message and exit code, and a refused run writes nothing
it does not name. Real files, real CLI runs (``python -m executor_local``), real other users
(a forked child as ``nobody``) and a real read-only mount where the test runs as root."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dbcheck
from migration_env import SeededV1, assert_complete_v2, assert_untouched_v1, seed_v1
from proc import pythonpath_env
from test_matrix import NOBODY, _nobody_seed, as_another_user, cli_as_nobody, shared_tmp  # noqa: F401

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LINUX = sys.platform.startswith("linux")


def run_cli(seed: SeededV1, env: dict[str, str], *args: str, **extra: str,
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "executor_local", "--data-dir", str(seed.data_dir), *args],
        env={**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path), **extra},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def no_bug(err: str) -> bool:
    return "Traceback" not in err and "this is a bug" not in err.lower()


def test_data_db_that_is_a_directory_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    for member in dbcheck.SIDECARS:
        Path(f"{seed.db}{member}").unlink(missing_ok=True)
    seed.db.unlink()
    seed.db.mkdir()
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 5, done.stderr
    assert f"{seed.db} is a directory" in done.stderr and "hard link" not in done.stderr
    assert no_bug(done.stderr)
    doctor = json.loads(run_cli(seed, env, "doctor", "--json").stdout)
    (db,) = [f for f in doctor["findings"] if f["check"] == "database"]
    assert db["status"] == "problem" and "not a regular file" in db["summary"]


@pytest.mark.parametrize("form", ["directory", "nested-100000"])
def test_an_odd_auth_json_is_refused_naming_it(tmp_path: Path, env: dict[str, str],
                                               form: str) -> None:
    seed = seed_v1(tmp_path)
    seed.auth_path.unlink()
    if form == "directory":
        seed.auth_path.mkdir()
        expected = (5, "is a directory")
    else:
        seed.auth_path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
        expected = (6, "nested too deeply")
    for args in (["migrate"], ["migrate", "--dry-run"]):
        done = run_cli(seed, env, *args)
        assert done.returncode == expected[0], done.stderr
        assert expected[1] in done.stderr and str(seed.auth_path) in done.stderr
        assert no_bug(done.stderr)
    assert dbcheck.row_checksum(seed.db) == seed.checksum
    assert seed.layout.backups() == [] and not seed.layout.journal.exists()


@as_another_user
@pytest.mark.parametrize("what", ["unreadable-file", "read-only-folder"])
def test_an_auth_json_we_may_not_touch_is_exit_10_at_once(shared_tmp: Path, what: str) -> None:  # noqa: F811
    seed = _nobody_seed(shared_tmp)
    if what == "unreadable-file":
        os.chmod(seed.auth_path, 0o000)
        named = str(seed.auth_path)
    else:
        os.chmod(seed.auth_path.parent, 0o555)
        named = str(seed.auth_path.parent)
    import codecs
    import encodings.utf_8_sig  # noqa: F401 - now: "nobody" cannot read /root's modules

    codecs.lookup("utf-8-sig")
    began = time.monotonic()
    code, err = cli_as_nobody(["--data-dir", str(seed.data_dir), "migrate"],
                              {"EXECUTOR_AUTH_FILE": str(seed.auth_path)})
    assert time.monotonic() - began < 5  # not 8 s of "sharing violation" retries
    assert code == 10, err
    assert named in err and "stayed locked" not in err and no_bug(err)
    assert seed.layout.backups() == [] and not seed.layout.journal.exists()
    os.chmod(seed.auth_path.parent, 0o755)
    os.chmod(seed.auth_path, 0o600)
    assert seed.auth_path.read_bytes() == seed.auth_bytes


@pytest.mark.skipif(not (IS_ROOT and LINUX), reason="needs root to own a dir as another user")
def test_root_on_another_users_data_dir_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    for path in [seed.data_dir, *seed.data_dir.iterdir()]:
        os.chown(path, NOBODY, NOBODY)
    before = sorted(p.name for p in seed.data_dir.iterdir())
    for args in (["migrate"], ["daemon", "run", "--foreground", "--port", "0"]):
        done = run_cli(seed, env, *args)
        assert done.returncode == 10, done.stderr
        assert "belongs to nobody (uid 65534)" in done.stderr
        assert "sudo -u nobody" in done.stderr and "--allow-foreign-owner" in done.stderr
        assert sorted(p.name for p in seed.data_dir.iterdir()) == before  # not even a lock
    done = run_cli(seed, env, "--allow-foreign-owner", "migrate")
    assert done.returncode == 0, done.stderr
    assert_complete_v2(seed)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlinked_auth_json_is_written_through(tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    target = tmp_path / "dotfiles" / "auth.json"
    target.parent.mkdir()
    seed.auth_path.rename(target)
    seed.auth_path.symlink_to(target)
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 0, done.stderr
    assert seed.auth_path.is_symlink() and Path(os.readlink(seed.auth_path)) == target
    assert target.read_bytes() != seed.auth_bytes  # the v2 form, in the link's target
    assert json.loads(target.read_text())  # flat v2 entries
    (kept,) = target.parent.glob("auth.json.v1-v2-*")
    assert kept.read_bytes() == seed.auth_bytes


@pytest.fixture
def read_only_mount(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not (IS_ROOT and LINUX):
        pytest.skip("mounting a tmpfs needs root on Linux")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_read_only_file_system_is_called_one(read_only_mount: Path,
                                               env: dict[str, str]) -> None:
    seed = seed_v1(read_only_mount)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 10, done.stderr
    assert "read-only file system" in done.stderr and "owned by" not in done.stderr
    doctor = json.loads(run_cli(seed, env, "doctor", "--json").stdout)
    (writable,) = [f for f in doctor["findings"] if f["check"] == "writable"]
    assert writable["status"] == "problem" and "read-only file system" in writable["summary"]


def test_unknown_v1_tables_and_columns_are_named_and_kept_in_the_backup(
        tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    with dbcheck.opened(seed.db) as conn:
        conn.execute("CREATE TABLE my_notes (id integer primary key, note text)")
        conn.execute("INSERT INTO my_notes(note) VALUES ('keep me'), ('me too')")
        conn.execute("ALTER TABLE source ADD COLUMN my_flag text")
    dry = json.loads(run_cli(seed, env, "migrate", "--dry-run", "--json").stdout)
    text = "\n".join(dry["plan"]["warnings"])
    assert "my_notes (2 rows)" in text and "my_flag" in text and "backup" in text
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 0, done.stderr
    assert "warning: v1 table my_notes (2 rows)" in done.stdout
    assert "column(s) my_flag" in done.stdout
    (backup,) = seed.layout.backups()
    assert dbcheck.count(backup, "my_notes") == 2


def test_a_refused_run_names_what_it_created_and_changes_nothing_else(
        tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    os.chmod(seed.auth_path, 0o644)
    with dbcheck.opened(seed.db) as conn:  # a ledger entry from a newer program: too new
        conn.execute("CREATE TABLE data_migration (name TEXT PRIMARY KEY, time_completed "
                     "INTEGER NOT NULL)")
        conn.execute("INSERT INTO data_migration VALUES ('2099-01-01-from-the-future', 1)")
    members = {p.name: p.read_bytes() for p in seed.data_dir.iterdir()
               if not p.name.endswith("-shm")}
    auth_stat = seed.auth_path.stat()
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 5, done.stderr
    assert "it created only data.db.owner-lock" in done.stderr
    after = {p.name: p.read_bytes() for p in seed.data_dir.iterdir()
             if not p.name.endswith("-shm")}
    assert set(after) - set(members) == {"data.db.owner-lock"}
    assert {k: after[k] for k in members} == members  # no checkpoint, nothing rewritten
    now = seed.auth_path.stat()
    assert (now.st_ino, stat.S_IMODE(now.st_mode)) == (auth_stat.st_ino, 0o644)


def test_a_journal_temp_file_left_by_a_kill_is_reported_and_swept(
        tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    tmp = seed.data_dir / f"data.db.v1-v2-migration.json.tmp-{dead}-0badf00d"
    tmp.write_text('{"half": ')
    doctor = json.loads(run_cli(seed, env, "doctor", "--json").stdout)
    (left,) = [f for f in doctor["findings"] if f["check"] == "leftovers"]
    assert left["status"] == "warning" and tmp.name in left["summary"]
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 0, done.stderr
    assert not tmp.exists()
    assert_complete_v2(seed)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_the_v1_backup_is_private(tmp_path: Path, env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    for member in seed.data_dir.iterdir():
        os.chmod(member, 0o644)
    done = run_cli(seed, env, "migrate")
    assert done.returncode == 0, done.stderr
    (backup,) = seed.layout.backups()
    for member in [backup, *backup.parent.glob(f"{backup.name}-*")]:
        assert stat.S_IMODE(member.stat().st_mode) == 0o600, member


def test_refused_holder_leaves_auth_json_as_it_was(tmp_path: Path, env: dict[str, str]) -> None:
    """The rolled-back run never rewrote or re-moded auth.json (it only ever stages the v2
    form beside it)."""
    seed = seed_v1(tmp_path)
    os.chmod(seed.auth_path, 0o644)
    before = seed.auth_path.stat()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
         "c.execute('select 1 from source').fetchall(); print('open', flush=True);"
         "sys.stdin.read()", str(seed.db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        done = run_cli(seed, env, "migrate")
        assert done.returncode == 4, done.stderr
    finally:
        holder.communicate("", timeout=10)
    now = seed.auth_path.stat()
    assert (now.st_ino, stat.S_IMODE(now.st_mode)) == (before.st_ino, 0o644)
    assert_untouched_v1(seed)
