"""``executor execute``: run a TypeScript program through the daemon (code mode).

The program is the body of an async function, as over MCP: ``return`` gives the result,
``console.log`` lines come back as logs (printed to stderr, so stdout stays the result). A
program that pauses for approval prints how to resume and exits 13, like ``executor call``;
a program that fails prints its error and exits 1.
"""

from __future__ import annotations

import json
import sys

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.call_cmd import show_outcome
from executor_local.cli.client import connect, json_option
from executor_local.errors import EXIT_UNEXPECTED


@click.command("execute")
@click.argument("code", required=False)
@click.option("-f", "--file", "path", type=click.Path(exists=True, dir_okay=False,
                                                     allow_dash=True),
              help="Read the program from this file ('-' for stdin).")
@click.option("--auto-approve", is_flag=True,
              help="Accept approvals inline (a block policy still refuses).")
@json_option
@pass_context
def execute(ctx: Context, code: str | None, path: str | None, auto_approve: bool) -> None:
    """Run a program: executor execute 'return await tools.search({query: "pets"})'."""
    if (code is None) == (path is None):
        raise click.UsageError("give the program as an argument or with --file, not both")
    if path is not None:
        with click.open_file(path, encoding="utf-8") as fh:
            code = fh.read()
    assert code is not None
    api = connect(ctx)
    outcome = api.post("/executions", {"code": code, "autoApprove": auto_approve})
    if outcome.get("status") == "completed" and not ctx.as_json:
        structured = outcome.get("structured") or {}
        for line in structured.get("logs") or []:
            click.echo(line, err=True)
        if outcome.get("isError"):
            click.echo(f"executor: error: {structured.get('error') or outcome.get('text')}",
                       err=True)
            raise SystemExit(EXIT_UNEXPECTED)
        result = structured.get("result")
        click.echo(result if isinstance(result, str)
                   else json.dumps(result, indent=2, ensure_ascii=False))
        sys.stdout.flush()
        return
    show_outcome(ctx, api, outcome)
