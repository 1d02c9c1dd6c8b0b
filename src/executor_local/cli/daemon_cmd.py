"""``executor daemon ...``: run the daemon."""

from __future__ import annotations

import click

from executor_local.cli.app import Context, pass_context


@click.group()
def daemon() -> None:
    """Run and manage the local daemon."""


@daemon.command("run")
@click.option("--foreground", is_flag=True, help="Stay attached to this terminal.")
@click.option("--port", type=click.IntRange(0, 65535), default=4788, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one (the printed port is the real one).")
@click.option("--hostname", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--auth-token", envvar="EXECUTOR_AUTH_TOKEN", default=None,
              help="Bearer token for the API (also $EXECUTOR_AUTH_TOKEN).")
@pass_context
def run(ctx: Context, foreground: bool, port: int, hostname: str, auth_token: str | None) -> None:
    """Start the daemon: migrate the data if needed, serve, print EXECUTOR_READY:<port>."""
    from executor_local.boot.sequence import DaemonOptions, boot_daemon

    opts = DaemonOptions(ctx.locate(), host=hostname, port=port, auth_token=auth_token)
    raise SystemExit(boot_daemon(opts))
