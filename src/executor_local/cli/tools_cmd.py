"""``executor tools search|integrations|describe``: find tools without calling them."""

from __future__ import annotations

import json
from typing import Any

import click

from executor_local.cli import toolpaths
from executor_local.cli.app import Context, pass_context
from executor_local.cli.call_cmd import describe_text, tool_paths
from executor_local.cli.client import connect, json_option, print_result


@click.group("tools")
def tools() -> None:
    """Search and describe the catalog's tools."""


def _rank(query: str, item: dict[str, Any]) -> int:
    q = toolpaths.words(query)
    name = toolpaths.words(item["path"].rsplit(".", 1)[-1])
    return -sum(1 for w in q if any(n.startswith(w) for n in name))


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
    api = connect(ctx)
    prefix = toolpaths.strip_tools(namespace or "")
    integration = prefix.split(".", 1)[0] if prefix else None
    items = [i for i in tool_paths_filtered(api, integration, query)
             if not prefix or i["path"] == prefix or i["path"].startswith(prefix + ".")]
    if query:
        items = [i for i in items if toolpaths.matches(query, i["path"], i.get("description", ""))]
        items.sort(key=lambda i: (_rank(query, i), i["path"]))
    page = items[offset:offset + limit]
    payload = {"items": [{"path": i["path"], "name": i.get("name"),
                          "description": i.get("description", ""),
                          "integration": i.get("integration")} for i in page],
               "total": len(items), "hasMore": offset + limit < len(items),
               "nextOffset": offset + limit if offset + limit < len(items) else None}
    lines = [f"{i['path']}  {i.get('description', '')}".rstrip() for i in page]
    if not lines:
        lines = [f"No tools match {query!r}" + (f" under {prefix}" if prefix else "")]
    elif payload["hasMore"]:
        lines.append(f"... {len(items) - offset - limit} more (--offset {offset + limit})")
    print_result(ctx, payload, "\n".join(lines))


def tool_paths_filtered(api: Any, integration: str | None, query: str) -> list[dict[str, Any]]:
    items = api.get("/tools", integration=integration)
    items = items.get("items", items.get("tools", [])) if isinstance(items, dict) else items
    return [{**i, "path": toolpaths.strip_tools(str(i.get("address") or i.get("path") or ""))}
            for i in items or []]


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


__all__ = ["tool_paths", "tools"]
