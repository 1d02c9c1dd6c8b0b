"""Pauses: how a paused execution reaches the agent or a person, and the ``resume`` tool.

Three ways, picked by ``?elicitation_mode=`` (Executor's names):

- ``native``: MCP elicitation (a form with the approval message); the server asks the client
  and resumes with its answer (``server.settle``). Used only when the client declared the
  capability; otherwise the connection falls back to ``model``.
- ``model`` (default): the result says the call is paused and the model calls ``resume``.
- ``browser``: the result links ``<origin>/resume/<executionId>``; ``resume {executionId}``
  then waits for the page's decision and gives the outcome.

Pauses are the catalog's persisted executions (``Executions.call/resume``), so an
``executionId`` stays good after a daemon restart or on another MCP session.
"""

from __future__ import annotations

import json
import time
from typing import Any

from executor_local.mcp import registry
from executor_local.mcp.registry import ToolContext, ToolDef
from executor_local.mcp.results import (
    Paused,
    ToolResult,
    error,
    from_exception,
    from_outcome,
    paused_for_browser,
    paused_for_model,
)
from executor_local.mcp.settings import BROWSER, NATIVE

ACTIONS = ("accept", "decline", "cancel")
BROWSER_POLL_S = 0.25

MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "executionId": {"type": "string", "description": "The executionId of the paused call."},
        "action": {"type": "string", "enum": list(ACTIONS),
                   "description": "accept runs the call; decline or cancel refuse it."},
        "content": {"description": "Optional form answer: a JSON object, or a JSON-encoded "
                                   "object string.", "default": "{}"},
    },
    "required": ["executionId", "action"],
    "additionalProperties": False,
}

BROWSER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "executionId": {"type": "string", "description": "The executionId of the paused call."},
    },
    "required": ["executionId"],
    "additionalProperties": False,
}


def approval_url(ctx: ToolContext, execution_id: str) -> str:
    return f"{ctx.origin.rstrip('/')}/resume/{execution_id}"


def present(ctx: ToolContext, paused: Paused) -> ToolResult:
    """A pause as a tool result, for the connections that do not elicit."""
    if ctx.options.elicitation_mode == BROWSER:
        return paused_for_browser(paused, approval_url(ctx, paused.execution_id))
    return paused_for_model(paused)


def _resume_visible(ctx: ToolContext) -> bool:
    return not (ctx.options.elicitation_mode == NATIVE and ctx.can_elicit)


def _describe(_integrations: list[str]) -> str:
    return ("Resume a paused tool call with the executionId its result gave. In the default "
            "mode give `action` (accept after the user approved; decline or cancel otherwise) "
            "and, for a form, `content`. When the connection uses browser approval, give only "
            "`executionId`: it returns the result once the user approved on the page.")


async def run_resume(ctx: ToolContext, args: dict[str, Any]) -> ToolResult | Paused:
    if ctx.services is None:
        return error("catalog_unavailable", "this daemon has no catalog to serve yet")
    execution_id = args.get("executionId")
    if not isinstance(execution_id, str) or not execution_id.strip():
        return error("invalid_arguments", "resume: `executionId` must be the id of a paused call")
    execution_id = execution_id.strip()
    if ctx.options.elicitation_mode == BROWSER:
        return await _wait_for_browser(ctx, execution_id)
    action = args.get("action")
    if action not in ACTIONS:
        return error("invalid_arguments", f"resume {execution_id}: `action` must be one of "
                                          f"{', '.join(ACTIONS)}, not {action!r}")
    content = _content(args.get("content"))
    if isinstance(content, ToolResult):
        return content
    try:
        outcome = await ctx.services.executions.resume(execution_id, action, content)
    except Exception as exc:
        known = from_exception(exc)
        if known is None:
            raise
        return known
    return _unknown_or(outcome, execution_id)


async def get_execution(services: Any, execution_id: str) -> Any:
    """``Executions.get`` (sync sqlite in the catalog core; async in some doubles)."""
    import inspect

    import anyio.to_thread

    get = services.executions.get
    if inspect.iscoroutinefunction(get):
        return await get(execution_id)
    return await anyio.to_thread.run_sync(get, execution_id)


def _content(raw: Any) -> dict[str, Any] | ToolResult | None:
    if raw is None or raw == "" or raw == "{}" or raw == {}:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            return error("invalid_arguments", f"resume: `content` is not valid JSON ({exc.msg} "
                                              f"at position {exc.pos})")
    if not isinstance(raw, dict):
        return error("invalid_arguments", "resume: `content` must be a JSON object")
    return raw


def _unknown_or(outcome: Any, execution_id: str) -> ToolResult | Paused:
    if outcome is None:
        return error("execution_not_found", f"no paused execution {execution_id}: it was "
                                            "settled already or never existed; call the tool "
                                            "again to start over")
    return from_outcome(outcome)


async def _wait_for_browser(ctx: ToolContext, execution_id: str) -> ToolResult | Paused:
    """Wait (up to ``browser_wait_s``) for the approval page to settle the execution."""
    import anyio

    deadline = time.monotonic() + ctx.settings.browser_wait_s
    while True:
        found = await get_execution(ctx.services, execution_id)
        if found is None:
            return _unknown_or(None, execution_id)
        if not (isinstance(found, dict) and found.get("status") == "paused"):
            return from_outcome(found)
        if time.monotonic() >= deadline:
            return Paused(execution_id, dict(found.get("interaction") or {}))
        # No event to wait on across processes (the page may be served by another daemon
        # instance after a restart); the store is the truth, so poll it.
        await anyio.sleep(BROWSER_POLL_S)


def _schema(ctx: ToolContext) -> dict[str, Any]:
    return BROWSER_SCHEMA if ctx.options.elicitation_mode == BROWSER else MODEL_SCHEMA


RESUME = ToolDef("resume", MODEL_SCHEMA, _describe, run_resume, title="Resume a paused call",
                 visible=_resume_visible, schema_for=_schema)

# One ``resume`` for every mode; browser connections see it without ``action``/``content``.
registry.register_common(RESUME)
