"""The big v1 tables (tools, definitions, plugin_storage, blobs) are copied inside SQLite by
``write/copy.py``; the plan only counts what that copy must produce, and summarises each
integration for ``--dry-run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executor_local.migrate.plan.integrations import PlannedIntegrations
from executor_local.migrate.plan.rules import v2_blob_namespace
from executor_local.migrate.plan.state import LIST_LIMIT, PlanContext, limited
from executor_local.migrate.rows import query_all, scalar
from executor_local.store.records import Owner


@dataclass(frozen=True)
class StreamCounts:
    counts: dict[str, int]  # tool, definition, plugin_storage, blob
    summary: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def count_streams(
    ctx: PlanContext,
    owners: dict[str, Owner],
    integrations: PlannedIntegrations,
    targets: dict[tuple[str, str], list[tuple[Owner, str]]],
) -> StreamCounts:
    src, tables = ctx.src, ctx.tables
    warnings: list[str] = []
    counts = {"tool": 0, "definition": 0}
    per_source: dict[tuple[str, str], dict[str, int]] = {}
    for table in ("tool", "definition"):
        if table not in tables:
            continue
        sql = (
            f'SELECT scope_id, source_id, COUNT(*), COUNT(DISTINCT name) FROM "{table}" '
            "GROUP BY scope_id, source_id"
        )
        for scope, sid, total, distinct in query_all(src, sql):
            key = (str(scope), str(sid))
            fan = len(targets.get(key, []))
            if not fan:
                ids = [
                    r[0]
                    for r in query_all(
                        src,
                        f'SELECT id FROM "{table}" WHERE scope_id = ? AND source_id = ? '
                        f"LIMIT {LIST_LIMIT}",
                        key,
                    )
                ]
                warnings.append(
                    f"{total} {table} row(s) {limited(ids, total)} belong to source {sid!r} "
                    f"(scope {scope!r}) which has no source row; not migrated."
                )
                continue
            if total > distinct:
                warnings.append(
                    f"{table} rows of source {sid!r} repeat a name {total - distinct} time(s); "
                    "one row per name is migrated."
                )
            counts[table] += distinct * fan
            per_source.setdefault(key, {})[table] = distinct * fan
    counts["plugin_storage"] = scalar(
        src, "SELECT COUNT(*) FROM plugin_storage WHERE collection != 'source'"
    )
    if "google_discovery_binding" in tables:
        counts["plugin_storage"] += scalar(src, "SELECT COUNT(*) FROM google_discovery_binding")
    counts["blob"] = _count_blobs(ctx, owners, integrations, warnings)
    summary = []
    for (scope, sid), info in integrations.sources.items():
        got = per_source.get((scope, sid), {})
        summary.append(
            {
                "slug": sid,
                "plugin_id": info["plugin"],
                "description": info["name"],
                "tenant": info["owner"].tenant,
                "connections": [name for _, name in targets.get((scope, sid), [])],
                "tools": got.get("tool", 0),
                "definitions": got.get("definition", 0),
            }
        )
    return StreamCounts(counts, summary, warnings)


def _count_blobs(
    ctx: PlanContext, owners: dict[str, Owner], integrations: PlannedIntegrations,
    warnings: list[str],
) -> int:
    src = ctx.src
    specs = {(b.namespace, b.key) for b in integrations.spec_blobs}
    if "blob" not in ctx.tables:
        return len(specs)
    parseable = "instr(namespace, '/') > 1 AND instr(namespace, '/') < length(namespace)"
    total = scalar(src, f"SELECT COUNT(*) FROM blob WHERE {parseable}")
    bad = query_all(
        src, f"SELECT namespace, key FROM blob WHERE NOT ({parseable}) LIMIT {LIST_LIMIT}"
    )
    if bad:
        n_bad = scalar(src, f"SELECT COUNT(*) FROM blob WHERE NOT ({parseable})")
        warnings.append(
            f"blob rows {limited([f'{n}|{k}' for n, k in bad], n_bad)} have a namespace "
            "without a `<scope>/<plugin>` form; not migrated."
        )
    # A v1 blob landing on the same v2 (namespace, key) as a spec is written once, not twice.
    overlap = 0
    for namespace, key in specs:
        plugin = namespace.partition("/")[2]
        for scope in owners:
            v1_namespace = f"{scope}/{plugin}"
            if v2_blob_namespace(v1_namespace, owners) == namespace and scalar(
                src,
                "SELECT COUNT(*) FROM blob WHERE namespace = ? AND key = ?",
                (v1_namespace, key),
            ):
                overlap += 1
    return len(specs) + total - overlap
