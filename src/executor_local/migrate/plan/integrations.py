"""Plan the v2 integrations: one per v1 source, its config built from its plugin's data.

Google Discovery sources are read from their own tables; every other source from its
``plugin_storage`` source row. Spec texts a config moves out become ``SpecBlob`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executor_local.migrate.plan.configs import (
    ConfigResult,
    Credential,
    build_config,
    google_discovery_config,
)
from executor_local.migrate.plan.connection_types import SlotMaps
from executor_local.migrate.plan.rules import normalize_plugin, source_data
from executor_local.migrate.plan.state import PlanContext, limited
from executor_local.migrate.rows import as_int, dumps, loads, query_all, row_id, select_dicts
from executor_local.store.records import IntegrationRow, Owner


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
class PlannedIntegrations:
    """One integration row per v1 source, and what later phases need to know of each source."""

    integrations: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    slot_maps: dict[tuple[str, str], SlotMaps] = field(default_factory=dict)
    inline: dict[tuple[str, str], list[Credential]] = field(default_factory=dict)
    spec_blobs: list[SpecBlob] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_integrations(ctx: PlanContext, owners: dict[str, Owner]) -> PlannedIntegrations:
    out = PlannedIntegrations()
    cols = ("scope_id", "id", "plugin_id", "kind", "name", "created_at", "updated_at")
    seen: set[tuple[str, str]] = set()
    for row in select_dicts(ctx.src, "source", cols):
        scope, sid = str(row["scope_id"]), str(row["id"])
        owner = owners[scope]
        kind = str(row["kind"] or row["plugin_id"] or "")
        plugin = normalize_plugin(str(row["plugin_id"] or ""), kind)
        name = str(row["name"]) if row["name"] is not None else sid
        if "googleDiscovery" in (kind, plugin):
            result = _google(ctx, out.warnings, scope, sid)
        else:
            data = source_data(ctx.src, scope, sid, str(row["plugin_id"] or ""))
            if data is None:
                out.warnings.append(
                    f"source {sid!r} (scope {scope!r}) has no plugin_storage source row; "
                    "its integration config is empty."
                )
                result = ConfigResult(config={})
            else:
                result = build_config(kind, data, name)
        out.warnings.extend(f"[{sid}] {w}" for w in result.warnings)
        if (owner.tenant, sid) in seen:
            out.warnings.append(
                f"source {sid!r} of scope {scope!r} has the same slug as another source of "
                f"tenant {owner.tenant!r}; not migrated."
            )
            continue
        seen.add((owner.tenant, sid))
        out.integrations.append(
            IntegrationRow(
                slug=sid,
                plugin_id=plugin,
                description=name,
                config=dumps(result.config),
                can_remove=1,
                can_refresh=0,
                created_at=as_int(row["created_at"], ctx.now),
                updated_at=as_int(row["updated_at"], ctx.now),
                row_id=row_id("integration", owner.tenant, sid),
                tenant=owner.tenant,
            ).to_dict()
        )
        out.sources[(scope, sid)] = {
            "owner": owner,
            "plugin": plugin,
            "name": name,
        }
        out.slot_maps[(scope, sid)] = SlotMaps(result.slot_template, result.slot_variable)
        out.inline[(scope, sid)] = result.inline
        for blob in result.blobs:
            out.spec_blobs.append(
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
        ctx.src,
        "SELECT ps.scope_id, ps.key FROM plugin_storage ps WHERE "
        "ps.collection = 'source' AND NOT EXISTS (SELECT 1 FROM source s WHERE "
        "s.scope_id = ps.scope_id AND s.id = ps.key)",
    )
    if orphans:
        out.warnings.append(
            f"plugin_storage source rows {limited([k for _, k in orphans])} have no source "
            "row (a deleted source); not migrated."
        )
    return out


def _google(ctx: PlanContext, warnings: list[str], scope: str, sid: str) -> ConfigResult:
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
        select_dicts(ctx.src, table, cols, "scope_id = ? AND id = ?", (scope, sid))
        if (table in ctx.tables)
        else []
    )
    if not rows:
        warnings.append(
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
        warnings.append(
            f"google discovery source {sid!r} used {auth['kind']} auth; kept in its config, "
            "but it must be signed in again after the upgrade."
        )
    entries: dict[str, dict[str, Any]] = {"headers": {}, "queryParams": {}}
    for suffix, key in (("header", "headers"), ("query_param", "queryParams")):
        cred = f"google_discovery_source_credential_{suffix}"
        if cred not in ctx.tables:
            continue
        for e in select_dicts(
            ctx.src,
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
