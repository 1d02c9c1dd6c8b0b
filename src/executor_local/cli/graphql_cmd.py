"""``executor integrations add-graphql URL``: add a GraphQL API through the daemon's API.

The schema comes from introspecting URL, or from ``--schema-file`` (SDL or introspection
JSON) when the server switches introspection off. ``--header NAME[:PREFIX]`` declares a
header whose value is a secret: it becomes the integration's auth method, and with
``--connection NAME`` the daemon stores the value as that connection's secret. The value is
prompted without echo, or read with ``--value-stdin`` / ``--value-env VAR`` (as
``connections add`` does), never taken from argv. ``--static-header NAME=VALUE`` adds a
non-secret header kept in the config (as ``add-openapi --header`` does).

Same calls as ``POST /api/graphql/integrations`` then ``POST /api/connections``.
``executor integrations refresh-graphql SLUG [--schema-file F]`` takes a changed schema in
(``POST /api/graphql/integrations/:slug/refresh``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import connect, json_option, print_result, segment


def _static_headers(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--static-header {item!r} must be NAME=VALUE")
        out[name.strip()] = value
    return out


def _variables(method: dict[str, Any]) -> list[tuple[str, str]]:
    """(variable, header name) for each secret value the method places."""
    out: list[tuple[str, str]] = []
    for place in method.get("placements") or []:
        var = place.get("variable") or "token"
        if var not in [v for v, _ in out]:
            out.append((var, place["name"]))
    return out


def _secret_values(method: dict[str, Any], value_stdin: bool,
                   value_env: str | None) -> dict[str, str]:
    """One value per variable: from $VAR, from stdin (a line each), or a hidden prompt."""
    wanted = _variables(method)
    if value_stdin and value_env:
        raise click.UsageError("use one of --value-stdin and --value-env")
    if value_env:
        if len(wanted) > 1:
            raise click.UsageError("--value-env holds one value, but the headers need "
                                   f"{len(wanted)}: use --value-stdin (one line each)")
        value = os.environ.get(value_env)
        if value is None:
            raise click.UsageError(f"the environment variable {value_env} is not set")
        return {wanted[0][0]: value}
    if not value_stdin and not sys.stdin.isatty():
        raise click.UsageError("no secret given: use --value-stdin, --value-env NAME, or run "
                               "in a terminal to be prompted")
    values: dict[str, str] = {}
    for var, header in wanted:
        if value_stdin:
            value = sys.stdin.readline().rstrip("\r\n")
        else:
            value = click.prompt(f"Value for header {header}", hide_input=True, err=True)
        if not value:
            raise click.UsageError(f"the value for header {header} is empty")
        values[var] = value
    return values


@click.command("add-graphql")
@click.argument("url")
@click.option("--schema-file", type=click.Path(exists=True, dir_okay=False),
              help="SDL or introspection JSON, for servers that disable introspection.")
@click.option("--slug", help="The integration's name in tool paths (default: from the host).")
@click.option("--name", help="Display name.")
@click.option("--description", help="What agents read about this integration.")
@click.option("--header", "headers", multiple=True, metavar="NAME[:PREFIX]",
              help="A secret header a connection fills, e.g. 'Authorization:Bearer ' "
                   "(repeatable).")
@click.option("--static-header", "static_headers", multiple=True, metavar="NAME=VALUE",
              help="A static, non-secret header for every request (repeatable).")
@click.option("--connection", "connection", metavar="NAME",
              help="Also add this connection, holding the secret header values.")
@click.option("--value-stdin", is_flag=True,
              help="Read the secret values from stdin (one line per --header).")
@click.option("--value-env", default=None, metavar="VAR",
              help="Read the secret value from this environment variable.")
@json_option
@pass_context
def add_graphql(ctx: Context, url: str, schema_file: str | None, slug: str | None,
                name: str | None, description: str | None, headers: tuple[str, ...],
                static_headers: tuple[str, ...], connection: str | None, value_stdin: bool,
                value_env: str | None) -> None:
    """Add the GraphQL API at URL: its queries and mutations become tools."""
    from executor_local.integrations.graphql.add import GraphqlInputError, header_template

    try:
        template = header_template(list(headers))
    except GraphqlInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--header") from None
    if connection and not template:
        raise click.UsageError("--connection needs a --header whose value it holds")
    if (value_stdin or value_env) and not connection:
        raise click.UsageError("--value-stdin/--value-env go with --connection")
    body: dict[str, Any] = {"endpoint": url, "authenticationTemplate": template}
    for key, value in (("slug", slug), ("name", name), ("description", description)):
        if value:
            body[key] = value
    if static_headers:
        body["headers"] = _static_headers(static_headers)
    if schema_file:
        try:
            body["schema"] = Path(schema_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"cannot read the schema file {schema_file}: {exc}") from None
    values = _secret_values(template[0], value_stdin, value_env) if connection else {}
    api = connect(ctx)
    added = api.post("/graphql/integrations", body)
    result: dict[str, Any] = {"integration": added}
    text = f"Added {added['slug']} ({added.get('toolCount', 0)} tools)"
    if connection:
        conn = api.post("/connections", {"owner": "org", "integration": added["slug"],
                                          "name": connection, "template": template[0]["slug"],
                                          "values": values})
        result["connection"] = conn
        count = conn.get("toolCount") if isinstance(conn, dict) else None
        text += f"\nAdded connection {added['slug']}.org.{connection}" + (
            f" ({count} tools)" if count is not None else "")
        text += f"\nNext: executor call {added['slug']}.org.{connection} --help"
    elif template:
        text += (f"\nNext: executor connections add {added['slug']}  (the header value; its "
                 "tools come with it)")
    else:
        text += f"\nNext: executor call {added['slug']}.org.main --help"
    print_result(ctx, result, text)


@click.command("refresh-graphql")
@click.argument("slug")
@click.option("--schema-file", type=click.Path(exists=True, dir_okay=False),
              help="Take the schema from this SDL or introspection JSON instead.")
@json_option
@pass_context
def refresh_graphql(ctx: Context, slug: str, schema_file: str | None) -> None:
    """Take SLUG's schema again (introspection, or --schema-file) and re-list its tools."""
    body: dict[str, Any] = {}
    if schema_file:
        try:
            body["schema"] = Path(schema_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"cannot read the schema file {schema_file}: {exc}") from None
    out = connect(ctx).post(f"/graphql/integrations/{segment(slug)}/refresh", body)
    counts = ", ".join(f"{c['owner']}.{c['name']}: {c['toolCount']} tools"
                       for c in out.get("connections") or [])
    text = ("Schema changed" if out.get("changed") else "Schema unchanged") + (
        f"; {counts}" if counts else "")
    print_result(ctx, out, text)


def register(cli: click.Group) -> None:
    """Put these commands under ``executor integrations`` (integrations_cmd's group)."""
    from executor_local.cli.integrations_cmd import integrations

    integrations.add_command(add_graphql)
    integrations.add_command(refresh_graphql)
