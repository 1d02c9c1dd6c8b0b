"""One program run inside QuickJS, driven from the worker process.

The program never calls Python: ``tools.*`` calls land in an outbox that this driver drains
whenever the engine has no job left to run, and their results are settled one message at a
time, each followed by running the engine until it is idle again. Settling one result per
wake-up is what makes a replay deterministic: the interleaving of the program depends only on
the order results were delivered, which the journal records.

The time budget is charged only while JavaScript runs (between waits), and QuickJS's own
interrupt enforces it inside a run; memory and stack are QuickJS limits, so a memory bomb or
deep recursion ends as a JavaScript error, not a crash. Only the worker process imports this.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from executor_local.executions.sandbox.limits import Limits
from executor_local.executions.sandbox.strip import StripError, Stripper

Message = dict[str, Any]
_WRAP_HEAD = "async function __program__() {\n"
_WRAP_TAIL = "\n}"
_INPUT_LINE = re.compile(r"<input>:(\d+):(\d+)")
_FRAME = re.compile(r"^\s+at .*<input>:(\d+):\d+\)?\s*$")
# QuickJS names every eval "<input>", so the prelude is shifted this many lines down: a frame
# that far down is ours, not the agent's, and is left out of the stack the agent sees.
_PRELUDE_SHIFT = 100_000
_MAX_FRAMES = 12
_PRELUDE: str | None = None


def _prelude() -> str:
    global _PRELUDE
    if _PRELUDE is None:
        text = resources.files(__package__).joinpath("prelude.js").read_text("utf-8")
        _PRELUDE = "\n" * _PRELUDE_SHIFT + text
    return _PRELUDE


def _program_lines(text: str) -> str:
    """The error as the agent should read it: its own line numbers (the wrapper adds one
    line), no frames of the prelude, at most ``_MAX_FRAMES`` frames."""
    kept: list[str] = []
    frames = 0
    for line in text.split("\n"):
        frame = _FRAME.match(line)
        if frame:
            if int(frame.group(1)) >= _PRELUDE_SHIFT:
                continue
            frames += 1
            if frames > _MAX_FRAMES:
                if frames == _MAX_FRAMES + 1:
                    kept.append("    ...")
                continue
        kept.append(line)
    return _INPUT_LINE.sub(
        lambda m: f"program:{max(1, int(m.group(1)) - 1)}:{m.group(2)}", "\n".join(kept))


class Budget:
    """The JavaScript-only time budget; waits on the host are not charged."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.left = seconds
        self._clock = clock

    def run(self, ctx: Any, fn: Callable[[], Any]) -> Any:
        ctx.set_time_limit(max(self.left, 0.001))
        started = self._clock()
        try:
            return fn()
        finally:
            self.left -= self._clock() - started
            ctx.set_time_limit(-1)


class ProgramFailed(Exception):
    """A run that ended before the program did (limit, syntax): the message is for the agent."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _program_error(text: str, limits: Limits) -> tuple[str, str]:
    """A rejection of the program's promise, named as a limit when it was one."""
    text = _program_lines(text).strip()
    first = text.split("\n", 1)[0]
    if first.startswith("RangeError: Maximum call stack size exceeded"):
        return (f"Stack limit exceeded: recursion too deep for the {limits.stack_bytes // 1024} "
                f"KiB stack\n{text}", "stack_limit")
    if first.startswith("InternalError: out of memory"):
        return (f"Memory limit exceeded: the program used more than "
                f"{limits.heap_bytes // (1024 * 1024)} MiB of heap\n{text}", "memory_limit")
    return text, "program"


def _engine_error(exc: BaseException, limits: Limits) -> ProgramFailed:
    first = str(exc).split("\n", 1)[0]
    if "interrupted" in first:
        return ProgramFailed(
            f"Time limit exceeded: the program ran JavaScript for more than {limits.time_s:g} s "
            "(time spent waiting on tools does not count)", "time_limit")
    if "out of memory" in first:
        return ProgramFailed(
            f"Memory limit exceeded: the program used more than "
            f"{limits.heap_bytes // (1024 * 1024)} MiB of heap", "memory_limit")
    if ("stack" in first.lower() and "exceeded" in first.lower()) or "stack overflow" in first:
        return ProgramFailed(
            f"Stack limit exceeded (recursion too deep for a {limits.stack_bytes // 1024} KiB "
            f"stack): {first}", "stack_limit")
    if first.startswith("SyntaxError"):
        text = _program_lines(str(exc)).strip()
        if "'@'" in first:
            text = ("SyntaxError: decorators are not supported in code mode; call functions "
                    "directly instead\n" + text)
        return ProgramFailed(text, "syntax")
    return ProgramFailed(_program_lines(str(exc)).strip(), "engine")


class Engine:
    """The per-worker engine: one stripper, a fresh QuickJS context per program."""

    def __init__(self) -> None:
        self._stripper: Stripper | None = None

    def strip(self, code: str, limits: Limits) -> tuple[str, float]:
        """The wrapped, stripped program and the seconds stripping took."""
        if self._stripper is None:
            self._stripper = Stripper(limits)
        started = time.perf_counter()
        js = self._stripper.strip_types(_WRAP_HEAD + code + _WRAP_TAIL, line_offset=1)
        return js, time.perf_counter() - started

    def run(self, code: str, replay: dict[str, Any], limits: Limits,
            send: Callable[[Message], None], recv: Callable[[], Message]) -> Message:
        """Run ``code`` to its end or to a ``stop`` from the host; the final message to send."""
        import _quickjs

        try:
            js, strip_s = self.strip(code, limits)
        except StripError as exc:
            text = str(exc)
            if not text.startswith("SyntaxError"):
                text = f"SyntaxError: {text}"
            return {"op": "done", "error": text, "kind": "syntax",
                    "logs": [], "emitted": [], "clock": [], "stripMs": 0}
        ctx = _quickjs.Context()
        ctx.set_memory_limit(limits.heap_bytes)
        ctx.set_max_stack_size(limits.stack_bytes)
        budget = Budget(limits.time_s)
        program: Any = None
        base: Message = {"op": "done", "stripMs": round(strip_s * 1000, 3)}
        try:
            ctx.set("__replayText", json.dumps(replay))
            ctx.set("__limitsText", json.dumps({"outputChars": limits.output_chars}))
            ctx.eval(_prelude())
            drain = ctx.eval("__driver.drain")
            settle = ctx.eval("__driver.settle")
            start = ctx.eval("__driver.start")
            done = ctx.eval("__driver.done")
            result = ctx.eval("__driver.result")
            records = ctx.eval("__driver.records")
            ctx.eval("delete globalThis.__driver")
            try:
                program = budget.run(ctx, lambda: ctx.eval(js + "\n__program__"))
            except _quickjs.JSException as exc:
                failed = _engine_error(exc, limits)
                return {**base, "error": str(failed), "kind": failed.kind, "logs": [],
                        "emitted": [], "clock": []}
            outstanding = 0
            first = True
            while True:
                try:
                    if first:
                        first = False
                        budget.run(ctx, lambda: start(program))
                    budget.run(ctx, lambda: _run_jobs(ctx))
                except _quickjs.JSException as exc:
                    failed = _engine_error(exc, limits)
                    partial = json.loads(result())
                    return {**base, "error": str(failed), "kind": failed.kind,
                            "logs": partial["logs"], "emitted": partial["emitted"],
                            "clock": partial["clock"]}
                if budget.left <= 0:
                    failed = _engine_error(Exception("interrupted"), limits)
                    partial = json.loads(result())
                    return {**base, "error": str(failed), "kind": failed.kind,
                            "logs": partial["logs"], "emitted": partial["emitted"],
                            "clock": partial["clock"]}
                calls = json.loads(drain())
                if calls:
                    outstanding += len(calls)
                    send({"op": "calls", "calls": calls})
                if done():
                    final = json.loads(result())
                    out = {**base, "result": final["value"], "logs": final["logs"],
                           "emitted": final["emitted"], "clock": final["clock"]}
                    if final["error"] is not None:
                        out["error"], out["kind"] = _program_error(final["error"], limits)
                    elif len(json.dumps(final["value"])) > limits.result_chars:
                        out["result"] = None
                        out["error"] = (f"the returned value is larger than "
                                        f"{limits.result_chars} characters of JSON")
                        out["kind"] = "output_limit"
                    return out
                if outstanding == 0:
                    partial = json.loads(result())
                    return {**base, "kind": "program", "logs": partial["logs"],
                            "emitted": partial["emitted"], "clock": partial["clock"],
                            "error": "the program is waiting on a promise that nothing will "
                                     "resolve (only tools.* calls complete asynchronously)"}
                send({"op": "wait"})
                msg = recv()
                if msg["op"] == "stop":
                    return {"op": "stopped", **json.loads(records())}
                if msg["op"] == "result":
                    outstanding -= 1
                    budget.run(ctx, lambda m=msg: settle(m["id"], m["value"], False))
                elif msg["op"] == "error":
                    outstanding -= 1
                    budget.run(ctx, lambda m=msg: settle(m["id"], m["message"], True))
        finally:
            # Drop every handle into the context before the runtime goes.
            drain = settle = start = done = result = records = program = None
            ctx.gc()
            ctx = None


def _run_jobs(ctx: Any) -> None:
    while ctx.execute_pending_job():
        pass
