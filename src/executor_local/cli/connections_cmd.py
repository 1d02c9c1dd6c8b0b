"""``executor connections add|list|remove``: a connection IS the credential.

The secret is read from a no-echo prompt, from stdin (``--value-stdin``) or from an environment
variable (``--value-env NAME``): never from argv, where ``ps`` and shell history would keep it.
It goes to the daemon in the request body once and is never printed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import Api, connect, json_option, print_result, segment

OWNERS = click.Choice(["org", "user"])


@click.group("connections")
def connections() -> None:
    """Add, list and remove connections (the credentials tools run with)."""


def _template(api: Api, integration: str, wanted: str | None) -> dict[str, Any]:
    info = api.get(f"/integrations/{segment(integration)}")
    methods = [m for m in (info or {}).get("authMethods") or [] if isinstance(m, dict)]
    if wanted:
        for m in methods:
            if m.get("id") == wanted or m.get("template") == wanted:
                return m
        if wanted == "none" and not methods:
            return {"id": "none", "template": "none", "kind": "none"}
        known = ", ".join(str(m.get("id")) for m in methods) or "none"
        raise click.UsageError(f"{integration} has no auth method {wanted!r}; it has: {known}")
    usable = [m for m in methods if m.get("kind") in ("apikey", "header", "none")]
    if not methods:
        return {"id": "none", "template": "none", "kind": "none"}
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise click.UsageError(f"{integration} offers only OAuth sign-in, which connections "
                               "do not support yet")
    listed = "\n".join(f"  {m.get('id')}: {m.get('label')}" for m in methods)
    raise click.UsageError(f"{integration} has several auth methods; pick one with "
                           f"--template:\n{listed}")


def _read_secret(value_stdin: bool, value_env: str | None, label: str) -> str:
    if value_stdin and value_env:
        raise click.UsageError("use one of --value-stdin and --value-env")
    if value_env:
        value = os.environ.get(value_env)
        if value is None:
            raise click.UsageError(f"the environment variable {value_env} is not set")
        return value
    if value_stdin:
        value = sys.stdin.read().rstrip("\r\n")
    elif sys.stdin.isatty():
        value = click.prompt(f"Value for {label}", hide_input=True, err=True)
    else:
        raise click.UsageError("no secret given: use --value-stdin, --value-env NAME, or run "
                               "in a terminal to be prompted")
    if not value:
        raise click.UsageError("the secret is empty")
    return value


@connections.command("add")
@click.argument("integration")
@click.option("--name", default="main", show_default=True, help="The connection's name.")
@click.option("--owner", type=OWNERS, default="org", show_default=True)
@click.option("--template", default=None, help="The auth method (see `integrations list`).")
@click.option("--value-stdin", is_flag=True, help="Read the secret from stdin.")
@click.option("--value-env", default=None, metavar="NAME",
              help="Read the secret from this environment variable.")
@json_option
@pass_context
def add(ctx: Context, integration: str, name: str, owner: str, template: str | None,
        value_stdin: bool, value_env: str | None) -> None:
    """Add a connection to INTEGRATION with its secret (prompted without echo by default)."""
    api = connect(ctx)
    method = _template(api, integration, template)
    body: dict[str, Any] = {"owner": owner, "name": name, "integration": integration,
                            "template": method.get("template") or method.get("id")}
    if method.get("kind") != "none":
        if method.get("kind") in ("oauth", "oauth2"):
            raise click.UsageError(f"{method.get('id')} is an OAuth method; OAuth connections "
                                   "are not supported yet")
        variables = sorted({p.get("variable") or "token" for p in method.get("placements") or []
                            if p.get("literal") is None}) or ["token"]
        if len(variables) > 1:
            raise click.UsageError(f"{method.get('id')} needs several values "
                                   f"({', '.join(variables)}); add it from the web console")
        body["value"] = _read_secret(value_stdin, value_env, method.get("label") or "the secret")
    out = api.post("/connections", body)
    address = (out or {}).get("address") or f"{integration}.{owner}.{name}"
    print_result(ctx, out, f"Added connection {address}\nTools: executor call "
                 f"{integration}.{owner}.{name} --help")


@connections.command("list")
@click.option("--integration", default=None)
@json_option
@pass_context
def list_(ctx: Context, integration: str | None) -> None:
    """The connections (item ids only: the values stay in the keychain or the file)."""
    items = connect(ctx).get("/connections", integration=integration) or []
    lines = [f"{c.get('integration')}.{c.get('owner')}.{c.get('name')}  "
             f"template={c.get('template')}  provider={c.get('provider')}" for c in items]
    print_result(ctx, items, "\n".join(lines) or "No connections")


@connections.command("remove")
@click.argument("integration")
@click.argument("name")
@click.option("--owner", type=OWNERS, default="org", show_default=True)
@json_option
@pass_context
def remove(ctx: Context, integration: str, name: str, owner: str) -> None:
    """Remove a connection, its tools and its secret."""
    out = connect(ctx).delete(f"/connections/{segment(owner)}/{segment(integration)}/"
                              f"{segment(name)}")
    print_result(ctx, out, f"Removed connection {integration}.{owner}.{name}")
