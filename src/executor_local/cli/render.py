"""The one error renderer: what failed, where, why, and what to do next.

Never prints a placeholder instead of the cause: an exception with an empty message still
renders its type, its errno/winerror and its cause chain (the TS Executor lost all of that in
its #1209, and told people only that the error was unknown).
"""

from __future__ import annotations

import json
import traceback

from executor_local.errors import EXIT_UNEXPECTED, ExecutorError
from executor_local.fs import describe_os_error


def describe(exc: BaseException) -> str:
    """One line for any exception: type, errno/winerror, message — never empty."""
    if isinstance(exc, OSError):
        text = describe_os_error(exc)
        if exc.filename:
            text += f" [{exc.filename}]"
        return text
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else f"{type(exc).__name__} (no message)"


def cause_chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first, without looping on a cyclic chain."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def exit_code_for(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, ExecutorError) else EXIT_UNEXPECTED


def render_text(exc: BaseException, *, debug: bool = False) -> str:
    """The human form, for stderr."""
    if isinstance(exc, ExecutorError):
        lines = [f"executor: error: {exc.message}"]
        if exc.step:
            lines.append(f"  step:  {exc.step}")
        if exc.path:
            lines.append(f"  path:  {exc.path}")
        root = cause_chain(exc)[-1]
        if root is not exc:
            lines.append(f"  cause: {describe(root)}")
        lines.append(f"  what to do: {exc.hint}")
    else:
        lines = [
            f"executor: error: unexpected {describe(exc)}",
            "  what to do: this is a bug; run again with --log-level debug and report it.",
        ]
    lines.append(f"  exit code: {exit_code_for(exc)}")
    if debug:
        lines.append("  cause chain (outermost first):")
        lines.extend(f"    - {describe(e)}" for e in cause_chain(exc))
        lines.append("".join(traceback.format_exception(exc)).rstrip())
    return "\n".join(lines)


def render_json(exc: BaseException) -> str:
    """The machine form, for stderr under --json."""
    root = cause_chain(exc)[-1]
    body: dict[str, object] = {
        "type": type(exc).__name__,
        "message": exc.message if isinstance(exc, ExecutorError) else describe(exc),
        "exit_code": exit_code_for(exc),
        "cause": describe(root),
    }
    if isinstance(exc, ExecutorError):
        body.update(step=exc.step, path=exc.path, hint=exc.hint)
    if isinstance(root, OSError):
        body.update(errno=root.errno, winerror=getattr(root, "winerror", None))
    return json.dumps({"error": body})


def render_usage_json(exc: Exception, exit_code: int) -> str:
    """A click usage error (bad option, unknown command) in the ``{"error": ...}`` form."""
    ctx = getattr(exc, "ctx", None)
    body: dict[str, object] = {
        "type": type(exc).__name__,
        "message": exc.format_message() if hasattr(exc, "format_message") else str(exc),
        "exit_code": exit_code,
        "usage": ctx.get_usage() if ctx is not None else None,
        "hint": (f"Run '{ctx.command_path} --help'." if ctx is not None
                 else "Run 'executor --help'."),
    }
    return json.dumps({"error": body})
