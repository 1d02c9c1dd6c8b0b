"""``executor call`` and ``executor resume``: run a tool through the daemon, settle a pause.

A string result is printed raw and anything else as 2-space JSON, as Executor's CLI does. A call
that needs approval prints the execution id, the browser link and the copy-paste ``executor
resume`` lines, and exits with EXIT_PAUSED (13) so scripts can tell "waiting" from "failed".
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from executor_local.cli import toolpaths
from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import Api, connect, json_option, segment
from executor_local.errors import EXIT_PAUSED, EXIT_UNEXPECTED


def parse_input(arg: str) -> dict[str, Any]:
    """``'{json}'``, ``@file.json`` or ``@-`` (stdin) -> the arguments object."""
    if arg == "@-":
        text, where = click.get_text_stream("stdin").read(), "stdin"
    elif arg.startswith("@"):
        path = Path(arg[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(
                f"cannot read the arguments file {path}: {exc.strerror}") from None
        where = str(path)
    else:
        text, where = arg, "the arguments"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.UsageError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise click.UsageError(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def _split(args: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    args = tuple(a for a in args if a)
    flags = [a for a in args if a.startswith("-")]
    if flags:
        raise click.UsageError(f"unknown option {flags[0]!r} (options go before the tool path: "
                               "--help, --match, --limit)")
    data: dict[str, Any] = {}
    if args and (args[-1].startswith("{") or args[-1].startswith("@")):
        data = parse_input(args[-1])
        args = args[:-1]
    try:
        return toolpaths.join_segments(args), data
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _cli_prefix(ctx: Context) -> str:
    if ctx.data_dir_option:
        return f"executor --data-dir {shlex.quote(str(ctx.data_dir_option))}"
    return "executor"


def show_outcome(ctx: Context, api: Api, outcome: dict[str, Any]) -> None:
    """Print a completed or paused execution; exit 1 for a failed tool, 13 for a pause."""
    status = outcome.get("status")
    if status == "paused":
        if ctx.as_json:
            click.echo(json.dumps(outcome, indent=2, ensure_ascii=False))
            raise SystemExit(EXIT_PAUSED)
        eid = outcome.get("executionId") or (outcome.get("structured") or {}).get("executionId")
        interaction = outcome.get("interaction") or {}
        message = interaction.get("message") or outcome.get("text") or "Approval required."
        click.echo(message)
        if interaction.get("args") is not None:
            click.echo("Arguments:\n" + json.dumps(interaction["args"], indent=2,
                                                   ensure_ascii=False))
        click.echo(f"\nExecution: {eid}")
        click.echo("\nApprove in browser:")
        click.echo(f"  {api.origin}/resume/{eid}")
        prefix = f"{_cli_prefix(ctx)} resume --execution-id {eid}"
        click.echo("\nOr here:")
        click.echo(f"  {prefix} --action accept")
        click.echo(f"  {prefix} --action decline")
        raise SystemExit(EXIT_PAUSED)
    if outcome.get("isError") is True and not ctx.as_json:  # a program that failed
        structured = outcome.get("structured") or {}
        click.echo(f"executor: error: {structured.get('error') or outcome.get('text')}",
                   err=True)
        raise SystemExit(EXIT_UNEXPECTED)
    result = outcome.get("result")
    if result is None and isinstance(outcome.get("structured"), dict):
        result = outcome["structured"].get("result", outcome["structured"])
    if ctx.as_json:
        click.echo(json.dumps(outcome, indent=2, ensure_ascii=False))
        if isinstance(result, dict) and result.get("ok") is False:
            raise SystemExit(EXIT_UNEXPECTED)
        return
    if isinstance(result, dict) and "ok" in result:
        if result["ok"] is False:
            error = result.get("error") or {}
            status_text = f" (HTTP {error['status']})" if error.get("status") else ""
            retry = " [retryable]" if error.get("retryable") else ""
            click.echo(f"executor: error: {error.get('code', 'error')}{status_text}: "
                       f"{error.get('message', '')}{retry}", err=True)
            details = error.get("details") if isinstance(error.get("details"), dict) else {}
            if details.get("suggestions"):
                click.echo("  did you mean: " + ", ".join(map(str, details["suggestions"][:5])),
                           err=True)
            raise SystemExit(EXIT_UNEXPECTED)
        result = result.get("data")
    if isinstance(result, str):
        click.echo(result)
    else:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))


def _shape(view: dict[str, Any], side: str) -> str:
    ts = view.get(f"{side}TypeScript")
    if isinstance(ts, str) and ts.strip():
        return ts
    schema = view.get(f"{side}Schema")
    return json.dumps(schema, indent=2, ensure_ascii=False) if schema is not None else "(none)"


def describe_text(path: str, view: dict[str, Any]) -> str:
    lines = [path]
    if view.get("description"):
        lines.append(f"  {view['description']}")
    if view.get("requiresApproval"):
        lines.append("  (needs approval unless a policy says otherwise)")
    lines += ["", "Input:", _indent(_shape(view, "input")), "", "Output:",
              _indent(_shape(view, "output"))]
    defs = view.get("typeScriptDefinitions")
    if isinstance(defs, dict) and defs:
        lines += ["", "Definitions:"] + [_indent(str(v)) for v in defs.values()]
    lines += ["", f"Call: executor call {path} '{{...}}'"]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def tool_paths(api: Api, query: str | None = None, integration: str | None = None
               ) -> list[dict[str, Any]]:
    items = api.get("/tools", query=query, integration=integration)
    items = items.get("items", items.get("tools", [])) if isinstance(items, dict) else items
    out = []
    for item in items or []:
        path = toolpaths.strip_tools(str(item.get("address") or item.get("path") or ""))
        if path:
            out.append({**item, "path": path})
    return out


def help_for(ctx: Context, api: Api, prefix: str, match: str | None, limit: int) -> None:
    # One integration's tools when the prefix names one (a big catalog stays on the server).
    items = tool_paths(api, integration=prefix.split(".", 1)[0]) if prefix else []
    if not items:
        items = tool_paths(api)
    paths = [i["path"] for i in items]
    if prefix in paths:
        view = api.get("/tools/schema", address=f"tools.{prefix}")
        if ctx.as_json:
            click.echo(json.dumps(view, indent=2, ensure_ascii=False))
        else:
            click.echo(describe_text(prefix, view))
        return
    under = [i for i in items if not prefix or i["path"].startswith(prefix + ".")]
    found_prefix = prefix
    if not under:
        found_prefix = toolpaths.nearest_prefix(paths, prefix)
        click.echo(f"executor: no tool or namespace {prefix!r}; showing "
                   f"{found_prefix or 'the top level'} instead", err=True)
        under = [i for i in items if not found_prefix or i["path"].startswith(found_prefix + ".")]
    if match:
        hits = [i for i in under if toolpaths.matches(match, i["path"], i.get("description", ""))]
        if ctx.as_json:
            click.echo(json.dumps([{"path": i["path"], "description": i.get("description")}
                                   for i in hits[:limit]], indent=2))
        else:
            for i in hits[:limit]:
                click.echo(f"{i['path']}  {i.get('description', '')}".rstrip())
            if len(hits) > limit:
                click.echo(f"... {len(hits) - limit} more (--limit)")
        if not hits:
            click.echo(f"executor: nothing under {found_prefix or 'the top level'} matches "
                       f"{match!r}", err=True)
            raise SystemExit(EXIT_UNEXPECTED)
    else:
        kids = toolpaths.children([i["path"] for i in under], found_prefix)
        if ctx.as_json:
            click.echo(json.dumps([k.__dict__ for k in kids[:limit]], indent=2))
        else:
            title = found_prefix or "tools"
            click.echo(f"{title}: {len(under)} tool(s)")
            for k in kids[:limit]:
                count = f" ({k.count})" if k.kind != "tool" else ""
                click.echo(f"  {k.name}  [{k.kind}{count}]")
            if len(kids) > limit:
                click.echo(f"  ... {len(kids) - limit} more (--limit)")
            click.echo("\nRun `executor call <path> --help` for one of them.")
    if found_prefix != prefix:
        raise SystemExit(EXIT_UNEXPECTED)


@click.command("call", add_help_option=False,
               context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--help", "show_help", is_flag=True,
              help="List the namespaces and tools under the path (a tool: its input/output).")
@click.option("--match", default=None, help="With --help: only tools matching these words.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True,
              help="With --help: at most this many entries.")
@json_option
@pass_context
def call(ctx: Context, args: tuple[str, ...], show_help: bool, match: str | None,
         limit: int) -> None:
    """Call a tool: executor call <path> ['{json}' | @file.json | @-].

    The path is <integration>.<owner>.<connection>.<tool> (segments may be separated by
    spaces or dots; a leading 'tools.' is accepted). Exit 13 when the call waits for approval.
    """
    if "--help" in args or "-h" in args:
        show_help = True
        args = tuple(a for a in args if a not in ("--help", "-h"))
    if show_help:
        prefix, _ = _split(tuple(a for a in args if not a.startswith(("{", "@"))))
        help_for(ctx, connect(ctx), prefix, match, limit)
        return
    path, data = _split(args)
    if not path:
        click.echo(click.get_current_context().get_help())
        raise SystemExit(2)
    api = connect(ctx)
    show_outcome(ctx, api, api.post("/executions", {"tool": path, "args": data}))


@click.command("resume")
@click.option("--execution-id", "execution_id", required=True, help="The paused execution.")
@click.option("--action", type=click.Choice(["accept", "decline", "cancel"]), default="accept",
              show_default=True)
@click.option("--content", default=None, help="A JSON object answering the request.")
@json_option
@pass_context
def resume(ctx: Context, execution_id: str, action: str, content: str | None) -> None:
    """Settle a paused call: accept, decline or cancel (the same answer twice is harmless)."""
    body: dict[str, Any] = {"action": action}
    if content is not None:
        body["content"] = parse_input(content) if content.strip() else {}
    api = connect(ctx)
    show_outcome(ctx, api, api.post(f"/executions/{segment(execution_id)}/resume", body))
