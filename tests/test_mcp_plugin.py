"""The MCP plugin against a real upstream built with the official SDK: over streamable HTTP,
SSE and stdio, through the session pool, with the official ``mcp`` client underneath."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("mcp")

from executor_local.integrations.base import Credentials, Integration, PluginEnv, ToolCall
from executor_local.integrations.mcp import McpListError, McpPlugin, build_integration
from executor_local.integrations.mcp.add import credentials_for, preview
from executor_local.integrations.mcp.pool import SessionPool
from upstreams.mcp_upstream import HttpUpstream, serve_http, stdio_command

SECRET = "s3cr3t-header-value-4f9a"
ENV = PluginEnv(blob=lambda _key: None, timeout_s=20.0)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def upstream() -> Iterator[HttpUpstream]:
    with HttpUpstream() as up:
        yield up


def remote(slug: str, url: str, **extra: Any) -> Integration:
    config = {"endpoint": url, "transport": "remote", "remoteTransport": "streamable-http",
              "authenticationTemplate": [{"slug": "none", "kind": "none"}], **extra}
    return Integration(slug=slug, plugin_id="mcp", description=slug, config=config)


def stdio(slug: str, **extra: Any) -> Integration:
    command, args = stdio_command()
    config = {"transport": "stdio", "command": command, "args": args, **extra}
    return Integration(slug=slug, plugin_id="mcp", description=slug, config=config)


def call(integration: Integration, tool: str, args: dict[str, Any],
         credentials: Credentials | None = None, connection: str = "main") -> ToolCall:
    return ToolCall(integration=integration, connection=connection, tool=tool, args=args,
                    binding=None, input_schema=None, credentials=credentials or Credentials())


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def test_http_lists_tools_as_executor_names_them(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)

    async def go() -> Any:
        try:
            return await plugin.list_tools(integration, Credentials(), ENV)
        finally:
            await plugin.close()

    listing = run(go())
    by_name = {t.name: t for t in listing.tools}
    assert {"echo", "add", "delete_item", "get_item", "fail", "add_tool"} <= set(by_name)
    assert by_name["delete_item"].annotations["requiresApproval"] is True
    assert by_name["delete_item"].annotations["approvalDescription"] == "Delete an item"
    assert by_name["get_item"].annotations["requiresApproval"] is False
    assert by_name["echo"].annotations == {"requiresApproval": False,
                                           "mcp": {"toolName": "echo"}}
    # plugin_storage ``binding`` rows exactly as the 1.5.9 fixture shows them
    binding = plugin.storage_data("up", "echo", by_name["echo"].binding)
    assert binding["namespace"] == "up" and binding["toolId"] == "up.echo"
    assert binding["binding"]["toolId"] == "echo" and binding["binding"]["toolName"] == "echo"
    assert binding["binding"]["inputSchema"]["properties"]["text"]["type"] == "string"
    assert {"toolId", "toolName", "description", "inputSchema"} <= set(binding["binding"]) <= {
        "toolId", "toolName", "description", "inputSchema", "outputSchema", "annotations"}
    assert listing.warnings == []


def test_http_calls_reuse_one_session_and_map_results(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)

    async def go() -> list[Any]:
        try:
            return [await plugin.invoke(call(integration, "echo", {"text": "hi"}), ENV),
                    await plugin.invoke(call(integration, "add", {"a": 2, "b": 3}), ENV),
                    await plugin.invoke(call(integration, "get_item", {"id": "7"}), ENV),
                    await plugin.invoke(call(integration, "fail", {"message": "nope!"}), ENV)]
        finally:
            await plugin.close()

    echo, add, item, failed = run(go())
    assert echo == {"ok": True, "data": {"result": "hi"}}
    assert add == {"ok": True, "data": {"result": 5.0}}
    assert item == {"ok": True, "data": {"id": "7", "name": "item 7"}}
    assert failed["ok"] is False and failed["error"]["code"] == "mcp_tool_error"
    assert "nope!" in failed["error"]["message"]
    assert len(upstream.state.sessions) == 1  # four calls, one pooled session
    assert upstream.state.counts["tools/call"] == 4


def test_sse_and_auto_fallback(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    sse = remote("sse", upstream.sse_url, remoteTransport="sse")
    auto = remote("auto", upstream.sse_url, remoteTransport="auto")

    async def go() -> list[Any]:
        try:
            return [await plugin.invoke(call(sse, "echo", {"text": "over sse"}), ENV),
                    await plugin.invoke(call(auto, "echo", {"text": "auto"}), ENV),
                    await plugin.probe(auto.config)]
        finally:
            await plugin.close()

    via_sse, via_auto, probed = run(go())
    assert via_sse == {"ok": True, "data": {"result": "over sse"}}
    assert via_auto == {"ok": True, "data": {"result": "auto"}}
    assert probed["ok"] and probed["transport"] == "sse"
    assert probed["server"]["name"] == "test-upstream"


def test_header_and_query_secrets_come_from_the_connection(
        upstream: HttpUpstream, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.state.required_headers["X-Upstream-Key"] = SECRET
    upstream.state.required_query["team"] = "t-" + SECRET
    built = build_integration({"endpoint": upstream.url, "remoteTransport": "streamable-http",
                               "secretHeaders": ["X-Upstream-Key"],
                               "secretQueryParams": ["team"], "slug": "guarded"})
    assert SECRET not in repr(built)
    assert built["variables"] == ["x_upstream_key", "team"]
    integration = Integration(slug="guarded", plugin_id="mcp", description="",
                              config=built["config"])
    good = credentials_for(built["config"], {"x_upstream_key": SECRET, "team": "t-" + SECRET})
    bad = credentials_for(built["config"], {"x_upstream_key": "wrong", "team": "wrong"})
    plugin = McpPlugin()

    async def go() -> list[Any]:
        try:
            return [await plugin.invoke(call(integration, "echo", {"text": "in"}, good), ENV),
                    await plugin.invoke(call(integration, "echo", {"text": "in"}, bad), ENV),
                    await plugin.probe(built["config"], bad)]
        finally:
            await plugin.close()

    allowed, refused, probe = run(go())
    assert allowed == {"ok": True, "data": {"result": "in"}}
    assert refused["ok"] is False and refused["error"]["status"] == 401
    assert "credentials were refused" in refused["error"]["message"]
    assert refused["error"]["retryable"] is False
    assert probe["ok"] is False and probe["error"]["status"] == 401
    everything = repr([allowed, refused, probe]) + caplog.text
    assert SECRET not in everything


def test_list_changed_is_picked_up(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)
    heard: list[tuple[str, str | None]] = []
    plugin.on_tools_changed(lambda slug, connection: heard.append((slug, connection)))

    async def go() -> Any:
        try:
            before = await plugin.list_tools(integration, Credentials(), ENV)
            assert not plugin.needs_refresh(integration, Credentials())
            added = await plugin.invoke(call(integration, "add_tool", {"name": "fresh_tool"}), ENV)
            assert added["ok"], added
            deadline = time.monotonic() + 10
            while not heard and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            stale = plugin.needs_refresh(integration, Credentials())
            after = await plugin.list_tools(integration, Credentials(), ENV)
            fresh = await plugin.invoke(call(integration, "fresh_tool", {"text": "x"}), ENV)
            return before, stale, after, fresh
        finally:
            await plugin.close()

    before, stale, after, fresh = run(go())
    assert "fresh_tool" not in {t.name for t in before.tools}
    assert heard == [("up", "main")] and stale is True
    assert "fresh_tool" in {t.name for t in after.tools}
    assert fresh == {"ok": True, "data": {"result": "fresh_tool:x"}}


def test_failed_refresh_keeps_the_last_good_list(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)

    async def go() -> Any:
        try:
            first = await plugin.list_tools(integration, Credentials(), ENV)
            upstream.state.fail_list = True
            kept = await plugin.list_tools(integration, Credentials(), ENV)
            return first, kept
        finally:
            await plugin.close()

    first, kept = run(go())
    assert [t.name for t in kept.tools] == [t.name for t in first.tools]
    assert kept.warnings and "kept the last good list" in kept.warnings[0]
    assert upstream.state.counts["tools/list"] >= 2  # the refresh really went upstream


def test_a_first_listing_that_fails_raises_a_clear_error() -> None:
    plugin = McpPlugin()
    integration = remote("gone", "http://127.0.0.1:9/mcp")

    async def go() -> None:
        try:
            await plugin.list_tools(integration, Credentials(), ENV)
        finally:
            await plugin.close()

    with pytest.raises(McpListError) as raised:
        run(go())
    error = raised.value.envelope["error"]
    assert error["code"] == "upstream_unreachable" and error["retryable"] is True
    assert "127.0.0.1:9" in error["message"]


def test_unknown_tool_marks_the_list_stale(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)
    heard: list[str] = []
    plugin.on_tools_changed(lambda slug, _connection: heard.append(slug))

    async def go() -> Any:
        try:
            await plugin.list_tools(integration, Credentials(), ENV)
            return await plugin.invoke(call(integration, "vanished", {}), ENV)
        finally:
            await plugin.close()

    out = run(go())
    assert out["ok"] is False and out["error"]["code"] == "mcp_tool_unknown"
    assert heard == ["up"]


def test_idle_sessions_close_and_reopen(upstream: HttpUpstream) -> None:
    pool = SessionPool(idle_timeout=0.2)
    plugin = McpPlugin(pool)
    integration = remote("up", upstream.url)

    async def go() -> Any:
        try:
            first = await plugin.invoke(call(integration, "echo", {"text": "1"}), ENV)
            deadline = time.monotonic() + 10
            while pool.stats()["sessions"] and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            closed = pool.stats()["sessions"]
            second = await plugin.invoke(call(integration, "echo", {"text": "2"}), ENV)
            return first, closed, second
        finally:
            await plugin.close()

    first, closed, second = run(go())
    assert first["ok"] and second["ok"] and closed == 0
    assert len(upstream.state.sessions) == 2


def test_stdio_lists_calls_and_passes_secret_env() -> None:
    plugin = McpPlugin()
    integration = stdio("local", env={"STATIC_FLAG": "1"},
                        authenticationTemplate=[{"slug": "env", "kind": "stdio_env",
                                                 "vars": ["UPSTREAM_TOKEN"]}])
    creds = Credentials(method=integration.config["authenticationTemplate"][0],
                        values={"UPSTREAM_TOKEN": SECRET})

    async def go() -> Any:
        try:
            listing = await plugin.list_tools(integration, creds, ENV)
            digest = await plugin.invoke(call(integration, "env_digest",
                                              {"name": "UPSTREAM_TOKEN"}, creds), ENV)
            flag = await plugin.invoke(call(integration, "env_digest",
                                            {"name": "STATIC_FLAG"}, creds), ENV)
            return listing, digest, flag
        finally:
            await plugin.close()

    listing, digest, flag = run(go())
    assert "delete_item" in {t.name for t in listing.tools}
    assert digest["data"]["result"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert flag["data"]["result"] == hashlib.sha256(b"1").hexdigest()


def test_stdio_server_killed_is_restarted_by_the_next_call(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    plugin = McpPlugin()
    integration = stdio("crashy")

    async def pid() -> int:
        out = await plugin.invoke(call(integration, "stats", {}), ENV)
        assert out["ok"], out
        return out["data"]["pid"]

    async def go() -> Any:
        try:
            first = await pid()
            os.kill(first, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while plugin.pool.stats()["sessions"] and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            second = await pid()
            crashed = await plugin.invoke(call(integration, "crash", {}), ENV)
            third = await pid()
            return first, second, crashed, third
        finally:
            await plugin.close()

    first, second, crashed, third = run(go())
    assert first != second != third
    assert crashed["ok"] is False and crashed["error"]["code"] == "upstream_unreachable"
    assert crashed["error"]["retryable"] is True
    wait_until(lambda: "crashing on request" in caplog.text)
    assert any(r.name == "executor.mcp.crashy" for r in caplog.records)


def test_stdio_stderr_is_logged_with_bounds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="executor.mcp.chatty")
    plugin = McpPlugin()
    integration = stdio("chatty")

    async def go() -> Any:
        try:
            return await plugin.invoke(call(integration, "spam_stderr",
                                            {"lines": 400, "width": 5000}), ENV)
        finally:
            await plugin.close()

    assert run(go())["ok"]
    wait_until(lambda: "suppressed" in caplog.text)
    lines = [r for r in caplog.records if r.name == "executor.mcp.chatty"
             and r.getMessage().startswith("stderr: line")]
    assert 0 < len(lines) <= 50
    assert all(len(r.getMessage()) < 2100 for r in lines)


def test_stdio_command_that_does_not_exist_is_a_clear_error() -> None:
    plugin = McpPlugin()
    integration = Integration(slug="missing", plugin_id="mcp", description="",
                              config={"transport": "stdio", "command": "/nonexistent/mcp-srv"})

    async def go() -> Any:
        try:
            return await plugin.invoke(call(integration, "echo", {"text": "x"}), ENV)
        finally:
            await plugin.close()

    out = run(go())
    assert out["ok"] is False and "/nonexistent/mcp-srv" in out["error"]["message"]
    assert out["error"]["retryable"] is False


def test_migrated_configs_are_callable(upstream: HttpUpstream) -> None:
    """The shapes 1.5.9 and our migrator write: remote_mcp as in the fixture, and a stdio
    server with the command, args and env our migrator keeps."""
    command, args = stdio_command()
    remote_config = {"endpoint": upstream.url, "transport": "remote",
                     "remoteTransport": "streamable-http",
                     "authenticationTemplate": [{"slug": "none", "kind": "none"}]}
    stdio_config = {"transport": "stdio", "command": command, "args": args,
                    "env": {"FIXTURE": "1"}, "auth": {"kind": "none"}}
    lost = {"transport": "stdio", "auth": {"kind": "none"}}  # what 1.5.9 itself leaves
    plugin = McpPlugin()
    # the binding as the fixture's plugin_storage row holds it
    binding = {"namespace": "remote_mcp", "toolId": "remote_mcp.echo",
               "binding": {"toolId": "echo", "toolName": "echo"}}

    async def go() -> Any:
        try:
            out = []
            for slug, config in (("remote_mcp", remote_config), ("stdio_mcp", stdio_config),
                                 ("lost", lost)):
                integration = Integration(slug=slug, plugin_id="mcp", description="",
                                          config=config)
                out.append(await plugin.invoke(ToolCall(
                    integration=integration, connection="workspace", tool="echo",
                    args={"text": slug}, binding=binding, input_schema=None,
                    credentials=Credentials()), ENV))
            return out
        finally:
            await plugin.close()

    via_remote, via_stdio, lost_out = run(go())
    assert via_remote == {"ok": True, "data": {"result": "remote_mcp"}}
    assert via_stdio == {"ok": True, "data": {"result": "stdio_mcp"}}
    assert lost_out["ok"] is False and "has no command" in lost_out["error"]["message"]


def test_preview_names_the_integration_and_its_secrets(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()

    async def go() -> Any:
        try:
            return await preview(plugin, {"endpoint": upstream.url})
        finally:
            await plugin.close()

    out = run(go())
    assert out["ok"] and out["integration"]["slug"] == "test_upstream"
    assert out["integration"]["config"]["remoteTransport"] == "auto"
    assert {t["name"] for t in out["tools"]} >= {"echo", "delete_item"}
    assert next(t for t in out["tools"] if t["name"] == "delete_item")["requiresApproval"]


def test_calls_from_another_thread_run_on_the_pool_loop(upstream: HttpUpstream) -> None:
    """A sync caller in a worker thread (asyncio.run there) reuses the daemon loop's session."""
    import threading

    plugin = McpPlugin()
    integration = remote("up", upstream.url)
    results: list[Any] = []

    async def main() -> None:
        plugin.bind()
        results.append(await plugin.invoke(call(integration, "echo", {"text": "loop"}), ENV))

        def worker() -> None:
            results.append(asyncio.run(plugin.invoke(call(integration, "echo",
                                                          {"text": "thread"}), ENV)))

        thread = threading.Thread(target=worker)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.02)
        await plugin.close()

    run(main())
    assert [r["data"]["result"] for r in results] == ["loop", "thread"]
    assert len(upstream.state.sessions) == 1


def test_a_restarted_http_server_gets_a_new_session_transparently() -> None:
    first = serve_http()
    plugin = McpPlugin()
    integration = remote("up", first.url)
    servers = [first]

    async def go() -> Any:
        try:
            before = await plugin.invoke(call(integration, "echo", {"text": "a"}), ENV)
            first.stop()
            servers.append(serve_http(port=first.port))  # same URL, no memory of the session
            after = await plugin.invoke(call(integration, "echo", {"text": "b"}), ENV)
            return before, after
        finally:
            await plugin.close()

    try:
        before, after = run(go())
    finally:
        servers[-1].stop()
    assert before["ok"] and after == {"ok": True, "data": {"result": "b"}}
    assert servers[-1].state.counts["call:echo"] == 1  # resent once, on the new session


def test_secret_values_are_scrubbed_from_stderr(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="executor.mcp.leaky")
    plugin = McpPlugin()
    integration = stdio("leaky", authenticationTemplate=[
        {"slug": "env", "kind": "stdio_env", "vars": ["UPSTREAM_TOKEN"]}])
    creds = Credentials(method=integration.config["authenticationTemplate"][0],
                        values={"UPSTREAM_TOKEN": SECRET})

    async def go() -> Any:
        try:
            return await plugin.invoke(call(integration, "leak_env_to_stderr",
                                            {"name": "UPSTREAM_TOKEN"}, creds), ENV)
        finally:
            await plugin.close()

    assert run(go())["ok"]
    wait_until(lambda: "the value of UPSTREAM_TOKEN is" in caplog.text)
    assert "the value of UPSTREAM_TOKEN is ***" in caplog.text
    assert SECRET not in caplog.text


def test_concurrent_calls_share_one_stdio_server() -> None:
    plugin = McpPlugin()
    integration = stdio("busy")

    async def go() -> Any:
        try:
            calls = [plugin.invoke(call(integration, "sleep", {"seconds": 0.3}), ENV)
                     for _ in range(8)]
            results = await asyncio.gather(*calls)
            stats = await plugin.invoke(call(integration, "stats", {}), ENV)
            return results, stats, plugin.pool.stats()
        finally:
            await plugin.close()

    results, stats, pool = run(go())
    assert all(r == {"ok": True, "data": {"result": 0.3}} for r in results)
    assert stats["data"]["counts"]["call:sleep"] == 8  # one process served them all
    assert pool["sessions"] == 1


def test_a_slow_tool_times_out_with_a_clear_error(upstream: HttpUpstream) -> None:
    plugin = McpPlugin()
    integration = remote("up", upstream.url)
    quick = PluginEnv(blob=lambda _key: None, timeout_s=0.5)

    async def go() -> Any:
        try:
            slow = await plugin.invoke(call(integration, "sleep", {"seconds": 5}), quick)
            after = await plugin.invoke(call(integration, "echo", {"text": "still here"}), ENV)
            return slow, after
        finally:
            await plugin.close()

    slow, after = run(go())
    assert slow["ok"] is False and slow["error"]["code"] == "upstream_timeout"
    assert slow["error"]["retryable"] is True
    assert after == {"ok": True, "data": {"result": "still here"}}


def test_lists_in_use_fall_due_after_the_ttl(upstream: HttpUpstream) -> None:
    now = [1000.0]
    pool = SessionPool(tools_ttl=900.0, clock=lambda: now[0])
    plugin = McpPlugin(pool)
    integration = remote("up", upstream.url)
    unused = remote("unused", upstream.url)

    async def go() -> Any:
        try:
            await plugin.list_tools(integration, Credentials(), ENV)
            await plugin.list_tools(unused, Credentials(), ENV)
            await plugin.invoke(call(integration, "echo", {"text": "x"}), ENV)
            fresh = pool.due_for_refresh()
            now[0] += 901.0
            return fresh, pool.due_for_refresh(), plugin.needs_refresh(integration,
                                                                       Credentials())
        finally:
            await plugin.close()

    fresh, due, needs = run(go())
    assert fresh == [] and needs is True
    assert due == [("up", "main")]  # only the list a call used; "unused" starts nothing


def test_a_server_that_keeps_failing_is_retried_with_backoff() -> None:
    import sys as _sys

    plugin = McpPlugin()
    integration = Integration(slug="flaky", plugin_id="mcp", description="", config={
        "transport": "stdio", "command": _sys.executable,
        "args": ["-c", "import sys; sys.stderr.write('no handshake today\\n'); sys.exit(1)"]})
    quick = PluginEnv(blob=lambda _key: None, timeout_s=0.2)

    async def go() -> Any:
        try:
            first = await plugin.invoke(call(integration, "echo", {"text": "x"}), ENV)
            second = await plugin.invoke(call(integration, "echo", {"text": "x"}), ENV)
            started = time.monotonic()
            third = await plugin.invoke(call(integration, "echo", {"text": "x"}), quick)
            return first, second, third, time.monotonic() - started
        finally:
            await plugin.close()

    first, second, third, waited = run(go())
    assert first["ok"] is False and "did not complete the handshake" in first["error"]["message"]
    assert second["ok"] is False
    # after two failures in a row the next start waits; a call that cannot wait is told so
    assert "retrying in" in third["error"]["message"] and third["error"]["retryable"]
    assert waited < 0.5


def test_a_dropped_sse_stream_is_replaced_by_the_next_call() -> None:
    first = serve_http()
    plugin = McpPlugin()
    integration = remote("sse", first.sse_url, remoteTransport="sse")
    servers = [first]

    async def go() -> Any:
        try:
            before = await plugin.invoke(call(integration, "echo", {"text": "a"}), ENV)
            first.stop()
            deadline = time.monotonic() + 15
            while plugin.pool.stats()["sessions"] and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the stream's end is seen without a call
            ended = plugin.pool.stats()["sessions"] == 0
            servers.append(serve_http(port=first.port))
            after = await plugin.invoke(call(integration, "echo", {"text": "b"}), ENV)
            return before, ended, after
        finally:
            await plugin.close()

    try:
        before, ended, after = run(go())
    finally:
        servers[-1].stop()
    assert before["ok"] and ended
    assert after == {"ok": True, "data": {"result": "b"}}
