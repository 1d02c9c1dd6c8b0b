"""``executor integrations add-mcp``: add an MCP server (remote URL or local command).

A thin shell over ``POST /api/mcp/servers`` on the daemon (started when none runs). Secret
values never go on argv: ``--header NAME``, ``--query NAME`` and ``--env NAME`` (without
``=``) name a secret whose value is asked for (hidden) or read from stdin, one line per
secret, when stdin is not a terminal. ``NAME=VALUE`` gives a static, non-secret value that is
stored in the config.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import connect, json_option, print_result


def _split(items: tuple[str, ...], what: str) -> tuple[dict[str, str], list[str]]:
    static: dict[str, str] = {}
    secret: list[str] = []
    for item in items:
        name, eq, value = item.partition("=")
        if not name:
            raise click.BadParameter(f"{item!r}: give NAME or NAME=VALUE", param_hint=what)
        if eq:
            static[name] = value
        elif name not in secret:
            secret.append(name)
    return static, secret


def _read_secrets(variables: list[str], labels: dict[str, str]) -> dict[str, str]:
    """One value per variable: a hidden prompt on a terminal, else a line of stdin each."""
    values: dict[str, str] = {}
    interactive = sys.stdin.isatty()
    for var in variables:
        label = labels.get(var, var)
        if interactive:
            value = click.prompt(f"Secret value for {label}", hide_input=True)
        else:
            line = sys.stdin.readline()
            if not line:
                raise click.UsageError(f"stdin ended before the value for {label}; give one "
                                       "line per secret, in the order of the options")
            value = line.rstrip("\r\n")
        if not value:
            raise click.UsageError(f"the value for {label} is empty")
        values[var] = value
    return values


def build_request(url: str | None, command: str | None, *, headers: tuple[str, ...],
                  queries: tuple[str, ...], transport: str, args: tuple[str, ...],
                  envs: tuple[str, ...], cwd: str | None, slug: str | None,
                  name: str | None) -> tuple[dict[str, Any], list[str]]:
    """The add request and the secret names, in the order they are asked for."""
    if bool(url) == bool(command):
        raise click.UsageError("give either a URL (remote server) or --command (local server)")
    request: dict[str, Any] = {}
    if slug:
        request["slug"] = slug
    if name:
        request["name"] = name
    if command:
        if headers or queries:
            raise click.UsageError("--header and --query are for remote servers")
        static, secret = _split(envs, "--env")
        request.update(command=command, args=list(args), env=static, secretEnv=secret)
        if cwd:
            request["cwd"] = cwd
        return request, secret
    if args or envs or cwd:
        raise click.UsageError("--arg, --env and --cwd are for --command servers")
    static_h, secret_h = _split(headers, "--header")
    static_q, secret_q = _split(queries, "--query")
    request.update(endpoint=url, remoteTransport=transport, headers=static_h,
                   secretHeaders=secret_h, queryParams=static_q, secretQueryParams=secret_q)
    return request, secret_h + secret_q


def variables_for(request: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The connection variables the daemon will expect, with the option each came from."""
    from executor_local.integrations.mcp.config import build_config, secret_variables

    config = build_config(request)
    variables = secret_variables(config)
    method = (config.get("authenticationTemplate") or [{}])[0]
    labels: dict[str, str] = {}
    for place in method.get("placements") or []:
        labels[place.get("variable") or "token"] = f"{place['carrier']} {place['name']}"
    for var in method.get("vars") or []:
        labels[var] = f"env {var}"
    return variables, labels


@click.command("add-mcp")
@click.argument("url", required=False)
@click.option("--command", "command", metavar="CMD", help="Run a local stdio MCP server.")
@click.option("--arg", "args", multiple=True, metavar="ARG", help="An argument (repeatable).")
@click.option("--env", "envs", multiple=True, metavar="NAME[=VALUE]",
              help="NAME alone: a secret env var (asked for); NAME=VALUE: a static one.")
@click.option("--cwd", type=click.Path(file_okay=False), help="Working dir of the command.")
@click.option("--header", "headers", multiple=True, metavar="NAME[=VALUE]",
              help="NAME alone: a secret header (asked for); NAME=VALUE: a static one.")
@click.option("--query", "queries", multiple=True, metavar="NAME[=VALUE]",
              help="A query parameter, secret (NAME) or static (NAME=VALUE).")
@click.option("--transport", type=click.Choice(["auto", "streamable-http", "sse"]),
              default="auto", show_default=True, help="Remote transport.")
@click.option("--slug", help="The integration's slug (default: from the server's name).")
@click.option("--name", help="Display name / description.")
@json_option
@pass_context
def add_mcp(ctx: Context, url: str | None, command: str | None, args: tuple[str, ...],
            envs: tuple[str, ...], cwd: str | None, headers: tuple[str, ...],
            queries: tuple[str, ...], transport: str, slug: str | None,
            name: str | None) -> None:
    """Add an MCP server as an integration: URL, or --command CMD [--arg ...].

    The server is probed first; its tools join the catalog under the integration's slug.
    """
    from executor_local.integrations.mcp.config import McpConfigError

    request, _secret = build_request(url, command, headers=headers, queries=queries,
                                     transport=transport, args=args, envs=envs, cwd=cwd,
                                     slug=slug, name=name)
    try:
        variables, labels = variables_for(request)
    except McpConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if variables:
        request["values"] = _read_secrets(variables, labels)
    out = connect(ctx).post("/mcp/servers", request)
    tools = out.get("toolCount")
    if tools is None and isinstance(out.get("connection"), dict):
        tools = out["connection"].get("toolCount")
    slug = out.get("slug")
    print_result(ctx, out, f"added MCP server {slug} ({tools if tools is not None else '?'} "
                           f"tools)\nNext: executor tools search --namespace {slug}")


def register(cli: click.Group) -> None:
    """Put these commands under ``executor integrations`` (integrations_cmd's group)."""
    from executor_local.cli.integrations_cmd import integrations

    integrations.add_command(add_mcp)
