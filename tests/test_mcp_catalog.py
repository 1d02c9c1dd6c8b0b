"""MCP over the real catalog: a real daemon (from the source tree) with the OpenAPI petstore
added as an integration, driven by the official ``mcp`` client on ``/mcp`` and through
``executor mcp``: search, invoke, a policy block, an approval settled with ``resume`` and with
elicitation, and a pause that survives a daemon restart and a session change.

Skips until the catalog core (branch core) and the OpenAPI plugin with its petstore (branch
openapi) are merged next to this package.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import mcp_types
import pytest

pytest.importorskip("executor_local.catalog", reason="the catalog core is not merged here yet")
pytest.importorskip("executor_local.integrations.openapi",
                    reason="the OpenAPI plugin (branch openapi) is not merged here yet")
pytest.importorskip("upstreams.petstore", reason="the petstore upstream is not here yet")
pytest.importorskip("catalog_util", reason="the catalog test helpers are not here yet")
from catalog_util import Api, SourceDaemon
from mcp_util import bridge, client
from upstreams.petstore import PetstoreServer

CREATE = "pets.org.main.pets.createPet"
LIST = "pets.org.main.pets.listPets"


@pytest.fixture
def petstore():  # type: ignore[no-untyped-def]
    with PetstoreServer() as server:
        yield server


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str]) -> tuple[SourceDaemon, Api]:
    daemon = SourceDaemon(data_dir, env)
    port = daemon.wait_ready()
    return daemon, Api(port, daemon.token)


def add_petstore(api: Api, petstore: PetstoreServer) -> None:
    api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                    "slug": "pets"})
    api.post("/api/connections", {"owner": "org", "integration": "pets", "name": "main",
                                  "template": "apikey-0", "value": petstore.api_key})


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_mcp_over_the_catalog(petstore: PetstoreServer, cat_env: dict[str, str],
                              data_dir: Path, era: str) -> None:
    asked: list[str] = []

    async def elicit(_ctx, params):  # type: ignore[no-untyped-def]
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={})

    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        api.post("/api/policies", {"owner": "org", "action": "block",
                                   "pattern": "pets.*.*.pets.deletePet"})

        async def body() -> None:
            async with client(daemon.port, token=daemon.token, mode=era,
                              query="mode=passthrough") as c:
                tools = {t.name: t for t in (await c.list_tools()).tools}
                assert {"search", "invoke", "resume"} <= set(tools)
                assert "- pets" in (tools["search"].description or "")
                found = await c.call_tool("search", {"query": "list pets"})
                items = found.structured_content["items"]
                assert LIST in [i["path"] for i in items]
                assert all("inputSchema" in i for i in items) and len(items) <= 20
                gone = await c.call_tool("search", {"query": "delete pet"})
                assert "pets.org.main.pets.deletePet" not in [
                    i["path"] for i in gone.structured_content["items"]]
                blocked = await c.call_tool("invoke", {"path": "pets.org.main.pets.deletePet",
                                                       "args": {"petId": 1}})
                assert blocked.is_error
                assert blocked.structured_content["error"]["code"] == "blocked"
                listed = await c.call_tool("invoke", {"path": f"tools.{LIST}", "args": {}})
                assert not listed.is_error
                assert {p["name"] for p in listed.structured_content["data"]} >= {"Rex"}
                paused = await c.call_tool("invoke", {"path": CREATE,
                                                      "args": {"body": {"name": "Mo"}}})
                assert paused.structured_content["status"] == "paused"
                done = await c.call_tool("resume", {
                    "executionId": paused.structured_content["executionId"],
                    "action": "accept"})
                assert done.structured_content["data"]["name"] == "Mo"
                bad = await c.call_tool("invoke", {"path": "pets.org.main.pets.nope"})
                assert bad.structured_content["error"]["code"] == "tool_not_found"
            async with client(daemon.port, token=daemon.token, mode=era,
                              query="mode=passthrough&elicitation_mode=native",
                              elicitation=elicit) as c:
                out = await c.call_tool("invoke", {"path": CREATE,
                                                   "args": {"body": {"name": "Eli"}}})
                assert out.structured_content["data"]["name"] == "Eli", out.content[0].text
                assert asked

        anyio.run(body)
        assert daemon.terminate() == 0


def test_mcp_pause_survives_restart_through_the_bridge(petstore: PetstoreServer,
                                                       cat_env: dict[str, str],
                                                       data_dir: Path) -> None:
    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)

        async def pause() -> str:
            async with bridge(data_dir, cat_env, "--mode", "passthrough", mode="legacy") as c:
                out = await c.call_tool("invoke", {"path": CREATE,
                                                   "args": {"body": {"name": "Later"}}})
                return out.structured_content["executionId"]

        eid = anyio.run(pause)
        assert daemon.terminate() == 0
    daemon, _api = start(data_dir, cat_env)
    with daemon:
        async def settle() -> dict:  # type: ignore[type-arg]
            async with client(daemon.port, token=daemon.token, mode="2026-07-28") as c:
                done = await c.call_tool("resume", {"executionId": eid, "action": "accept"})
                return done.structured_content

        out = anyio.run(settle)
        assert out["ok"] is True and out["data"]["name"] == "Later"
        assert daemon.terminate() == 0
