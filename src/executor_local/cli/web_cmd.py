"""``executor web [PATH]`` (and ``executor open``): log in to the web console in a browser.

The CLI asks the daemon (bearer-authenticated, starting it when needed) for a one-time login
link, prints it and opens it with ``webbrowser``; ``--no-open`` only prints. The link is good
once, for two minutes; the browser trades it for a session cookie, and the bearer never leaves
this process. ``PATH`` is the page to land on, such as ``/resume/<execution id>``.
"""

from __future__ import annotations

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import connect, json_option, print_result


def _command(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("path", required=False, default="/")
    @click.option("--no-open", is_flag=True, help="Only print the link; open no browser.")
    @json_option
    @pass_context
    def command(ctx: Context, path: str, no_open: bool) -> None:
        if not path.startswith("/"):
            path = "/" + path
        api = connect(ctx)
        out = api.post("/web/tickets", {"next": path})
        url = out["url"]
        print_result(ctx, out, url)
        if no_open:
            return
        import webbrowser

        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        if not opened:
            click.echo("executor: no browser could be opened; open the link above "
                       "(it works once, for two minutes).", err=True)

    return command


web = _command("web", "Open the web console in a browser (prints the one-time login link).")
open_ = _command("open", "Same as `executor web`.")
