"""``Executions``: one tool call, from policy to envelope, with pauses that survive restarts.

``call`` resolves the tool and its effective policy, validates the arguments against the input
schema, then either runs it (the plugin's ``invoke``), refuses it (``block``: ``autoApprove`` never
bypasses it) or pauses it: the pause is a row in ``executor_local_execution`` (``kind`` tool,
expiring after ``pause_ttl_s``), so ``resume`` works after a daemon restart (Executor loses
them: its #1347, #1778). ``resume`` is idempotent: a settled execution answers with its stored
outcome, and concurrent duplicates await the one in flight. A row left ``running`` by a crash is
settled as ``interrupted`` at start: the upstream may or may not have seen the request, so it is
not run again on its own.

Code mode plugs in through ``code_runner`` (``CodeRunner``): ``POST /api/executions {code}``
goes to ``run``, a paused program is stored as ``kind`` code with the runner's ``payload``, and
its resume goes back to the runner's ``resume`` (replay). Inside a program the runner calls
``decide`` and ``invoke`` for each tool call.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import secrets as _secrets
from dataclasses import dataclass
from typing import Any, Protocol

from executor_local.catalog import Catalog
from executor_local.catalog.tools import ResolvedTool
from executor_local.errors import CatalogError, InvalidInput, NotFound
from executor_local.executions.preview import preview
from executor_local.executions.validate import argument_errors, summary
from executor_local.integrations.base import ToolCall, fail
from executor_local.store import executions_table
from executor_local.store.db import Database
from executor_local.store.ids import execution_id, now_ms
from executor_local.store.records import ExecutionRow
from executor_local.store.rows import dumps, loads

log = logging.getLogger("executor.executions")

DAY_S = 24 * 3600
ACTIONS = ("accept", "decline", "cancel")
KEEP_SETTLED_MS = 7 * DAY_S * 1000


PAUSE_TTL_ENV = "EXECUTOR_PAUSE_TTL_S"  # how long a paused call waits for an answer (24 h)


def pause_ttl_from_env() -> int:
    raw = os.environ.get(PAUSE_TTL_ENV, "")
    try:
        return max(0, int(raw)) if raw.strip() else DAY_S
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using 24 h", PAUSE_TTL_ENV, raw)
        return DAY_S


class ExecutionNotFound(NotFound):
    code = "execution_not_found"
    default_hint = "Paused executions expire after 24 h; start the call again."


class CodeRunner(Protocol):
    """What code mode provides (another package); both return the ``call`` shapes, and a
    paused answer carries ``payload`` (JSON) for ``resume`` to replay from."""

    async def run(self, code: str, *, auto_approve: bool, origin: str,
                  execution_id: str) -> dict[str, Any]: ...

    async def resume(self, payload: Any, action: str, content: Any, *,
                     execution_id: str) -> dict[str, Any]: ...


@dataclass
class Decision:
    """What ``decide`` says about one call: ``run`` it, ``pause`` for approval, or ``done``
    (refused, with the envelope to return)."""

    verdict: str
    resolved: ResolvedTool | None = None
    envelope: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None


class Executions:
    def __init__(self, catalog: Catalog, db: Database, *, pause_ttl_s: int | None = None,
                 code_runner: CodeRunner | None = None) -> None:
        self.catalog = catalog
        self.db = db
        self.pause_ttl_s = pause_ttl_from_env() if pause_ttl_s is None else pause_ttl_s
        self.code_runner = code_runner
        self._inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._recent: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._settle_interrupted()

    # -- the steps (also used by code mode for each tool call of a program) -----------------

    def decide(self, path: str, args: Any, *, auto_approve: bool = False) -> Decision:
        try:
            resolved = self.catalog.resolve_tool(path)
        except CatalogError as exc:
            details = getattr(exc, "details", None)
            return Decision("done", envelope=fail(exc.code, exc.message, details=details))
        addr = "tools." + str(resolved.address)
        if resolved.effective.action == "block":
            return Decision("done", resolved, fail(
                "blocked", f"{addr} is blocked by policy {resolved.effective.pattern!r}",
                details={"policyId": resolved.effective.policy_id}))
        errors = argument_errors(resolved.input_schema, args)
        if errors:
            return Decision("done", resolved, fail("invalid_arguments", summary(errors),
                                                   details={"errors": errors}))
        if resolved.effective.action == "require_approval" and not auto_approve:
            if resolved.effective.source == "user":
                message = f"Approve {addr}? (matched policy: {resolved.effective.pattern})"
            else:
                message = resolved.approval_description or f"Approve {addr}?"
            return Decision("pause", resolved, interaction={
                "kind": "form", "message": message, "address": addr, "args": preview(args),
                "requestedSchema": {"type": "object", "properties": {}},
            })
        return Decision("run", resolved)

    async def invoke(self, resolved: ResolvedTool, args: dict[str, Any]) -> dict[str, Any]:
        """Run the tool through its plugin; always an envelope."""
        cat = self.catalog
        try:
            plugin = cat.registry.get(resolved.integration.plugin_id)
            conn = cat._connection_row(resolved.address.owner, resolved.address.integration,
                                       resolved.address.connection)
            creds = await asyncio.to_thread(cat.credentials, resolved.integration, conn)
            call = ToolCall(cat.plugin_integration(resolved.integration),
                            resolved.address.connection, resolved.address.tool, args,
                            resolved.binding, resolved.input_schema, creds)
            envelope = await plugin.invoke(call, cat.plugin_env(resolved.integration))
        except CatalogError as exc:
            return fail(exc.code, exc.message)
        except Exception as exc:
            ref = _secrets.token_hex(4)
            log.warning("tool %s failed [%s]: %s", resolved.address, ref, type(exc).__name__)
            log.debug("tool %s failed [%s]", resolved.address, ref, exc_info=True)
            return fail("internal_error", f"Internal tool error [{ref}]", retryable=False)
        if not isinstance(envelope, dict) or "ok" not in envelope:
            return fail("internal_error", "the plugin returned no envelope")
        return envelope

    # -- the API ----------------------------------------------------------------------------

    async def call(self, path: str, args: Any, *, auto_approve: bool = False,
                   origin: str = "api") -> dict[str, Any]:
        eid = execution_id()
        decision = await asyncio.to_thread(self.decide, path, args if args is not None else {},
                                           auto_approve=auto_approve)
        if decision.verdict == "pause":
            assert decision.resolved is not None and decision.interaction is not None
            now = now_ms()
            row = ExecutionRow(eid, "tool", "paused", self.catalog.tenant,
                               str(decision.resolved.address), dumps(args), None,
                               dumps(decision.interaction), None, None, origin, now, now,
                               now + self.pause_ttl_s * 1000)
            await asyncio.to_thread(self._put, row)
            return self._paused(eid, decision.interaction)
        if decision.verdict == "run":
            assert decision.resolved is not None
            envelope = await self.invoke(decision.resolved, args or {})
        else:
            envelope = decision.envelope or fail("internal_error", "no outcome")
        return self._remember({"status": "completed", "executionId": eid, "result": envelope})

    async def execute_code(self, code: str, *, auto_approve: bool = False,
                           origin: str = "api") -> dict[str, Any]:
        if self.code_runner is None:
            raise CatalogError("code execution is not available in this build",
                               code="code_mode_unavailable")
        eid = execution_id()
        out = await self.code_runner.run(code, auto_approve=auto_approve, origin=origin,
                                         execution_id=eid)
        return await asyncio.to_thread(self._settle_code, eid, None, out, origin, "code")

    async def resume(self, eid: str, action: str, content: Any = None) -> dict[str, Any]:
        if action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, not {action!r}",
                               code="invalid_action")
        if eid in self._inflight:
            return await asyncio.shield(self._inflight[eid])
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._inflight[eid] = future
        try:
            out = await self._resume(eid, action, content)
            future.set_result(out)
            return out
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody joined
            raise
        finally:
            self._inflight.pop(eid, None)

    def get(self, eid: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = executions_table.get(conn, eid)
        if row is None or row.tenant != self.catalog.tenant:
            return self._recent.get(eid)
        return self._view(row)

    # -- internals --------------------------------------------------------------------------

    async def _resume(self, eid: str, action: str, content: Any) -> dict[str, Any]:
        row = await asyncio.to_thread(self._get_row, eid)
        if row is None:
            if eid in self._recent:
                return self._recent[eid]
            raise ExecutionNotFound(f"no paused execution {eid!r}")
        if row.status != "paused":
            return self._outcome(row)
        if row.expires_at <= now_ms():
            envelope = fail("expired", f"the approval for {row.address} expired unanswered")
            await asyncio.to_thread(self._finish, row, "paused", action, envelope, "expired")
            return {"status": "completed", "executionId": eid, "result": envelope}
        claimed = await asyncio.to_thread(self._claim, row, action)
        if not claimed:  # another process or request settled it first
            again = await asyncio.to_thread(self._get_row, eid)
            assert again is not None
            return self._outcome(again)
        if row.kind == "code":
            return await self._resume_code(row, action, content)
        if action == "accept":
            args = loads(row.args) or {}
            decision = await asyncio.to_thread(self.decide, row.address, args, auto_approve=True)
            if decision.verdict == "run" and decision.resolved is not None:
                envelope = await self.invoke(decision.resolved, args)
            else:  # blocked or gone since the pause: the policy of now wins
                envelope = decision.envelope or fail("internal_error", "no outcome")
        else:
            word = "declined" if action == "decline" else "cancelled"
            envelope = fail(word, f"the call to tools.{row.address} was {word}")
        await asyncio.to_thread(self._finish, row, "running", action, envelope, "completed")
        return {"status": "completed", "executionId": eid, "result": envelope}

    async def _resume_code(self, row: ExecutionRow, action: str, content: Any) -> dict[str, Any]:
        if self.code_runner is None:
            envelope = fail("code_mode_unavailable", "code execution is not available")
            await asyncio.to_thread(self._finish, row, "running", action, envelope, "completed")
            return {"status": "completed", "executionId": row.id, "result": envelope}
        out = await self.code_runner.resume(loads(row.payload), action, content,
                                            execution_id=row.id)
        return await asyncio.to_thread(self._settle_code, row.id, row, out, row.origin, action)

    def _settle_code(self, eid: str, row: ExecutionRow | None, out: dict[str, Any], origin: str,
                     action: str) -> dict[str, Any]:
        out = dict(out)
        payload = out.pop("payload", None)
        out["executionId"] = eid
        now = now_ms()
        if out.get("status") == "paused":
            interaction = out.get("interaction") or {}
            new = ExecutionRow(eid, "code", "paused", self.catalog.tenant,
                               str(interaction.get("address") or ""), None, dumps(payload),
                               dumps(interaction), None, None, origin,
                               row.created_at if row else now, now,
                               now + self.pause_ttl_s * 1000)
            self._put(new)
            return out
        if row is not None:
            self._finish(row, "running", action, out, "completed")
        return self._remember(out)

    def _settle_interrupted(self) -> None:
        envelope = dumps(fail("interrupted", "the daemon stopped while this call ran; it may or "
                                             "may not have reached the upstream", retryable=False))
        with self.db.write() as conn:
            conn.execute('UPDATE "executor_local_execution" SET status = ?, result = ?, '
                         "updated_at = ? WHERE status = ?",
                         ("completed", envelope, now_ms(), "running")).close()
            executions_table.prune(conn, now_ms() - KEEP_SETTLED_MS)

    def _get_row(self, eid: str) -> ExecutionRow | None:
        with self.db.read() as conn:
            row = executions_table.get(conn, eid)
        return row if row is not None and row.tenant == self.catalog.tenant else None

    def _put(self, row: ExecutionRow) -> None:
        with self.db.write() as conn:
            executions_table.put(conn, row)

    def _claim(self, row: ExecutionRow, action: str) -> bool:
        with self.db.write() as conn:
            return executions_table.transition(conn, row.id, "paused", {
                "status": "running", "action": action, "updated_at": now_ms()})

    def _finish(self, row: ExecutionRow, from_status: str, action: str, result: Any,
                status: str) -> None:
        with self.db.write() as conn:
            executions_table.transition(conn, row.id, from_status, {
                "status": status, "action": action, "result": dumps(result),
                "updated_at": now_ms()})

    def _outcome(self, row: ExecutionRow) -> dict[str, Any]:
        result = loads(row.result)
        if row.kind == "code" and isinstance(result, dict) and "status" in result:
            return {**result, "executionId": row.id}
        if row.status == "paused":
            return self._paused(row.id, loads(row.interaction) or {})
        if row.status == "running":
            return {"status": "running", "executionId": row.id}
        return {"status": "completed", "executionId": row.id, "result": result}

    @staticmethod
    def _paused(eid: str, interaction: dict[str, Any]) -> dict[str, Any]:
        return {"status": "paused", "executionId": eid, "interaction": interaction,
                "text": f"{interaction.get('message', 'Approval needed')}\nResume with: executor "
                        f"resume --execution-id {eid} --action accept|decline"}

    def _remember(self, out: dict[str, Any]) -> dict[str, Any]:
        self._recent[out["executionId"]] = out
        while len(self._recent) > 256:
            self._recent.popitem(last=False)
        return out

    def _view(self, row: ExecutionRow) -> dict[str, Any]:
        return {**self._outcome(row), "kind": row.kind, "state": row.status,
                "address": "tools." + row.address if row.kind == "tool" else row.address,
                "action": row.action, "origin": row.origin, "createdAt": row.created_at,
                "updatedAt": row.updated_at, "expiresAt": row.expires_at}
