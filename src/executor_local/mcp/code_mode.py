"""Code mode's MCP tools, ``execute`` and ``skills``, registered as the default MCP mode.

Imported by ``mcp.registry.load_modes`` (after READY, on the first /mcp request), never on
the boot path. ``execute`` goes through ``Executions.execute_code`` so a paused program is a
row of ``executor_local_execution`` like any paused call; ``resume`` is the common tool the
MCP package already offers; ``attach_code_mode`` (re-exported) gives Executions its runner.
"""

from __future__ import annotations

from typing import Any

from executor_local.executions.sandbox.code_runner import attach_code_mode
from executor_local.executions.sandbox.skills import SKILLS, execute_description, skill
from executor_local.mcp import registry
from executor_local.mcp.results import Paused, ToolResult, error

__all__ = ["attach_code_mode", "from_code_outcome", "tools"]

CODE = "code"

EXECUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "TypeScript to run: the body of "
                                                             "an async function"}},
    "required": ["code"],
    "additionalProperties": False,
}
SKILLS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string", "enum": sorted(SKILLS),
                            "description": "The skill to read; omit to list them"}},
    "additionalProperties": False,
}


def from_code_outcome(outcome: Any) -> ToolResult | Paused:
    """``Executions.execute_code``/``resume`` of a program, as an MCP result."""
    if not isinstance(outcome, dict):
        return error("internal_error", "code mode gave an answer of an unknown shape")
    if outcome.get("status") == "paused":
        return Paused(str(outcome.get("executionId") or ""),
                      dict(outcome.get("interaction") or {}))
    blocks = outcome.get("content")
    return ToolResult(str(outcome.get("text") or ""), outcome.get("structured"),
                      bool(outcome.get("isError")),
                      tuple(b for b in blocks if isinstance(b, dict))
                      if isinstance(blocks, list) else ())


async def run_execute(ctx: Any, args: dict[str, Any]) -> ToolResult | Paused:
    if ctx.services is None:
        return error("catalog_unavailable", "this daemon has no catalog to serve yet")
    code = args.get("code")
    if not isinstance(code, str) or not code.strip():
        return error("invalid_arguments", "execute: `code` must be a non-empty string")
    # The caller label; ctx.origin is the daemon URL used in approval links.
    outcome = await ctx.services.executions.execute_code(code, origin="mcp")
    return from_code_outcome(outcome)


async def run_skills(_ctx: Any, args: dict[str, Any]) -> ToolResult:
    name = args.get("name")
    if name is not None and not isinstance(name, str):
        return error("invalid_arguments", "skills: `name` must be a string")
    return ToolResult(skill(name))  # plain text on purpose, as Executor's


def _describe_skills(_integrations: list[str]) -> str:
    return ("Long-form how-to documents for this server's tools. Call with "
            '`{ "name": "execute" }` before writing code for `execute`.')


def tools() -> list[registry.ToolDef]:
    return [
        registry.ToolDef("execute", EXECUTE_SCHEMA, execute_description, run_execute,
                         title="Execute TypeScript"),
        registry.ToolDef("skills", SKILLS_SCHEMA, _describe_skills, run_skills, title="Skills",
                         read_only=True),
    ]


registry.register_mode(CODE, tools, default=True)
