"""``execute``, ``skills`` and ``resume`` over /mcp of a real daemon (from the source tree) with
the official MCP client, the real catalog, the OpenAPI plugin and the petstore upstream:
programs that combine calls, search then call, pause and resume (accept, decline, and after a
daemon restart with the first call not repeated upstream), and limits that leave the daemon
serving. Runs once the MCP server package (branch mcpserver) is merged; skipped before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("executor_local.mcp.registry")
pytest.importorskip("executor_local.integrations.openapi")

from catalog_util import Api, SourceDaemon
from mcp_util import client
from upstreams.petstore import PetstoreServer


@pytest.fixture
def petstore() -> Iterator[PetstoreServer]:
    with PetstoreServer() as server:
        yield server


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str]) -> tuple[SourceDaemon, int]:
    daemon = SourceDaemon(data_dir, env)
    return daemon, daemon.wait_ready()


def add_petstore(port: int, token: str, petstore: PetstoreServer) -> None:
    api = Api(port, token)
    api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                    "slug": "pets"})
    api.post("/api/connections", {"owner": "org", "integration": "pets", "name": "main",
                                  "template": "apikey-0", "value": petstore.api_key})


def over_mcp(port: int, token: str, body: Any, query: str = "") -> None:
    async def main() -> None:
        async with client(port, token=token, query=query) as c:
            await body(c)

    anyio.run(main)


CREATE = """
    const before = await tools.pets.org.main.pets.listPets({});
    const made = await tools.pets.org.main.pets.createPet({ body: { name: "Neo" } });
    return { before: before.data.length, made: made.ok ? made.data.name : made.error.code };
"""


def test_code_mode_over_mcp(petstore: PetstoreServer, cat_env: dict[str, str],
                            data_dir: Path) -> None:
    daemon, port = start(data_dir, cat_env)
    with daemon:
        token = daemon.token
        add_petstore(port, token, petstore)

        async def body(c: Any) -> None:
            listed = await c.list_tools()
            names = [t.name for t in listed.tools]
            assert names[:2] == ["execute", "skills"] and "resume" in names, names
            execute = next(t for t in listed.tools if t.name == "execute")
            assert execute.description.startswith("Execute TypeScript in a sandboxed runtime.")
            assert 'skills({ name: "execute" })' in execute.description
            assert "- `pets`" in execute.description
            how = await c.call_tool("skills", {"name": "execute"})
            assert "tools.search" in how.content[0].text and "deterministic" in how.content[0].text

            out = await c.call_tool("execute", {"code": """
                const { items } = await tools.search({ query: "info for a specific pet" });
                const path = items.find((i: any) => i.path.endsWith("showPetById"))!.path;
                const list = await tools.pets.org.main.pets.listPets({});
                const one = await tools[path]({ petId: list.data[1].id });
                return { count: list.data.length, name: one.data.name };
            """})
            assert not out.is_error, out.content[0].text
            assert out.structured_content["result"] == {"count": 2, "name": "Tom"}

            for action, made in (("accept", "Neo"), ("decline", "declined")):
                paused = await c.call_tool("execute", {"code": CREATE})
                info = paused.structured_content
                assert info["status"] == "paused", paused.content[0].text
                gets = petstore.hits("/pets")
                done = await c.call_tool("resume", {"executionId": info["executionId"],
                                                    "action": action})
                assert not done.is_error, done.content[0].text
                assert done.structured_content["result"]["made"] == made
                # replayed: the listPets before the pause was not asked again
                assert petstore.hits("/pets") == gets + (1 if action == "accept" else 0)

            for code, words in [("const a = []; while (true) a.push('x'.repeat(1 << 20));",
                                 "Memory limit exceeded"),
                                ("const f = (n: number): number => 1 + f(n + 1); return f(0)",
                                 "Stack limit exceeded"),
                                ("return (", "SyntaxError")]:
                bad = await c.call_tool("execute", {"code": code})
                assert bad.is_error and bad.structured_content["status"] == "error"
                assert bad.structured_content["error"].startswith(words), bad.content[0].text
            alive = await c.call_tool("execute", {"code": "return 'alive'"})
            assert alive.structured_content["result"] == "alive"

            shown = await c.call_tool("execute", {"code": """
                emit("for the user");
                emit({ type: "image", data: "aGk=", mimeType: "image/png" });
                emit({ type: "bogus" });
            """})
            assert shown.structured_content["emitted"] == 3
            kinds = [(b.type, getattr(b, "text", None)) for b in shown.content]
            assert kinds[0] == ("text", "(no return value; 3 items emitted to the user)")
            assert kinds[1] == ("text", "for the user") and kinds[2][0] == "image"
            assert kinds[3][0] == "text" and "bogus" in kinds[3][1]

        over_mcp(port, token, body)

        async def passthrough(c: Any) -> None:
            names = [t.name for t in (await c.list_tools()).tools]
            assert names[:2] == ["search", "invoke"]

        over_mcp(port, token, passthrough, query="mode=passthrough")


def test_resume_over_mcp_after_a_restart(petstore: PetstoreServer, cat_env: dict[str, str],
                                         data_dir: Path) -> None:
    ids: list[str] = []
    daemon, port = start(data_dir, cat_env)
    with daemon:
        add_petstore(port, daemon.token, petstore)

        async def pause(c: Any) -> None:
            paused = await c.call_tool("execute", {"code": CREATE})
            ids.append(paused.structured_content["executionId"])

        over_mcp(port, daemon.token, pause)
        assert daemon.terminate() == 0
    assert petstore.hits("/pets") == 1
    daemon, port = start(data_dir, cat_env)
    with daemon:
        async def settle(c: Any) -> None:
            done = await c.call_tool("resume", {"executionId": ids[0], "action": "accept"})
            assert done.structured_content["result"] == {"before": 2, "made": "Neo"}, \
                done.content[0].text

        over_mcp(port, daemon.token, settle)
    assert petstore.hits("/pets") == 2, "the journaled call reached the upstream again"
    assert petstore.next_id == 4
