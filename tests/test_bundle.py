"""The built one-file executable, run as a user runs it: a subprocess with its own HOME."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from executor_local import __version__
from proc import Daemon, pythonpath_env, run_cli


def test_version(pyz: Path, env: dict[str, str]) -> None:
    result = run_cli(pyz, ["--version"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"executor, version {__version__}"


def test_help_names_the_program_executor_not_the_file(pyz: Path, env: dict[str, str]) -> None:
    result = run_cli(pyz, ["--help"], env)
    assert result.returncode == 0
    assert "Usage: executor " in result.stdout
    assert ".pyz" not in result.stdout
    assert "Exit codes" in result.stdout


def test_paths_json_reports_env_data_dir(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    result = run_cli(pyz, ["--json", "paths"], {**env, "EXECUTOR_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)
    assert paths["data_dir"] == str(data_dir)
    assert paths["data_dir_source"] == "env"
    assert paths["log_dir"] == str(data_dir / "logs")
    assert paths["shiv_root"] == env["SHIV_ROOT"]
    assert paths["shiv_extraction"].startswith(env["SHIV_ROOT"])
    assert not data_dir.exists(), "paths must not create the data dir"


def test_daemon_ready_health_and_sigterm(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        port = d.wait_ready()
        assert port > 0
        assert d.next_stdout_line() == f"Daemon ready on http://127.0.0.1:{port}\n"
        assert d.get("/api/health") == (200, "ok")
        started = time.monotonic()
        assert d.terminate(timeout=5) == 0, d.err
        assert time.monotonic() - started < 5
    assert (data_dir / "data.db").is_file()
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    assert "Unknown error" not in d.err


def test_busy_port_says_address_already_in_use(pyz: Path, env: dict[str, str],
                                               data_dir: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        result = run_cli(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                               "--port", str(port)], env)
    finally:
        holder.close()
    assert result.returncode == 9, result.stderr
    assert "address already in use" in result.stderr
    assert "EXECUTOR_READY" not in result.stdout


def test_python_dash_m_runs_the_cli(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "executor_local", "--version"],
                            env=pythonpath_env(env), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout
