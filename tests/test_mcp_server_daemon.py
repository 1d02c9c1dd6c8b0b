"""/mcp and ``executor mcp`` on a real daemon process (``python -m executor_local`` from the
venv until the bundle carries the SDK): the SDK stays off the boot path, the official client
talks to it, an open stream does not hold up a stop, and bridges share, start and re-find the
daemon across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx

from daemon_util import manifest, reap  # noqa: F401  (reap is a fixture)
from mcp_util import passthrough_bridge as bridge
from mcp_util import passthrough_client as client
from proc import Daemon, pythonpath_env, run_cli, wait_for

HEAVY = {"mcp", "mcp_types", "pydantic", "pydantic_core", "httpx2", "sse_starlette"}

BOOT_PROBE = """
import json, sys
from executor_local.boot import sequence
_announce = sequence.announce
HEAVY = set(json.loads(sys.argv.pop(1)))
def announce(session):
    loaded = sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
    sys.stderr.write("BOOT-MODULES:" + json.dumps(loaded) + "\\n")
    sys.stderr.flush()
    _announce(session)
sequence.announce = announce
from executor_local.cli import main
main(sys.argv[1:])
"""


def _token(data_dir: Path) -> str:
    m = manifest(data_dir)
    assert m and m.get("bearer")
    return str(m["bearer"])


def test_real_daemon_serves_mcp_without_the_sdk_at_ready(tmp_path: Path, env: dict[str, str],
                                                          data_dir: Path, reap) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    probe = tmp_path / "probe.py"
    probe.write_text(BOOT_PROBE)
    daemon = Daemon(probe, [json.dumps(sorted(HEAVY)), "--data-dir", str(data_dir), "daemon",
                            "run", "--foreground", "--port", "0"], pythonpath_env(env))
    with daemon:
        port = daemon.wait_ready()
        wait_for(lambda: "BOOT-MODULES:" in daemon.err, 10, "the boot probe line")
        line = next(x for x in daemon.err.splitlines() if x.startswith("BOOT-MODULES:"))
        assert json.loads(line.split(":", 1)[1]) == [], line
        token = _token(data_dir)

        async def body() -> None:
            async with client(port, token=token, mode="legacy") as c:  # (passthrough)
                names = [t.name for t in (await c.list_tools()).tools]
                assert names[:2] == ["search", "invoke"]
                found = await c.call_tool("search", {"query": "anything"})
                # No catalog in this daemon until core's Services land; either answer is clean.
                assert (not found.is_error
                        or found.structured_content["error"]["code"] == "catalog_unavailable")

        anyio.run(body)
        r = httpx.post(f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 1,
                                                             "method": "tools/list"})
        assert r.status_code == 401
        # An open GET stream must not hold up a stop (the design promises exit within 5 s).
        init = httpx.post(f"http://127.0.0.1:{port}/mcp", headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}})
        sid = init.headers["mcp-session-id"]
        with httpx.stream("GET", f"http://127.0.0.1:{port}/mcp", headers={
                "Authorization": f"Bearer {token}", "Accept": "text/event-stream",
                "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}) as stream:
            assert stream.status_code == 200
            assert daemon.terminate(timeout=5) == 0


def test_bridges_share_start_and_refind_the_daemon(tmp_path: Path, env: dict[str, str],
                                                   data_dir: Path, reap) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Two ``executor mcp`` at once with no daemon: one daemon starts and both use it; after
    ``daemon stop`` a live bridge starts a new one and carries on."""
    py_env = pythonpath_env(env)
    pids: list[int] = []

    async def one(results: list[str]) -> None:
        async with bridge(data_dir, env, mode="legacy") as c:
            names = [t.name for t in (await c.list_tools()).tools]
            results.append(",".join(names))
            pids.append(int((manifest(data_dir) or {})["pid"]))
            if len(results) == 1:
                await stopped.wait()
                names = [t.name for t in (await c.list_tools()).tools]  # after the restart
                results.append("after:" + ",".join(names))
                pids.append(int((manifest(data_dir) or {})["pid"]))

    stopped = anyio.Event()

    async def body() -> None:
        results: list[str] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, results)
            tg.start_soon(one, results)
            while len(results) < 2:
                await anyio.sleep(0.05)  # polling the other tasks' progress
            assert pids[0] == pids[1]  # one daemon for both
            done = await anyio.to_thread.run_sync(
                lambda: run_cli(Path("-m"), ["executor_local", "--data-dir", str(data_dir),
                                             "daemon", "stop"], py_env))
            assert done.returncode == 0, done.stderr
            stopped.set()
        assert results[-1] == "after:search,invoke,resume"
        assert pids[-1] != pids[0]  # a new daemon, started by the live bridge

    anyio.run(body)
