"""What a tool call answers: text for the model, structured content for clients that read it,
and ``isError``. Also how an Executions outcome (completed or paused) becomes one.

No SDK types here, so modes (passthrough here, code mode in ``executions/``) build results
without importing the SDK; ``server`` turns them into ``CallToolResult``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TEXT_LIMIT = 30_000  # Executor truncates the text of a result here too


@dataclass(frozen=True)
class ToolResult:
    """``content`` holds extra MCP content blocks after the text (a program's ``emit()``
    output, meant for the user: ``{type: text|image|audio|resource|resource_link, ...}``)."""

    text: str
    structured: dict[str, Any] | None = None
    is_error: bool = False
    content: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Paused:
    """An execution waiting for an approval (or another interaction), persisted by Executions:
    ``execution_id`` stays valid across a daemon restart and an MCP session change."""

    execution_id: str
    interaction: dict[str, Any] = field(default_factory=dict)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n\n[truncated {len(text) - limit} characters]"


def error(code: str, message: str, **details: Any) -> ToolResult:
    """A failure the model can act on: the same ``{ok: false, error}`` envelope as a tool's."""
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    envelope = {"ok": False, "error": err}
    return ToolResult(clip(f"Error ({code}): {message}\n\n{dumps(envelope)}"), envelope, True)


def from_envelope(envelope: Any) -> ToolResult:
    """A tool's ``{ok, data | error}`` envelope, whole, as structured content; isError = not ok."""
    if not isinstance(envelope, dict) or "ok" not in envelope:
        envelope = {"ok": True, "data": envelope}
    return ToolResult(clip(dumps(envelope)), envelope, not envelope.get("ok"))


def from_outcome(outcome: Any) -> ToolResult | Paused:
    """An ``Executions.call``/``resume`` answer (docs/catalog-contract.md)."""
    if not isinstance(outcome, dict):
        return error("internal_error", "the execution engine gave an answer of an unknown shape")
    status = outcome.get("status")
    if status == "paused":
        execution_id = str(outcome.get("executionId") or "")
        if not execution_id:
            return error("internal_error", "a paused execution came without an executionId")
        return Paused(execution_id, dict(outcome.get("interaction") or {}))
    if "result" in outcome and status in ("completed", None):
        return from_envelope(outcome.get("result"))
    if "text" in outcome or "structured" in outcome:  # a code-mode program's answer
        structured = outcome.get("structured")
        blocks = outcome.get("content")
        return ToolResult(clip(str(outcome.get("text") or "")),
                          structured if isinstance(structured, dict) else None,
                          bool(outcome.get("isError")),
                          tuple(b for b in blocks if isinstance(b, dict))
                          if isinstance(blocks, list) else ())
    if status == "running":
        return error("execution_running", f"execution {outcome.get('executionId')} is being "
                     "resumed right now; call resume again in a moment for its outcome")
    if "error" in outcome and "status" not in outcome:  # e.g. execution_not_found
        return from_envelope({"ok": False, "error": outcome["error"]})
    return error("internal_error", f"the execution engine answered with status {status!r}")


def from_exception(exc: BaseException) -> ToolResult | None:
    """A catalog error (``CatalogError``: ``code``, ``http_status``, a message for people) as a
    result the model can act on; None for anything else (a defect)."""
    code = getattr(exc, "code", None)
    status = getattr(exc, "http_status", None)
    if not isinstance(code, str) or not isinstance(status, int) or status >= 500:
        return None
    message = getattr(exc, "message", None) or str(exc) or code
    details = getattr(exc, "details", None)
    return error(code, str(message), **({"details": details} if details is not None else {}))


def approval_message(paused: Paused) -> str:
    interaction = paused.interaction
    message = interaction.get("message") or "Approve this tool call?"
    address = interaction.get("address")
    lines = [str(message)]
    if address and str(address) not in lines[0]:
        lines.append(f"Tool: {address}")
    if "args" in interaction:
        lines.append(f"Arguments: {clip(json.dumps(interaction['args'], default=str), 2000)}")
    return "\n".join(lines)


def paused_for_model(paused: Paused) -> ToolResult:
    """Model mode: the pause and how to settle it with ``resume``."""
    structured = {"status": "paused", "executionId": paused.execution_id,
                  "interaction": paused.interaction,
                  "resume": {"tool": "resume", "executionId": paused.execution_id,
                             "actions": ["accept", "decline", "cancel"]}}
    text = (f"{approval_message(paused)}\n\nThis call is paused until it is approved "
            f"(executionId {paused.execution_id}). Ask the user; then call `resume` with "
            f'{{"executionId": "{paused.execution_id}", "action": "accept"}} (or "decline" / '
            '"cancel"). The pause is kept across restarts.')
    return ToolResult(clip(text), structured, False)


def paused_for_browser(paused: Paused, url: str) -> ToolResult:
    """Browser mode: a person approves on the page; the model may not choose the answer."""
    structured = {"status": "paused", "executionId": paused.execution_id,
                  "interaction": paused.interaction, "approvalUrl": url}
    text = (f"{approval_message(paused)}\n\nThis call needs the user's approval. Ask them to "
            f"open {url} and approve it, then call `resume` with "
            f'{{"executionId": "{paused.execution_id}"}} to get the result.')
    return ToolResult(clip(text), structured, False)
