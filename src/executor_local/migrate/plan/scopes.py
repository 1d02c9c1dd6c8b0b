"""Plan the v2 ownership of every v1 scope: which tenant, ``org`` or ``user``, which subject.

The rule (see ``planner``'s docstring): the primary local scope becomes the tenant the caller
names (or keeps its own id); every other local scope keeps its own id; cloud-shaped ids keep
their own rule (``connections.parse_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from executor_local.migrate.plan.connection_types import parse_scope
from executor_local.migrate.plan.state import PlanContext
from executor_local.migrate.rows import query_all
from executor_local.store.records import Owner
from executor_local.store.schema import table_columns

# Every v1 table that carries a scope id (a scope may appear in any of them only).
SCOPED_TABLES = (
    "source",
    "secret",
    "credential_binding",
    "connection",
    "tool_policy",
    "plugin_storage",
    "tool",
    "definition",
    "google_discovery_source",
    "google_discovery_binding",
)


@dataclass(frozen=True)
class Scopes:
    owners: dict[str, Owner]  # v1 scope id -> v2 ownership
    tenant: str | None  # the plan's tenant: the argument, else the primary scope's id
    warnings: list[str] = field(default_factory=list)


def plan_scopes(ctx: PlanContext) -> Scopes:
    src, tables = ctx.src, ctx.tables
    scopes: set[str] = set()
    for table in SCOPED_TABLES:
        if table in tables:
            scopes.update(r[0] for r in query_all(src, f'SELECT DISTINCT scope_id FROM "{table}"'))
    for col in ("source_scope_id", "secret_scope_id"):
        if col in table_columns(src, "credential_binding"):
            scopes.update(
                r[0]
                for r in query_all(
                    src, f"SELECT DISTINCT {col} FROM credential_binding WHERE {col} IS NOT NULL"
                )
            )
    if "blob" in tables:
        scopes.update(
            r[0]
            for r in query_all(
                src,
                "SELECT DISTINCT substr(namespace, 1, instr(namespace, '/') - 1) FROM blob"
                " WHERE instr(namespace, '/') > 1",
            )
        )
    scopes = {str(s) for s in scopes if s is not None}
    local = sorted(s for s in scopes if parse_scope(s) is None)
    primary = _primary(ctx, local)
    owners: dict[str, Owner] = {}
    for scope in scopes:
        owner = parse_scope(scope)
        if owner is None:
            tenant = ctx.tenant_arg if scope == primary and ctx.tenant_arg else scope
            owner = Owner(tenant=tenant, owner="org", subject="")
        owners[scope] = owner
    warnings = []
    if len(local) > 1:
        warnings.append(
            f"v1 data holds {len(local)} local scopes {local}; {primary!r} becomes tenant "
            f"{owners[primary].tenant!r}, every other scope keeps its own id as tenant."
        )
    return Scopes(owners, ctx.tenant_arg if ctx.tenant_arg is not None else primary, warnings)


def _primary(ctx: PlanContext, local: list[str]) -> str | None:
    if not local:
        return None
    if ctx.tenant_arg in local:
        return ctx.tenant_arg
    if len(local) == 1:
        return local[0]
    counts = dict(query_all(ctx.src, "SELECT scope_id, COUNT(*) FROM source GROUP BY scope_id"))
    return min(local, key=lambda s: (-counts.get(s, 0), s))
