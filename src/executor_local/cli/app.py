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
from executor_local.errors import EXIT_CODES

# The global options of this invocation, kept where the top-level error renderer can see them.
SETTINGS: dict[str, Any] = {}

EPILOG = "Exit codes:\n\n" + "\n\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


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


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("executor: %(message)s"))
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


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, is_eager=True, expose_value=False,
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
    show_envvar=True,
    help="How much to log to stderr; debug shows every file operation and retry.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, log_level: str, as_json: bool) -> None:
    """executor-local: a local integration hub for AI agents."""
    SETTINGS.update(json=as_json, log_level=log_level.lower())
    configure_logging(log_level)
    ctx.obj = Context(data_dir, log_level.lower(), as_json)


def _register() -> None:
    from executor_local.cli import daemon_cmd, doctor_cmd, migrate_cmd, paths_cmd

    cli.add_command(paths_cmd.paths)
    cli.add_command(migrate_cmd.migrate)
    cli.add_command(migrate_cmd.backups)
    cli.add_command(daemon_cmd.daemon)
    cli.add_command(doctor_cmd.doctor)


_register()
