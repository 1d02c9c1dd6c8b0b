"""Code mode as the executions service sees it: ``run`` a program, ``resume`` a paused one.

``CodeMode`` is the ``code_runner`` of ``Executions`` (docs/catalog-contract.md): it answers
``{status: completed|paused, text, structured, isError?}`` and, when paused, a ``payload``
that Executions stores in its ``executor_local_execution`` row. The payload is the program and
its journal, so a resume, in this process or after a restart, replays the program: the calls
it already made return their recorded results, and the paused call gets the person's answer.

``ExecutionsHost`` is the ``Host`` over the daemon's Executions and Catalog: every tool call of
a program goes through ``decide`` (resolve, policy, argument check) and ``invoke``, exactly
like a single ``executor call``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from executor_local.executions.sandbox import results
from executor_local.executions.sandbox.host import Host, NeedsApproval
from executor_local.executions.sandbox.journal import Journal
from executor_local.executions.sandbox.limits import Limits
from executor_local.executions.sandbox.pool import Pool
from executor_local.executions.sandbox.runner import Outcome, run_program

PAYLOAD_VERSION = 1
MAX_CODE_CHARS = 1_000_000
ACTIONS = ("accept", "decline", "cancel")


class CodeMode:
    """Runs programs in pooled sandbox workers against one host."""

    def __init__(self, host: Host | None = None, *, pool: Pool | None = None,
                 limits: Limits | None = None) -> None:
        self.host = host
        self.pool = pool or Pool()
        self.limits = limits or Limits()

    def attach(self, host: Host) -> None:
        """Give the host once it exists (Executions is built with this runner inside it)."""
        self.host = host

    def warm(self) -> None:
        """Start a worker in the background, so the first ``execute`` does not wait for one."""
        self.pool.warm_in_background()

    def close(self) -> None:
        self.pool.close()

    async def run(self, code: str, *, auto_approve: bool = False, origin: str = "api",
                  execution_id: str) -> dict[str, Any]:
        if not isinstance(code, str) or not code.strip():
            return _refused("`code` must be a non-empty string of TypeScript or JavaScript")
        if len(code) > MAX_CODE_CHARS:
            return _refused(f"`code` is {len(code)} characters; the limit is {MAX_CODE_CHARS}")
        return await self._run(code, Journal(), auto_approve, execution_id)

    async def resume(self, payload: Any, action: str, content: Any = None, *,
                     execution_id: str) -> dict[str, Any]:
        if action not in ACTIONS:
            return _refused(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
            return _refused("this paused execution was saved in a format this version cannot "
                            "replay; run the program again")
        journal = Journal.from_json(payload["journal"])
        if journal.paused_at is None:
            return _refused("this execution is not waiting for an answer")
        journal.decisions[journal.paused_at] = {"action": action, "content": content}
        journal.paused_at = None
        return await self._run(payload["code"], journal, bool(payload.get("autoApprove")),
                               execution_id)

    async def _run(self, code: str, journal: Journal, auto_approve: bool,
                   execution_id: str) -> dict[str, Any]:
        if self.host is None:
            return _refused("code mode has no catalog attached")
        outcome = await run_program(code, self.host, journal, pool=self.pool,
                                    limits=self.limits, auto_approve=auto_approve)
        return answer(outcome, journal, code, auto_approve, execution_id)


def answer(outcome: Outcome, journal: Journal, code: str, auto_approve: bool,
           execution_id: str) -> dict[str, Any]:
    if outcome.status == "paused":
        out = results.paused(outcome, execution_id)
        out["payload"] = {"v": PAYLOAD_VERSION, "code": code, "autoApprove": auto_approve,
                          "journal": journal.to_json()}
        return out
    out = results.completed(outcome)
    out["executionId"] = execution_id
    return out


def _refused(message: str) -> dict[str, Any]:
    return {"status": "completed", "text": f"Error: {message}",
            "structured": {"status": "error", "error": message, "logs": []}, "isError": True}


def attach_code_mode(executions: Any, mode: CodeMode | None = None) -> CodeMode:
    """Make ``executions`` run programs; their tool calls go through its own decide/invoke.

    Spawns nothing: the first ``execute`` starts a worker (about 0.2 s), so the daemon's
    start to READY does not pay for code mode.
    """
    mode = mode or CodeMode()
    mode.attach(ExecutionsHost(executions))
    executions.code_runner = mode
    return mode


class ExecutionsHost:
    """``Host`` over the daemon's ``Executions`` (``decide``/``invoke``) and its ``Catalog``.

    The catalog is synchronous SQLite, so its calls run in a thread off the event loop.
    """

    def __init__(self, executions: Any) -> None:
        self.executions = executions
        self.catalog = executions.catalog

    async def call_tool(self, path: str, args: dict[str, Any], *,
                        approved: bool) -> dict[str, Any] | NeedsApproval:
        decision = await asyncio.to_thread(self.executions.decide, path, args,
                                           auto_approve=approved)
        if decision.verdict == "pause":
            return NeedsApproval(dict(decision.interaction or {}))
        if decision.verdict == "run":
            return await self.executions.invoke(decision.resolved, args)
        return decision.envelope

    async def search(self, query: str, *, namespace: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.catalog.search, query, namespace=namespace,
                                       limit=limit, offset=offset)

    async def describe(self, path: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.catalog.describe, path)

    async def connections(self, *, integration: str | None = None,
                          owner: str | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.catalog.connections, integration, owner)
