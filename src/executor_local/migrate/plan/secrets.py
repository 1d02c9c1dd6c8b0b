"""Plan the v2 secrets: every v1 secret row becomes an item (file-provider values copied,
keychain ones as ``KeychainCopy``, other providers kept by id), and the connections' item
references follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from executor_local.migrate.plan.connection_types import Secret
from executor_local.migrate.plan.state import PlanContext, limited
from executor_local.migrate.rows import dumps, select_dicts
from executor_local.migrate.v1.secrets import lookup_file_secret, migrated_item_id, nested_entries


@dataclass(frozen=True)
class KeychainCopy:
    """A v1 keychain secret (service ``<base>/<scope>``, account = secret id) to copy to the
    base service under ``item_id``; the driver does it, the planner stays pure."""

    item_id: str
    scope_id: str
    secret_id: str


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
