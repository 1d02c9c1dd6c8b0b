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
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from executor_local.migrate.plan_write import (
    POST_FORM_STAMPS,
    normalize_plugin,
    source_data,
    v2_blob_namespace,
    write_plan,
)
from executor_local.migrate.rows import (
    as_int,
    dumps,
    loads,
    query_all,
    row_id,
    scalar,
    select_dicts,
    table_names,
)
from executor_local.migrate.secrets_v1 import (
    format_auth_json,
    lookup_file_secret,
    migrated_item_id,
    nested_entries,
    rewrite_flat_auth,
)
from executor_local.migrate.v2_config import (
    ConfigResult,
    Credential,
    build_config,
    google_discovery_config,
)
from executor_local.migrate.v2_connections import (
    Binding,
    ConnectionPlanner,
    Owner,
    PlannedConnections,
    Secret,
    SlotMaps,
    parse_scope,
)
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

COUNTED_TABLES = (
    "integration",
    "connection",
    "oauth_client",
    "tool",
    "definition",
    "tool_policy",
    "plugin_storage",
    "blob",
)
STATIC_POLICY_NAMESPACES = ("executor", "openapi")
_LIST_LIMIT = 20


class PlanError(ValueError):
    """The snapshot is not in the v1-final form the planner reads."""


@dataclass(frozen=True)
class SpecBlob:
    """Text a config moved into ``blob``; ``write_plan`` reads it again from the v1 source row."""

    namespace: str
    key: str
    scope_id: str
    source_id: str
    plugin_id: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class KeychainCopy:
    """A v1 keychain secret (service ``<base>/<scope>``, account = secret id) to copy to the
    base service under ``item_id``; the driver does it, the planner stays pure."""

    item_id: str
    scope_id: str
    secret_id: str


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


class _Planner:
    def __init__(
        self, src: sqlite3.Connection, auth: dict[str, Any] | None, tenant: str | None, now: int
    ) -> None:
        self.src = src
        self.auth = auth
        self.tenant_arg = tenant
        self.now = now
        self.tables = table_names(src)
        self.warnings: list[str] = []
        self.owners: dict[str, Owner] = {}
        self.tenant: str | None = tenant
        self.integrations: list[dict[str, Any]] = []
        self.sources: dict[tuple[str, str], dict[str, Any]] = {}
        self.slot_maps: dict[tuple[str, str], SlotMaps] = {}
        self.inline: dict[tuple[str, str], list[Credential]] = {}
        self.spec_blobs: list[SpecBlob] = []
        self.expected: dict[str, int] = dict.fromkeys(COUNTED_TABLES, 0)
        self._secrets_cache: dict[tuple[str, str], Secret] | None = None

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

    # -- integrations ----------------------------------------------------------------------------

    def _integrations(self) -> None:
        cols = ("scope_id", "id", "plugin_id", "kind", "name", "created_at", "updated_at")
        seen: set[tuple[str, str]] = set()
        for row in select_dicts(self.src, "source", cols):
            scope, sid = str(row["scope_id"]), str(row["id"])
            owner = self.owners[scope]
            kind = str(row["kind"] or row["plugin_id"] or "")
            plugin = normalize_plugin(str(row["plugin_id"] or ""), kind)
            name = str(row["name"]) if row["name"] is not None else sid
            if "googleDiscovery" in (kind, plugin):
                result = self._google(scope, sid)
            else:
                data = source_data(self.src, scope, sid, str(row["plugin_id"] or ""))
                if data is None:
                    self.warnings.append(
                        f"source {sid!r} (scope {scope!r}) has no plugin_storage source row; "
                        "its integration config is empty."
                    )
                    result = ConfigResult(config={})
                else:
                    result = build_config(kind, data, name)
            self.warnings.extend(f"[{sid}] {w}" for w in result.warnings)
            if (owner.tenant, sid) in seen:
                self.warnings.append(
                    f"source {sid!r} of scope {scope!r} has the same slug as another source of "
                    f"tenant {owner.tenant!r}; not migrated."
                )
                continue
            seen.add((owner.tenant, sid))
            self.integrations.append(
                {
                    "slug": sid,
                    "plugin_id": plugin,
                    "description": name,
                    "config": dumps(result.config),
                    "can_remove": 1,
                    "can_refresh": 0,
                    "created_at": as_int(row["created_at"], self.now),
                    "updated_at": as_int(row["updated_at"], self.now),
                    "row_id": row_id("integration", owner.tenant, sid),
                    "tenant": owner.tenant,
                }
            )
            self.sources[(scope, sid)] = {
                "owner": owner,
                "plugin": plugin,
                "name": name,
            }
            self.slot_maps[(scope, sid)] = SlotMaps(result.slot_template, result.slot_variable)
            self.inline[(scope, sid)] = result.inline
            for blob in result.blobs:
                self.spec_blobs.append(
                    SpecBlob(
                        namespace=f"o:{owner.tenant}/{blob.plugin}",
                        key=blob.key,
                        scope_id=scope,
                        source_id=sid,
                        plugin_id=str(row["plugin_id"] or ""),
                        path=blob.path,
                    )
                )
        orphans = query_all(
            self.src,
            "SELECT ps.scope_id, ps.key FROM plugin_storage ps WHERE "
            "ps.collection = 'source' AND NOT EXISTS (SELECT 1 FROM source s WHERE "
            "s.scope_id = ps.scope_id AND s.id = ps.key)",
        )
        if orphans:
            self.warnings.append(
                f"plugin_storage source rows {_limited([k for _, k in orphans])} have no source "
                "row (a deleted source); not migrated."
            )

    def _google(self, scope: str, sid: str) -> ConfigResult:
        table = "google_discovery_source"
        cols = (
            "config",
            "auth_kind",
            "auth_connection_id",
            "auth_client_id_secret_id",
            "auth_client_secret_secret_id",
            "auth_scopes",
        )
        rows = (
            select_dicts(self.src, table, cols, "scope_id = ? AND id = ?", (scope, sid))
            if (table in self.tables)
            else []
        )
        if not rows:
            self.warnings.append(
                f"google discovery source {sid!r} has no {table} row; "
                "its integration config is empty."
            )
            return ConfigResult(config={})
        row = rows[0]
        auth: dict[str, Any] = {"kind": row["auth_kind"] or "none"}
        for key, col in (
            ("connectionId", "auth_connection_id"),
            ("clientIdSecretId", "auth_client_id_secret_id"),
            ("clientSecretSecretId", "auth_client_secret_secret_id"),
        ):
            if row[col]:
                auth[key] = row[col]
        if row["auth_scopes"]:
            auth["scopes"] = loads(row["auth_scopes"])
        if auth["kind"] != "none":
            self.warnings.append(
                f"google discovery source {sid!r} used {auth['kind']} auth; kept in its config, "
                "but it must be signed in again after the upgrade."
            )
        entries: dict[str, dict[str, Any]] = {"headers": {}, "queryParams": {}}
        for suffix, key in (("header", "headers"), ("query_param", "queryParams")):
            cred = f"google_discovery_source_credential_{suffix}"
            if cred not in self.tables:
                continue
            for e in select_dicts(
                self.src,
                cred,
                ("name", "kind", "text_value", "secret_id", "secret_prefix"),
                "scope_id = ? AND source_id = ?",
                (scope, sid),
            ):
                if e["kind"] == "secret" and e["secret_id"]:
                    value: Any = {"kind": "secret", "secretId": e["secret_id"]}
                    if e["secret_prefix"]:
                        value["prefix"] = e["secret_prefix"]
                else:
                    value = e["text_value"] or ""
                entries[key][str(e["name"])] = value
        return google_discovery_config(loads(row["config"]), auth, entries)

    # -- connections -----------------------------------------------------------------------------

    def _connections(self) -> PlannedConnections:
        cols = (
            "id",
            "scope_id",
            "source_scope_id",
            "source_id",
            "slot_key",
            "kind",
            "secret_id",
            "secret_scope_id",
            "connection_id",
            "text_value",
        )
        groups: dict[tuple[str, str], list[Binding]] = {}
        for r in select_dicts(self.src, "credential_binding", cols):
            scope = str(r["scope_id"])
            b = Binding(
                row_id=str(r["id"]),
                scope_id=scope,
                source_scope_id=str(r["source_scope_id"] or scope),
                source_id=str(r["source_id"]),
                slot=str(r["slot_key"]),
                kind=str(r["kind"]),
                secret_id=r["secret_id"],
                secret_scope_id=r["secret_scope_id"],
                connection_id=r["connection_id"],
                text_value=r["text_value"],
            )
            groups.setdefault((scope, b.source_id), []).append(b)
        for (scope, sid), creds in self.inline.items():
            group = groups.get((scope, sid), [])
            for c in creds:
                if any(b.slot == c.slot for b in group):
                    continue
                group.append(
                    Binding(
                        row_id=f"inline:{sid}:{c.slot}",
                        scope_id=scope,
                        source_scope_id=scope,
                        source_id=sid,
                        slot=c.slot,
                        kind=c.kind,
                        secret_id=c.value if c.kind == "secret" else None,
                        text_value=c.value if c.kind == "text" else None,
                    )
                )
            if group:
                groups[(scope, sid)] = group
        v1_connections: dict[tuple[str, str], dict[str, Any]] = {}
        if "connection" in self.tables:
            conn_cols = (
                "id",
                "scope_id",
                "provider",
                "identity_label",
                "access_token_secret_id",
                "refresh_token_secret_id",
                "expires_at",
                "scope",
                "provider_state",
                "identity_override",
                "created_at",
                "updated_at",
            )
            for r in select_dicts(self.src, "connection", conn_cols):
                r["provider_state"] = loads(r["provider_state"])
                v1_connections[(str(r["scope_id"]), str(r["id"]))] = r
        planner = ConnectionPlanner(
            owners=self.owners,
            secrets=self._secret_rows(),
            v1_connections=v1_connections,
            slot_maps=self.slot_maps,
            auth=self.auth,
            now_ms=self.now,
        )
        planned = planner.plan(groups, set(self.sources))
        for (scope, sid), info in self.sources.items():
            if (scope, sid) in planned.by_source:
                continue
            planner.workspace(info["owner"], scope, sid)
            if self.slot_maps[(scope, sid)].template:
                planned.warnings.append(
                    f"source {sid!r} declares credentials but v1 holds no binding for them; it "
                    "gets a credential-less `workspace` connection."
                )
        if "oauth2_session" in self.tables:
            sessions = [r[0] for r in query_all(self.src, "SELECT id FROM oauth2_session")]
            if sessions:
                planned.warnings.append(
                    f"{len(sessions)} in-flight OAuth sign-in(s) of v1 table oauth2_session "
                    f"{_limited(sessions)} were not migrated; start the sign-in again."
                )
        stale = sorted(set(v1_connections) - planned.bound_connections)
        if stale:
            planned.warnings.append(
                f"{len(stale)} unbound v1 connection row(s) {_limited([i for _, i in stale])} "
                "were not migrated (no source binding); their tokens migrate as secrets."
            )
        self.warnings.extend(planned.warnings)
        return planned

    def _secret_rows(self) -> dict[tuple[str, str], Secret]:
        if self._secrets_cache is None:
            rows = select_dicts(self.src, "secret", ("scope_id", "id", "name", "provider"))
            self._secrets_cache = {
                (str(r["scope_id"]), str(r["id"])): Secret(
                    str(r["scope_id"]), str(r["id"]), str(r["name"] or ""), str(r["provider"] or "")
                )
                for r in rows
            }
        return self._secrets_cache

    # -- secrets ---------------------------------------------------------------------------------

    def _secrets(
        self,
        text_items: dict[str, str],
        connections: list[dict[str, Any]],
        clients: list[dict[str, Any]],
    ) -> tuple[dict[str, str], list[KeychainCopy]]:
        items: dict[str, str] = {}
        keychain: list[KeychainCopy] = []
        overrides: dict[str, str] = {}
        secrets = self._secret_rows()
        for (scope, sid), secret in secrets.items():
            item = migrated_item_id(scope, sid)
            if secret.provider == "file":
                value = lookup_file_secret(self.auth, scope, sid)
                if value is None:
                    self.warnings.append(
                        f'Could not resolve local secret "{sid}" from provider "file".'
                    )
                else:
                    items[item] = value
            elif secret.provider == "keychain":
                keychain.append(KeychainCopy(item, scope, sid))
            else:
                overrides[item] = sid
        items.update(text_items)
        for conn in connections:
            conn["item_ids"] = dumps({k: overrides.get(v, v) for k, v in conn["item_ids"].items()})
            if conn["refresh_item_id"]:
                conn["refresh_item_id"] = overrides.get(
                    conn["refresh_item_id"], conn["refresh_item_id"]
                )
        for client in clients:
            ref = client["client_secret_item_id"]
            if ref:
                client["client_secret_item_id"] = overrides.get(ref, ref)
        loose = [
            f"{scope}/{sid}"
            for scope, sid in nested_entries(self.auth)
            if (scope, sid) not in secrets
        ]
        if loose:
            self.warnings.append(
                f"auth.json holds values {_limited(loose)} that no v1 secret row names; they are "
                "not migrated and stay only in the old file, kept as auth.json.v1-v2-<ms>-<nonce>."
            )
        return items, keychain

    # -- policies --------------------------------------------------------------------------------

    def _policies(self) -> list[dict[str, Any]]:
        if "tool_policy" not in self.tables:
            return []
        slugs = {sid for _, sid in self.sources}
        slugs.update(str(r[0]) for r in query_all(self.src, "SELECT DISTINCT source_id FROM tool"))
        out: list[dict[str, Any]] = []
        cols = ("id", "scope_id", "pattern", "action", "position", "created_at", "updated_at")
        for index, r in enumerate(select_dicts(self.src, "tool_policy", cols)):
            scope = str(r["scope_id"])
            owner = self.owners[scope]
            pattern, dead = migrate_policy_pattern(str(r["pattern"]), slugs)
            if dead:
                self.warnings.append(
                    f'Dead-source policy kept inert: "{r["pattern"]}" (slug "{dead}" removed).'
                )
            policy_id = (
                str(r["id"])
                if r["id"]
                else _fallback_policy_id(scope, str(r["pattern"]), str(r["action"]))
            )
            out.append(
                {
                    "id": policy_id,
                    "pattern": pattern,
                    "action": str(r["action"]),
                    "position": str(r["position"]) if r["position"] else f"{index:06d}",
                    "created_at": as_int(r["created_at"], self.now),
                    "updated_at": as_int(r["updated_at"], self.now),
                    "row_id": row_id(
                        "tool_policy", owner.tenant, owner.owner, owner.subject, policy_id
                    ),
                    "tenant": owner.tenant,
                    "owner": owner.owner,
                    "subject": owner.subject,
                }
            )
        return out

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
                            f"LIMIT {_LIST_LIMIT}",
                            key,
                        )
                    ]
                    self.warnings.append(
                        f"{total} {table} row(s) {_limited(ids, total)} belong to source {sid!r} "
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
            self.src, f"SELECT namespace, key FROM blob WHERE NOT ({parseable}) LIMIT {_LIST_LIMIT}"
        )
        if bad:
            n_bad = scalar(self.src, f"SELECT COUNT(*) FROM blob WHERE NOT ({parseable})")
            self.warnings.append(
                f"blob rows {_limited([f'{n}|{k}' for n, k in bad], n_bad)} have a namespace "
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


def _limited(items: list[Any], total: int | None = None) -> str:
    shown = [str(i) for i in items[:_LIST_LIMIT]]
    more = (len(items) if total is None else total) - len(shown)
    return str(shown) + (f" and {more} more" if more > 0 else "")
