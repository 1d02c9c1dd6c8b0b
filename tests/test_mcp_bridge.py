"""``executor mcp`` run as a subprocess (``python -m executor_local mcp`` from the venv until the
bundle carries the SDK), driven by the official ``mcp`` client over stdio.

Most tests point the bridge at the daemon's real app served in this process (with the
contract-shaped Services: real HTTP upstream, pauses in SQLite), through a manifest naming
this process, which is exactly how the bridge finds a running daemon. ``test_real_daemon*``
let the bridge start a real daemon itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest

from mcp_contract_services import ContractServices
from mcp_util import passthrough_bridge as bridge
from mcp_util import point_manifest_at, serve_app
from proc import pythonpath_env
from upstreams.tinypets import serve as serve_pets

CREATE = "pets.org.default.pets.createPet"


@pytest.fixture
def pets():  # type: ignore[no-untyped-def]
    with serve_pets() as served:
        yield served


@pytest.mark.parametrize("era", ["legacy", "2026-07-28", "auto"])
def test_bridge_search_invoke_and_resume(pets, tmp_path: Path, env: dict[str, str],
                                         era: str) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"

    async def body() -> None:
        async with bridge(data_dir, env, mode=era) as c:
            names = [t.name for t in (await c.list_tools()).tools]
            assert names == ["search", "invoke", "resume"]
            found = await c.call_tool("search", {"query": "create pet"})
            assert found.structured_content["items"][0]["path"] == CREATE
            listed = await c.call_tool("invoke", {"path": "pets.org.default.pets.listPets"})
            assert listed.structured_content["data"][0]["name"] == "Rex"
            paused = await c.call_tool("invoke", {"path": CREATE,
                                                  "args": {"body": {"name": "Via"}}})
            eid = paused.structured_content["executionId"]
            done = await c.call_tool("resume", {"executionId": eid, "action": "accept"})
            assert done.structured_content["data"]["name"] == "Via"

    with serve_app(ContractServices(pets.base_url, tmp_path / "x.db")) as port:
        point_manifest_at(data_dir, port)
        anyio.run(body)
    assert [p["name"] for p in pets.pets] == ["Rex", "Via"]


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_bridge_native_elicitation(pets, tmp_path: Path, env: dict[str, str], era: str) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"
    asked: list[str] = []

    async def elicit(_ctx, params):  # type: ignore[no-untyped-def]
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={})

    async def body() -> None:
        async with bridge(data_dir, env, "--elicitation-mode", "native", mode=era,
                          elicitation=elicit) as c:
            assert "resume" not in [t.name for t in (await c.list_tools()).tools]
            out = await c.call_tool("invoke", {"path": CREATE, "args": {"body": {"name": "N"}}})
            assert out.structured_content["data"]["name"] == "N", out.content[0].text

    with serve_app(ContractServices(pets.base_url, tmp_path / "x.db")) as port:
        point_manifest_at(data_dir, port)
        anyio.run(body)
    assert asked and CREATE in asked[0]


def test_bridge_reconnects_after_a_daemon_restart(pets, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  env: dict[str, str]) -> None:
    """The daemon goes away and comes back on another port: the live bridge re-reads the
    manifest, re-opens its session with the client's own initialize, and the client's next
    calls just work, including resuming a pause made before the restart."""
    data_dir = tmp_path / "data"
    db = tmp_path / "x.db"

    async def body() -> None:
        async with bridge(data_dir, env, mode="legacy") as c:
            paused = await c.call_tool("invoke", {"path": CREATE,
                                                  "args": {"body": {"name": "Kept"}}})
            eid = paused.structured_content["executionId"]
            stop_first.set()
            await anyio.to_thread.run_sync(restarted.wait)
            names = [t.name for t in (await c.list_tools()).tools]
            assert names == ["search", "invoke", "resume"]
            done = await c.call_tool("resume", {"executionId": eid, "action": "accept"})
            assert done.structured_content["data"]["name"] == "Kept"

    import threading

    stop_first, restarted = anyio.Event(), threading.Event()

    async def driver() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(body)
            await stop_first.wait()
            await anyio.to_thread.run_sync(restart)

    servers: list[Any] = []

    def restart() -> None:
        servers.pop().__exit__(None, None, None)  # the first daemon stops
        second = serve_app(ContractServices(pets.base_url, db))
        port = second.__enter__()
        servers.append(second)
        point_manifest_at(data_dir, port)
        restarted.set()

    first = serve_app(ContractServices(pets.base_url, db))
    port = first.__enter__()
    servers.append(first)
    try:
        point_manifest_at(data_dir, port)
        anyio.run(driver)
    finally:
        for s in servers:
            s.__exit__(None, None, None)
    assert [p["name"] for p in pets.pets] == ["Rex", "Kept"]


def test_bridge_fails_an_in_flight_request_clearly(pets, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   env: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    server = serve_app(ContractServices(pets.base_url, tmp_path / "x.db"))
    port = server.__enter__()
    point_manifest_at(data_dir, port)
    errors: list[str] = []

    async def body() -> None:
        async with bridge(data_dir, env, mode="legacy") as c:
            await c.list_tools()

            async def slow() -> None:
                from mcp.shared.exceptions import MCPError

                try:
                    await c.call_tool("invoke", {"path": "pets.org.default.pets.slow"})
                except MCPError as exc:
                    errors.append(str(exc))

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await anyio.to_thread.run_sync(pets.slow_started.wait, 20)
                await anyio.to_thread.run_sync(server.__exit__, None, None, None)

    try:
        anyio.run(body)
    finally:
        pets.release.set()
        server.__exit__(None, None, None)
    assert errors, "the in-flight call did not fail"
    assert "lost while it ran tools/call" in errors[0] and "not sent again" in errors[0]


def test_bridge_exits_when_stdin_closes(pets, tmp_path: Path, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    data_dir = tmp_path / "data"
    with serve_app(ContractServices(pets.base_url, tmp_path / "x.db")) as port:
        point_manifest_at(data_dir, port)
        init = ('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
                '"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n')
        done = subprocess.run(
            [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "mcp"],
            input=init + "not json\n", capture_output=True, text=True, timeout=60,
            env=pythonpath_env(env))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The initialize answer came although stdin closed right after it (answers in flight go
    # out before the bridge exits).
    assert any('"id":1' in line and '"protocolVersion":"2025-06-18"' in line for line in lines)
    assert any('"code":-32700' in line for line in lines)  # the bad line got a parse error
    assert all(line.startswith("{") for line in lines)  # stdout carries JSON-RPC only


@pytest.mark.parametrize("name", ["search", "tools.pets.list", " edge ", "naïve", "a\tb",
                                  "=?base64?eA==?="])
def test_bridge_header_encoding_matches_the_sdk(name: str) -> None:
    from mcp.shared.inbound import decode_header_value, encode_header_value

    from executor_local.mcp.bridge_wire import header_value

    assert header_value(name) == encode_header_value(name)
    assert decode_header_value(header_value(name)) == name
