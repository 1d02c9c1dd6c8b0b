"""``executor doctor`` findings, and the pruning of old shiv extractions after READY."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from daemon_util import no_traceback
from proc import Daemon, run_cli, wait_for


def _doctor(pyz: Path, data_dir: Path, env: dict[str, str], *args: str,
            ) -> dict[str, dict[str, Any]]:
    result = run_cli(pyz, ["--data-dir", str(data_dir), "doctor", "--json", *args], env)
    assert result.returncode == 0, result.stderr
    return {f["check"]: f for f in json.loads(result.stdout)["findings"]}


def test_doctor_on_a_missing_dir_creates_nothing(pyz: Path, env: dict[str, str],
                                                 data_dir: Path) -> None:
    found = _doctor(pyz, data_dir, env)
    assert found["data dir"]["status"] == "info"
    assert "does not exist" in found["data dir"]["summary"]
    assert not data_dir.exists()
    text = run_cli(pyz, ["--data-dir", str(data_dir), "doctor"], env)
    assert text.returncode == 0 and "[info]" in text.stdout and no_traceback(text.stderr)


def test_doctor_reports_a_running_daemon_and_what_is_wrong(pyz: Path, env: dict[str, str],
                                                           data_dir: Path) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        port = d.wait_ready()
        (data_dir / "data.db.v1-v2-migration.json").write_text(json.dumps({"phase": "building"}))
        (data_dir / "data.db.v1-v2-1700000000000-0a1b2c3d").write_bytes(b"x" * 4096)
        reader = subprocess.Popen([sys.executable, "-c", "import sys; f = open(sys.argv[1], 'rb');"
                                   " print('open', flush=True); sys.stdin.read()",
                                   str(data_dir / "data.db")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
            found = _doctor(pyz, data_dir, env)
            squatted = _doctor(pyz, data_dir, env, "--port", str(squatter.getsockname()[1]))
        finally:
            reader.kill()
            reader.wait()
        assert d.terminate() == 0
    squatter.close()

    assert found["owner"]["status"] == "ok" and f"pid {d.proc.pid}" in found["owner"]["summary"]
    assert found["manifest"]["status"] == "ok"
    assert f"127.0.0.1:{port}" in found["manifest"]["summary"]
    assert found["port"]["status"] == "ok" and f"pid {d.proc.pid}" in found["port"]["summary"]
    assert found["migration"]["status"] == "warning"
    assert "phase building" in found["migration"]["summary"] and found["migration"]["action"]
    assert found["backups"]["status"] == "info"
    assert "data.db.v1-v2-1700000000000-0a1b2c3d" in found["backups"]["details"]["backups"]
    assert found["free space"]["details"]["free_bytes"] > 0
    handles = found["open handles"]
    assert handles["status"] == "warning" and f"pid {reader.pid}" in handles["summary"]
    assert handles["action"]
    assert "bearer" not in json.dumps(found["manifest"]["details"])
    taken = squatted["port"]
    assert taken["status"] == "warning" and f"pid {os.getpid()}" in taken["summary"]
    assert "--port" in taken["action"]


def test_doctor_sees_a_stale_manifest(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        d.wait_ready()
        d.proc.kill()
        d.proc.wait()
    found = _doctor(pyz, data_dir, env)
    assert found["manifest"]["status"] == "warning" and "stale" in found["manifest"]["summary"]
    assert found["owner"]["summary"].startswith("not owned")
    assert (data_dir / "server-control" / "server.json").exists(), "doctor changes nothing"


def _fake_extraction(root: Path, name: str, age_s: float, package: str = "executor_local") -> Path:
    path = root / name
    (path / "site-packages" / package).mkdir(parents=True)
    (path / "site-packages" / package / "__init__.py").write_text("x = 1\n" * 100)
    (root / f".{name}_lock").touch()
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_old_extractions_are_pruned_after_ready(pyz: Path, env: dict[str, str], data_dir: Path,
                                                tmp_path: Path) -> None:
    root = tmp_path / "shiv"
    root.mkdir()
    oldest = _fake_extraction(root, "executor.pyz_aaaa", 3000)
    older = _fake_extraction(root, "executor-0.0.9.pyz_bbbb", 2000)
    previous = _fake_extraction(root, "executor.pyz_cccc", 1000)
    foreign = _fake_extraction(root, "other.pyz_dddd", 5000, package="other_tool")
    env = {**env, "SHIV_ROOT": str(root)}

    before = _doctor(pyz, data_dir, env)["shiv"]
    assert set(before["details"]["old"]) == {oldest.name, older.name}
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        d.wait_ready()
        wait_for(lambda: not oldest.exists() and not older.exists(), 20, "the old extractions "
                 "to be pruned")
        assert d.terminate() == 0
    assert previous.exists() and foreign.exists(), "keep the one before and other programs"
    assert not (root / f".{oldest.name}_lock").exists()
    current = [p for p in root.iterdir() if p.name.startswith("executor.pyz_")
               and p not in (previous,)]
    assert len(current) == 1 and (current[0] / "site-packages" / "executor_local").is_dir()
    assert "removed 2 old extraction(s)" in d.err
    after = _doctor(pyz, data_dir, env)["shiv"]
    assert after["status"] == "ok" and after["details"]["old"] == {}
