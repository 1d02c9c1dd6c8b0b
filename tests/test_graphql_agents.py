"""Agents see GraphQL tools like any other: over MCP in passthrough mode (``search``,
``invoke``, ``resume``) with the official ``mcp`` client, and in code mode (``execute``, over
MCP and ``POST /api/executions {code}``), against the real GraphQL test server through the
real daemon.

Skips until the MCP server (branch mcpserver) and code mode (branch codemode) are merged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_util import Api, SourceDaemon
from upstreams.graphql_server import running

pytest.importorskip("executor_local.mcp.routes", reason="the MCP server is not merged yet")
pytest.importorskip("executor_local.executions.sandbox",
                    reason="code mode (branch codemode) is not merged yet")
mcp_util = pytest.importorskip("mcp_util", reason="the MCP test helpers are not here yet")
anyio = pytest.importorskip("anyio")
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


def test_graphql_over_mcp_and_code_mode(cat_env: dict[str, str], data_dir: Path) -> None:
    with running() as server:
        daemon = SourceDaemon(data_dir, cat_env)
        api = Api(daemon.wait_ready(), daemon.token)
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

            anyio.run(passthrough)

            out = api.post("/api/executions", {"code": PROGRAM})
            assert out["status"] == "completed" and not out.get("isError"), out
            result = out["structured"]["result"]
            assert BOOKS in result["paths"]
            assert result["one"] == {"book": {"title": "The Dispossessed",
                                              "author": {"name": "Ursula K. Le Guin"}}}
            assert result["bad"] == "graphql_invalid_selection"

            async def code_mode() -> None:
                async with mcp_util.client(daemon.port, token=daemon.token) as c:
                    tools = {t.name for t in (await c.list_tools()).tools}
                    assert "execute" in tools
                    out = await c.call_tool("execute", {"code": (
                        "const r = await tools.library.org.main.mutation.deleteBook({id: 'b2'});"
                        " return r;")})
                    assert out.structured_content["status"] == "paused", out.content
                    done = await c.call_tool("resume", {
                        "executionId": out.structured_content["executionId"],
                        "action": "accept"})
                    assert "deleteBook" in done.content[0].text, done.content

            anyio.run(code_mode)
            assert daemon.terminate() == 0
