"""``executor paths``: where everything lives and why."""

from __future__ import annotations

import click

from executor_local.cli.app import Context, json_option, pass_context
from executor_local.daemon.shiv_prune import current_extraction, shiv_root


@click.command()
@json_option
@pass_context
def paths(ctx: Context) -> None:
    """Show the data dir, how it was chosen, the log dir and the shiv root."""
    choice = ctx.locate()
    extraction = current_extraction()
    payload = {
        "data_dir": str(choice.path),
        "data_dir_source": choice.source,
        "data_dir_reason": choice.reason,
        "data_dir_exists": choice.path.is_dir(),
        "database": str(choice.db_path),
        "log_dir": str(choice.log_dir),
        "shiv_root": str(shiv_root()),
        "shiv_extraction": str(extraction) if extraction else None,
    }
    width = max(len(k) for k in payload)
    text = "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in payload.items())
    ctx.emit(payload, text)
