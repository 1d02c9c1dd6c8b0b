"""The click group and its global options; each command lives in its own module."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

from executor_local import __version__
from executor_local.boot.locate import DataDirChoice, locate_data_dir

# The global options of this invocation, kept where the top-level error renderer can see them.
SETTINGS: dict[str, Any] = {}

EPILOG = ("Run 'executor COMMAND --help' for a command's options. Exit codes: 'executor help "
          "exit-codes'; environment variables: 'executor help environment'.")


class Context:
    """What every command gets: the global options and the data dir choice."""

    def __init__(self, data_dir: str | None, log_level: str, as_json: bool) -> None:
        self.data_dir_option = data_dir
        self.log_level = log_level
        self.as_json = as_json

    def locate(self) -> DataDirChoice:
        return locate_data_dir(self.data_dir_option, os.environ)

    def emit(self, payload: Any, text: str) -> None:
        """Print a result: JSON on --json, the human text otherwise."""
        click.echo(json.dumps(payload, indent=2) if self.as_json else text)


pass_context = click.make_pass_decorator(Context)


def _json_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        SETTINGS["json"] = True
        found = ctx.find_object(Context)
        if found is not None:
            found.as_json = True


def json_option(f: Any) -> Any:
    """``--json`` on a command: the same as the global ``--json`` (``Context.as_json``)."""
    return click.option("--json", "json_flag", is_flag=True, expose_value=False,
                        callback=_json_callback, help="Machine-readable output.")(f)


def first_sentence(text: str | None) -> str:
    """A command's summary for lists: its first sentence, whole (never cut mid-sentence)."""
    import inspect

    if not text:
        return ""
    para = inspect.cleandoc(text).split("\n\n", 1)[0].replace("\n", " ")
    end = para.find(". ")
    return para if end < 0 else para[: end + 1]


def fill_short_help(group: click.Group) -> None:
    """Give every command (also ones registered later) a whole-sentence summary."""
    for cmd in group.commands.values():
        if not cmd.short_help:
            cmd.short_help = first_sentence(cmd.help)
        if isinstance(cmd, click.Group):
            fill_short_help(cmd)


class ExecutorGroup(click.Group):
    """The top-level group: bare ``executor`` prints help (exit 0); summaries are whole."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        fill_short_help(self)
        return super().main(*args, **kwargs)


def configure_logging(level: str) -> None:
    from executor_local.daemon.limits import RepeatFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("executor: %(message)s"))
    handler.addFilter(RepeatFilter())  # an error storm never floods the terminal
    root = logging.getLogger("executor")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``; with ``--verbose`` also the Python, the bundle's platform and whether its
    compiled modules load (executor_local.selfcheck)."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"executor, version {__version__}")
    if "--verbose" in sys.argv[1:]:
        from executor_local import selfcheck

        click.echo(selfcheck.render(selfcheck.check()))
    ctx.exit()


@click.group(cls=ExecutorGroup, epilog=EPILOG, invoke_without_command=True,
             no_args_is_help=False,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-V", "--version", is_flag=True, is_eager=True, expose_value=False,
              callback=_show_version, help="Show the version and exit.")
@click.option("--verbose", is_flag=True, expose_value=False,
              help="With --version: the Python, the bundle's platform, its compiled modules.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    allow_from_autoenv=False,  # EXECUTOR_DATA_DIR is read by locate, which reports the source
    help="Data dir (default: $EXECUTOR_DATA_DIR, legacy ~/.executor, or the platform dir).",
)
@click.option(
    "--log-level",
    type=click.Choice(["error", "warning", "info", "debug"], case_sensitive=False),
    default="info",
    show_default=True,
    envvar="EXECUTOR_LOG_LEVEL",
    show_envvar=True,
    help="How much to log to stderr; debug shows every file operation and retry.",
)
@click.option("--json", "as_json", is_flag=True, envvar="EXECUTOR_JSON", show_envvar=True,
              help="Machine-readable output.")
@click.option("--allow-foreign-owner", is_flag=True, expose_value=False, hidden=True,
              callback=lambda _c, _p, v: v and os.environ.update(EXECUTOR_ALLOW_FOREIGN_OWNER="1"),
              help="Use a data dir that belongs to another user (e.g. as root); files created "
                   "there belong to you.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, log_level: str, as_json: bool) -> None:
    """executor-local: a local integration hub for AI agents.

    It keeps a catalog of integrations and serves it on 127.0.0.1; start it with
    'executor daemon run'.
    """
    SETTINGS.update(json=as_json, log_level=log_level.lower())
    configure_logging(log_level)
    ctx.obj = Context(data_dir, log_level.lower(), as_json)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)


def _register() -> None:
    from executor_local.cli import daemon_cmd, doctor_cmd, help_cmd, migrate_cmd, paths_cmd

    cli.add_command(paths_cmd.paths)
    cli.add_command(migrate_cmd.migrate)
    cli.add_command(migrate_cmd.backups)
    cli.add_command(daemon_cmd.daemon)
    cli.add_command(doctor_cmd.doctor)
    cli.add_command(help_cmd.help_)
    _register_catalog()

    from executor_local.cli import mcp_serve_cmd

    cli.add_command(mcp_serve_cmd.mcp)  # `executor mcp`: the stdio MCP server


def _register_catalog() -> None:
    """The catalog commands, over the daemon's HTTP API."""
    from executor_local.cli import (
        call_cmd,
        connections_cmd,
        execute_cmd,
        integrations_cmd,
        policies_cmd,
        tools_cmd,
    )

    for command in (call_cmd.call, call_cmd.resume, execute_cmd.execute, tools_cmd.tools,
                    integrations_cmd.integrations, connections_cmd.connections,
                    policies_cmd.policies):
        cli.add_command(command)

    from executor_local.cli import graphql_cmd

    graphql_cmd.register(cli)  # after any `integrations` group, so it joins that one

    from executor_local.cli import mcp_cmd

    mcp_cmd.register(cli)


_register()
