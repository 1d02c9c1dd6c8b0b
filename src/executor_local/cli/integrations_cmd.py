"""``executor integrations add-openapi|list|remove|refresh``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import ApiError, connect, json_option, print_result, segment


@click.group("integrations")
def integrations() -> None:
    """Add, list, refresh and remove integrations."""


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--header {item!r} must be NAME=VALUE")
        out[name.strip()] = value
    return out


@integrations.command("add-openapi")
@click.argument("source")
@click.option("--slug", default=None, help="The integration's name in tool paths "
              "(default: from the spec's title).")
@click.option("--base-url", default=None, help="Send requests here instead of the spec's server.")
@click.option("--description", default=None, help="Default: the spec's description or title.")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="A static, non-secret header for every request (repeatable).")
@json_option
@pass_context
def add_openapi(ctx: Context, source: str, slug: str | None, base_url: str | None,
                description: str | None, headers: tuple[str, ...]) -> None:
    """Add an OpenAPI 3 spec from a URL or a file (JSON or YAML)."""
    if source.startswith(("http://", "https://")):
        spec: dict[str, Any] = {"kind": "url", "url": source}
    else:
        path = Path(source)
        try:
            spec = {"kind": "blob", "value": path.read_text(encoding="utf-8")}
        except OSError as exc:
            raise click.UsageError(f"cannot read the spec file {path}: {exc.strerror}") from None
    body: dict[str, Any] = {"spec": spec}
    for key, value in (("slug", slug), ("baseUrl", base_url), ("description", description)):
        if value is not None:
            body[key] = value
    if headers:
        body["headers"] = _headers(headers)
    out = connect(ctx).post("/openapi/specs", body)
    added = out.get("slug", slug) if isinstance(out, dict) else slug
    count = out.get("toolCount") if isinstance(out, dict) else None
    text = f"Added {added}" + (f" ({count} tools)" if count is not None else "")
    text += (f"\nNext: executor connections add {added}  (its credentials), then "
             f"executor call {added} --help")
    print_result(ctx, out, text)


@integrations.command("list")
@json_option
@pass_context
def list_(ctx: Context) -> None:
    """The integrations in the catalog."""
    items = connect(ctx).get("/integrations") or []
    lines = []
    for i in items:
        methods = ", ".join(m.get("id", "") for m in i.get("authMethods") or [])
        lines.append(f"{i.get('slug')}  [{i.get('kind')}]  {i.get('description', '')}"
                     + (f"  auth: {methods}" if methods else ""))
    print_result(ctx, items, "\n".join(lines) or "No integrations")


@integrations.command("remove")
@click.argument("slug")
@json_option
@pass_context
def remove(ctx: Context, slug: str) -> None:
    """Remove an integration with its connections and tools."""
    out = connect(ctx).delete(f"/integrations/{segment(slug)}")
    print_result(ctx, out, f"Removed {slug}")


@integrations.command("refresh")
@click.argument("slug")
@json_option
@pass_context
def refresh(ctx: Context, slug: str) -> None:
    """Fetch an OpenAPI spec again from its URL (or introspect a GraphQL API again), and list
    the tools of each connection again."""
    api = connect(ctx)
    info = api.get(f"/integrations/{segment(slug)}")
    if (info or {}).get("kind") == "openapi":
        try:
            out = api.post(f"/openapi/integrations/{segment(slug)}/refresh")
        except ApiError as exc:
            if exc.code != "openapi_not_refreshable":
                raise
            click.echo(f"executor: {exc.message}; listing the tools again from the stored "
                       "spec", err=True)
        else:
            lines = [("The spec changed" if out.get("changed") else "The spec is unchanged")
                     + f" ({out.get('toolCount')} tools)"]
            lines += [f"{c['owner']}/{c['name']}: {c['toolCount']} tools"
                      for c in out.get("connections") or []]
            print_result(ctx, out, "\n".join(lines))
            return
    if (info or {}).get("kind") == "graphql":  # introspect again (a changed schema)
        out = api.post(f"/graphql/integrations/{segment(slug)}/refresh")
        lines = ["The schema changed" if out.get("changed") else "The schema is unchanged"]
        lines += [f"{c['owner']}/{c['name']}: {c['toolCount']} tools"
                  for c in out.get("connections") or []]
        print_result(ctx, out, "\n".join(lines))
        return
    conns = [c for c in api.get("/connections", integration=slug) or []
             if c.get("integration") == slug]
    results = []
    for c in conns:
        tools = api.post(f"/connections/{segment(c['owner'])}/{segment(slug)}/"
                         f"{segment(c['name'])}/refresh")
        count = (len(tools) if isinstance(tools, list) else
                 tools.get("toolCount") if isinstance(tools, dict) else None)
        results.append({"connection": c["name"], "owner": c["owner"], "tools": count})
    lines = [f"{r['owner']}/{r['connection']}: {r['tools']} tools" for r in results]
    print_result(ctx, results, "\n".join(lines) or f"{slug} has no connections to refresh")
