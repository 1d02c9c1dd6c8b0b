"""Plan the v2 connections and secrets: v1 credential bindings, connections and secret rows.

Bindings (stored and inline) are grouped per source and handed to ``ConnectionPlanner``; every v1
secret row becomes an item (file-provider values copied, keychain ones as ``KeychainCopy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from executor_local.migrate.plan.connections import (
    Binding,
    ConnectionPlanner,
    PlannedConnections,
    Secret,
)
from executor_local.migrate.plan.integrations import PlannedIntegrations
from executor_local.migrate.plan.state import PlanContext, limited
from executor_local.migrate.rows import dumps, loads, query_all, select_dicts
from executor_local.migrate.v1.secrets import lookup_file_secret, migrated_item_id, nested_entries
from executor_local.store.records import Owner


@dataclass(frozen=True)
class KeychainCopy:
    """A v1 keychain secret (service ``<base>/<scope>``, account = secret id) to copy to the
    base service under ``item_id``; the driver does it, the planner stays pure."""

    item_id: str
    scope_id: str
    secret_id: str


def plan_connections(
    ctx: PlanContext,
    owners: dict[str, Owner],
    integrations: PlannedIntegrations,
    secrets: dict[tuple[str, str], Secret],
) -> PlannedConnections:
    """Every v1 binding (stored or inline), grouped per source, through ``ConnectionPlanner``;
    a source with none gets a ``workspace`` connection. Warnings are in the result."""
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
    for r in select_dicts(ctx.src, "credential_binding", cols):
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
    for (scope, sid), creds in integrations.inline.items():
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
    if "connection" in ctx.tables:
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
        for r in select_dicts(ctx.src, "connection", conn_cols):
            r["provider_state"] = loads(r["provider_state"])
            v1_connections[(str(r["scope_id"]), str(r["id"]))] = r
    planner = ConnectionPlanner(
        owners=owners,
        secrets=secrets,
        v1_connections=v1_connections,
        slot_maps=integrations.slot_maps,
        auth=ctx.auth,
        now_ms=ctx.now,
    )
    planned = planner.plan(groups, set(integrations.sources))
    for (scope, sid), info in integrations.sources.items():
        if (scope, sid) in planned.by_source:
            continue
        planner.workspace(info["owner"], scope, sid)
        if integrations.slot_maps[(scope, sid)].template:
            planned.warnings.append(
                f"source {sid!r} declares credentials but v1 holds no binding for them; it "
                "gets a credential-less `workspace` connection."
            )
    if "oauth2_session" in ctx.tables:
        sessions = [r[0] for r in query_all(ctx.src, "SELECT id FROM oauth2_session")]
        if sessions:
            planned.warnings.append(
                f"{len(sessions)} in-flight OAuth sign-in(s) of v1 table oauth2_session "
                f"{limited(sessions)} were not migrated; start the sign-in again."
            )
    stale = sorted(set(v1_connections) - planned.bound_connections)
    if stale:
        planned.warnings.append(
            f"{len(stale)} unbound v1 connection row(s) {limited([i for _, i in stale])} "
            "were not migrated (no source binding); their tokens migrate as secrets."
        )
    return planned


def secret_rows(ctx: PlanContext) -> dict[tuple[str, str], Secret]:
    """Every v1 ``secret`` row by (scope, id); read once, shared by connections and secrets."""
    rows = select_dicts(ctx.src, "secret", ("scope_id", "id", "name", "provider"))
    return {
        (str(r["scope_id"]), str(r["id"])): Secret(
            str(r["scope_id"]), str(r["id"]), str(r["name"] or ""), str(r["provider"] or "")
        )
        for r in rows
    }


# -- secrets -------------------------------------------------------------------------------------


def plan_secrets(
    ctx: PlanContext,
    secrets: dict[tuple[str, str], Secret],
    text_items: dict[str, str],
    connections: list[dict[str, Any]],
    clients: list[dict[str, Any]],
) -> tuple[dict[str, str], list[KeychainCopy], list[str]]:
    """Every v1 secret row as an item (file values copied, keychain ones as ``KeychainCopy``,
    other providers kept by id, which the connections' item refs are rewritten to)."""
    warnings: list[str] = []
    items: dict[str, str] = {}
    keychain: list[KeychainCopy] = []
    overrides: dict[str, str] = {}
    for (scope, sid), secret in secrets.items():
        item = migrated_item_id(scope, sid)
        if secret.provider == "file":
            value = lookup_file_secret(ctx.auth, scope, sid)
            if value is None:
                warnings.append(
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
        for scope, sid in nested_entries(ctx.auth)
        if (scope, sid) not in secrets
    ]
    if loose:
        warnings.append(
            f"auth.json holds values {limited(loose)} that no v1 secret row names; they are "
            "not migrated and stay only in the old file, kept as auth.json.v1-v2-<ms>-<nonce>."
        )
    return items, keychain, warnings
