"""Plan the v2 tool policies: v1 ``<source>.<tool>`` patterns rewritten for v2 integrations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from executor_local.migrate.plan.state import PlanContext
from executor_local.migrate.rows import as_int, query_all, row_id, select_dicts
from executor_local.migrate.v1.secrets import migrated_item_id
from executor_local.store.records import Owner, PolicyRow

STATIC_POLICY_NAMESPACES = ("executor", "openapi")


def plan_policies(
    ctx: PlanContext, owners: dict[str, Owner], sources: Iterable[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The v2 policy rows, and the warnings (dead-source patterns kept inert)."""
    warnings: list[str] = []
    if "tool_policy" not in ctx.tables:
        return [], warnings
    slugs = {sid for _, sid in sources}
    slugs.update(str(r[0]) for r in query_all(ctx.src, "SELECT DISTINCT source_id FROM tool"))
    out: list[dict[str, Any]] = []
    cols = ("id", "scope_id", "pattern", "action", "position", "created_at", "updated_at")
    for index, r in enumerate(select_dicts(ctx.src, "tool_policy", cols)):
        scope = str(r["scope_id"])
        owner = owners[scope]
        pattern, dead = migrate_policy_pattern(str(r["pattern"]), slugs)
        if dead:
            warnings.append(
                f'Dead-source policy kept inert: "{r["pattern"]}" (slug "{dead}" removed).'
            )
        policy_id = (
            str(r["id"])
            if r["id"]
            else _fallback_policy_id(scope, str(r["pattern"]), str(r["action"]))
        )
        out.append(
            PolicyRow(
                id=policy_id,
                pattern=pattern,
                action=str(r["action"]),
                position=str(r["position"]) if r["position"] else f"{index:06d}",
                created_at=as_int(r["created_at"], ctx.now),
                updated_at=as_int(r["updated_at"], ctx.now),
                row_id=row_id("tool_policy", owner.tenant, owner.owner, owner.subject, policy_id),
                tenant=owner.tenant,
                owner=owner.owner,
                subject=owner.subject,
            ).to_dict()
        )
    return out, warnings


def migrate_policy_pattern(pattern: str, slugs: set[str]) -> tuple[str, str | None]:
    """v1 ``<source>.<tool>`` patterns -> v2 ``<integration>.<owner>.<connection>.<tool>``.

    Returns (new pattern, dead slug or None). ``*``, static namespaces, ``<slug>`` and
    ``<slug>.*`` keep their form; ``<slug>.<rest>`` becomes ``<slug>.*.*.<rest>``; an unknown
    slug keeps the pattern as-is (inert) and is reported.
    """
    if pattern == "*":
        return pattern, None
    slug, _, rest = pattern.partition(".")
    if slug in STATIC_POLICY_NAMESPACES:
        return pattern, None
    if slug not in slugs:
        return pattern, slug
    if rest in ("", "*"):
        return pattern, None
    return f"{slug}.*.*.{rest}", None


def _fallback_policy_id(scope: str, pattern: str, action: str) -> str:
    """1.5.9's id for a v1 policy without one: ``policy_`` + the same hash as item ids."""
    return "policy_" + migrated_item_id(scope, f"{pattern}\0{action}")[len("secret_") :]
