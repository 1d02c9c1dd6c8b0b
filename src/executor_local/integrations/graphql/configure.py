"""Auth methods of a GraphQL config (``authenticationTemplate``): checking what a caller sends,
giving slug-less methods a slug, and merging new methods into the existing ones, as
Executor's ``configureAuth`` does (``POST /api/graphql/integrations/:slug/config``).

Canonical methods only: ``{kind: "none"}``, ``{kind: "apikey", placements: [...]}`` and
``{kind: "oauth2", header?, prefix?}``; each may carry a ``slug``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from executor_local.integrations.graphql.add import GraphqlInputError

CARRIERS = ("header", "query")
NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _placement(p: Any, where: str) -> dict[str, Any]:
    if not isinstance(p, dict):
        raise GraphqlInputError(f"{where} must be an object")
    carrier = p.get("carrier", "header")
    if carrier not in CARRIERS:
        raise GraphqlInputError(f"{where}.carrier must be one of {', '.join(CARRIERS)}")
    name = p.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise GraphqlInputError(f"{where}.name must be a header or query parameter name")
    out: dict[str, Any] = {"carrier": carrier, "name": name}
    for key in ("prefix", "variable"):
        if p.get(key) is not None:
            if not isinstance(p[key], str):
                raise GraphqlInputError(f"{where}.{key} must be a string")
            out[key] = p[key]
    return out


def check_method(m: Any, where: str) -> dict[str, Any]:
    """One method in canonical form, or GraphqlInputError naming the bad field."""
    if not isinstance(m, dict):
        raise GraphqlInputError(f"{where} must be an object")
    kind = m.get("kind")
    slug = m.get("slug")
    if slug is not None and (not isinstance(slug, str) or not re.match(r"^[A-Za-z0-9_-]+$",
                                                                       slug)):
        raise GraphqlInputError(f"{where}.slug must be letters, digits, _ or -")
    out: dict[str, Any] = {"slug": slug} if slug else {}
    if kind == "none":
        out["kind"] = "none"
    elif kind == "apikey":
        place = m.get("placements")
        if not isinstance(place, list) or not place:
            raise GraphqlInputError(f"{where}.placements must be a non-empty list")
        out.update(kind="apikey",
                   placements=[_placement(p, f"{where}.placements[{i}]")
                               for i, p in enumerate(place)])
    elif kind == "oauth2":
        out["kind"] = "oauth2"
        for key in ("header", "prefix"):
            if m.get(key) is not None:
                if not isinstance(m[key], str):
                    raise GraphqlInputError(f"{where}.{key} must be a string")
                out[key] = m[key]
    else:
        raise GraphqlInputError(f"{where}.kind must be none, apikey or oauth2 (got {kind!r})")
    return out


def default_slug(m: dict[str, Any]) -> str:
    if m["kind"] != "apikey":
        return str(m["kind"])
    if len(m["placements"]) == 1:
        return "header" if m["placements"][0]["carrier"] == "header" else "query"
    return "apikey"


def normalize(methods: Any, where: str = "authenticationTemplate") -> list[dict[str, Any]]:
    """Checked methods, each with a slug (given, else kind-derived, ``_2``... on a clash)."""
    if not isinstance(methods, list):
        raise GraphqlInputError(f"{where} must be a list of auth methods")
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for i, raw in enumerate(methods):
        m = check_method(raw, f"{where}[{i}]")
        base = m.get("slug") or default_slug(m)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}_{n}"
        taken.add(slug)
        out.append({**m, "slug": slug})
    return out


def merge(current: list[dict[str, Any]], incoming: Any) -> list[dict[str, Any]]:
    """Executor's merge: a method whose slug exists replaces it; a slug-less one is
    appended as ``custom_<id>``, so it never silently displaces a declared method."""
    if not isinstance(incoming, list):
        raise GraphqlInputError("authenticationTemplate must be a list of auth methods")
    merged = [dict(m) for m in current]
    for i, raw in enumerate(incoming):
        m = check_method(raw, f"authenticationTemplate[{i}]")
        if not m.get("slug"):
            m["slug"] = f"custom_{secrets.token_hex(4)}"
        at = next((j for j, c in enumerate(merged) if c.get("slug") == m["slug"]), None)
        if at is None:
            merged.append(m)
        else:
            merged[at] = m
    return merged


def config_view(config: dict[str, Any]) -> dict[str, Any]:
    """Executor's ``GraphqlConfigView``: what the configure UI reads."""
    view: dict[str, Any] = {"endpoint": config.get("endpoint", ""),
                            "name": config.get("name", "")}
    for key in ("headers", "queryParams"):
        if config.get(key) is not None:
            view[key] = config[key]
    view["authenticationTemplate"] = list(config.get("authenticationTemplate") or [])
    return view
