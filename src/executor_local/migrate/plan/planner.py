"""Plan the v1 -> v2 migration from a v1-final snapshot, then write it into a v2 staging file.

``plan_migration`` reads the small v1 tables (sources, secrets, bindings, OAuth connections,
policies) into a ``MigrationPlan``; the big ones (tools, definitions, plugin_storage, blobs) are
only counted there. ``write_plan`` (in ``write.staging``, re-exported here) copies those from the
snapshot into the staging connection inside the caller's transaction, with INSERT ... SELECT
(the driver attaches the snapshot to the staging connection), so memory stays flat however
large the database is.

The mapping follows Executor 1.5.9 (reference §5.3) and matches what it wrote for every fixture,
including the shape its boot ledger gives the data afterwards (auth placements, spec blobs,
output-envelope unwrap), so the file is also stamped with those four ledger names.

Kept where 1.5.9 drops data, each on purpose (see also ``plan.configs`` and ``plan.connections``):
- a source without credentials gets a credential-less ``workspace`` connection (template
  ``none``), so its tools and definitions survive: 1.5.9 gives one only to MCP/GraphQL sources
  with ``auth.kind == none`` and drops the tools of the others (OpenAPI, Google Discovery);
- Google Discovery operation bindings become ``plugin_storage`` rows (``googleDiscovery`` /
  ``operation``, keyed ``<integration>.<tool>``), like OpenAPI's;
- the v1 timestamps of sources and policies are kept (1.5.9 stamps them with the migration time);
- every v1 secret row gets an item, including OAuth client-id secrets 1.5.9 only inlines.
Nothing else is dropped without a warning naming the table and row ids: tools or bindings of a
deleted source, unbound v1 connections, blobs whose namespace has no scope, in-flight sessions.

Rules where the reference is silent:
- tenant: ``tenant`` (the caller's cwd-derived id) names the v2 tenant of the primary v1 scope:
  the scope equal to it, else the only local scope, else the one with the most sources. Every
  other local scope keeps its own id as tenant (as Executor 1.5.x's local owner rule does), so two
  scopes never merge and slugs never collide. Without ``tenant`` the primary keeps its own id,
  which is what the fixtures show (tenant == v1 scope id). Cloud-shaped ids keep their own rule.
- row_id: deterministic, cuid-shaped (``rows.row_id``): a hash of table and natural key.

The planner's phases are functions over an immutable ``state.PlanContext``, each returning its
findings: scopes (``scopes``), integrations (``integrations``), connections and secrets
(``credentials``, through ``connections.ConnectionPlanner``), policies (``policies``), the
streamed-table counts (``counts``); ``plan_migration`` here joins them into the plan.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from executor_local.migrate.plan.connections import plan_connections
from executor_local.migrate.plan.counts import count_streams
from executor_local.migrate.plan.integrations import SpecBlob, plan_integrations
from executor_local.migrate.plan.policies import plan_policies
from executor_local.migrate.plan.scopes import plan_scopes
from executor_local.migrate.plan.secrets import KeychainCopy, plan_secrets, secret_rows
from executor_local.migrate.plan.state import COUNTED_TABLES, PlanContext
from executor_local.migrate.v1.secrets import format_auth_json, rewrite_flat_auth
from executor_local.migrate.write.staging import POST_FORM_STAMPS, write_plan
from executor_local.store.records import Owner

__all__ = [
    "POST_FORM_STAMPS",
    "KeychainCopy",
    "MigrationPlan",
    "PlanError",
    "SpecBlob",
    "plan_migration",
    "write_plan",
]


class PlanError(ValueError):
    """The snapshot is not in the v1-final form the planner reads."""


@dataclass
class MigrationPlan:
    tenant: str | None
    now_ms: int
    integrations: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    oauth_clients: list[dict[str, Any]]
    tool_policies: list[dict[str, Any]]
    secret_items: dict[str, str]  # file-provider item id -> value, to write into auth.json
    keychain_copies: list[KeychainCopy]
    auth_json: dict[str, Any] | None  # the new auth.json content; None = leave it untouched
    expected_counts: dict[str, int]
    warnings: list[str]
    owners: dict[str, Owner] = field(repr=False)  # v1 scope id -> v2 ownership
    targets: dict[tuple[str, str], list[tuple[Owner, str]]] = field(repr=False)
    spec_blobs: list[SpecBlob] = field(repr=False)
    summary: list[dict[str, Any]] = field(repr=False)

    @property
    def auth_content(self) -> bytes | None:
        """The new ``auth.json`` bytes in Executor's formatting, or None to leave the file be."""
        if self.auth_json is None:
            return None
        return format_auth_json(self.auth_json).encode("utf-8")

    def to_json(self) -> dict[str, Any]:
        """What ``executor migrate --dry-run --json`` prints: counts, warnings, per-integration
        summary. Never a secret value."""
        return {
            "tenant": self.tenant,
            "counts": dict(self.expected_counts),
            "secrets": {
                "file_items": len(self.secret_items),
                "keychain_items": len(self.keychain_copies),
                "auth_json_rewritten": self.auth_json is not None,
            },
            "integrations": [dict(s) for s in self.summary],
            "warnings": list(self.warnings),
        }


def plan_migration(
    src: sqlite3.Connection,
    auth: dict[str, Any] | None,
    tenant: str | None = None,
    *,
    now_ms: int | None = None,
) -> MigrationPlan:
    """Plan the migration of the v1-final snapshot ``src`` (see the module docstring).

    Each phase is a function of the read-only context and of what the phases before it
    returned; their warnings are joined in this order: scopes, integrations, connections,
    secrets, policies, then the counts of the streamed tables.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    ctx = PlanContext.of(src, auth, tenant, now)
    missing = {"source", "plugin_storage", "secret", "credential_binding"} - ctx.tables
    if missing:
        raise PlanError(
            f"not a v1-final snapshot (missing {sorted(missing)}); "
            "run bring_to_v1_final on it first"
        )
    scopes = plan_scopes(ctx)
    owners = scopes.owners
    integrations = plan_integrations(ctx, owners)
    secrets = secret_rows(ctx)
    planned = plan_connections(ctx, owners, integrations, secrets)
    items, keychain, secret_warnings = plan_secrets(
        ctx, secrets, planned.text_items, planned.connections, planned.oauth_clients
    )
    policies, policy_warnings = plan_policies(ctx, owners, integrations.sources)
    streams = count_streams(ctx, owners, integrations, planned.by_source)
    expected = dict.fromkeys(COUNTED_TABLES, 0)
    expected.update(streams.counts)
    expected["integration"] = len(integrations.integrations)
    expected["connection"] = len(planned.connections)
    expected["oauth_client"] = len(planned.oauth_clients)
    expected["tool_policy"] = len(policies)
    content = rewrite_flat_auth(auth, items) if items else None
    return MigrationPlan(
        tenant=scopes.tenant,
        now_ms=now,
        integrations=integrations.integrations,
        connections=planned.connections,
        oauth_clients=planned.oauth_clients,
        tool_policies=policies,
        secret_items=items,
        keychain_copies=keychain,
        auth_json=content if content is not None and content != (auth or {}) else None,
        expected_counts=expected,
        warnings=[*scopes.warnings, *integrations.warnings, *planned.warnings,
                  *secret_warnings, *policy_warnings, *streams.warnings],
        owners=owners,
        targets=planned.by_source,
        spec_blobs=integrations.spec_blobs,
        summary=streams.summary,
    )
