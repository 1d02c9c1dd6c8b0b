"""One owner per data dir (reliability matrix §5.4): attach, exit 4 naming the owner, SIGKILL
recovery, stale and recycled-pid manifests, and symlinked spellings of one dir."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from daemon_util import lock_holder, lock_is_free, manifest, no_traceback, pid_alive
from proc import Daemon, run_cli, wait_for


def _args(data_dir: Path, *extra: str) -> list[str]:
    return ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port", "0", *extra]


def test_second_launch_attaches(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    with Daemon(pyz, _args(data_dir), env) as owner:
        port = owner.wait_ready()
        second = run_cli(pyz, _args(data_dir), {**env, "EXECUTOR_CLIENT": "desktop"})
        assert second.returncode == 0, second.stderr
        assert second.stdout == (f"EXECUTOR_ATTACHED:{port}\n"
                                 f"Daemon already running at http://127.0.0.1:{port}\n")
        assert "already running" in second.stderr and str(owner.proc.pid) in second.stderr
        assert manifest(data_dir)["pid"] == owner.proc.pid  # type: ignore[index]
        assert owner.terminate() == 0


def test_unresponsive_owner_gives_exit_4_naming_it(pyz: Path, env: dict[str, str],
                                                   data_dir: Path) -> None:
    with Daemon(pyz, _args(data_dir), env) as owner:
        owner.wait_ready()
        owner.proc.send_signal(signal.SIGSTOP)  # alive, holds the lock, answers nothing
        try:
            second = run_cli(pyz, _args(data_dir), env)
        finally:
            owner.proc.send_signal(signal.SIGCONT)
        assert second.returncode == 4, second.stderr
        assert "already running" in second.stderr
        assert f"pid {owner.proc.pid}" in second.stderr
        assert "EXECUTOR_READY" not in second.stdout and no_traceback(second.stderr)
        assert owner.terminate() == 0


def test_lock_held_by_a_plain_process_names_its_pid(pyz: Path, env: dict[str, str],
                                                    data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    with lock_holder(data_dir / "data.db.owner-lock") as holder:
        second = run_cli(pyz, _args(data_dir), env)
    assert second.returncode == 4, second.stderr
    assert f"pid {holder.pid}" in second.stderr and "already running" in second.stderr
    assert not (data_dir / "data.db").exists(), "a refused launch must not touch the data"
    assert no_traceback(second.stderr)


def test_sigkilled_owner_is_replaced_and_its_manifest_cleaned(
        pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    with Daemon(pyz, _args(data_dir), env) as first:
        first.wait_ready()
        first.proc.kill()  # SIGKILL: no cleanup at all
        first.proc.wait(timeout=10)
    stale = manifest(data_dir)
    assert stale is not None and stale["pid"] == first.proc.pid

    status = run_cli(pyz, ["--data-dir", str(data_dir), "daemon", "status", "--json"], env)
    assert status.returncode == 3, status.stderr
    report = json.loads(status.stdout)
    assert report["state"] == "not running"
    assert report["stale_manifest_pid"] == first.proc.pid and report["stale_manifest_removed"]
    assert manifest(data_dir) is None

    # and once more with the stale manifest left in place for the next owner to replace
    (data_dir / "server-control" / "server.json").write_text(json.dumps(stale))
    with Daemon(pyz, _args(data_dir), env) as second:
        port = second.wait_ready()
        m = manifest(data_dir)
        assert m is not None and (m["pid"], m["port"]) == (second.proc.pid, port)
        assert second.terminate() == 0
    assert f"replacing the stale manifest of pid {first.proc.pid}" in second.err


def test_recycled_pid_is_not_trusted(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    """A manifest naming a live pid with another start time is stale (TS failure class #10)."""
    bystander = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE)
    try:
        (data_dir / "server-control").mkdir(parents=True)
        (data_dir / "server-control" / "server.json").write_text(json.dumps({
            "pid": bystander.pid, "process_start_time": "1.00", "state": "ready",
            "data_dir": str(data_dir), "version": "0.1.0", "started_at": "2020-01-01T00:00:00",
            "port": 9, "origin": "http://127.0.0.1:9", "bearer": "x"}))
        status = run_cli(pyz, ["--data-dir", str(data_dir), "daemon", "status"], env)
        assert status.returncode == 3
        assert f"stale manifest of pid {bystander.pid}" in status.stdout
        assert manifest(data_dir) is None
        stop = run_cli(pyz, ["--data-dir", str(data_dir), "daemon", "stop"], env)
        assert stop.returncode == 3 and pid_alive(bystander.pid), "never signal a stranger"
    finally:
        bystander.kill()
        bystander.wait()


def test_symlinked_data_dir_shares_the_lock(pyz: Path, env: dict[str, str], tmp_path: Path,
                                            data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    link = tmp_path / "link to data"
    link.symlink_to(data_dir)
    with Daemon(pyz, _args(data_dir), env) as owner:
        port = owner.wait_ready()
        via_link = run_cli(pyz, _args(link), env)
        assert via_link.returncode == 0, via_link.stderr
        assert via_link.stdout == f"Daemon already running at http://127.0.0.1:{port}\n"
        assert owner.terminate() == 0
    assert not (link / "data.db.owner-lock").is_symlink()
    assert lock_is_free(data_dir / "data.db.owner-lock")



def _seed(data_dir: Path) -> Path:
    """The dir eight launches race on: Executor v1 data that the first owner must migrate."""
    import v1gen

    data_dir.mkdir(mode=0o700)
    auth = data_dir.parent / "auth" / "auth.json"
    auth.parent.mkdir()
    v1gen.make_v1_final(data_dir / "data.db", auth_path=auth)
    return auth


def test_eight_simultaneous_foreground_launches(pyz: Path, env: dict[str, str], data_dir: Path,
                                                tmp_path: Path) -> None:
    """A desktop double-click and friends: one owner serves, every other launch attaches (or
    exits 4 naming the owner), and nothing prints a traceback."""
    env = {**env, "EXECUTOR_AUTH_FILE": str(_seed(data_dir))}
    outputs = [(tmp_path / f"out{i}", tmp_path / f"err{i}") for i in range(8)]
    launches = []
    for out, err in outputs:
        with open(out, "w") as o, open(err, "w") as e:
            launches.append(subprocess.Popen([sys.executable, str(pyz), *_args(data_dir)],
                                             env=env, stdin=subprocess.DEVNULL, stdout=o,
                                             stderr=e))
    try:
        # the losers end on their own once the owner answers; the owner keeps serving
        wait_for(lambda: sum(p.poll() is not None for p in launches) >= 7, 60,
                 "seven launches to attach or give up")
        (owner,) = [p for p in launches if p.poll() is None]
        m = manifest(data_dir)
        assert m is not None and m["pid"] == owner.pid and m["state"] == "ready"
        for proc, (out, err) in zip(launches, outputs, strict=True):
            stdout, stderr = out.read_text(), err.read_text()
            if proc is owner:
                assert stdout.startswith(f"EXECUTOR_READY:{m['port']}\n")
                continue
            attached = (proc.returncode == 0
                        and stdout == f"Daemon already running at {m['origin']}\n")
            refused = (proc.returncode == 4 and f"pid {m['pid']}" in stderr
                       and "already running" in stderr)
            assert attached or refused, (proc.returncode, stdout, stderr)
            assert no_traceback(stdout, stderr)
        owner.send_signal(signal.SIGTERM)
        assert owner.wait(timeout=5) == 0
    finally:
        for proc in launches:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
    log = (data_dir / "logs" / "daemon.log").read_text()
    assert log.count("step serve: done in") == 1 and "Traceback" not in log
    # one migration: one v1 backup, one announcement, and data.db is the v2
    assert len(list(data_dir.glob("data.db.v1-v2-*[0-9a-f]"))) == 1
    assert log.count("migrated local Executor data to v2") == 1
