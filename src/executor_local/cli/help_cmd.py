"""``executor help [TOPIC | COMMAND...]``: help topics (exit codes, environment) and commands."""

from __future__ import annotations

import click

from executor_local.cli.envvars import ENV_VARS
from executor_local.errors import EXIT_CODES

TOPICS = {
    "exit-codes": "What each exit code of executor means.",
    "environment": "The environment variables executor reads.",
}


def exit_codes_text() -> str:
    return "Exit codes:\n" + "\n".join(f"  {code:>2}  {text}" for code, text in EXIT_CODES.items())


def environment_text() -> str:
    width = max(len(v.name) for v in ENV_VARS)
    return "Environment variables (a command-line option wins over its variable):\n" + "\n".join(
        f"  {v.name:<{width}}  {v.meaning}" for v in ENV_VARS)


@click.command("help")
@click.argument("words", nargs=-1)
@click.pass_context
def help_(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Show help on a topic (exit-codes, environment) or on a command.

    'executor help exit-codes' lists the exit codes; 'executor help daemon run' is the same
    as 'executor daemon run --help'.
    """
    from executor_local.cli.app import Context

    obj = ctx.find_object(Context)
    as_json = bool(obj and obj.as_json)
    if not words:
        root = ctx.find_root()
        click.echo(root.command.get_help(root))
        click.echo("\nHelp topics:\n" + "\n".join(f"  {t:<12} {d}" for t, d in TOPICS.items()))
        return
    topic = words[0]
    if topic == "exit-codes" and len(words) == 1:
        if as_json:
            obj.emit({str(k): v for k, v in EXIT_CODES.items()}, "")  # type: ignore[union-attr]
        else:
            click.echo(exit_codes_text())
        return
    if topic == "environment" and len(words) == 1:
        if as_json:
            obj.emit([{"name": v.name, "meaning": v.meaning} for v in ENV_VARS], "")  # type: ignore[union-attr]
        else:
            click.echo(environment_text())
        return
    root = ctx.find_root()
    command: click.Command = root.command
    sub_ctx = root
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            known = ", ".join([*TOPICS, *sorted(root.command.commands)])  # type: ignore[attr-defined]
            raise click.UsageError(f"no help topic or command {' '.join(words)!r} "
                                   f"(known: {known})", ctx=ctx)
        command = command.commands[word]
        sub_ctx = click.Context(command, info_name=word, parent=sub_ctx)
    click.echo(command.get_help(sub_ctx))
