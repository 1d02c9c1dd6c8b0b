"""One run of a program: a worker from the pool, the host for its calls, the journal to replay.

The run ends in one of three ways, each an ``Outcome``: the program returned or threw
(``completed``, with ``error`` set when it failed or hit a limit); a call needs a person
(``paused``: the engine is stopped, the journal holds everything a resume needs); or the
worker died or overran (``completed`` with an error, and the worker is replaced).

Delivery order is the heart of replay (see ``journal``): while the journal still has
recorded deliveries, results go to the program only in that order, and nothing new starts;
after that, new calls go to the host and their delivery order is appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from executor_local.executions.sandbox.host import (
    Host,
    NeedsApproval,
    ToolArgumentError,
    dispatch,
)
from executor_local.executions.sandbox.journal import Journal, JournaledCall
from executor_local.executions.sandbox.limits import Limits
from executor_local.executions.sandbox.pool import Pool, WorkerDied

log = logging.getLogger("executor.sandbox")
_GRACE_S = 5.0  # beyond the engine's own interrupt, before the worker is killed
MAX_INFLIGHT = 16  # host calls of one program running at once; the rest queue


@dataclass
class Outcome:
    status: str  # "completed" | "paused"
    result: Any = None
    error: str | None = None
    kind: str | None = None  # why it failed: syntax, program, time_limit, memory_limit, ...
    logs: list[str] = field(default_factory=list)
    emitted: list[Any] = field(default_factory=list)
    interaction: dict[str, Any] | None = None
    calls_made: int = 0
    calls_replayed: int = 0
    strip_ms: float = 0.0


def declined(path: str, action: str) -> dict[str, Any]:
    verb = "declined" if action == "decline" else "cancelled"
    return {"ok": False, "error": {"code": "declined",
                                   "message": f"The user {verb} the call to tools.{path}"}}


def _call_label(path: str, args: str) -> str:
    text = args if len(args) <= 200 else args[:200] + "..."
    return f"tools.{path}({text})"


class _Run:
    def __init__(self, host: Host, journal: Journal, limits: Limits, worker: Any,
                 auto_approve: bool) -> None:
        self.host = host
        self.journal = journal
        self.limits = limits
        self.worker = worker
        self.auto_approve = auto_approve
        self.replay_queue: deque[int] = deque(journal.order)
        self.requested: dict[int, tuple[str, str]] = {}
        self.delivered: set[int] = set()
        self.tasks: dict[asyncio.Task[Any], tuple[int, str, str]] = {}
        self.paused: tuple[int, dict[str, Any]] | None = None
        self.stopping = False
        self.outcome = Outcome(status="completed")
        self.charged = 0.0
        self.unread = 0  # messages sent that the worker has not read yet
        self.running_since: float | None = time.monotonic()

    # -- delivering results to the program -------------------------------------------------
    def deliver(self, seq: int, call: JournaledCall, *, replayed: bool) -> None:
        self.delivered.add(seq)
        self.requested.pop(seq, None)
        if not replayed:
            self.journal.order.append(seq)
        else:
            self.outcome.calls_replayed += 1
        if call.is_error:
            self.send({"op": "error", "id": seq, "message": str(call.result)})
        else:
            self.send({"op": "result", "id": seq, "value": json.dumps(call.result)})

    def send(self, msg: dict[str, Any]) -> None:
        self.unread += 1
        self.worker.send(msg)
        if self.running_since is None:
            self.running_since = time.monotonic()

    def idle(self) -> bool:
        """A ``wait`` arrived: True when the worker now really waits for us. It reads one
        message per ``wait``, so a ``wait`` sent before our last messages arrived is not."""
        if self.unread > 0:
            self.unread -= 1
            return False
        return True

    def pump(self) -> None:
        """Deliver what can be delivered now; start host calls once the replay is through."""
        while self.replay_queue and self.replay_queue[0] in self.requested:
            seq = self.replay_queue.popleft()
            self.deliver(seq, self.journal.calls[seq], replayed=True)
        if self.replay_queue or self.stopping:
            return
        for seq in sorted(self.requested):
            path, args = self.requested[seq]
            if seq in self.journal.calls:  # finished after an earlier pause, never delivered
                self.deliver(seq, self.journal.calls[seq], replayed=True)
                continue
            if any(s == seq for s, _p, _a in self.tasks.values()):
                continue
            decision = self.journal.decisions.get(seq)
            if decision is not None and decision.get("action") != "accept":
                self.journal.calls[seq] = JournaledCall(path, args,
                                                        declined(path, decision["action"]))
                self.deliver(seq, self.journal.calls[seq], replayed=False)
                continue
            if self.paused is not None:
                continue  # the execution is pausing: new calls wait for the resume
            if len(self.tasks) >= MAX_INFLIGHT:
                break
            approved = self.auto_approve or decision is not None
            task = asyncio.ensure_future(self.call_host(path, args, approved))
            self.tasks[task] = (seq, path, args)

    async def call_host(self, path: str, args: str, approved: bool) -> Any:
        try:
            return await dispatch(self.host, path, json.loads(args), approved=approved)
        except ToolArgumentError as exc:
            return exc
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("code mode: tools.%s failed [%s]", path, ref)
            return {"ok": False, "error": {"code": "internal",
                                           "message": f"Internal tool error [{ref}]"}}

    def host_done(self, task: asyncio.Task[Any]) -> None:
        seq, path, args = self.tasks.pop(task)
        value = task.result()
        if isinstance(value, NeedsApproval):
            if self.paused is None:
                self.paused = (seq, value.interaction)
                self.journal.paused_at = seq
            return
        self.outcome.calls_made += 1
        if isinstance(value, ToolArgumentError):
            call = JournaledCall(path, args, str(value), is_error=True)
        else:
            call = JournaledCall(path, args, value)
        self.journal.calls[seq] = call
        if self.paused is None:
            self.deliver(seq, call, replayed=False)
        # else: journaled now, delivered by the replay after the resume

    # -- messages from the worker -----------------------------------------------------------
    def on_calls(self, calls: list[dict[str, Any]]) -> str | None:
        """Record requested calls; an error message when the replay diverged."""
        for c in calls:
            if not (isinstance(c, dict) and type(c.get("id")) is int and c["id"] >= 0
                    and isinstance(c.get("path"), str) and isinstance(c.get("args"), str)
                    and c["id"] not in self.requested and c["id"] not in self.delivered):
                return "the sandbox sent a malformed tool call; the program was stopped"
            seq, path, args = c["id"], c["path"], c["args"]
            if seq >= self.limits.max_calls:
                return (f"the program made more than {self.limits.max_calls} tool calls; "
                        "filter in code, or use a tool that returns many items at once")
            known = self.journal.calls.get(seq)
            if known is not None and (known.path != path or known.args != args):
                return self.diverged(seq, known.path, known.args, path, args)
            paused_at = self.journal.paused_at
            if (known is None and seq == paused_at and seq in self.journal.decisions
                    and self.journal.decisions[seq].get("path") not in (None, path)):
                return self.diverged(seq, self.journal.decisions[seq]["path"], "...", path,
                                     args)
            self.requested[seq] = (path, args)
        return None

    def diverged(self, seq: int, old_path: str, old_args: str, path: str, args: str) -> str:
        return (f"the program took a different path when it was replayed on resume: call "
                f"#{seq + 1} was {_call_label(old_path, old_args)} and is now "
                f"{_call_label(path, args)}. Code mode replays a program on resume, so it must "
                f"be deterministic apart from tools.* calls, Date and Math.random")

    def charge(self) -> None:
        if self.running_since is not None:
            self.charged += time.monotonic() - self.running_since
            self.running_since = None

    def recv_timeout(self) -> float | None:
        if self.running_since is None:
            return None
        left = self.limits.time_s - self.charged - (time.monotonic() - self.running_since)
        return max(left, 0.0) + _GRACE_S


async def run_program(code: str, host: Host, journal: Journal, *, pool: Pool,
                      limits: Limits | None = None, auto_approve: bool = False) -> Outcome:
    """Run (or replay) ``code`` against ``host``. ``journal`` is updated in place: save it
    when the outcome is ``paused``."""
    limits = limits or Limits()
    journal.runs += 1
    try:
        worker = await pool.acquire()
    except (WorkerDied, OSError) as exc:
        log.warning("code mode: no sandbox worker: %s", exc)
        return Outcome(status="completed", kind="unavailable",
                       error=f"code mode is unavailable here: {exc}")
    healthy = False
    run = _Run(host, journal, limits, worker, auto_approve)
    recv: asyncio.Task[Any] | None = None
    try:
        worker.send({"op": "run", "code": code, "replay": journal.replay(),
                     "limits": limits.to_json()})
        recv_unbounded = False
        while True:
            if recv is not None and recv_unbounded and run.running_since is not None:
                # created while the worker waited: the engine runs again, so bound the wait
                recv.cancel()
                with contextlib.suppress(BaseException):
                    await recv
                recv = None
            if recv is None:
                timeout = run.recv_timeout()
                recv_unbounded = timeout is None
                recv = asyncio.ensure_future(worker.recv(timeout=timeout))
            done, _ = await asyncio.wait({recv, *run.tasks},
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in [t for t in done if t is not recv]:
                run.host_done(task)
            if recv in done:
                task, recv = recv, None
                try:
                    msg = task.result()
                except TimeoutError:
                    worker.kill()
                    return _failed(run, f"Time limit exceeded: the program ran JavaScript for "
                                        f"more than {limits.time_s:g} s and did not stop",
                                   "time_limit")
                except WorkerDied as exc:
                    return _failed(run, f"{exc}; the daemon is unharmed. The program may have "
                                        "exhausted a resource the engine could not limit",
                                   "crash")
                op = msg.get("op")
                if op == "calls":
                    calls = msg.get("calls")
                    problem = (run.on_calls(calls) if isinstance(calls, list) else
                               "the sandbox sent a malformed tool call; the program was stopped")
                    if problem is not None:
                        worker.kill()
                        return _failed(run, problem, "too_many_calls" if "more than" in problem
                                       else "replay_diverged")
                elif op == "wait":
                    if run.idle():
                        run.charge()
                    if run.running_since is None and run.replay_queue and not run.tasks and \
                            run.replay_queue[0] not in run.requested:
                        seq = run.replay_queue[0]
                        old = journal.calls[seq]
                        worker.kill()
                        return _failed(run, (
                            f"the program took a different path when it was replayed on "
                            f"resume: it no longer makes call #{seq + 1} "
                            f"{_call_label(old.path, old.args)}. Code mode replays a program on "
                            f"resume, so it must be deterministic apart from tools.* calls, "
                            f"Date and Math.random"), "replay_diverged")
                elif op == "done":
                    run.charge()
                    healthy = True
                    journal.clock.extend(int(x) for x in msg.get("clock", []))
                    out = run.outcome
                    out.result = msg.get("result")
                    out.error = msg.get("error")
                    out.kind = msg.get("kind")
                    out.logs = list(msg.get("logs", []))
                    out.emitted = list(msg.get("emitted", []))
                    out.strip_ms = float(msg.get("stripMs", 0))
                    return out
                elif op == "stopped":
                    run.charge()
                    healthy = True
                    journal.clock.extend(int(x) for x in msg.get("clock", []))
                    assert run.paused is not None
                    out = run.outcome
                    out.status = "paused"
                    out.interaction = run.paused[1]
                    return out
            run.pump()
            if run.paused is not None and not run.tasks and not run.stopping:
                run.stopping = True
                run.send({"op": "stop"})
    finally:
        if recv is not None:
            recv.cancel()
            with contextlib.suppress(BaseException):
                await recv
        for task in run.tasks:
            task.cancel()
        pool.release(worker, healthy=healthy)


def _failed(run: _Run, message: str, kind: str) -> Outcome:
    out = run.outcome
    out.status = "completed"
    out.error = message
    out.kind = kind
    return out
