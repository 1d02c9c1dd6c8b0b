"""``executor mcp``: the stdio MCP server for clients that launch a command.

A bridge to the daemon's ``/mcp`` (``executor_local.mcp.bridge``): it starts the daemon when
none runs and never opens the database itself. stdout carries only JSON-RPC; messages go to
stderr.
"""

from __future__ import annotations

import click

from executor_local.cli.app import Context, pass_context
from executor_local.datadir import DEFAULT_PORT


@click.command("mcp")
@click.option("--mode", type=click.Choice(["passthrough", "code"]), default=None,
              help="Which tools agents see: code (execute + skills; the default) or "
                   "passthrough (search + invoke).")
@click.option("--elicitation-mode", type=click.Choice(["native", "model", "browser"]),
              default="model", show_default=True,
              help="How approvals reach a person: native (MCP elicitation, when the client "
                   "supports it), model (the agent calls resume), browser (an approval link).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port for the daemon if this command has to start it (default 4788, or a "
                   "free one when 4788 is taken, as the other commands do).")
@click.option("--start-timeout", type=click.FloatRange(1), default=60.0, show_default=True,
              help="Seconds to wait for a daemon this command starts.")
@pass_context
def mcp(ctx: Context, mode: str | None, elicitation_mode: str, port: int | None,
        start_timeout: float) -> None:
    """Serve MCP on stdin/stdout, bridged to the daemon (started if needed); exits when stdin
    closes."""
    from executor_local.mcp.bridge import serve_stdio

    query = {"elicitation_mode": elicitation_mode, **({"mode": mode} if mode else {})}
    choice = ctx.locate()
    log_level = ctx.log_level

    def connect():  # type: ignore[no-untyped-def]
        from executor_local.boot.background import start_in_background
        from executor_local.boot.sequence import DaemonOptions
        from executor_local.cli.client import _port_free
        from executor_local.mcp.bridge import Endpoint, Unreachable

        chosen = port if port is not None else (DEFAULT_PORT if _port_free(DEFAULT_PORT) else 0)
        started = start_in_background(DaemonOptions(choice, port=chosen), log_level=log_level,
                                      timeout_s=start_timeout)
        m = started.manifest
        if not m.origin or not m.bearer:
            raise Unreachable(f"the daemon (pid {m.pid}) has no origin or bearer in its manifest")
        return Endpoint(m.origin, m.bearer)

    raise SystemExit(serve_stdio(connect, query))
