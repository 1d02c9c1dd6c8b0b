"""Background mode: start, status, stop, restart, the start-lock election, failure output."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_util import manifest, no_traceback, pid_alive, reap, request  # noqa: F401 (fixture)
from proc import run_cli, wait_for

# background daemons outlive the CLI that started them: kill leftovers of a failed test
pytestmark = pytest.mark.usefixtures("reap")


def _cli(pyz: Path, data_dir: Path, env: dict[str, str], *args: str,
         ) -> subprocess.CompletedProcess[str]:
    return run_cli(pyz, ["--data-dir", str(data_dir), *args], env)


def test_start_status_restart_stop(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    started = _cli(pyz, data_dir, env, "daemon", "run", "--port", "0")
    assert started.returncode == 0, started.stderr
    m = manifest(data_dir)
    assert m is not None and m["state"] == "ready"
    assert started.stdout.startswith(f"Daemon ready on {m['origin']} (pid {m['pid']};")
    assert request(m["port"], "/api/info", token=m["bearer"])[0] == 200

    status = _cli(pyz, data_dir, env, "daemon", "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["state"], report["pid"], report["origin"]) == ("running", m["pid"], m["origin"])
    assert "bearer" not in status.stdout

    again = _cli(pyz, data_dir, env, "daemon", "run", "--port", "0")
    assert again.returncode == 0 and again.stdout == f"Daemon already running at {m['origin']}\n"

    restarted = _cli(pyz, data_dir, env, "daemon", "restart")
    assert restarted.returncode == 0, restarted.stderr
    m2 = manifest(data_dir)
    assert m2 is not None and m2["pid"] != m["pid"] and not pid_alive(m["pid"])
    assert (m2["port"], m2["bearer"]) == (m["port"], m["bearer"]), "clients keep working"
    assert f"Stopped the daemon (pid {m['pid']})" in restarted.stdout

    stopped = _cli(pyz, data_dir, env, "daemon", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"pid {m2['pid']}" in stopped.stdout
    assert not pid_alive(m2["pid"]) and manifest(data_dir) is None

    assert _cli(pyz, data_dir, env, "daemon", "status").returncode == 3
    again = _cli(pyz, data_dir, env, "daemon", "stop")
    assert again.returncode == 3 and "no daemon is running" in again.stderr
    log = (data_dir / "logs" / "daemon.log").read_text()
    assert log.count("step serve: done in") == 2 and "stopped by SIGTERM" in log


def test_eight_simultaneous_launches_give_one_daemon(pyz: Path, env: dict[str, str],
                                                     data_dir: Path) -> None:
    procs = [subprocess.Popen([sys.executable, str(pyz), "--data-dir", str(data_dir), "daemon",
                               "run", "--port", "0"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [(p.wait(timeout=90), *p.communicate()) for p in procs]
    m = manifest(data_dir)
    assert m is not None and pid_alive(m["pid"])
    started = [out for code, out, _ in results if code == 0 and out.startswith("Daemon ready")]
    attached = [out for code, out, _ in results
                if code == 0 and out == f"Daemon already running at {m['origin']}\n"]
    owned = [err for code, _, err in results if code == 4 and f"pid {m['pid']}" in err]
    assert len(started) == 1, results
    assert len(started) + len(attached) + len(owned) == 8, results
    assert no_traceback(*(out + err for _, out, err in results))
    log = (data_dir / "logs" / "daemon.log").read_text()
    assert log.count("step serve: done in") == 1, "exactly one daemon ever served"
    assert _cli(pyz, data_dir, env, "daemon", "stop").returncode == 0


def test_failed_start_says_the_error_once(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        failed = _cli(pyz, data_dir, env, "daemon", "run", "--port",
                      str(holder.getsockname()[1]))
    finally:
        holder.close()
    assert failed.returncode == 9, failed.stderr
    assert failed.stderr.count("address already in use") == 1, failed.stderr  # issue 10 F
    assert "daemon.log" in failed.stderr and "--port" in failed.stderr
    assert no_traceback(failed.stderr) and manifest(data_dir) is None


def test_status_and_stop_stay_off_the_server_stack(pyz: Path, env: dict[str, str],
                                                   data_dir: Path) -> None:
    for command in (["daemon", "status"], ["daemon", "stop"]):
        result = subprocess.run([sys.executable, "-X", "importtime", str(pyz), "--data-dir",
                                 str(data_dir), *command], env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 3, result.stderr
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        heavy = {name for name in imported if name.startswith(
            ("uvicorn", "starlette", "anyio", "h11", "executor_local.migrate"))}
        assert not heavy, heavy
    assert not data_dir.exists(), "status and stop never create the data dir"


def test_background_daemon_survives_its_starter(pyz: Path, env: dict[str, str],
                                                data_dir: Path) -> None:
    """Detached: its own session, no terminal, output in the log only."""
    assert _cli(pyz, data_dir, env, "daemon", "run", "--port", "0").returncode == 0
    m = manifest(data_dir)
    assert m is not None
    stat = Path(f"/proc/{m['pid']}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(stat[3]) == m["pid"], "session leader: a closed terminal cannot SIGHUP it"
    wait_for(lambda: "EXECUTOR_READY:" in (data_dir / "logs" / "daemon.log").read_text(), 10,
             "the child's stdout in the log")
    assert _cli(pyz, data_dir, env, "daemon", "stop").returncode == 0
