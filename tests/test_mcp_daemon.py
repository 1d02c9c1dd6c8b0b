"""MCP servers as integrations through the real daemon (run from the source tree): a real
upstream built with the official SDK, once over streamable HTTP and once as a stdio command,
probed and added through the API, its tools listed, searched and called, a destructive tool
paused and approved, a block policy applied, the stdio server killed and restarted by the next
call, and the secret header in no response or log."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")
catalog_util = pytest.importorskip("catalog_util",
                                   reason="the catalog core (branch core) is not merged here yet")
from upstreams.mcp_upstream import HttpUpstream, stdio_command  # noqa: E402

Api = catalog_util.Api
SourceDaemon = catalog_util.SourceDaemon

SECRET = "mcp-daemon-secret-77c1"


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str]) -> tuple[Any, Any]:
    daemon = SourceDaemon(data_dir, env)
    port = daemon.wait_ready()
    return daemon, Api(port, daemon.token)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def call(api: Any, path: str, args: dict | None = None) -> dict:
    return api.post("/api/executions", {"tool": path, "args": args or {}})


def test_remote_mcp_server_through_the_daemon(cat_env: dict[str, str], data_dir: Path) -> None:
    with HttpUpstream() as upstream:
        upstream.state.required_headers["X-Upstream-Key"] = SECRET
        daemon, api = start(data_dir, cat_env)
        with daemon:
            # refused credentials are a probe answer, not an error
            refused = api.post("/api/mcp/probe", {"endpoint": upstream.url,
                                                  "secretHeaders": ["X-Upstream-Key"],
                                                  "value": "wrong"})
            assert refused["connected"] is False and refused["requiresAuthentication"] is True
            probed = api.post("/api/mcp/probe", {"endpoint": upstream.url,
                                                 "secretHeaders": ["X-Upstream-Key"],
                                                 "value": SECRET})
            assert probed["connected"] and probed["serverName"] == "test-upstream"
            assert probed["toolCount"] >= 8 and probed["slug"] == "test_upstream"

            # bad input names the field and adds nothing
            status, err = api.call("POST", "/api/mcp/servers", {"endpoint": upstream.url,
                                                                "slug": "Bad Slug"})
            assert status == 400 and "slug" in err["error"]["message"]
            # without values a server that needs credentials is added unconnected
            later = api.post("/api/mcp/servers", {"endpoint": upstream.url, "slug": "later",
                                                  "secretHeaders": ["X-Upstream-Key"]},
                             expect=201)
            assert "connection" not in later and later["variables"] == ["token"]
            conn = api.post("/api/connections", {"integration": "later", "name": "main",
                                                 "value": SECRET})
            assert conn["toolCount"] >= 8
            api.call("DELETE", "/api/mcp/servers/later")

            added = api.post("/api/mcp/servers", {"endpoint": upstream.url, "slug": "up",
                                                  "secretHeaders": ["X-Upstream-Key"],
                                                  "value": SECRET}, expect=201)
            assert added["slug"] == "up" and added["connection"]["toolCount"] >= 8
            shown = api.get("/api/mcp/servers/up")
            assert shown["config"]["authenticationTemplate"][0]["placements"] == [
                {"carrier": "header", "name": "X-Upstream-Key"}]
            assert SECRET not in str(shown)

            tools = {t["name"]: t for t in api.get("/api/tools?integration=up")}
            assert tools["delete_item"]["requiresApproval"] is True
            assert tools["get_item"]["requiresApproval"] is False
            found = api.get("/api/search?query=echo")
            assert "up.org.main.echo" in [i["path"] for i in found["items"]]

            out = call(api, "up.org.main.echo", {"text": "hello"})
            assert out["status"] == "completed"
            assert out["result"] == {"ok": True, "data": {"result": "hello"}}
            failed = call(api, "up.org.main.fail", {"message": "bad thing"})
            assert failed["result"]["ok"] is False
            assert failed["result"]["error"]["code"] == "mcp_tool_error"

            # a destructive tool pauses; approving it runs it once
            paused = call(api, "up.org.main.delete_item", {"id": "42"})
            assert paused["status"] == "paused"
            assert upstream.state.counts["call:delete_item"] == 0
            done = api.post(f"/api/executions/{paused['executionId']}/resume",
                            {"action": "accept"})
            assert done["result"] == {"ok": True, "data": {"result": "deleted 42"}}
            assert upstream.state.counts["call:delete_item"] == 1

            # a policy: block hides and refuses
            api.post("/api/policies", {"owner": "org", "action": "block",
                                       "pattern": "up.org.main.get_item"})
            assert "get_item" not in {t["name"] for t in api.get("/api/tools?integration=up")}
            blocked = call(api, "up.org.main.get_item", {"id": "1"})
            assert blocked["result"]["error"]["code"] == "blocked"
            assert upstream.state.counts["call:get_item"] == 0

            # the server announces a new tool: the catalog re-lists the connection
            assert call(api, "up.org.main.add_tool", {"name": "fresh_tool"})["result"]["ok"]
            deadline = time.monotonic() + 20
            while "fresh_tool" not in {t["name"] for t in api.get("/api/tools?integration=up")}:
                assert time.monotonic() < deadline, "list_changed was not picked up"
                time.sleep(0.1)
            assert call(api, "up.org.main.fresh_tool", {"text": "y"})["result"] == {
                "ok": True, "data": {"result": "fresh_tool:y"}}

            # a refresh that fails keeps the last good list (and says so)
            upstream.state.fail_list = True
            kept = api.post("/api/connections/org/up/main/refresh", {})
            every = api.get("/api/tools?integration=up&includeBlocked=true")
            assert kept["toolCount"] == len(every)
            assert kept["warnings"] and "kept the last good list" in kept["warnings"][0]
            assert "echo" in {t["name"] for t in api.get("/api/tools?integration=up")}
            upstream.state.fail_list = False

            # one pooled upstream session served every call
            assert len(upstream.state.sessions) <= 3  # probe x2 + the pool
            assert api.call("DELETE", "/api/mcp/servers/up")[0] == 200
            assert api.get("/api/tools?integration=up") == []
        logs = "\n".join(daemon.stdout + daemon.stderr)
        assert SECRET not in logs and SECRET not in "\n".join(api.seen)
        log_file = data_dir / "logs" / "daemon.log"
        if log_file.exists():
            assert SECRET not in log_file.read_text(errors="replace")


def test_stdio_mcp_server_through_the_daemon(cat_env: dict[str, str], data_dir: Path) -> None:
    command, args = stdio_command()
    daemon, api = start(data_dir, cat_env)
    with daemon:
        added = api.post("/api/mcp/servers", {"command": command, "args": args, "slug": "local",
                                              "secretEnv": ["UPSTREAM_TOKEN"],
                                              "values": {"UPSTREAM_TOKEN": SECRET}},
                         expect=201)
        assert added["variables"] == ["UPSTREAM_TOKEN"]
        digest = call(api, "local.org.main.env_digest", {"name": "UPSTREAM_TOKEN"})
        assert digest["result"]["data"]["result"] == hashlib.sha256(SECRET.encode()).hexdigest()
        # code mode calls the same pooled server
        program = """
            const a = await tools.local.org.main.add({ a: 2, b: 40 });
            const e = await tools.local.org.main.echo({ text: "from code" });
            return { sum: a.data.result, echo: e.data.result };
        """
        ran = api.post("/api/executions", {"code": program})
        assert ran["status"] == "completed" and not ran.get("isError"), ran
        assert ran["structured"]["result"] == {"sum": 42, "echo": "from code"}
        pid = call(api, "local.org.main.stats")["result"]["data"]["pid"]
        os.kill(pid, signal.SIGKILL)
        again = call(api, "local.org.main.stats")
        if not again["result"]["ok"]:  # the kill landed under this call: the next one restarts
            again = call(api, "local.org.main.stats")
        assert again["result"]["ok"] and again["result"]["data"]["pid"] != pid
        # a daemon killed outright leaves no stdio server behind (its stdin closes)
        child = again["result"]["data"]["pid"]
        daemon.proc.kill()
        deadline = time.monotonic() + 20
        while alive(child):
            assert time.monotonic() < deadline, "the stdio server outlived the daemon"
            time.sleep(0.05)
    assert SECRET not in "\n".join(daemon.stdout + daemon.stderr + api.seen)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_migrated_stdio_server_is_callable(cat_env: dict[str, str], data_dir: Path) -> None:
    """An integration row as our migrator writes it (command, args, env kept) is callable
    once it has its connection, as the migrator's ``workspace`` one."""
    command, args = stdio_command()
    daemon, api = start(data_dir, cat_env)
    with daemon:
        api.post("/api/mcp/servers", {"command": command, "args": args, "slug": "stdio_mcp",
                                      "env": {"FIXTURE": "1"}}, expect=201)
        out = call(api, "stdio_mcp.org.main.env_digest", {"name": "FIXTURE"})
        assert out["result"]["data"]["result"] == hashlib.sha256(b"1").hexdigest()


def test_cli_add_mcp_reads_the_secret_from_stdin(cat_env: dict[str, str],
                                                data_dir: Path) -> None:
    import subprocess

    from proc import pythonpath_env

    with HttpUpstream() as upstream:
        upstream.state.required_headers["X-Upstream-Key"] = SECRET
        daemon, api = start(data_dir, cat_env)
        with daemon:
            argv = [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir),
                    "integrations", "add-mcp", upstream.url, "--header", "X-Upstream-Key",
                    "--slug", "viacli", "--transport", "streamable-http"]
            done = subprocess.run(argv, input=SECRET + "\n", capture_output=True, text=True,
                                  env=pythonpath_env(cat_env), timeout=120)
            assert done.returncode == 0, done.stderr
            assert "added MCP server viacli" in done.stdout
            assert SECRET not in done.stdout + done.stderr
            out = call(api, "viacli.org.main.echo", {"text": "cli"})
            assert out["result"] == {"ok": True, "data": {"result": "cli"}}
            # a bad request names what is wrong and adds nothing
            bad = subprocess.run([*argv[:7], upstream.url, "--command", "x"],
                                 capture_output=True, text=True, env=pythonpath_env(cat_env),
                                 timeout=60)
            assert bad.returncode != 0 and "either a URL" in bad.stderr
            slugs = {i["slug"] for i in api.get("/api/integrations")} - {"executor"}
            assert slugs == {"viacli"}


V1_MIXED = Path("/work/shared/fixtures/executor-1.4.7/mixed")
V1_MCP_PORT = 47903  # the endpoint the fixture's remote MCP source stores
V1_MCP_TOKEN = "mcp_tok_789"  # its v1 file secret (fixture auth.json)


@pytest.mark.skipif(not V1_MIXED.is_dir(), reason="the real Executor fixtures are not here")
def test_migrated_v1_mcp_servers_are_callable(cat_env: dict[str, str], data_dir: Path,
                                              tmp_path: Path) -> None:
    """Real Executor 1.4.7 data migrated at boot: its remote MCP source, with the header
    credential our migrator carried over, answers through the daemon; its stdio source keeps
    its command and fails with a clear error where that command cannot run."""
    import shutil
    import socket

    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(V1_MIXED / "data", data_dir)
    auth = Path(cat_env["EXECUTOR_AUTH_FILE"])
    auth.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(V1_MIXED / "auth.json", auth)
    try:
        upstream = HttpUpstream(port=V1_MCP_PORT)
    except OSError:
        pytest.skip(f"127.0.0.1:{V1_MCP_PORT} (the fixture's endpoint) is in use")
    assert isinstance(upstream.sock, socket.socket)
    upstream.state.required_headers["X-Fixture-Token"] = V1_MCP_TOKEN
    with upstream:
        daemon, api = start(data_dir, cat_env)
        with daemon:
            out = call(api, "remote_mcp.org.remoteMcpToken.echo", {"text": "from v1"})
            assert out["result"] == {"ok": True, "data": {"result": "from v1"}}, out
            assert upstream.state.rejected == 0
            shown = api.get("/api/mcp/servers/stdio_mcp")
            assert shown["config"]["command"] == "/usr/bin/node"
            local = call(api, "stdio_mcp.org.workspace.echo", {"text": "x"})
            assert local["result"]["ok"] is False
            assert "/usr/bin/node" in local["result"]["error"]["message"]
        assert V1_MCP_TOKEN not in "\n".join(daemon.stdout + daemon.stderr + api.seen)
