"""v1 credential bindings, secrets and OAuth connections -> v2 ``connection`` and ``oauth_client``.

One v2 connection per binding group, a group being the bindings of one (binding scope, source)
pair, as in Executor 1.5.9 (reference §5.3): a ``connection`` binding makes an OAuth connection
(plus a de-duplicated ``oauth_client``), ``secret`` and ``text`` bindings make one ``apiKey``
connection whose ``item_ids`` map each template variable to a migrated item id.

Differences from 1.5.9, on purpose:
- ``secret`` and ``text`` bindings of one group share the connection (1.5.9 keeps only the
  secret ones and silently drops the text values); extra bindings beside an OAuth one are named
  in a warning;
- a group with several distinct secrets is named ``apiKey``, a valid identifier like every
  other connection name (1.5.9 writes ``api-key``);
- an OAuth connection whose slot has no known template gets the conventional ``oauth2`` method
  (1.5.9 falls back to ``apiKey``, which such an integration does not declare);
- the v1 ``identity_override`` and a token scope kept only in v1's ``connection.scope`` column are
  carried over; no network look-up is made (1.5.9 fetches OAuth metadata while it migrates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from executor_local.migrate.plan.configs import API_KEY, OAUTH, TOKEN
from executor_local.migrate.plan.connection_types import (
    Binding,
    PlannedConnections,
    Secret,
    SlotMaps,
    connection_identifier,
)
from executor_local.migrate.plan.integrations import PlannedIntegrations
from executor_local.migrate.plan.oauth_clients import ClientSlugs, client_row
from executor_local.migrate.plan.state import PlanContext, limited
from executor_local.migrate.rows import loads, query_all, row_id, select_dicts
from executor_local.migrate.v1.secrets import lookup_file_secret, migrated_item_id
from executor_local.store.records import Owner

CLIENT_CREDENTIALS_TTL_MS = 60 * 60 * 1000
DEFAULT_PROVIDER = "file"


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


class ConnectionPlanner:
    """Turn binding groups into v2 connection and oauth_client rows (see module docstring)."""

    def __init__(
        self,
        *,
        owners: Mapping[str, Owner],
        secrets: Mapping[tuple[str, str], Secret],
        v1_connections: Mapping[tuple[str, str], dict[str, Any]],
        slot_maps: Mapping[tuple[str, str], SlotMaps],
        auth: Mapping[str, Any] | None,
        now_ms: int,
    ) -> None:
        self.owners = owners
        self.secrets = secrets
        self.v1_connections = v1_connections
        self.slot_maps = slot_maps
        self.auth = auth
        self.now = now_ms
        self.out = PlannedConnections()
        self._clients = ClientSlugs()

    def plan(
        self, groups: Mapping[tuple[str, str], list[Binding]], integrations: set[tuple[str, str]]
    ) -> PlannedConnections:
        """``groups`` keyed (binding scope, source id); ``integrations`` = planned (scope, id)."""
        for (scope_id, source_id), bindings in groups.items():
            source_scope = bindings[0].source_scope_id
            if (source_scope, source_id) not in integrations:
                ids = [b.row_id for b in bindings]
                self.out.warnings.append(
                    f"credential_binding rows {ids} refer to source {source_id!r} (scope "
                    f"{source_scope!r}) which has no source row; not migrated (their secrets are)."
                )
                continue
            owner = self.owners[scope_id]
            maps = self.slot_maps.get((source_scope, source_id), SlotMaps())
            oauth = [b for b in bindings if b.kind == "connection" and b.connection_id]
            keyed = [b for b in bindings if b.kind in ("secret", "text")]
            others = [b for b in bindings if b not in oauth and b not in keyed]
            if oauth:
                self._oauth(owner, scope_id, source_scope, source_id, oauth[0], maps)
                others += oauth[1:] + keyed
            elif keyed:
                self._api_key(owner, scope_id, source_scope, source_id, keyed, maps)
            if others:
                self.out.warnings.append(
                    f"credential_binding rows {[b.row_id for b in others]} of source "
                    f"{source_id!r} have no place beside its connection; not migrated."
                )
        return self.out

    def workspace(self, owner: Owner, source_scope: str, source_id: str) -> None:
        """A credential-less ``workspace`` connection, so the integration keeps its tools."""
        self._add(
            owner,
            source_scope,
            source_id,
            {
                "name": "workspace",
                "template": "none",
                "provider": DEFAULT_PROVIDER,
                "item_ids": {},
            },
        )

    # -- kinds -----------------------------------------------------------------------------------

    def _api_key(
        self,
        owner: Owner,
        scope_id: str,
        source_scope: str,
        source_id: str,
        bindings: list[Binding],
        maps: SlotMaps,
    ) -> None:
        item_ids: dict[str, str] = {}
        template = API_KEY
        providers: list[str] = []
        refs: list[tuple[str, str]] = []
        for b in bindings:
            variable = maps.variable.get(b.slot, TOKEN)
            template = maps.template.get(b.slot, API_KEY)
            if b.kind == "text":
                item = migrated_item_id(scope_id, f"text:{source_id}:{b.slot}")
                self.out.text_items[item] = b.text_value or ""
                item_ids[variable] = item
                providers.append(DEFAULT_PROVIDER)
                continue
            if not b.secret_id:
                continue
            secret_scope = b.secret_scope_id or scope_id
            refs.append((secret_scope, b.secret_id))
            item_ids[variable] = migrated_item_id(secret_scope, b.secret_id)
            secret = self.secrets.get((secret_scope, b.secret_id))
            if secret is None:
                self.out.warnings.append(
                    f"credential_binding {b.row_id} names secret {b.secret_id!r} (scope "
                    f"{secret_scope!r}) which has no secret row; the connection points at an "
                    "item that holds no value."
                )
            providers.append(secret.provider if secret else DEFAULT_PROVIDER)
        if not item_ids:
            return
        distinct = list(dict.fromkeys(refs))
        if len(distinct) == 1:
            secret = self.secrets.get(distinct[0])
            name = connection_identifier(secret.name.strip(), "") if secret else ""
            name = name or connection_identifier(distinct[0][1], API_KEY)
        elif not distinct:
            name = "inline"
        else:
            name = API_KEY
        provider = providers[0] if providers else DEFAULT_PROVIDER
        if len(set(providers)) > 1:
            self.out.warnings.append(
                f"Connection {source_id!r} in scope {scope_id!r} uses multiple secret providers; "
                f"v2 supports one provider per connection and will use {provider!r}."
            )
        self._add(
            owner,
            source_scope,
            source_id,
            {
                "name": name,
                "template": template,
                "provider": provider,
                "item_ids": item_ids,
            },
        )

    def _oauth(
        self,
        owner: Owner,
        scope_id: str,
        source_scope: str,
        source_id: str,
        binding: Binding,
        maps: SlotMaps,
    ) -> None:
        conn = self.v1_connections.get((scope_id, binding.connection_id or ""))
        if conn is None:
            self.out.warnings.append(
                f"Connection {binding.connection_id!r} referenced by credential_binding "
                f"{binding.row_id} is missing; source {source_id!r} gets no OAuth connection."
            )
            return
        self.out.bound_connections.add((scope_id, str(conn["id"])))
        ps = conn.get("provider_state") if isinstance(conn.get("provider_state"), dict) else {}
        grant = (
            "client_credentials"
            if ps.get("kind") == "client-credentials"
            else ("authorization_code")
        )
        item_ids: dict[str, str] = {}
        provider = DEFAULT_PROVIDER
        if conn.get("access_token_secret_id"):
            item_ids[TOKEN] = migrated_item_id(scope_id, conn["access_token_secret_id"])
            secret = self.secrets.get((scope_id, conn["access_token_secret_id"]))
            provider = secret.provider if secret else DEFAULT_PROVIDER
        refresh = conn.get("refresh_token_secret_id")
        scopes = ps.get("scopes") if isinstance(ps.get("scopes"), list) else None
        if not scopes:
            scope_text = ps.get("scope") or conn.get("scope") or ""
            scopes = str(scope_text).split()
        expires = conn.get("expires_at")
        if expires is None and grant == "client_credentials":
            expires = self.now + CLIENT_CREDENTIALS_TTL_MS
        slug = self._client(owner, scope_id, source_scope, source_id, ps, grant)
        label = conn.get("identity_label")
        self._add(
            owner,
            source_scope,
            source_id,
            {
                "name": connection_identifier(str(label or "account"), "account"),
                "template": maps.template.get(binding.slot, OAUTH),
                "provider": provider,
                "item_ids": item_ids,
                "identity_label": label,
                "oauth_client": slug,
                "oauth_client_owner": owner.owner,
                "refresh_item_id": migrated_item_id(scope_id, refresh) if refresh else None,
                "expires_at": str(int(expires)) if expires is not None else None,
                "oauth_scope": " ".join(dict.fromkeys(s for s in scopes if s)) or None,
                "identity_override": conn.get("identity_override"),
                "created_at": conn.get("created_at") or self.now,
                "updated_at": conn.get("updated_at") or self.now,
            },
        )

    def _client(
        self,
        owner: Owner,
        scope_id: str,
        source_scope: str,
        source_id: str,
        ps: dict[str, Any],
        grant: str,
    ) -> str:
        """Fold the OAuth app into a de-duplicated oauth_client; return its slug."""
        client_id = str(ps.get("clientId") or "")
        id_ref = ps.get("clientIdSecretId")
        if not client_id and isinstance(id_ref, str):
            id_scope = self._secret_scope(
                ps.get("clientIdSecretScopeId"), scope_id, source_scope, id_ref
            )
            client_id = lookup_file_secret(self.auth, id_scope, id_ref) or ""
            if not client_id:
                self.out.warnings.append(
                    f'Could not resolve OAuth client id "{id_ref}" of source {source_id!r}; '
                    "the migrated oauth_client needs its client id set again."
                )
        elif not client_id:
            self.out.warnings.append(
                f"OAuth connection of source {source_id!r} has no client id or client-id secret "
                "reference; migrated oauth_client will need repair."
            )
        slug, new = self._clients.slug_for(owner, client_id, id_ref, ps)
        if not new:
            return slug
        secret_ref = ps.get("clientSecretSecretId")
        secret_item = None
        if isinstance(secret_ref, str) and secret_ref:
            secret_scope = self._secret_scope(
                ps.get("clientSecretSecretScopeId"), scope_id, source_scope, secret_ref
            )
            secret_item = migrated_item_id(secret_scope, secret_ref)
        self.out.oauth_clients.append(
            client_row(owner, slug, ps, grant, client_id, secret_item, self.now))
        return slug

    def _secret_scope(self, explicit: Any, scope_id: str, source_scope: str, secret_id: str) -> str:
        if isinstance(explicit, str) and explicit:
            return explicit
        if (source_scope, secret_id) in self.secrets:
            return source_scope
        return scope_id

    def _add(self, owner: Owner, source_scope: str, source_id: str, fields: dict[str, Any]) -> None:
        row: dict[str, Any] = {
            "integration": source_id,
            "name": fields["name"],
            "template": fields["template"],
            "provider": fields["provider"],
            "item_ids": fields["item_ids"],
            "identity_label": fields.get("identity_label"),
            "oauth_client": fields.get("oauth_client"),
            "oauth_client_owner": fields.get("oauth_client_owner"),
            "refresh_item_id": fields.get("refresh_item_id"),
            "expires_at": fields.get("expires_at"),
            "oauth_scope": fields.get("oauth_scope"),
            "provider_state": None,
            "created_at": fields.get("created_at", self.now),
            "updated_at": fields.get("updated_at", self.now),
            "row_id": row_id(
                "connection", owner.tenant, owner.owner, owner.subject, source_id, fields["name"]
            ),
            "tenant": owner.tenant,
            "owner": owner.owner,
            "subject": owner.subject,
            "identity_override": fields.get("identity_override"),
        }
        self.out.connections.append(row)
        self.out.by_source.setdefault((source_scope, source_id), []).append((owner, row["name"]))
