"""Passthrough mode, as Executor's (its PR #1942): two tools over the whole catalog.

``search`` finds tools (at most 20, each with its full input schema) and ``invoke`` calls one by
address. Policies apply inside ``Executions.call``: a blocked tool never shows in ``search`` and
``invoke`` of one answers ``blocked``; one that needs approval pauses (see ``approvals``).
"""

from __future__ import annotations

from typing import Any

from executor_local.mcp import registry
from executor_local.mcp.registry import ToolContext, ToolDef
from executor_local.mcp.results import Paused, ToolResult, clip, dumps, error, from_outcome
from executor_local.mcp.settings import PASSTHROUGH

MAX_RESULTS = 20

SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "Words describing what you want to do, "
                                                   "e.g. 'list pets' or 'create issue'."},
        "namespace": {"type": "string",
                      "description": "Only tools of this integration (its slug)."},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS,
                  "default": MAX_RESULTS},
        "offset": {"type": "integer", "minimum": 0, "default": 0},
    },
    "additionalProperties": False,
}

INVOKE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "The tool's address from `search`: "
                                                  "<integration>.<owner>.<connection>.<tool>"},
        "args": {"type": "object", "description": "Arguments matching the tool's input schema.",
                 "default": {}},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def _describe_search(integrations: list[str]) -> str:
    return "\n".join([
        "Search the tools of the integrations connected to Executor. Returns up to "
        f"{MAX_RESULTS} matches, each with its address (`path`), description and full JSON "
        "input schema; call one with `invoke`. An empty query with `namespace` lists that "
        "integration's tools.",
        "",
        registry.integration_list(integrations),
    ])


def _describe_invoke(integrations: list[str]) -> str:
    return "\n".join([
        "Call a tool found with `search`: `path` is its address, `args` an object matching its "
        "input schema. The answer is the tool's envelope: {ok: true, data} or "
        "{ok: false, error: {code, message}}. A tool that needs approval pauses and says how "
        "to continue.",
        "",
        registry.integration_list(integrations),
    ])


async def run_search(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    if ctx.services is None:
        return _no_catalog()
    query = args.get("query", "")
    if not isinstance(query, str):
        return error("invalid_arguments", "search: `query` must be a string")
    namespace = args.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        return error("invalid_arguments", "search: `namespace` must be a string")
    limit, offset = args.get("limit", MAX_RESULTS), args.get("offset", 0)
    if not _int_in(limit, 1, MAX_RESULTS):
        return error("invalid_arguments", f"search: `limit` must be an integer 1..{MAX_RESULTS}")
    if not _int_in(offset, 0, None):
        return error("invalid_arguments", "search: `offset` must be an integer >= 0")
    import anyio.to_thread  # the catalog is sync sqlite: keep it off the event loop

    catalog = ctx.services.catalog
    found = await anyio.to_thread.run_sync(
        lambda: catalog.search(query, namespace=namespace or None, limit=limit, offset=offset,
                               include_schema=True))
    items = list(found.get("items") or [])[:MAX_RESULTS]
    structured = {**found, "items": items}
    if not items:
        text = f"No tools match {query!r}" + (f" in {namespace}" if namespace else "") + "."
        return ToolResult(text + "\n\n" + dumps(structured), structured, False)
    return ToolResult(clip(dumps(structured)), structured, False)


async def run_invoke(ctx: ToolContext, args: dict[str, Any]) -> ToolResult | Paused:
    if ctx.services is None:
        return _no_catalog()
    path = args.get("path")
    if not isinstance(path, str) or not path.strip():
        return error("invalid_arguments", "invoke: `path` must be a tool address from `search`")
    call_args = args.get("args", {})
    if call_args is None:
        call_args = {}
    if not isinstance(call_args, dict):
        return error("invalid_arguments", f"invoke {path}: `args` must be a JSON object, not "
                                          f"{type(call_args).__name__}")
    path = path.strip()
    if path.startswith("tools."):
        path = path[len("tools."):]
    outcome = await ctx.services.executions.call(path, call_args, origin="mcp")
    return from_outcome(outcome)


def _int_in(value: Any, low: int, high: int | None) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def _no_catalog() -> ToolResult:
    return error("catalog_unavailable", "this daemon has no catalog to serve yet")


def tools() -> list[ToolDef]:
    return [
        ToolDef("search", SEARCH_SCHEMA, _describe_search, run_search, title="Search tools",
                read_only=True),
        ToolDef("invoke", INVOKE_SCHEMA, _describe_invoke, run_invoke, title="Invoke a tool"),
    ]


registry.register_mode(PASSTHROUGH, tools)
