"""The desktop-shell contract (design §6), driven exactly as a shell spawns the sidecar."""

from __future__ import annotations

import json
import signal
import stat
import sys
import time
from pathlib import Path

from daemon_util import manifest, request
from executor_local.daemon import auth
from proc import Daemon

TOKEN = "-T" + "x" * 41  # starts with '-': the TS #1199 case


def test_desktop_contract(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    argv = ["daemon", "run", "--foreground", "--port", "0", "--hostname", "127.0.0.1",
            f"--auth-token={TOKEN}"]
    shell_env = {**env, "EXECUTOR_CLIENT": "desktop", "EXECUTOR_DATA_DIR": str(data_dir)}
    started = time.monotonic()
    with Daemon(pyz, argv, shell_env) as d:
        port = d.wait_ready()
        ready_s = time.monotonic() - started
        assert d.next_stdout_line() == f"Daemon ready on http://127.0.0.1:{port}\n"

        status, _, body = request(port, "/api/info", token=TOKEN)
        assert status == 200, body
        info = json.loads(body)
        assert info["pid"] == d.proc.pid
        assert info["data_dir"] == str(data_dir)
        assert request(port, "/api/info")[0] == 401

        m = manifest(data_dir)
        assert m is not None
        assert (m["pid"], m["port"], m["state"], m["kind"]) == (
            d.proc.pid, port, "ready", "desktop-sidecar")
        assert m["bearer"] == TOKEN and m["origin"] == f"http://127.0.0.1:{port}"
        assert m["data_dir"] == str(data_dir) and m["process_start_time"]

        d.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert d.proc.wait(timeout=5) == 0, d.err
        assert time.monotonic() - signalled < 5
    assert manifest(data_dir) is None
    assert "Traceback" not in d.err and "Unknown error" not in d.err
    log = (data_dir / "logs" / "daemon.log").read_text()
    for name in ("locate", "own", "serve", "announce"):
        assert f"step {name}: done in " in log
    print(f"time to READY: {ready_s * 1000:.0f} ms", file=sys.stderr)


def test_token_from_the_environment(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], {**env, "EXECUTOR_AUTH_TOKEN": TOKEN}) as d:
        port = d.wait_ready()
        assert request(port, "/api/info", token=TOKEN)[0] == 200
        assert d.terminate() == 0


def test_minted_token_is_stored_private_and_reused(pyz: Path, env: dict[str, str],
                                                   data_dir: Path) -> None:
    args = ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port", "0"]
    tokens = []
    for _ in range(2):
        with Daemon(pyz, args, env) as d:
            port = d.wait_ready()
            stored = json.loads((data_dir / "server-control" / "auth.json").read_text())["token"]
            assert request(port, "/api/info", token=stored)[0] == 200
            tokens.append(stored)
            assert d.terminate() == 0
    assert tokens[0] == tokens[1] and not tokens[0].startswith("-")
    mode = stat.S_IMODE((data_dir / "server-control" / "auth.json").stat().st_mode)
    assert mode == 0o600


def test_mint_never_starts_with_dash(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    drawn = iter(["-first", "--second", "third"])
    monkeypatch.setattr(auth.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert auth.mint_token() == "third"


def test_a_stop_before_uvicorn_is_up_still_stops_it(pyz: Path, env: dict[str, str],
                                                     data_dir: Path, tmp_path: Path) -> None:
    """A SIGTERM noted by our early handlers after run_server's first look and before uvicorn
    put in its own was once never acted on: the daemon served on, and the stop waited forever
    (one launch in four of a test that stops right after READY). The test seam holds the daemon
    at exactly that instant."""
    from proc import wait_for

    marker = tmp_path / "held"
    held = {**env, "EXECUTOR_TEST_MODE": "1", "EXECUTOR_MIGRATION_HOLD_AT": "uvicorn-start",
            "EXECUTOR_MIGRATION_HOLD_FILE": str(marker)}
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port",
                      "0"], held) as d:
        d.wait_ready()
        wait_for(marker.exists, 30, "the daemon to hold before uvicorn starts")
        d.proc.send_signal(signal.SIGTERM)
        (tmp_path / "held.go").touch()
        assert d.proc.wait(timeout=10) == 0, d.err
    assert "stopped by SIGTERM" in d.err
