"""Issue 10 F: ``backups prune`` (keep the N newest, or older than a date; never the only v1-v2
backup without --force) and shell completion of backup names for ``backups restore``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from proc import pythonpath_env

DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def cli(data: Path, env: dict[str, str], *args: str, **extra: str,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "executor_local", "--data-dir", str(data), *args],
                          env={**pythonpath_env(env), **extra}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data dir with three v1-v2 backups and one before-restore backup, each a real db."""
    d = tmp_path / "data"
    d.mkdir()
    names = [f"data.db.v1-v2-{T0 + 0 * DAY_MS}-00000001",
             f"data.db.v1-v2-{T0 + 10 * DAY_MS}-00000002",
             f"data.db.before-restore-{T0 + 20 * DAY_MS}-00000003",
             f"data.db.v1-v2-{T0 + 30 * DAY_MS}-00000004"]
    for name in names:
        conn = sqlite3.connect(d / name)
        conn.execute("CREATE TABLE t (x)")
        conn.close()
    (d / f"{names[0]}-wal").write_bytes(b"")  # a sidecar goes with its base
    return d


def names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("data.db."))


def test_keep_n_newest(data: Path, env: dict[str, str]) -> None:
    done = cli(data, env, "backups", "prune", "--keep", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["removed"] == [f"data.db.v1-v2-{T0}-00000001",
                                 f"data.db.v1-v2-{T0 + 10 * DAY_MS}-00000002"]
    assert [n for n in names(data) if not n.endswith("owner-lock")] == [
        f"data.db.before-restore-{T0 + 20 * DAY_MS}-00000003",
        f"data.db.v1-v2-{T0 + 30 * DAY_MS}-00000004"]


def test_older_than_a_date_and_dry_run(data: Path, env: dict[str, str]) -> None:
    before = names(data)
    dry = cli(data, env, "backups", "prune", "--older-than", "2026-01-15", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove data.db.v1-v2-" in dry.stdout and names(data) == before
    done = cli(data, env, "backups", "prune", "--older-than", "2026-01-15")
    assert done.returncode == 0, done.stderr
    assert not any("00000001" in n or "00000002" in n for n in names(data))
    assert any("00000004" in n for n in names(data))


def test_the_last_v1_backup_stays_without_force(data: Path, env: dict[str, str]) -> None:
    done = cli(data, env, "backups", "prune", "--keep", "0")
    assert done.returncode == 0, done.stderr
    assert "only backup of the v1 data" in done.stdout
    left = [n for n in names(data) if not n.endswith("owner-lock")]
    assert left == [f"data.db.v1-v2-{T0 + 30 * DAY_MS}-00000004"]
    forced = cli(data, env, "backups", "prune", "--keep", "0", "--force")
    assert forced.returncode == 0, forced.stderr
    assert [n for n in names(data) if not n.endswith("owner-lock")] == []


def test_prune_needs_a_rule_and_a_real_date(data: Path, env: dict[str, str]) -> None:
    assert cli(data, env, "backups", "prune").returncode == 2
    bad = cli(data, env, "backups", "prune", "--older-than", "last tuesday")
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_restore_completes_backup_names(data: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "executor_local"], capture_output=True, text=True, timeout=60,
        env={**pythonpath_env(env), "_EXECUTOR_COMPLETE": "bash_complete",
             "COMP_WORDS": f"executor --data-dir {data} backups restore data.db.v1",
             "COMP_CWORD": "5"})
    assert done.returncode == 0, done.stderr
    offered = [line.split(",", 1)[1] for line in done.stdout.splitlines()]
    assert offered == [n for n in names(data) if n.startswith("data.db.v1-v2-")
                       and not n.endswith("-wal")]
