"""The MCP plugin: an MCP server (remote or a local command) as an integration.

``list_tools`` and ``invoke`` go through one :class:`SessionPool` per plugin instance (one per
daemon); ``probe`` opens a throwaway session to show what a server offers before it is added.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from executor_local.integrations.base import (
    INVALID_ARGUMENTS,
    UPSTREAM_ERROR,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNREACHABLE,
    Credentials,
    Envelope,
    Integration,
    Listing,
    PluginEnv,
    ToolCall,
    fail,
)
from executor_local.integrations.mcp import tools as mcp_tools
from executor_local.integrations.mcp.config import (
    McpConfigError,
    Target,
    fingerprint,
    target_for,
)
from executor_local.integrations.mcp.pool import SessionGone, SessionPool, describe
from executor_local.integrations.mcp.transport import ConnectError, Opened

log = logging.getLogger("executor.mcp")


class McpListError(Exception):
    """Listing failed and there was no earlier list to fall back on; ``envelope`` says why."""

    def __init__(self, envelope: Envelope) -> None:
        super().__init__(envelope["error"]["message"])
        self.envelope = envelope


def log_name(slug: str) -> str:
    return "executor.mcp." + (re.sub(r"[^A-Za-z0-9_-]+", "_", slug) or "server")


def connect_failure(exc: BaseException) -> Envelope:
    if isinstance(exc, ConnectError):
        code = UPSTREAM_UNREACHABLE if exc.status is None else UPSTREAM_ERROR
        return fail(code, str(exc), status=exc.status, retryable=exc.retryable)
    if isinstance(exc, McpConfigError):
        return fail(INVALID_ARGUMENTS, str(exc), details={"field": exc.field}, retryable=False)
    if isinstance(exc, TimeoutError):
        return fail(UPSTREAM_TIMEOUT, "the MCP server did not answer in time", retryable=True)
    return fail(UPSTREAM_UNREACHABLE, describe(exc), retryable=True)


class McpPlugin:
    plugin_id = "mcp"
    binding_collection = "binding"

    def __init__(self, pool: SessionPool | None = None) -> None:
        self.pool = pool or SessionPool()

    # -- lifecycle hooks for the app ---------------------------------------------------------

    def bind(self) -> None:
        """Call from the app's lifespan startup: sessions live on the server's loop."""
        self.pool.bind()

    async def close(self) -> None:
        """Call from the app's lifespan shutdown: ends sessions and stops stdio servers."""
        await self.pool.close()

    def on_tools_changed(self, listener: Any) -> None:
        """``listener(integration_slug, connection_or_None)`` when an upstream announces a new
        tool list or answers "unknown tool": re-list that connection."""
        self.pool.add_listener(listener)

    def needs_refresh(self, integration: Integration, credentials: Credentials) -> bool:
        """True when the kept list is missing, stale (list_changed, unknown tool) or older
        than the TTL (15 min)."""
        return self.pool.needs_refresh(fingerprint(integration.slug, integration.config,
                                                   credentials))

    # -- the Plugin contract -----------------------------------------------------------------

    def storage_data(self, integration: str, tool: str, binding: dict[str, Any]
                     ) -> dict[str, Any]:
        """The plugin_storage document for a tool's binding (Executor's MCP shape)."""
        return mcp_tools.storage_document(integration, tool, binding)

    async def list_tools(self, integration: Integration, credentials: Credentials,
                         env: PluginEnv) -> Listing:
        """The server's tools; when a refresh fails, the last good list with a warning.
        Raises McpListError (with an envelope) when there is nothing to fall back on."""
        try:
            target = target_for(integration.config, credentials)
        except McpConfigError as exc:
            raise McpListError(connect_failure(exc)) from None
        key = fingerprint(integration.slug, integration.config, credentials)
        try:
            cache, warnings = await self.pool.list_tools(
                key, integration.slug, target, log_name(integration.slug), env.timeout_s)
        except Exception as exc:
            raise McpListError(connect_failure(exc)) from None
        return Listing(tools=mcp_tools.tool_specs(integration.slug, cache.tools),
                       warnings=warnings)

    async def invoke(self, call: ToolCall, env: PluginEnv) -> Envelope:
        integration = call.integration
        name = mcp_tools.upstream_name(call.tool, call.binding)
        try:
            target = target_for(integration.config, call.credentials)
        except McpConfigError as exc:
            return connect_failure(exc)
        key = fingerprint(integration.slug, integration.config, call.credentials)

        async def work(opened: Opened) -> Any:
            import anyio

            with anyio.fail_after(env.timeout_s + 1.0):
                return await opened.session.call_tool(name, dict(call.args or {}),
                                                      read_timeout_seconds=env.timeout_s)

        try:
            result = await self.pool.use(key, integration.slug, target,
                                         log_name(integration.slug), env.timeout_s, work,
                                         connection=call.connection)
        except SessionGone as exc:
            return fail(UPSTREAM_UNREACHABLE, f"{exc}; the next call restarts it",
                        retryable=True)
        except Exception as exc:
            return self._call_failure(exc, key, integration.slug, name)
        wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        out = mcp_tools.envelope(wire, name)
        if not out["ok"] and out["error"]["code"] == mcp_tools.TOOL_UNKNOWN:
            self.pool.tool_unknown(key, integration.slug)
        return out

    def _call_failure(self, exc: Exception, key: str, slug: str, name: str) -> Envelope:
        from mcp.shared.exceptions import MCPError

        if isinstance(exc, MCPError):
            if exc.code == -32001:
                return fail(UPSTREAM_TIMEOUT, f"the MCP tool {name!r} did not answer in time",
                            retryable=True)
            if exc.code in (-32602, -32601) and mcp_tools.is_unknown_tool_message(
                    exc.message or "", name):
                self.pool.tool_unknown(key, slug)
                return mcp_tools.unknown_tool(name)
            return fail(UPSTREAM_ERROR, f"the MCP server refused the call: {exc.message}",
                        details={"code": exc.code}, retryable=False)
        if isinstance(exc, TimeoutError):
            return fail(UPSTREAM_TIMEOUT, f"the MCP tool {name!r} did not answer in time",
                        retryable=True)
        if isinstance(exc, RuntimeError) and "structured content" in str(exc):
            return fail("invalid_response", str(exc))
        return connect_failure(exc)

    # -- adding a server ---------------------------------------------------------------------

    async def probe(self, config: dict[str, Any], credentials: Credentials | None = None, *,
                    timeout_s: float = 30.0, slug: str = "probe") -> dict[str, Any]:
        """Connect, initialize and list tools with a throwaway session.

        ``{"ok": true, "server": {name, version, instructions}, "transport", "tools": [...]}``
        or ``{"ok": false, "error": {...}}``; never raises for an upstream failure.
        """
        from executor_local.integrations.mcp.transport import open_session

        credentials = credentials or Credentials()
        try:
            target: Target = target_for(config, credentials)
        except McpConfigError as exc:
            return connect_failure(exc)
        try:
            import anyio
            from mcp import types

            async def ignore(_message: Any) -> None:
                return None

            async with open_session(target, log_name=log_name(slug), on_message=ignore,
                                    on_end=lambda: None, timeout_s=timeout_s) as opened:
                listed: list[dict[str, Any]] = []
                cursor = None
                for _ in range(100):
                    params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                    with anyio.fail_after(timeout_s):
                        page = await opened.session.list_tools(params=params)
                    listed.extend(t.model_dump(by_alias=True, mode="json", exclude_none=True)
                                  for t in page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
        except Exception as exc:
            return connect_failure(exc)
        specs = mcp_tools.tool_specs(slug, listed)
        return {"ok": True, "transport": opened.transport,
                "server": {"name": opened.server_info.get("name"),
                           "version": opened.server_info.get("version"),
                           "instructions": opened.instructions},
                "tools": [{"name": s.name, "toolName": s.annotations["mcp"]["toolName"],
                           "description": s.description, "inputSchema": s.input_schema,
                           "requiresApproval": s.annotations["requiresApproval"]}
                          for s in specs]}


_PLUGIN: McpPlugin | None = None


def plugin() -> McpPlugin:
    """The daemon's one MCP plugin (one pool): what the registry hands out."""
    global _PLUGIN
    if _PLUGIN is None:
        _PLUGIN = McpPlugin()
    return _PLUGIN
