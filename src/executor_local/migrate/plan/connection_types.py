"""The shapes the connection planner reads and returns, and the naming rules it shares with
the scope and integration planners (``parse_scope``, ``connection_identifier``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from executor_local.store.records import Owner

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Binding:
    row_id: str
    scope_id: str
    source_scope_id: str
    source_id: str
    slot: str
    kind: str
    secret_id: str | None = None
    secret_scope_id: str | None = None
    connection_id: str | None = None
    text_value: str | None = None


@dataclass(frozen=True)
class Secret:
    scope_id: str
    id: str
    name: str
    provider: str


@dataclass
class SlotMaps:
    template: dict[str, str] = field(default_factory=dict)
    variable: dict[str, str] = field(default_factory=dict)


@dataclass
class PlannedConnections:
    connections: list[dict[str, Any]] = field(default_factory=list)
    oauth_clients: list[dict[str, Any]] = field(default_factory=list)
    # (v1 source scope, source id) -> connection names planned for it (tools fan out over them)
    by_source: dict[tuple[str, str], list[tuple[Owner, str]]] = field(default_factory=dict)
    text_items: dict[str, str] = field(default_factory=dict)
    bound_connections: set[tuple[str, str]] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Shared small rules
# ------------------------------------------------------------------------------------------------


def parse_scope(scope_id: str) -> Owner | None:
    """Cloud-shaped v1 scope ids: ``org_…`` (org-owned) and ``user-org:user_…:org_…`` (personal)."""
    if scope_id.startswith("user-org:"):
        parts = scope_id.split(":")
        if len(parts) == 3 and parts[1].startswith("user_") and parts[2].startswith("org_"):
            return Owner(tenant=parts[2], owner="user", subject=parts[1])
        return None
    if scope_id.startswith("org_") and ":" not in scope_id:
        return Owner(tenant=scope_id, owner="org", subject="")
    return None


def connection_identifier(text: str, fallback: str) -> str:
    """A connection name: kept when already an identifier, else camelCase of its words
    (``Petstore API key`` -> ``petstoreApiKey``), as v2 requires valid JS identifiers."""
    if _IDENTIFIER.match(text):
        return text
    words = re.findall(r"[a-z0-9]+", text.lower())
    base = (words[0] + "".join(w[0].upper() + w[1:] for w in words[1:])) if words else ""
    if not base:
        return fallback
    if re.match(r"^[A-Za-z_$]", base):
        return base
    return f"{fallback}{base[0].upper()}{base[1:]}" if fallback else ""


# ------------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------------
