"""A run's ``Outcome`` as Executor answers it: ``{status, text, structured, isError}``.

The same shape serves ``POST /api/executions`` and the MCP ``execute`` tool (Executor's
``formatExecuteResult`` / ``formatPausedExecution``): the text is the return value (or the
error) with the console logs after it, cut at 30,000 characters; ``structured`` carries
``{status: completed|error, result, logs, emitted?}``; ``emit()`` output goes to the user as
content blocks, and only its count comes back in ``structured``.
"""

from __future__ import annotations

import json
from typing import Any

from executor_local.executions.sandbox.runner import Outcome

TEXT_LIMIT = 30_000
CONTENT_TYPES = ("text", "image", "audio", "resource", "resource_link")


def truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [truncated {len(text) - limit} chars]"


def content_blocks(emitted: list[Any]) -> list[dict[str, Any]]:
    """``emit()`` values as MCP content: content blocks pass through, strings become text,
    other values their JSON."""
    blocks: list[dict[str, Any]] = []
    for item in emitted:
        if isinstance(item, dict) and item.get("type") in CONTENT_TYPES:
            blocks.append(item)
        elif isinstance(item, str):
            blocks.append({"type": "text", "text": item})
        else:
            blocks.append({"type": "text", "text": json.dumps(item, indent=2)})
    return blocks


def completed(outcome: Outcome) -> dict[str, Any]:
    logs = outcome.logs
    log_text = "\n".join(logs) if logs else None
    emitted = len(outcome.emitted)
    emitted_field = {"emitted": emitted} if emitted else {}
    if outcome.error is not None:
        parts = [f"Error: {outcome.error}"] + ([f"\nLogs:\n{log_text}"] if log_text else [])
        return {"status": "completed", "text": truncate("\n".join(parts)),
                "structured": {"status": "error", "error": outcome.error, **emitted_field,
                               "logs": logs},
                "isError": True, "content": content_blocks(outcome.emitted)}
    result = outcome.result
    if result is not None:
        text = result if isinstance(result, str) else json.dumps(result, indent=2)
        head = truncate(text)
    elif emitted:
        head = f"(no return value; {emitted} item{'' if emitted == 1 else 's'} emitted to the user)"
    else:
        head = "(no result)"
    parts = [head] + ([f"\nLogs:\n{log_text}"] if log_text else [])
    return {"status": "completed", "text": "\n".join(parts),
            "structured": {"status": "completed", "result": result, **emitted_field,
                           "logs": logs},
            "isError": False, "content": content_blocks(outcome.emitted)}


def paused(outcome: Outcome, execution_id: str) -> dict[str, Any]:
    interaction = dict(outcome.interaction or {})
    message = str(interaction.get("message") or "Approve this tool call?")
    instructions = (
        "This is a model-side confirmation gate; there is no browser form to open. Ask the "
        "user whether to approve the paused tool call. If the user approves, call the resume "
        f'tool with executionId "{execution_id}" and action "accept". If the user declines, '
        'call resume with action "decline" or "cancel".')
    interaction.setdefault("kind", "form")
    interaction["instructions"] = instructions
    text = "\n".join([
        f"Execution paused: {message}",
        '\nThis is a model-side confirmation gate; no browser form is waiting. Ask the user '
        'whether to approve, then call the resume tool with action "accept", "decline", or '
        '"cancel".',
        f"\nexecutionId: {execution_id}",
        f"\ninstructions: {instructions}",
        "\nThe pause survives a daemon restart: resume replays the program, and the calls it "
        "already made return their recorded results.",
    ])
    return {"status": "paused", "executionId": execution_id, "text": text,
            "interaction": interaction,
            "structured": {"status": "waiting_for_interaction", "executionId": execution_id,
                           "interaction": interaction}}
