"""The v2 ``oauth_client`` rows: one per OAuth app, de-duplicated per owner partition.

Two v1 connections of one app (same client id, or same client-id secret, and same token
endpoint) share one client; slugs come from the token endpoint's host (``github``,
``github_2``...), unique within the partition (``org:<tenant>`` or ``user:<subject>:<tenant>``).
"""

from __future__ import annotations

import re
from typing import Any

from executor_local.migrate.rows import row_id
from executor_local.store.records import Owner


class ClientSlugs:
    """The slugs handed out so far; ``slug_for`` says whether the app is new."""

    def __init__(self) -> None:
        self._by_app: dict[str, str] = {}
        self._taken: dict[str, set[str]] = {}

    def slug_for(
        self, owner: Owner, client_id: str, id_ref: Any, ps: dict[str, Any]
    ) -> tuple[str, bool]:
        token_url = str(ps.get("tokenEndpoint") or "")
        partition = (
            f"org:{owner.tenant}"
            if owner.owner == "org"
            else (f"user:{owner.subject}:{owner.tenant}")
        )
        identity = f"literal:{client_id}" if client_id else f"secret:{id_ref}"
        key = f"{partition}\0{identity}\0{token_url}"
        if key in self._by_app:
            return self._by_app[key], False
        taken = self._taken.setdefault(partition, set())
        base = _host_slug(token_url)
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}_{n}", n + 1
        taken.add(slug)
        self._by_app[key] = slug
        return slug, True


def client_row(owner: Owner, slug: str, ps: dict[str, Any], grant: str, client_id: str,
               secret_item: str | None, now: int) -> dict[str, Any]:
    return {
        "slug": slug,
        "authorization_url": _authorization_url(ps, grant),
        "token_url": str(ps.get("tokenEndpoint") or ""),
        "grant": grant,
        "client_id": client_id,
        "client_secret_item_id": secret_item,
        "resource": ps.get("resource"),
        "origin_kind": None,
        "origin_integration": None,
        "created_at": now,
        "row_id": row_id("oauth_client", owner.tenant, owner.owner, owner.subject, slug),
        "tenant": owner.tenant,
        "owner": owner.owner,
        "subject": owner.subject,
    }


def _host_slug(url: str) -> str:
    match = re.match(r"^[a-z]+://([^/:]+)", url, re.IGNORECASE)
    host = match.group(1) if match else "client"
    labels = host.split(".")
    label = labels[-2] if len(labels) > 1 else host
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "client"


def _authorization_url(ps: dict[str, Any], grant: str) -> str:
    """The authorize endpoint, from provider_state only (no network): explicit, else the
    server URL, else the ``…/authorize`` sibling of a same-origin ``…/token`` endpoint."""

    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    metadata = ps.get("authorizationServerMetadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    explicit = text(ps.get("authorizationEndpoint")) or text(metadata.get("authorization_endpoint"))
    if explicit:
        return explicit
    fallback = text(ps.get("authorizationServerUrl")) or text(ps.get("issuerUrl"))
    if grant == "client_credentials":
        return fallback
    token = text(ps.get("tokenEndpoint"))
    bare = not fallback or re.match(r"^https?://[^/]+/?$", fallback) is not None
    same_origin = not fallback or token.startswith(fallback.rstrip("/") + "/")
    if bare and token.endswith("/token") and same_origin:
        return token[: -len("/token")] + "/authorize"
    return fallback
