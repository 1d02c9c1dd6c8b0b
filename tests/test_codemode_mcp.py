"""``execute``, ``skills`` and ``resume`` over /mcp with the official MCP client: programs that
combine petstore calls, search then call, pause and resume (accept, decline, after a restart
with the first call not repeated upstream), and the limits. Runs once the MCP server package
(branch mcpserver) is merged; skipped before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("executor_local.mcp.registry")

from codemode_parts import Petstore
from codemode_services import CodeServices
from mcp_util import client, serve_app


@pytest.fixture
def store() -> Iterator[Petstore]:
    s = Petstore()
    yield s
    s.close()


@pytest.fixture
def services(store: Petstore, tmp_path: Path) -> Iterator[CodeServices]:
    s = CodeServices(store, tmp_path / "data.db")
    yield s
    s.close()


def serve(services: CodeServices, body: Any) -> None:
    with serve_app(services) as port:
        anyio.run(body, port)


def test_code_mode_is_the_default_and_describes_itself(services: CodeServices) -> None:
    async def body(port: int) -> None:
        async with client(port) as c:
            listed = await c.list_tools()
            names = [t.name for t in listed.tools]
            assert names[:2] == ["execute", "skills"] and "resume" in names
            execute = next(t for t in listed.tools if t.name == "execute")
            assert execute.description.startswith("Execute TypeScript in a sandboxed runtime.")
            assert 'skills({ name: "execute" })' in execute.description
            assert "- `petstore`" in execute.description
            how = await c.call_tool("skills", {"name": "execute"})
            assert "tools.search" in how.content[0].text
            assert "deterministic" in how.content[0].text
        async with client(port, query="mode=passthrough") as c:
            names = [t.name for t in (await c.list_tools()).tools]
            assert names[:2] == ["search", "invoke"]

    serve(services, body)


def test_execute_combines_two_calls_and_searches(services: CodeServices,
                                                 store: Petstore) -> None:
    async def body(port: int) -> None:
        async with client(port) as c:
            out = await c.call_tool("execute", {"code": """
                const { items } = await tools.search({ query: "list pets" });
                const list = await tools[items[0].path]({});
                const one = await tools.petstore.org.main.pets.showPetById({ petId: 2 });
                return { count: list.data.length, name: one.data.name };
            """})
            assert not out.is_error, out.content[0].text
            assert out.structured_content["result"] == {"count": 3, "name": "Tom"}
            assert store.hits["GET /pets"] == 1 and store.hits["GET /pets/2"] == 1

    serve(services, body)


CREATE = """
    const before = await tools.petstore.org.main.pets.listPets({});
    const made = await tools.petstore.org.main.pets.createPet({ body: { name: "Neo" } });
    return { before: before.data.length, made: made.ok ? made.data.name : made.error.code };
"""


@pytest.mark.parametrize(("action", "made", "posts"), [("accept", "Neo", 1),
                                                        ("decline", "declined", 0)])
def test_execute_pauses_and_resumes(services: CodeServices, store: Petstore, action: str,
                                    made: str, posts: int) -> None:
    async def body(port: int) -> None:
        async with client(port) as c:
            paused = await c.call_tool("execute", {"code": CREATE})
            info = paused.structured_content
            assert info["status"] == "paused", paused.content[0].text
            assert store.hits["POST /pets"] == 0
            done = await c.call_tool("resume", {"executionId": info["executionId"],
                                                "action": action})
            assert not done.is_error, done.content[0].text
            assert done.structured_content["result"] == {"before": 3, "made": made}
            assert store.hits["POST /pets"] == posts and store.hits["GET /pets"] == 1

    serve(services, body)


def test_resume_after_a_restart_does_not_repeat_calls(store: Petstore, tmp_path: Path) -> None:
    first = CodeServices(store, tmp_path / "data.db")
    ids: list[str] = []

    async def pause(port: int) -> None:
        async with client(port) as c:
            paused = await c.call_tool("execute", {"code": CREATE})
            ids.append(paused.structured_content["executionId"])

    try:
        serve(first, pause)
    finally:
        first.close()
    second = CodeServices(store, tmp_path / "data.db")

    async def settle(port: int) -> None:
        async with client(port) as c:
            done = await c.call_tool("resume", {"executionId": ids[0], "action": "accept"})
            assert done.structured_content["result"] == {"before": 3, "made": "Neo"}

    try:
        serve(second, settle)
    finally:
        second.close()
    assert store.hits["GET /pets"] == 1, "the journaled call reached the upstream again"
    assert store.hits["POST /pets"] == 1


@pytest.mark.parametrize(("code", "words"), [
    ("while (true) {}", "Time limit exceeded"),
    ("const a = []; while (true) a.push('x'.repeat(1 << 20));", "Memory limit exceeded"),
    ("const f = (n: number): number => n ? 1 + f(n - 1) : 0; return f(1e6)",
     "Stack limit exceeded"),
    ("return (", "SyntaxError"),
])
def test_execute_limits_and_errors(services: CodeServices, code: str, words: str) -> None:
    from executor_local.executions.sandbox.limits import Limits

    services.executions.mode.limits = Limits(time_s=1.5)

    async def body(port: int) -> None:
        async with client(port) as c:
            out = await c.call_tool("execute", {"code": code})
            assert out.is_error and out.structured_content["status"] == "error"
            assert out.structured_content["error"].startswith(words), out.content[0].text
            again = await c.call_tool("execute", {"code": "return 'alive'"})
            assert again.structured_content["result"] == "alive"

    serve(services, body)
