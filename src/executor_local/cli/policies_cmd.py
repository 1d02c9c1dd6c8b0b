"""``executor policies list|set|remove``: approve, require approval, or block tools by pattern.

Patterns are Executor's: ``<integration>.<owner>.<connection>.<tool>`` with ``*`` for one
segment, a trailing ``*`` for a subtree, or ``*`` alone; the daemon refuses one that can never
match.
"""

from __future__ import annotations

from typing import Any

import click

from executor_local.cli.app import Context, pass_context
from executor_local.cli.client import Api, connect, json_option, print_result, segment

ACTIONS = click.Choice(["approve", "require_approval", "block"])
OWNERS = click.Choice(["org", "user"])


@click.group("policies")
def policies() -> None:
    """Tool policies: which calls run, need approval, or are blocked."""


def _all(api: Api) -> list[dict[str, Any]]:
    out = api.get("/policies") or []
    return out.get("items", []) if isinstance(out, dict) else out


@policies.command("list")
@json_option
@pass_context
def list_(ctx: Context) -> None:
    """Every policy, highest precedence first."""
    items = _all(connect(ctx))
    lines = [f"{p.get('id')}  {p.get('owner')}  {p.get('action'):<16}  {p.get('pattern')}"
             for p in items]
    print_result(ctx, items, "\n".join(lines) or "No policies (tool defaults apply: POST, PUT, "
                 "PATCH and DELETE need approval)")


@policies.command("set")
@click.argument("pattern")
@click.argument("action", type=ACTIONS)
@click.option("--owner", type=OWNERS, default="org", show_default=True)
@json_option
@pass_context
def set_(ctx: Context, pattern: str, action: str, owner: str) -> None:
    """Set ACTION for PATTERN (updates the owner's policy with that pattern, if any)."""
    api = connect(ctx)
    pattern = pattern[len("tools."):] if pattern.startswith("tools.") else pattern
    same = next((p for p in _all(api) if p.get("pattern") == pattern
                 and p.get("owner") == owner), None)
    if same:
        out = api.patch(f"/policies/{segment(str(same['id']))}",
                        {"owner": owner, "action": action})
    else:
        out = api.post("/policies", {"owner": owner, "pattern": pattern, "action": action})
    print_result(ctx, out, f"{pattern}: {action} ({owner}, policy {(out or {}).get('id')})")


@policies.command("remove")
@click.argument("policy")
@click.option("--owner", type=OWNERS, default=None,
              help="The policy's owner (default: found from the policy).")
@json_option
@pass_context
def remove(ctx: Context, policy: str, owner: str | None) -> None:
    """Remove a policy by id or by pattern."""
    api = connect(ctx)
    items = _all(api)
    found = [p for p in items if str(p.get("id")) == policy or p.get("pattern") == policy]
    if owner:
        found = [p for p in found if p.get("owner") == owner]
    if not found:
        raise click.UsageError(f"no policy {policy!r}; see `executor policies list`")
    if len(found) > 1:
        raise click.UsageError(f"{policy!r} matches {len(found)} policies; give the id or "
                               "--owner")
    p = found[0]
    out = api.delete(f"/policies/{segment(str(p['id']))}", {"owner": p.get("owner")})
    print_result(ctx, out, f"Removed policy {p['id']} ({p.get('pattern')})")
