"""The ``executor`` command: a thin click shell over the library."""

from __future__ import annotations

import sys

import click

from executor_local.cli.app import SETTINGS, cli
from executor_local.cli.render import (
    exit_code_for,
    render_json,
    render_text,
    render_usage_json,
)
from executor_local.errors import EXIT_USAGE


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into a rendered message and exit code."""
    try:
        # No auto_envvar_prefix: the variables are the ones named on each option (and listed
        # in cli.envvars), not EXECUTOR_<COMMAND>_<PARAM> spellings nobody would guess.
        cli.main(args=argv, prog_name="executor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("executor: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
        if _settings_from_argv(argv).get("json") or SETTINGS.get("json"):
            click.echo(render_usage_json(exc, code), err=True)
        else:
            exc.show()
        sys.exit(code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the one place every failure is rendered
        settings = {**_settings_from_argv(argv), **SETTINGS}
        if settings.get("json") or _settings_from_argv(argv).get("json"):
            click.echo(render_json(exc), err=True)
        else:
            click.echo(render_text(exc, debug=settings.get("log_level") == "debug"), err=True)
        sys.exit(exit_code_for(exc))


def _settings_from_argv(argv: list[str] | None) -> dict[str, object]:
    """Recover --json/--log-level for rendering when the failure came before ctx.obj existed."""
    import os

    args = sys.argv[1:] if argv is None else argv
    level = os.environ.get("EXECUTOR_LOG_LEVEL", "").lower() or None
    for i, arg in enumerate(args):
        if arg.startswith("--log-level="):
            level = arg.split("=", 1)[1].lower()
        elif arg == "--log-level" and i + 1 < len(args):
            level = args[i + 1].lower()
    env_json = os.environ.get("EXECUTOR_JSON", "").lower() in ("1", "true", "yes", "on")
    return {"json": "--json" in args or env_json, "log_level": level}
