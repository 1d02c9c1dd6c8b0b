"""``executor integrations add-graphql URL``: add a GraphQL API through the running daemon.

The schema comes from introspecting URL, or from ``--schema-file`` (SDL or introspection
JSON) when the server switches introspection off. ``--header NAME[:PREFIX]`` declares a
header whose value is a secret: it becomes an auth method of the integration, and with
``--connection NAME`` the value is asked for (hidden prompt, or one line per value on stdin
when stdin is not a terminal) and stored as that connection's secret by the daemon. A secret
value is never taken from argv. ``--static-header 'NAME: value'`` adds a non-secret header
kept in the config.

Same call as ``POST /api/graphql/integrations`` (then ``POST /api/connections``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from executor_local.cli.app import Context, pass_context


def _api(ctx: Context) -> tuple[str, str]:
    """The running daemon's origin and bearer (never printed), or exit 3."""
    from executor_local.daemon.manifest import live_manifest
    from executor_local.errors import EXIT_NOT_RUNNING

    choice = ctx.locate()
    manifest = live_manifest(Path(choice.path))
    if manifest is None or not manifest.origin or not manifest.bearer:
        click.echo(f"executor: no daemon is running for {choice.path}; start one with: "
                   "executor daemon run", err=True)
        sys.exit(EXIT_NOT_RUNNING)
    return manifest.origin, manifest.bearer


def _post(origin: str, bearer: str, path: str, body: dict[str, Any],
          timeout_s: float = 120.0) -> tuple[int, Any]:
    import httpx

    try:
        r = httpx.post(origin + path, json=body, timeout=timeout_s,
                       headers={"Authorization": f"Bearer {bearer}"})
    except httpx.HTTPError as exc:
        click.echo(f"executor: cannot reach the daemon at {origin}: {type(exc).__name__}",
                   err=True)
        sys.exit(3)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, {"error": {"code": "invalid_response",
                                         "message": r.text[:500] or f"HTTP {r.status_code}"}}


def _fail(status: int, payload: Any, what: str) -> None:
    err = payload.get("error") if isinstance(payload, dict) else None
    err = err if isinstance(err, dict) else {"message": str(payload)}
    click.echo(f"executor: {what} failed (HTTP {status}, {err.get('code', 'error')}): "
               f"{err.get('message')}", err=True)
    if err.get("hint"):
        click.echo(f"  {err['hint']}", err=True)
    sys.exit(2 if 400 <= status < 500 else 1)


def _static_headers(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in values:
        name, sep, value = spec.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{spec!r} is not NAME: VALUE", param_hint="--static-header")
        out[name.strip()] = value.strip()
    return out


def _secret_values(method: dict[str, Any]) -> dict[str, str]:
    """Ask for each variable of the method: hidden prompt, or a line of stdin."""
    values: dict[str, str] = {}
    for place in method.get("placements") or []:
        var = place.get("variable") or "token"
        if var in values:
            continue
        label = f"value for header {place['name']}"
        if sys.stdin.isatty():
            value = click.prompt(label, hide_input=True)
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise click.UsageError(f"no {label} given (stdin was empty)")
        values[var] = value
    return values


@click.command("add-graphql")
@click.argument("url")
@click.option("--schema-file", type=click.Path(exists=True, dir_okay=False),
              help="SDL or introspection JSON, for servers that disable introspection.")
@click.option("--slug", help="Catalog id (default: from the URL's host).")
@click.option("--name", help="Display name.")
@click.option("--description", help="What agents read about this integration.")
@click.option("--header", "headers", multiple=True, metavar="NAME[:PREFIX]",
              help="A secret header filled from a connection, e.g. 'Authorization:Bearer '.")
@click.option("--static-header", "static_headers", multiple=True, metavar="'NAME: VALUE'",
              help="A non-secret header sent on every request (stored in the config).")
@click.option("--connection", "connection",
              help="Create this connection now; the header values are prompted (or read from "
                   "stdin), never taken from argv.")
@pass_context
def add_graphql(ctx: Context, url: str, schema_file: str | None, slug: str | None,
                name: str | None, description: str | None, headers: tuple[str, ...],
                static_headers: tuple[str, ...], connection: str | None) -> None:
    """Add the GraphQL API at URL: its queries and mutations become tools."""
    from executor_local.integrations.graphql.add import GraphqlInputError, header_template

    try:
        template = header_template(list(headers))
    except GraphqlInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--header") from None
    if connection and not template:
        raise click.UsageError("--connection needs at least one --header whose value it holds")
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
            raise click.BadParameter(f"cannot read {schema_file}: {exc}",
                                     param_hint="--schema-file") from None
    values = _secret_values(template[0]) if connection else {}
    origin, bearer = _api(ctx)
    status, added = _post(origin, bearer, "/api/graphql/integrations", body)
    if status != 200:
        _fail(status, added, "adding the integration")
    result: dict[str, Any] = {"integration": added}
    text = f"Added GraphQL integration {added['slug']} ({added.get('toolCount', 0)} tools)"
    if connection:
        status, conn = _post(origin, bearer, "/api/connections", {
            "integration": added["slug"], "name": connection, "values": values})
        if status != 200 and status != 201:
            _fail(status, conn, f"creating connection {connection!r}")
        result["connection"] = conn
        count = conn.get("toolCount") if isinstance(conn, dict) else None
        text += f"\nConnection {connection} created" + (
            f" ({count} tools)" if count is not None else "")
    elif template:
        text += ("\nIts tools appear once a connection holds the header value (POST "
                 f"/api/connections {{\"integration\": \"{added['slug']}\", \"name\", "
                 "\"value\"})")
    ctx.emit(result, text)


def register(cli: click.Group) -> None:
    """Put ``add-graphql`` under the ``integrations`` group (made here if nobody has yet)."""
    group = cli.commands.get("integrations")
    if not isinstance(group, click.Group):
        @click.group("integrations")
        def integrations() -> None:
            """Integrations: OpenAPI specs, MCP servers, GraphQL APIs."""

        group = integrations
        cli.add_command(group)
    group.add_command(add_graphql)
