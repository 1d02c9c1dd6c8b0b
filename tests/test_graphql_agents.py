"""Agents see GraphQL tools like any other: over MCP in passthrough mode (``search``,
``invoke``, ``resume``) with the official ``mcp`` client, and in code mode (``execute``, over
MCP and ``POST /api/executions {code}``), against the real GraphQL test server through the
real daemon.

The MCP part skips until the MCP server (branch mcpserver) is merged; it passed on a scratch
merge with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_util import Api, SourceDaemon
from upstreams.graphql_server import running

pytest.importorskip("executor_local.executions.sandbox",
                    reason="code mode (branch codemode) is not merged yet")

BOOKS = "library.org.main.query.books"
ADD = "library.org.main.mutation.addBook"

PROGRAM = """
const found = await tools.search({ query: "books", namespace: "library" });
const one = await tools.library.org.main.query.book({ id: "b1", select: "title author { name }" });
const bad = await tools.library.org.main.query.book({ id: "b1", select: "nope" });
return { paths: found.items.map((i) => i.path).sort(), one: one.data, bad: bad.error.code };
"""


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def _start(data_dir: Path, env: dict[str, str]) -> tuple[SourceDaemon, Api]:
    daemon = SourceDaemon(data_dir, env)
    return daemon, Api(daemon.wait_ready(), daemon.token)


def test_graphql_in_code_mode_over_http(cat_env: dict[str, str], data_dir: Path) -> None:
    with running() as server:
        daemon, api = _start(data_dir, cat_env)
        with daemon:
            api.post("/api/graphql/integrations", {"endpoint": server.url, "slug": "library"})
            out = api.post("/api/executions", {"code": PROGRAM})
            assert out["status"] == "completed" and not out.get("isError"), out
            result = out["structured"]["result"]
            assert BOOKS in result["paths"]
            assert result["one"] == {"book": {"title": "The Dispossessed",
                                              "author": {"name": "Ursula K. Le Guin"}}}
            assert result["bad"] == "graphql_invalid_selection"
            before = server.count
            paused = api.post("/api/executions", {"code": (
                "const r = await tools.library.org.main.mutation.deleteBook({id: 'b2'});"
                " return r.data;")})
            assert paused["status"] == "paused", paused
            assert paused["interaction"]["address"] == "tools.library.org.main.mutation.deleteBook"
            assert server.count == before
            done = api.post(f"/api/executions/{paused['executionId']}/resume",
                            {"action": "accept"})
            assert done["structured"]["result"] == {"deleteBook": True}, done
            assert server.count == before + 1


def test_graphql_over_mcp(cat_env: dict[str, str], data_dir: Path) -> None:
    pytest.importorskip("executor_local.mcp.routes", reason="the MCP server is not merged yet")
    mcp_util = pytest.importorskip("mcp_util", reason="the MCP test helpers are not here yet")
    anyio = pytest.importorskip("anyio")
    with running() as server:
        daemon, api = _start(data_dir, cat_env)
        with daemon:
            api.post("/api/graphql/integrations", {"endpoint": server.url, "slug": "library"})

            async def passthrough() -> None:
                async with mcp_util.client(daemon.port, token=daemon.token,
                                           query="mode=passthrough") as c:
                    found = await c.call_tool("search", {"query": "list books"})
                    items = {i["path"]: i for i in found.structured_content["items"]}
                    assert BOOKS in items
                    assert "select" in items[BOOKS]["inputSchema"]["properties"]
                    out = await c.call_tool("invoke", {"path": BOOKS,
                                                       "args": {"limit": 1, "select": "title"}})
                    assert not out.is_error, out.content
                    assert out.structured_content["data"] == {
                        "books": [{"title": "The Dispossessed"}]}
                    before = server.count
                    bad = await c.call_tool("invoke", {"path": BOOKS,
                                                       "args": {"select": "title {"}})
                    assert bad.is_error
                    assert bad.structured_content["error"]["code"] == "graphql_invalid_selection"
                    assert server.count == before
                    paused = await c.call_tool("invoke", {"path": ADD, "args": {
                        "input": {"title": "Tehanu", "authorId": "a1"}}})
                    assert paused.structured_content["status"] == "paused"
                    assert server.count == before
                    done = await c.call_tool("resume", {
                        "executionId": paused.structured_content["executionId"],
                        "action": "accept"})
                    assert done.structured_content["data"]["addBook"]["title"] == "Tehanu"
                    assert server.count == before + 1

            async def code_mode() -> None:
                async with mcp_util.client(daemon.port, token=daemon.token) as c:
                    assert "execute" in {t.name for t in (await c.list_tools()).tools}
                    out = await c.call_tool("execute", {"code": PROGRAM})
                    assert not out.is_error, out.content
                    assert "graphql_invalid_selection" in out.content[0].text

            anyio.run(passthrough)
            anyio.run(code_mode)
            assert daemon.terminate() == 0
