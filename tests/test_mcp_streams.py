"""Long-lived /mcp streams (Executor #1983: an idle GET stream dropped after ~360 s), sessions
across a restart, and the SDK kept off the boot path. Timeouts are shortened by env so the
tests stay fast: keepalive every 0.2 s, a session idle limit of 1.5 s."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest

from mcp_contract_services import ContractServices
from mcp_util import TOKEN, serve_app
from mcp_util import passthrough_client as client
from upstreams.tinypets import serve as serve_pets

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "raw", "version": "1"}}}
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream",
           "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture
def services(tmp_path: Path):  # type: ignore[no-untyped-def]
    with serve_pets() as (base, _pets, _release, _started):
        yield ContractServices(base, tmp_path / "executions.db")


def _open_session(port: int) -> str:
    r = httpx.post(f"http://127.0.0.1:{port}/mcp", json=INIT, headers=HEADERS)
    assert r.status_code == 200, r.text
    sid = r.headers["mcp-session-id"]
    r = httpx.post(f"http://127.0.0.1:{port}/mcp", headers={**HEADERS, "mcp-session-id": sid},
                   json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert r.status_code == 202
    return sid


def _list(port: int, sid: str) -> int:
    r = httpx.post(f"http://127.0.0.1:{port}/mcp", headers={**HEADERS, "mcp-session-id": sid},
                   json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    return r.status_code


def test_idle_get_stream_kept_open_with_keepalives(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EXECUTOR_MCP_SSE_PING_S", "0.2")
    monkeypatch.setenv("EXECUTOR_MCP_SESSION_IDLE_S", "1.5")
    with serve_app(services) as port:
        sid = _open_session(port)
        comments = 0
        started = time.monotonic()
        # A client read timeout (1 s) far below the idle period (4 s): only keepalives keep it.
        timeout = httpx.Timeout(10, read=1.0)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/mcp", timeout=timeout,
                          headers={**HEADERS, "mcp-session-id": sid}) as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():
                comments += line.startswith(":")
                if time.monotonic() - started > 4.0:  # the idle period under test
                    break
        assert comments >= 10, comments
        # The open stream kept the session alive past its idle limit...
        assert _list(port, sid) == 200
        # ...and without one, the limit applies (so the assertion above could fail). Any
        # request restarts the idle clock, so this cannot poll: it stays idle, then looks once.
        time.sleep(2.5)
        assert _list(port, sid) == 404


def test_uvicorn_keep_alive_timeout_does_not_close_an_open_stream(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """uvicorn's ``timeout_keep_alive`` (here 0.5 s) is for idle connections between requests;
    an open SSE response with no keepalive for 2 s must still be open afterwards."""
    monkeypatch.setenv("EXECUTOR_MCP_SSE_PING_S", "60")
    with serve_app(services, timeout_keep_alive=0.5) as port:
        sid = _open_session(port)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/mcp",
                          timeout=httpx.Timeout(10, read=1.0),
                          headers={**HEADERS, "mcp-session-id": sid}) as stream:
            assert stream.status_code == 200
            time.sleep(2.0)  # the idle period under test: no byte is sent either way
            chunks = stream.iter_raw()
            # Still open: the read waits (1 s) and times out, instead of meeting EOF at once.
            with pytest.raises(httpx.ReadTimeout):
                next(chunks)
        assert _list(port, sid) == 200


def test_official_client_survives_an_idle_period(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EXECUTOR_MCP_SSE_PING_S", "0.2")
    monkeypatch.setenv("EXECUTOR_MCP_SESSION_IDLE_S", "1.5")

    async def body(port: int) -> None:
        async with client(port, mode="legacy", read_timeout=1.0) as c:
            await c.list_tools()
            await anyio.sleep(3.5)  # idle longer than both the read timeout and the idle limit
            found = await c.call_tool("search", {"query": "pets"})
            assert not found.is_error and found.structured_content["items"]

    with serve_app(services) as port:
        anyio.run(body, port)


def test_approval_survives_restart_and_session_change(tmp_path: Path) -> None:
    db = tmp_path / "executions.db"
    with serve_pets() as (base, pets, _release, _started):
        async def pause(port: int) -> str:
            async with client(port, mode="legacy") as c:
                out = await c.call_tool("invoke", {"path": "pets.org.default.pets.createPet",
                                                   "args": {"body": {"name": "Later"}}})
                return out.structured_content["executionId"]

        async def settle(port: int, eid: str, era: str) -> dict:  # type: ignore[type-arg]
            async with client(port, mode=era) as c:
                done = await c.call_tool("resume", {"executionId": eid, "action": "accept"})
                return done.structured_content

        with serve_app(ContractServices(base, db)) as port:
            eid = anyio.run(pause, port)
        # A new daemon (new Services on the same store), a new session, another protocol era.
        with serve_app(ContractServices(base, db)) as port:
            out = anyio.run(settle, port, eid, "2026-07-28")
        assert out["ok"] is True and out["data"]["name"] == "Later"
        assert [p["name"] for p in pets] == ["Rex", "Later"]
