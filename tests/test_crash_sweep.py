"""SIGKILL at every journal phase and between every step of the flip; the next launch recovers.

For each pause point a child process runs the real migration, stops there (test-only seam),
and is SIGKILLed (TerminateProcess on Windows). The next launch must complete or roll back, and
the invariant must hold: the untouched v1, or a complete v2 plus its backup, with a row checksum
proving nothing was lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import dbcheck
from migration_env import assert_complete_v2, assert_invariant, seed_v1
from proc import pythonpath_env, wait_for

# Every point, in the order the migration passes them, and what a kill there must leave.
POINTS = {
    "journal-written": "v1",
    "building": "v1",
    "snapshot-taken": "v1",
    "secrets-written": "v1",
    "staging-built": "v1",
    "built": "v2",  # rolled forward: staging was verified
    "canonical-flushed": "v2",
    "canonical-moved-base": "v2",
    "canonical-moved": "v2",
    "staging-consumed": "v2",
    "auth-installed": "v2",
    "committed": "v2",
}


def _launch(seed_root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "executor_local", "--data-dir", str(seed_root / "data"),
         "migrate", *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("point", list(POINTS))
def test_kill_at_point_then_next_launch_recovers(point: str, tmp_path: Path,
                                                 env: dict[str, str]) -> None:
    seed = seed_v1(tmp_path)
    marker = tmp_path / "paused-at"
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
                 "EXECUTOR_TEST_MODE": "1", "EXECUTOR_MIGRATION_PAUSE_AT": point,
                 "EXECUTOR_MIGRATION_PAUSE_FILE": str(marker)}
    child = _launch(tmp_path, child_env)
    try:
        wait_for(lambda: marker.exists() or child.poll() is not None, 60, f"pause at {point}")
        assert child.poll() is None, f"child ended before {point}: {child.communicate()}"
        assert marker.read_text() == point
        if sys.platform == "win32":
            child.kill()  # TerminateProcess(handle, 1): Windows' SIGKILL
            assert child.wait(timeout=10) == 1
        else:
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()

    # Issue 10 C: at no instant is data.db v1 beside an auth.json already in the v2 form, so a
    # person who goes back to Executor v1 right now still reads every secret.
    v2_now = seed.db.exists() and dbcheck.is_stamped_v2(seed.db)
    if not v2_now:
        assert seed.auth_path.read_bytes() == seed.auth_bytes, f"v2 auth.json beside v1 at {point}"
    elif point in ("auth-installed", "committed"):
        assert seed.auth_path.read_bytes() != seed.auth_bytes

    # the next launch, without the pause
    next_env = {k: v for k, v in child_env.items() if not k.startswith("EXECUTOR_MIGRATION_")}
    again = _launch(tmp_path, next_env, "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "Traceback" not in err
    assert assert_invariant(seed) == "v2"
    assert_complete_v2(seed)
    if POINTS[point] == "v2":
        assert "completed an interrupted" in out
    elif point != "journal-written":
        assert "rolled back" in out


RESTORE_POINTS = ["restore-built", "canonical-flushed", "auth-installed", "canonical-moved-base",
                  "canonical-moved", "staging-consumed", "committed"]


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_kill_during_a_restore_of_v1_never_leaves_v1_beside_a_v2_auth_json(
        point: str, tmp_path: Path, env: dict[str, str]) -> None:
    """Issue 10 C for `backups restore` of a v1-v2 backup: its auth.json goes back first."""
    from migration_env import launch

    seed = seed_v1(tmp_path)
    assert launch(seed).migrated
    (backup,) = seed.layout.backups()
    v2_auth = seed.auth_path.read_bytes()
    assert v2_auth != seed.auth_bytes
    marker = tmp_path / "paused-at"
    child_env = {**pythonpath_env(env), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
                 "EXECUTOR_TEST_MODE": "1", "EXECUTOR_MIGRATION_PAUSE_AT": point,
                 "EXECUTOR_MIGRATION_PAUSE_FILE": str(marker)}
    child = subprocess.Popen(
        [sys.executable, "-m", "executor_local", "--data-dir", str(seed.data_dir), "backups",
         "restore", backup.name], env=child_env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: marker.exists() or child.poll() is not None, 60, f"pause at {point}")
        assert child.poll() is None, f"child ended before {point}: {child.communicate()}"
        child.kill()
        child.wait(timeout=10)
    finally:
        child.communicate()
    db_is_v2 = seed.db.exists() and dbcheck.is_stamped_v2(seed.db)
    if seed.db.exists() and not db_is_v2:
        assert seed.auth_path.read_bytes() == seed.auth_bytes, f"v1 data.db, v2 auth at {point}"
    # the next launch finishes the restore (or rolls it back) and migrates the v1 data again
    next_env = {k: v for k, v in child_env.items() if not k.startswith("EXECUTOR_MIGRATION_")}
    again = _launch(tmp_path, next_env, "--json")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert dbcheck.is_stamped_v2(seed.db)
    assert seed.auth_path.read_bytes() == v2_auth  # the same item ids, the same v2 form
