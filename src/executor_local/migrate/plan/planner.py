"""Plan the v1 -> v2 migration from a v1-final snapshot, then write it into a v2 staging file.

``plan_migration`` reads the small v1 tables (sources, secrets, bindings, OAuth connections,
policies) into a ``MigrationPlan``; the big ones (tools, definitions, plugin_storage, blobs) are
only counted there. ``write_plan`` (in ``plan_write``, re-exported here) copies those from the
snapshot into the staging connection inside the caller's transaction, with INSERT ... SELECT
(the driver attaches the snapshot to the staging connection), so memory stays flat however
large the database is.

The mapping follows Executor 1.5.9 (reference §5.3) and matches what it wrote for every fixture,
including the shape its boot ledger gives the data afterwards (auth placements, spec blobs,
output-envelope unwrap), so the file is also stamped with those four ledger names.

Kept where 1.5.9 drops data, each on purpose (see also ``v2_config`` and ``v2_connections``):
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

The planner's parts are mixins over ``plan_state.PlannerState``: integrations
(``plan_integrations``), connections and secrets (``plan_credentials``), policies
(``plan_policies``); scopes, the streamed-table counts and the plan itself are here.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from executor_local.migrate.plan.connections import parse_scope
from executor_local.migrate.plan.credentials import CredentialPlanning, KeychainCopy
from executor_local.migrate.plan.integrations import IntegrationPlanning, SpecBlob
from executor_local.migrate.plan.policies import PolicyPlanning
from executor_local.migrate.plan.rules import v2_blob_namespace
from executor_local.migrate.plan.state import LIST_LIMIT, limited
from executor_local.migrate.rows import query_all, scalar
from executor_local.migrate.v1.secrets import format_auth_json, rewrite_flat_auth
from executor_local.migrate.write.staging import POST_FORM_STAMPS, write_plan
from executor_local.store.records import Owner
from executor_local.store.schema import table_columns

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
    """Plan the migration of the v1-final snapshot ``src`` (see the module docstring)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return _Planner(src, auth, tenant, now).build()


# ------------------------------------------------------------------------------------------------
# Planner
# ------------------------------------------------------------------------------------------------


class _Planner(IntegrationPlanning, CredentialPlanning, PolicyPlanning):
    def build(self) -> MigrationPlan:
        missing = {"source", "plugin_storage", "secret", "credential_binding"} - self.tables
        if missing:
            raise PlanError(
                f"not a v1-final snapshot (missing {sorted(missing)}); "
                "run bring_to_v1_final on it first"
            )
        self._owners()
        self._integrations()
        planned = self._connections()
        items, keychain = self._secrets(
            planned.text_items, planned.connections, planned.oauth_clients
        )
        policies = self._policies()
        summary = self._count_streams(planned.by_source)
        self.expected["integration"] = len(self.integrations)
        self.expected["connection"] = len(planned.connections)
        self.expected["oauth_client"] = len(planned.oauth_clients)
        self.expected["tool_policy"] = len(policies)
        content = rewrite_flat_auth(self.auth, items) if items else None
        return MigrationPlan(
            tenant=self.tenant,
            now_ms=self.now,
            integrations=self.integrations,
            connections=planned.connections,
            oauth_clients=planned.oauth_clients,
            tool_policies=policies,
            secret_items=items,
            keychain_copies=keychain,
            auth_json=content if content is not None and content != (self.auth or {}) else None,
            expected_counts=dict(self.expected),
            warnings=self.warnings,
            owners=self.owners,
            targets=planned.by_source,
            spec_blobs=self.spec_blobs,
            summary=summary,
        )

    # -- scopes ----------------------------------------------------------------------------------

    def _owners(self) -> None:
        scopes: set[str] = set()
        for table in (
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
        ):
            if table in self.tables:
                scopes.update(
                    r[0] for r in query_all(self.src, f'SELECT DISTINCT scope_id FROM "{table}"')
                )
        for col in ("source_scope_id", "secret_scope_id"):
            if col in table_columns(self.src, "credential_binding"):
                scopes.update(
                    r[0]
                    for r in query_all(
                        self.src,
                        f"SELECT DISTINCT {col} FROM credential_binding WHERE {col} IS NOT NULL",
                    )
                )
        if "blob" in self.tables:
            scopes.update(
                r[0]
                for r in query_all(
                    self.src,
                    "SELECT DISTINCT substr(namespace, 1, instr(namespace, '/') - 1) FROM blob"
                    " WHERE instr(namespace, '/') > 1",
                )
            )
        scopes = {str(s) for s in scopes if s is not None}
        local = sorted(s for s in scopes if parse_scope(s) is None)
        primary = self._primary(local)
        for scope in scopes:
            owner = parse_scope(scope)
            if owner is None:
                tenant = self.tenant_arg if scope == primary and self.tenant_arg else scope
                owner = Owner(tenant=tenant, owner="org", subject="")
            self.owners[scope] = owner
        if self.tenant is None:
            self.tenant = primary
        if len(local) > 1:
            self.warnings.append(
                f"v1 data holds {len(local)} local scopes {local}; {primary!r} becomes tenant "
                f"{self.owners[primary].tenant!r}, every other scope keeps its own id as tenant."
            )

    def _primary(self, local: list[str]) -> str | None:
        if not local:
            return None
        if self.tenant_arg in local:
            return self.tenant_arg
        if len(local) == 1:
            return local[0]
        counts = dict(
            query_all(self.src, "SELECT scope_id, COUNT(*) FROM source GROUP BY scope_id")
        )
        return min(local, key=lambda s: (-counts.get(s, 0), s))

    # -- streamed tables: counts only ------------------------------------------------------------

    def _count_streams(
        self, targets: dict[tuple[str, str], list[tuple[Owner, str]]]
    ) -> list[dict[str, Any]]:
        per_source: dict[tuple[str, str], dict[str, int]] = {}
        for table in ("tool", "definition"):
            if table not in self.tables:
                continue
            sql = (
                f'SELECT scope_id, source_id, COUNT(*), COUNT(DISTINCT name) FROM "{table}" '
                "GROUP BY scope_id, source_id"
            )
            for scope, sid, total, distinct in query_all(self.src, sql):
                key = (str(scope), str(sid))
                fan = len(targets.get(key, []))
                if not fan:
                    ids = [
                        r[0]
                        for r in query_all(
                            self.src,
                            f'SELECT id FROM "{table}" WHERE scope_id = ? AND source_id = ? '
                            f"LIMIT {LIST_LIMIT}",
                            key,
                        )
                    ]
                    self.warnings.append(
                        f"{total} {table} row(s) {limited(ids, total)} belong to source {sid!r} "
                        f"(scope {scope!r}) which has no source row; not migrated."
                    )
                    continue
                if total > distinct:
                    self.warnings.append(
                        f"{table} rows of source {sid!r} repeat a name {total - distinct} time(s); "
                        "one row per name is migrated."
                    )
                self.expected[table] += distinct * fan
                per_source.setdefault(key, {})[table] = distinct * fan
        self.expected["plugin_storage"] = scalar(
            self.src, "SELECT COUNT(*) FROM plugin_storage WHERE collection != 'source'"
        )
        if "google_discovery_binding" in self.tables:
            self.expected["plugin_storage"] += scalar(
                self.src, "SELECT COUNT(*) FROM google_discovery_binding"
            )
        self.expected["blob"] = self._count_blobs()
        summary = []
        for (scope, sid), info in self.sources.items():
            counts = per_source.get((scope, sid), {})
            summary.append(
                {
                    "slug": sid,
                    "plugin_id": info["plugin"],
                    "description": info["name"],
                    "tenant": info["owner"].tenant,
                    "connections": [name for _, name in targets.get((scope, sid), [])],
                    "tools": counts.get("tool", 0),
                    "definitions": counts.get("definition", 0),
                }
            )
        return summary

    def _count_blobs(self) -> int:
        specs = {(b.namespace, b.key) for b in self.spec_blobs}
        if "blob" not in self.tables:
            return len(specs)
        parseable = "instr(namespace, '/') > 1 AND instr(namespace, '/') < length(namespace)"
        total = scalar(self.src, f"SELECT COUNT(*) FROM blob WHERE {parseable}")
        bad = query_all(
            self.src, f"SELECT namespace, key FROM blob WHERE NOT ({parseable}) LIMIT {LIST_LIMIT}"
        )
        if bad:
            n_bad = scalar(self.src, f"SELECT COUNT(*) FROM blob WHERE NOT ({parseable})")
            self.warnings.append(
                f"blob rows {limited([f'{n}|{k}' for n, k in bad], n_bad)} have a namespace "
                "without a `<scope>/<plugin>` form; not migrated."
            )
        # A v1 blob landing on the same v2 (namespace, key) as a spec is written once, not twice.
        overlap = 0
        for namespace, key in specs:
            plugin = namespace.partition("/")[2]
            for scope in self.owners:
                v1_namespace = f"{scope}/{plugin}"
                if v2_blob_namespace(v1_namespace, self.owners) == namespace and scalar(
                    self.src,
                    "SELECT COUNT(*) FROM blob WHERE namespace = ? AND key = ?",
                    (v1_namespace, key),
                ):
                    overlap += 1
        return len(specs) + total - overlap
