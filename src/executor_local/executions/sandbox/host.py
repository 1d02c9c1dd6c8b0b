"""The catalog as a program sees it: the interface the sandbox calls, and the built-in paths.

``Host`` is what the daemon implements over its catalog and executions (policies, approvals,
credentials); the sandbox depends only on this protocol, so it is built and tested against
any real host. ``dispatch`` routes one ``tools.<path>(args)`` call: the built-ins
(``search``, ``describe.tool``, ``executor.coreTools.connections.list``) to the host's
discovery methods with Executor's argument checks, anything else to ``call_tool``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Envelope = dict[str, Any]

SEARCH = "search"
DESCRIBE = "describe.tool"
CONNECTIONS = "executor.coreTools.connections.list"


@dataclass(frozen=True)
class NeedsApproval:
    """``call_tool``'s answer when the call waits for a person: the execution pauses.

    ``interaction`` is Executor's shape: ``{kind: "form", message, address, args}``.
    """

    interaction: dict[str, Any] = field(default_factory=dict)


class Host(Protocol):
    async def call_tool(self, path: str, args: dict[str, Any], *,
                        approved: bool) -> Envelope | NeedsApproval:
        """Run ``tools.<path>`` under its policy. ``approved`` is True when a person already
        accepted this very call (a resume) or the caller auto-approves; ``block`` still wins."""
        ...

    async def search(self, query: str, *, namespace: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
        """``{items: [{path, name, description, integration, score}], total, hasMore,
        nextOffset}``; blocked tools never appear."""
        ...

    async def describe(self, path: str) -> dict[str, Any]:
        """``{path, inputTypeScript, outputTypeScript, typeScriptDefinitions, ...}`` or
        ``{error: {code: "tool_not_found", message, suggestions}}``."""
        ...

    async def connections(self, *, integration: str | None = None,
                          owner: str | None = None) -> list[dict[str, Any]]:
        """Saved connections, ``{address, integration, owner, name, ...}``, no secrets."""
        ...


class ToolArgumentError(Exception):
    """A built-in was called with arguments Executor would refuse; the program sees a throw."""


def _limit(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ToolArgumentError(f"{name} limit must be a positive number when provided")
    return int(value)


def _offset(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ToolArgumentError(f"{name} offset must be a non-negative number when provided")
    return int(value)


def normalize(path: str) -> str:
    return path[len("tools."):] if path.startswith("tools.") else path


async def dispatch(host: Host, path: str, args: Any, *, approved: bool
                   ) -> Envelope | NeedsApproval | dict[str, Any]:
    """One call from the program. Built-ins answer their own shapes (as Executor's do); tool
    calls answer an envelope or ``NeedsApproval``; bad built-in arguments raise
    ``ToolArgumentError``."""
    path = normalize(path)
    if path == SEARCH:
        if not isinstance(args, dict):
            raise ToolArgumentError("tools.search expects an object: { query?: string; "
                                    "namespace?: string; limit?: number; offset?: number }")
        query = args.get("query")
        if query is not None and not isinstance(query, str):
            raise ToolArgumentError("tools.search query must be a string when provided")
        namespace = args.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise ToolArgumentError("tools.search namespace must be a string when provided")
        return await host.search(query or "", namespace=namespace,
                                 limit=_limit(args.get("limit"), "tools.search", 12),
                                 offset=_offset(args.get("offset"), "tools.search"))
    if path == DESCRIBE:
        if not isinstance(args, dict):
            raise ToolArgumentError("tools.describe.tool expects an object: { path: string }")
        target = args.get("path")
        if not isinstance(target, str) or not target.strip():
            raise ToolArgumentError("describe.tool requires a path")
        return await host.describe(normalize(target.strip()))
    if path == CONNECTIONS:  # Executor's core tool: {ok, data: {connections}}
        args = args if isinstance(args, dict) else {}
        filters = {k: args[k] for k in ("integration", "owner") if isinstance(args.get(k), str)}
        return {"ok": True, "data": {"connections": await host.connections(**filters)}}
    if not isinstance(args, dict):
        raise ToolArgumentError(f"tools.{path} expects one argument object")
    return await host.call_tool(path, args, approved=approved)
