"""/mcp on the daemon's app: the official mcp client, both protocol eras, search, invoke,
approvals with resume and with elicitation, bearer refusal, two clients at once."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from mcp_contract_services import ContractServices
from mcp_util import TOKEN, serve_app
from mcp_util import passthrough_client as client
from upstreams.tinypets import serve as serve_pets

ERAS = ["legacy", "2026-07-28", "auto"]  # auto: what clients do (probe, then pick)


@pytest.fixture
def pets():  # type: ignore[no-untyped-def]
    with serve_pets() as served:
        yield served


@pytest.fixture
def services(pets, tmp_path: Path) -> ContractServices:  # type: ignore[no-untyped-def]
    return ContractServices(pets[0], tmp_path / "executions.db")


def run(coro_fn, *args):  # type: ignore[no-untyped-def]
    return anyio.run(coro_fn, *args)


@pytest.mark.parametrize("era", ERAS)
def test_initialize_list_search_invoke(services: ContractServices, era: str) -> None:
    async def body(port: int) -> None:
        async with client(port, mode=era) as c:
            listed = await c.list_tools()
            names = [t.name for t in listed.tools]
            assert names == ["search", "invoke", "resume"]
            search = next(t for t in listed.tools if t.name == "search")
            assert "- pets" in (search.description or "")
            found = await c.call_tool("search", {"query": "list pets"})
            assert not found.is_error
            items = found.structured_content["items"]
            assert items[0]["path"] == "pets.org.default.pets.listPets"
            assert items[0]["inputSchema"]["type"] == "object"
            paths = [i["path"] for i in items]
            assert "pets.org.default.pets.deleteAll" not in paths  # blocked: never shown
            got = await c.call_tool("invoke", {"path": "tools.pets.org.default.pets.listPets",
                                               "args": {}})
            assert not got.is_error
            assert got.structured_content["ok"] is True
            assert got.structured_content["data"][0]["name"] == "Rex"
            assert json.loads(got.content[0].text)["data"][0]["name"] == "Rex"
            blocked = await c.call_tool("invoke", {"path": "pets.org.default.pets.deleteAll"})
            assert blocked.is_error
            assert blocked.structured_content["error"]["code"] == "blocked"

    with serve_app(services) as port:
        run(body, port)


CREATE = "pets.org.default.pets.createPet"


@pytest.mark.parametrize("era", ERAS)
def test_approval_settled_with_resume(services: ContractServices, pets, era: str) -> None:  # type: ignore[no-untyped-def]
    async def body(port: int) -> None:
        async with client(port, mode=era) as c:
            paused = await c.call_tool("invoke", {"path": CREATE,
                                                  "args": {"body": {"name": "Tom"}}})
            assert not paused.is_error
            info = paused.structured_content
            assert info["status"] == "paused"
            assert "resume" in paused.content[0].text
            assert [p["name"] for p in pets[1]] == ["Rex"]  # nothing ran yet
            done = await c.call_tool("resume", {"executionId": info["executionId"],
                                                "action": "accept"})
            assert not done.is_error, done.content[0].text
            assert done.structured_content["data"]["name"] == "Tom"
            again = await c.call_tool("resume", {"executionId": info["executionId"],
                                                 "action": "accept"})
            assert again.structured_content == done.structured_content  # idempotent
            declined = await c.call_tool("invoke", {"path": CREATE,
                                                    "args": {"body": {"name": "No"}}})
            out = await c.call_tool("resume", {"executionId":
                                               declined.structured_content["executionId"],
                                               "action": "decline"})
            assert out.is_error
            assert out.structured_content["error"]["code"] == "declined"
            bad = await c.call_tool("resume", {"executionId": "exec_nope", "action": "accept"})
            assert bad.is_error
            assert bad.structured_content["error"]["code"] == "execution_not_found"
        assert [p["name"] for p in pets[1]] == ["Rex", "Tom"]

    with serve_app(services) as port:
        run(body, port)


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("action", ["accept", "decline"])
def test_approval_settled_with_native_elicitation(services: ContractServices, pets, era: str,
                                                  action: str) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    async def elicit(_ctx, params):  # type: ignore[no-untyped-def]
        import mcp_types

        asked.append(params.message)
        return mcp_types.ElicitResult(action=action, content={} if action == "accept" else None)

    async def body(port: int) -> None:
        async with client(port, mode=era, query="elicitation_mode=native",
                          elicitation=elicit) as c:
            names = [t.name for t in (await c.list_tools()).tools]
            assert names == ["search", "invoke"]  # native + capable client: no resume tool
            out = await c.call_tool("invoke", {"path": CREATE,
                                               "args": {"body": {"name": "Eli"}}})
            assert asked and CREATE in asked[0]
            if action == "accept":
                assert not out.is_error, out.content[0].text
                assert out.structured_content["data"]["name"] == "Eli"
            else:
                assert out.is_error
                assert out.structured_content["error"]["code"] == "declined"

    with serve_app(services) as port:
        run(body, port)
    assert ("Eli" in [p["name"] for p in pets[1]]) == (action == "accept")


def test_native_without_client_capability_falls_back_to_resume(
        services: ContractServices) -> None:
    async def body(port: int) -> None:
        async with client(port, mode="legacy", query="elicitation_mode=native") as c:
            names = [t.name for t in (await c.list_tools()).tools]
            assert "resume" in names
            out = await c.call_tool("invoke", {"path": CREATE, "args": {"body": {"name": "X"}}})
            assert out.structured_content["status"] == "paused"

    with serve_app(services) as port:
        run(body, port)


def test_browser_mode_links_the_approval_page(services: ContractServices, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EXECUTOR_MCP_BROWSER_WAIT_S", "0.3")

    async def body(port: int) -> None:
        async with client(port, query="elicitation_mode=browser") as c:
            resume = next(t for t in (await c.list_tools()).tools if t.name == "resume")
            assert set(resume.input_schema["properties"]) == {"executionId"}
            out = await c.call_tool("invoke", {"path": CREATE, "args": {"body": {"name": "B"}}})
            eid = out.structured_content["executionId"]
            link = f"http://127.0.0.1:{port}/resume/{eid}"
            assert out.structured_content["approvalUrl"] == link
            assert link in out.content[0].text
            still = await c.call_tool("resume", {"executionId": eid})  # page not answered yet
            assert still.structured_content["approvalUrl"] == link
            await services.executions.resume(eid, "accept")  # what the approval page does
            done = await c.call_tool("resume", {"executionId": eid})
            assert done.structured_content["data"]["name"] == "B"

    with serve_app(services) as port:
        run(body, port)


def test_refused_without_the_bearer(services: ContractServices) -> None:
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    with serve_app(services) as port:
        for token in (None, "wrong"):
            h = dict(headers, **({"Authorization": f"Bearer {token}"} if token else {}))
            r = httpx.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=h)
            assert r.status_code == 401
            assert "mcp-session-id" not in r.headers
        r = httpx.post(f"http://127.0.0.1:{port}/mcp", json=body,
                       headers=dict(headers, Authorization=f"Bearer {TOKEN}"))
        assert r.status_code == 200 and r.headers["mcp-session-id"]
        bad = httpx.post(f"http://127.0.0.1:{port}/mcp?mode=nope", json=body,
                         headers=dict(headers, Authorization=f"Bearer {TOKEN}"))
        assert bad.status_code == 400 and "unknown ?mode='nope'" in bad.text

    async def refused(port: int) -> None:
        async with client(port, token=None, mode="legacy") as c:
            await c.list_tools()

    with serve_app(services) as port, pytest.raises(BaseException):  # noqa: B017
        run(refused, port)


def test_two_clients_at_once(services: ContractServices) -> None:
    async def one(port: int, name: str, era: str, out: dict) -> None:  # type: ignore[type-arg]
        async with client(port, mode=era) as c:
            paused = await c.call_tool("invoke", {"path": CREATE,
                                                  "args": {"body": {"name": name}}})
            out[name] = paused.structured_content["executionId"]
            await anyio.sleep(0)
            done = await c.call_tool("resume", {"executionId": out[name], "action": "accept"})
            out[name + ":done"] = done.structured_content["data"]["name"]

    async def body(port: int) -> None:
        out: dict[str, str] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, port, "A", "legacy", out)
            tg.start_soon(one, port, "B", "legacy", out)
            tg.start_soon(one, port, "C", "2026-07-28", out)
        assert out["A:done"] == "A" and out["B:done"] == "B" and out["C:done"] == "C"
        assert len({out["A"], out["B"], out["C"]}) == 3

    with serve_app(services) as port:
        run(body, port)


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_every_handshake_version_the_sdk_speaks(services: ContractServices, version: str) -> None:
    import httpx
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    assert version in HANDSHAKE_PROTOCOL_VERSIONS
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream",
               "Authorization": f"Bearer {TOKEN}"}
    with serve_app(services) as port:
        r = httpx.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=headers)
        assert r.status_code == 200 and r.headers["mcp-session-id"]
        data = next(line[5:] for line in r.text.splitlines() if line.startswith("data:"))
        assert json.loads(data)["result"]["protocolVersion"] == version


def test_failed_elicitation_leaves_the_call_paused(services: ContractServices, pets) -> None:  # type: ignore[no-untyped-def]
    async def broken(_ctx, _params):  # type: ignore[no-untyped-def]
        raise RuntimeError("the client's dialog crashed")

    async def body(port: int) -> None:
        async with client(port, mode="legacy", query="elicitation_mode=native",
                          elicitation=broken) as c:
            out = await c.call_tool("invoke", {"path": CREATE, "args": {"body": {"name": "Z"}}})
            assert not out.is_error
            assert out.structured_content["status"] == "paused"
            assert "could not show the approval" in out.content[0].text
            done = await c.call_tool("resume", {"executionId":
                                                out.structured_content["executionId"],
                                                "action": "accept"})
            assert done.structured_content["data"]["name"] == "Z"

    with serve_app(services) as port:
        run(body, port)


def test_descriptions_name_at_most_50_integrations() -> None:
    from executor_local.mcp.registry import integration_list

    text = integration_list([f"int{i:02d}" for i in range(60)])
    assert "- int49" in text and "- int50" not in text and "10 more" in text
    assert "none connected" in integration_list([])
