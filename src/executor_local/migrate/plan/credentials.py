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
from executor_local.migrate.plan.state import PlannerState, limited
from executor_local.migrate.rows import dumps, loads, query_all, select_dicts
from executor_local.migrate.v1.secrets import lookup_file_secret, migrated_item_id, nested_entries


@dataclass(frozen=True)
class KeychainCopy:
    """A v1 keychain secret (service ``<base>/<scope>``, account = secret id) to copy to the
    base service under ``item_id``; the driver does it, the planner stays pure."""

    item_id: str
    scope_id: str
    secret_id: str


class CredentialPlanning(PlannerState):
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
                    f"{limited(sessions)} were not migrated; start the sign-in again."
                )
        stale = sorted(set(v1_connections) - planned.bound_connections)
        if stale:
            planned.warnings.append(
                f"{len(stale)} unbound v1 connection row(s) {limited([i for _, i in stale])} "
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
                f"auth.json holds values {limited(loose)} that no v1 secret row names; they are "
                "not migrated and stay only in the old file, kept as auth.json.v1-v2-<ms>-<nonce>."
            )
        return items, keychain
