"""``executor doctor``: diagnose the data dir and the daemon, with an action for each finding."""

from __future__ import annotations

from dataclasses import asdict

import click

from executor_local.cli.app import Context, json_option, pass_context


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to check (default: the running daemon's, else 4788).")
@json_option
@pass_context
def doctor(ctx: Context, port: int | None) -> None:
    """Check the data dir, its owner, the manifest, the port, migration state, backups, free
    space, open handles, old shiv extractions, and whether this bundle fits this computer (its
    platform, the Python, its compiled modules). Changes nothing."""
    from executor_local.boot.doctor import diagnose, render
    from executor_local.selfcheck import finding as bundle_finding

    choice = ctx.locate()
    findings = [*diagnose(choice, port), bundle_finding()]
    payload = {"data_dir": findings[0].details.get("path"),
               "findings": [asdict(f) for f in findings]}
    ctx.emit(payload, render(findings))
