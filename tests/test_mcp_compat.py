"""Executor 1.5.9 (from npm) boots on MCP integrations our daemon added: a remote server with a
secret header and a stdio server with a secret env var, their connections and tools. It lists
them, decodes their configs (``GET /api/mcp/servers/:slug``) and changes nothing. (1.5.9 does
not know the newer ``stdio_env`` method, so it would start that stdio server without its
secret env; the remote one it can call as it is.)"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

import peer
from test_compat_1_5_9 import _peer_env, executor_159  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.compat]

SECRET = "mcp-compat-secret-31d2"


def test_executor_159_reads_the_mcp_integrations_we_added(
    env: dict[str, str], tmp_path: Path, executor_159: Path  # noqa: F811
) -> None:
    pytest.importorskip("mcp")
    catalog_util = pytest.importorskip("catalog_util")
    from upstreams.mcp_upstream import HttpUpstream, stdio_command

    data = tmp_path / "catalog-data"
    xdg = Path(env["XDG_DATA_HOME"])
    command, args = stdio_command()
    with HttpUpstream() as upstream:
        upstream.state.required_headers["X-Upstream-Key"] = SECRET
        ours = catalog_util.SourceDaemon(data, {**env, "EXECUTOR_SECRET_PROVIDER": "file"},
                                         cwd=tmp_path)
        with ours:
            api = catalog_util.Api(ours.wait_ready(), ours.token)
            api.post("/api/mcp/servers", {"endpoint": upstream.url, "slug": "remote",
                                          "remoteTransport": "streamable-http",
                                          "secretHeaders": ["X-Upstream-Key"],
                                          "value": SECRET}, expect=201)
            api.post("/api/mcp/servers", {"command": command, "args": args, "slug": "local",
                                          "secretEnv": ["UPSTREAM_TOKEN"],
                                          "values": {"UPSTREAM_TOKEN": SECRET}}, expect=201)
            configs = {s: api.get(f"/api/mcp/servers/{s}")["config"] for s in ("remote",
                                                                               "local")}
            our_tools = {t["address"] for t in api.get("/api/tools?includeBlocked=true")}
            assert ours.terminate() == 0

    before_rows = _digests(data)
    token = "t" + secrets.token_urlsafe(24)
    run = ["daemon", "run", "--foreground", "--port", "0", "--hostname", "127.0.0.1",
           f"--auth-token={token}"]
    server = peer.Peer(executor_159, run, {**_peer_env(tmp_path, xdg, data),
                                           "EXECUTOR_SCOPE_DIR": str(data)}, cwd=data)
    try:
        server.wait_ready()
        status, integrations = server.get("/api/integrations", token)
        assert status == 200 and {"remote", "local"} <= {i["slug"] for i in integrations}
        for slug, config in configs.items():
            status, shown = server.get(f"/api/mcp/servers/{slug}", token)
            assert status == 200, (slug, shown)
            theirs_config = shown["config"]
            if slug == "local":
                # 1.5.9's stdio schema predates the ``stdio_env`` method (newer Executor reads
                # it, ``types.ts``): it decodes the rest and ignores the method
                assert "authenticationTemplate" not in theirs_config
                config = {k: v for k, v in config.items() if k != "authenticationTemplate"}
            assert theirs_config == config
        status, connections = server.get("/api/connections", token)
        assert {(c["integration"], c["name"]) for c in connections} >= {
            ("remote", "main"), ("local", "main")}
        status, tools = server.get("/api/tools", token)
        theirs = {t["address"] for t in tools if t["integration"] in ("remote", "local")}
        assert theirs and theirs <= our_tools
        assert "tools.remote.org.main.delete_item" in theirs
    finally:
        server.stop()
    assert SECRET not in server.output
    assert _digests(data) == before_rows


def _digests(data: Path) -> dict:
    """Every table's digest but the ledger: 1.5.9 stamps its own four data migrations into a
    data dir our daemon created (the store writes only the v1->v2 stamp), which is not about
    MCP and is left to the store's own compat test."""
    return {k: v for k, v in peer.table_digests(data / "data.db").items()
            if k != "data_migration"}
