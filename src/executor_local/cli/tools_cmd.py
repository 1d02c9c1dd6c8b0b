"""``executor tools search|integrations|describe``: find tools without calling them."""

from __future__ import annotations

import json

import click

from executor_local.cli import toolpaths
from executor_local.cli.app import Context, pass_context
from executor_local.cli.call_cmd import describe_text
from executor_local.cli.client import connect, json_option, print_result


@click.group("tools")
def tools() -> None:
    """Search and describe the catalog's tools."""


@tools.command("search")
@click.argument("query", required=False, default="")
@click.option("--namespace", default=None,
              help="Only under this path prefix (an integration, or integration.owner.connection).")
@click.option("--limit", type=click.IntRange(1), default=12, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
@pass_context
def search(ctx: Context, query: str, namespace: str | None, limit: int, offset: int) -> None:
    """Tools whose name, path or description match QUERY (an empty query lists a namespace)."""
    prefix = toolpaths.strip_tools(namespace or "")
    payload = connect(ctx).get("/search", query=query, namespace=prefix or None, limit=limit,
                               offset=offset)
    page = payload.get("items") or []
    lines = [f"{i['path']}  {i.get('description', '')}".rstrip() for i in page]
    if not lines:
        lines = [f"No tools match {query!r}" + (f" under {prefix}" if prefix else "")]
    elif payload.get("hasMore"):
        more = (payload.get("total") or 0) - offset - len(page)
        lines.append(f"... {more} more (--offset {payload.get('nextOffset')})")
    print_result(ctx, payload, "\n".join(lines))


@tools.command("integrations")
@click.option("--query", default=None, help="Only integrations whose slug or description match.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@json_option
@pass_context
def integrations(ctx: Context, query: str | None, limit: int) -> None:
    """The integrations tools come from, with their kinds."""
    items = connect(ctx).get("/integrations") or []
    if query:
        items = [i for i in items if toolpaths.matches(query, i.get("slug", ""),
                                                       i.get("description", ""))]
    items = items[:limit]
    lines = [f"{i.get('slug')}  [{i.get('kind')}]  {i.get('description', '')}".rstrip()
             for i in items] or ["No integrations"]
    print_result(ctx, items, "\n".join(lines))


@tools.command("describe")
@click.argument("path")
@json_option
@pass_context
def describe(ctx: Context, path: str) -> None:
    """A tool's description and its input and output shapes."""
    path = toolpaths.strip_tools(path)
    view = connect(ctx).get("/tools/schema", address=f"tools.{path}")
    if ctx.as_json:
        click.echo(json.dumps(view, indent=2, ensure_ascii=False))
    else:
        click.echo(describe_text(path, view))


