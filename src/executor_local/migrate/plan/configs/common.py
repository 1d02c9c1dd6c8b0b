"""What every plugin's config planner shares: the result type, credential placements, blobs."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

API_KEY = "apiKey"
OAUTH = "oauth2"
TOKEN = "token"
NONE_METHOD = {"slug": "none", "kind": "none"}

URL_PATTERN = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)



@dataclass
class InlineBlob:
    """Text the config moved out to the blob table: found again in the v1 row at ``path``."""

    plugin: str
    key: str
    path: tuple[str, ...]


@dataclass
class Credential:
    """A credential placement whose value came inline (no binding row): planned as a binding."""

    slot: str
    kind: str  # "secret" or "text"
    value: str


@dataclass
class ConfigResult:
    config: dict[str, Any]
    slot_template: dict[str, str] = field(default_factory=dict)
    slot_variable: dict[str, str] = field(default_factory=dict)
    blobs: list[InlineBlob] = field(default_factory=list)
    inline: list[Credential] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def credential_placements(
    result: ConfigResult, headers: dict[str, Any], query: dict[str, Any]
) -> dict[str, Any] | None:
    """Split static entries (kept in config) from credential placements (one ``apikey`` method).

    One placement fills the canonical ``token`` variable; several get one variable each, named
    after the header (slugified, de-duplicated), so one connection carries all their values.
    """
    found: list[tuple[str, str, dict[str, Any]]] = []
    statics: dict[str, dict[str, Any]] = {"headers": {}, "queryParams": {}}
    for carrier, values, key in (("header", headers, "headers"), ("query", query, "queryParams")):
        for name, value in values.items():
            if isinstance(value, dict) and value.get("kind") in ("binding", "secret", "text"):
                found.append((carrier, name, value))
            else:
                statics[key][name] = value
    for key, values in statics.items():
        if values:
            result.config[key] = values
    if not found:
        return None
    taken: set[str] = set()
    placements = []
    for carrier, name, value in found:
        variable = TOKEN if len(found) == 1 else variable_name(name, taken)
        placement: dict[str, Any] = {"carrier": carrier, "name": name}
        if value.get("prefix"):
            placement["prefix"] = value["prefix"]
        if variable != TOKEN:
            placement["variable"] = variable
        placements.append(placement)
        slot = value.get("slot")
        if value.get("kind") == "secret" and isinstance(value.get("secretId"), str):
            slot = slot or slot_name(carrier, name)
            result.inline.append(Credential(slot, "secret", value["secretId"]))
        elif value.get("kind") == "text":
            slot = slot or slot_name(carrier, name)
            result.inline.append(Credential(slot, "text", str(value.get("text") or "")))
        if isinstance(slot, str):
            result.slot_template[slot] = API_KEY
            result.slot_variable[slot] = variable
    return {"slug": API_KEY, "kind": "apikey", "placements": placements}


def slot_name(carrier: str, name: str) -> str:
    return f"{'header' if carrier == 'header' else 'query_param'}:{name.lower()}"


def with_auth_entry(
    auth: dict[str, Any], headers: dict[str, Any], query: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Put an MCP ``auth`` header/query credential among the placements, under its own slot."""
    kind = auth["kind"]
    entry: dict[str, Any] = {"kind": "binding", "slot": auth.get("secretSlot") or f"auth:{kind}"}
    if isinstance(auth.get("secretId"), str) and not auth.get("secretSlot"):
        entry = {"kind": "secret", "secretId": auth["secretId"], "slot": f"auth:{kind}"}
    if auth.get("prefix") is not None:
        entry["prefix"] = auth["prefix"]
    if kind == "header":
        return {**headers, str(auth.get("headerName") or ""): entry}, query
    return headers, {**query, str(auth.get("paramName") or ""): entry}


def variable_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "input"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def oauth_slot(result: ConfigResult, auth: dict[str, Any]) -> None:
    slot = auth.get("connectionSlot")
    if isinstance(slot, str) and slot:
        result.slot_template[slot] = OAUTH
        result.slot_variable[slot] = TOKEN


def to_blob(
    result: ConfigResult,
    plugin: str,
    prefix: str,
    hash_field: str,
    text: str,
    path: tuple[str, ...],
) -> None:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    result.config[hash_field] = digest
    result.blobs.append(InlineBlob(plugin=plugin, key=f"{prefix}/{digest}", path=path))


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def strip_identity(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("namespace", "scope", "name")}
