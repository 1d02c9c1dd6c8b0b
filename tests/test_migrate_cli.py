"""The migrator as a user meets it: the built pyz on a seeded v1 data dir."""

from __future__ import annotations

import json
from pathlib import Path

import dbcheck
from migration_env import assert_complete_v2, assert_untouched_v1, seed_v1
from proc import Daemon, run_cli


def _env(env: dict[str, str], auth_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(auth_path)}


def test_first_launch_migrates_then_serves(pyz: Path, env: dict[str, str],
                                           tmp_path: Path) -> None:
    seed = seed_v1(tmp_path)
    with Daemon(pyz, ["--data-dir", str(seed.data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], _env(env, seed.auth_path)) as d:
        d.wait_ready()
        assert d.get("/api/health") == (200, "ok")
        assert d.terminate() == 0
    assert "migrated local Executor data to v2" in d.err
    for step in ("locate", "own", "recover", "migrate", "serve"):
        assert f"step {step}: done in" in d.err
    assert_complete_v2(seed)


def test_migrate_command_json_and_backups(pyz: Path, env: dict[str, str],
                                          tmp_path: Path) -> None:
    seed = seed_v1(tmp_path)
    e = _env(env, seed.auth_path)
    dry = run_cli(pyz, ["--data-dir", str(seed.data_dir), "migrate", "--dry-run", "--json"], e)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)["plan"]["counts"]
    assert_untouched_v1(seed)

    done = run_cli(pyz, ["--data-dir", str(seed.data_dir), "migrate", "--json"], e)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "migrated"
    for table, n in planned.items():
        assert dbcheck.count(seed.db, table) == n
    assert_complete_v2(seed)

    listed = run_cli(pyz, ["--data-dir", str(seed.data_dir), "backups", "list", "--json"], e)
    (backup,) = json.loads(listed.stdout)
    assert backup["kind"] == "v1-v2" and backup["path"] == result["backup"]

    restored = run_cli(pyz, ["--data-dir", str(seed.data_dir), "backups", "restore",
                             backup["name"]], e)
    assert restored.returncode == 0, restored.stderr
    assert dbcheck.row_checksum(seed.db) == seed.checksum  # the v1 data is back
    assert seed.auth_path.read_bytes() == seed.auth_bytes  # and the secrets as v1 kept them
    (migrated_auth,) = seed.auth_path.parent.glob("auth.json.before-restore-*")
    assert "secret_" in migrated_auth.read_text()  # the v2 secrets are kept too
    kinds = sorted(b["kind"] for b in json.loads(run_cli(
        pyz, ["--data-dir", str(seed.data_dir), "backups", "list", "--json"], e).stdout))
    assert kinds == ["before-restore", "v1-v2"]  # the v2 it replaced is kept, never deleted


def test_restore_is_refused_while_a_daemon_owns_the_dir(pyz: Path, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    seed = seed_v1(tmp_path)
    e = _env(env, seed.auth_path)
    with Daemon(pyz, ["--data-dir", str(seed.data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], e) as d:
        d.wait_ready()
        name = seed.layout.backups()[0].name
        result = run_cli(pyz, ["--data-dir", str(seed.data_dir), "backups", "restore", name], e)
        assert result.returncode == 4, result.stderr
        assert "already running" in result.stderr
        assert d.terminate() == 0


def test_refusals_render_with_their_exit_codes(pyz: Path, env: dict[str, str],
                                               tmp_path: Path) -> None:
    d = tmp_path / "corrupt"
    d.mkdir()
    (d / "data.db").write_bytes(b"SQLite format 3\x00" + b"\x01" * 4000)
    result = run_cli(pyz, ["--data-dir", str(d), "daemon", "run", "--foreground",
                           "--port", "0"], env)
    assert result.returncode == 6, result.stderr
    assert "corrupt" in result.stderr and str(d / "data.db") in result.stderr
    assert "EXECUTOR_READY" not in result.stdout
    assert "Unknown error" not in result.stderr and "Traceback" not in result.stderr
