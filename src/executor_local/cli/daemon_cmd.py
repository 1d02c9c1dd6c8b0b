"""``executor daemon run|status|stop|restart``.

Only ``run --foreground`` imports the server stack; ``status`` and ``stop`` stay on the stdlib.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from executor_local.boot.desktop import print_attached
from executor_local.cli.app import Context, json_option, pass_context
from executor_local.datadir import DEFAULT_PORT
from executor_local.errors import EXIT_NOT_RUNNING

if TYPE_CHECKING:
    from executor_local.boot.background import Started
    from executor_local.boot.sequence import DaemonOptions

log = logging.getLogger("executor.daemon")

DEFAULT_HOST = "127.0.0.1"


@click.group()
def daemon() -> None:
    """Run and manage the local daemon."""


def _set_scope(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--scope DIR`` is ``EXECUTOR_SCOPE_DIR``: the environment carries it to a background
    daemon and to the store's tenant choice (store/tenant.py)."""
    if value:
        os.environ["EXECUTOR_SCOPE_DIR"] = os.path.abspath(value)


def _serve_options(port_default: int | None, host_default: str | None) -> Callable[[Any], Any]:
    """The options ``run`` and ``restart`` share (restart defaults to the previous daemon's)."""
    def decorate(f: Any) -> Any:
        for option in reversed([
            click.option("--port", type=click.IntRange(0, 65535), default=port_default,
                         show_default=port_default is not None,
                         envvar="EXECUTOR_PORT" if port_default is not None else None,
                         show_envvar=port_default is not None,
                         help="Port on 127.0.0.1; 0 picks a free one (the printed port is real)."),
            click.option("--hostname", default=host_default, show_default=host_default is not None,
                         envvar=(["EXECUTOR_HOST", "EXECUTOR_HOSTNAME"]
                                 if host_default is not None else None),
                         show_envvar=host_default is not None,
                         help="Address to bind; a non-loopback one needs --allow-remote."),
            click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="HOST",
                         help="Also accept this Host/Origin name (repeatable)."),
            click.option("--allow-remote", is_flag=True,
                         help="Allow a non-loopback --hostname (other machines can connect)."),
            click.option("--auth-token", envvar="EXECUTOR_AUTH_TOKEN", default=None,
                         show_envvar=True,
                         help="Bearer token for the API; default: server-control/auth.json. "
                              "Use --auth-token=T."),
            click.option("--scope", type=click.Path(file_okay=False), expose_value=False,
                         callback=_set_scope, metavar="DIR",
                         help="Serve the tenant of this scope dir when the data holds several "
                              "(as EXECUTOR_SCOPE_DIR; one tenant is served whatever the "
                              "folder)."),
            click.option("--start-timeout", type=click.FloatRange(1), default=60.0,
                         show_default=True,
                         help="Background start: seconds to wait for the daemon to be ready."),
            json_option,
        ]):
            f = option(f)
        return f
    return decorate


@daemon.command("run")
@click.option("--foreground", is_flag=True, help="Stay attached to this terminal.")
@_serve_options(DEFAULT_PORT, DEFAULT_HOST)
@pass_context
def run(ctx: Context, foreground: bool, port: int, hostname: str, allowed_hosts: tuple[str, ...],
        allow_remote: bool, auth_token: str | None, start_timeout: float) -> None:
    """Start the daemon: migrate the data if needed, serve, print EXECUTOR_READY:<port>.

    Without --foreground it starts detached (logs in <data dir>/logs/daemon.log) and returns
    once the daemon answers. If a daemon already serves the data dir, says so and exits 0.
    """
    opts = _options(ctx, port, hostname, allowed_hosts, allow_remote, auth_token)
    if foreground:
        raise SystemExit(_run_foreground(opts))
    _report(ctx, _start_background(ctx, opts, allow_remote, start_timeout))


@daemon.command("status")
@json_option
@pass_context
def status(ctx: Context) -> None:
    """Say whether a daemon serves the data dir (exit 3 when none does)."""
    from executor_local.boot.status import inspect

    found = inspect(_data_dir(ctx))
    ctx.emit(found.to_json(), found.describe())
    if not found.running:
        raise SystemExit(EXIT_NOT_RUNNING)


@daemon.command("stop")
@json_option
@click.option("--timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds to wait for it to exit.")
@pass_context
def stop(ctx: Context, timeout: float) -> None:
    """Stop the daemon of the data dir (SIGTERM, then wait until it is gone; exit 3 if none)."""
    from executor_local.boot.status import stop as stop_daemon

    m = stop_daemon(_data_dir(ctx), timeout)
    ctx.emit({"stopped": True, "pid": m.pid, "origin": m.origin},
             f"Stopped the daemon (pid {m.pid}) at {m.origin}")


@daemon.command("restart")
@_serve_options(None, None)
@pass_context
def restart(ctx: Context, port: int | None, hostname: str | None, allowed_hosts: tuple[str, ...],
            allow_remote: bool, auth_token: str | None, start_timeout: float) -> None:
    """Stop the daemon if one runs, then start it in the background.

    Port, hostname and token default to the previous daemon's, so its clients keep working.
    """
    from executor_local.boot.status import inspect
    from executor_local.boot.status import stop as stop_daemon

    previous = inspect(_data_dir(ctx)).manifest
    if previous is not None:
        stop_daemon(_data_dir(ctx))
        if not ctx.as_json:
            click.echo(f"Stopped the daemon (pid {previous.pid}) at {previous.origin}")
    opts = _options(
        ctx,
        port if port is not None else (previous.port if previous and previous.port else
                                       DEFAULT_PORT),
        hostname or (previous.host if previous and previous.host else DEFAULT_HOST),
        allowed_hosts, allow_remote,
        auth_token or (previous.bearer if previous else None),
    )
    _report(ctx, _start_background(ctx, opts, allow_remote, start_timeout))


# --- helpers ----------------------------------------------------------------------------------


def _data_dir(ctx: Context) -> Path:
    """The real data dir, without creating it (status and stop must not make one)."""
    return Path(os.path.realpath(ctx.locate().path))


def _options(ctx: Context, port: int, hostname: str, allowed_hosts: tuple[str, ...],
             allow_remote: bool, auth_token: str | None) -> DaemonOptions:
    from executor_local.boot.sequence import DaemonOptions
    from executor_local.daemon.auth import checked_override
    from executor_local.daemon.security import check_bind_host

    warning = check_bind_host(hostname, allow_remote)  # before any file is touched
    if warning:
        click.echo(f"executor: {warning}", err=True)
    desktop = os.environ.get("EXECUTOR_CLIENT") == "desktop"
    return DaemonOptions(ctx.locate(), host=hostname, port=port,
                         auth_token=checked_override(auth_token),
                         allowed_hosts=tuple(allowed_hosts),
                         kind="desktop-sidecar" if desktop else "cli-daemon")


def _run_foreground(opts: DaemonOptions) -> int:
    from executor_local.boot.own import AlreadyRunning
    from executor_local.boot.sequence import boot_daemon
    from executor_local.cli.touched import say_what_a_refusal_created

    try:
        with say_what_a_refusal_created(opts.data_dir.path):
            return boot_daemon(opts)
    except AlreadyRunning as attached:
        m = attached.manifest
        log.info("attached: the daemon is already running at %s (pid %d)", m.origin, m.pid)
        if os.environ.get("EXECUTOR_CLIENT") == "desktop":
            print_attached(m.port)
        click.echo(f"Daemon already running at {m.origin}")
        return 0


def _start_background(ctx: Context, opts: DaemonOptions, allow_remote: bool,
                      timeout: float) -> Started:
    from executor_local.boot.background import start_in_background

    try:
        return start_in_background(opts, allow_remote=allow_remote, log_level=ctx.log_level,
                                   timeout_s=timeout)
    except Exception as exc:
        log_tail = getattr(exc, "log_tail", None)
        if log_tail:
            where = getattr(exc, "log_path", "the log")
            click.echo(f"--- the end of {where} ---\n{log_tail}\n---", err=True)
        raise


def _report(ctx: Context, started: Started) -> None:
    m = started.manifest
    payload = {"state": "attached" if started.attached else "started", "pid": m.pid,
               "origin": m.origin, "port": m.port, "log": str(started.log_path),
               "notes": list(started.notes)}
    if not ctx.as_json:
        for note in started.notes:  # e.g. "migrated local Executor data to v2; ..."
            click.echo(f"executor: {note}", err=True)
    if started.attached:
        text = f"Daemon already running at {m.origin}"
    else:
        text = f"Daemon ready on {m.origin} (pid {m.pid}; log {started.log_path})"
    ctx.emit(payload, text)
