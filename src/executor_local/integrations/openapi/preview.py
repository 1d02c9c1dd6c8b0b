"""What a spec would become, before anything is stored: ``preview`` and ``build_integration``.

``build_integration`` returns the integration's ``config`` and the ``blobs`` to store (key
``spec/<sha256 of the text>``, in the blob namespace ``o:<tenant>/openapi`` the catalog owns), the
exact shape Executor 1.5.9 writes: ``{"specHash", "sourceUrl"?, "baseUrl"?, "headers"?,
"queryParams"?, "authenticationTemplate"?}``. For a URL the fetched document is stored (1.5.9's
migration stored only the URL; ``source.py`` reads both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from executor_local.integrations.base import Listing
from executor_local.integrations.openapi import auth
from executor_local.integrations.openapi.compile import Compiled, compile_spec
from executor_local.integrations.openapi.errors import NO_OPERATIONS, SpecError
from executor_local.integrations.openapi.load import LoadedSpec, load
from executor_local.integrations.openapi.refs import Resolver
from executor_local.integrations.openapi.servers import substitute
from executor_local.integrations.openapi.source import sha256_hex, source_url, spec_blob_key

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def default_slug(title: str | None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", (title or "").lower()).strip("_")[:64]
    return slug or "api"


def first_base_url(compiled: Compiled) -> str | None:
    if not compiled.servers:
        return None
    s = compiled.servers[0]
    return substitute(s["url"], s.get("variables"), {})


def _tools(listing: Listing) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description,
             "method": (t.binding or {}).get("method", "").upper(),
             "path": (t.binding or {}).get("pathTemplate"),
             "requiresApproval": bool(t.annotations.get("requiresApproval"))}
            for t in listing.tools]


def _preview_of(loaded: LoadedSpec) -> tuple[Compiled, dict[str, Any]]:
    compiled = compile_spec(loaded.doc, loaded.url)
    r = Resolver(loaded.doc)
    base = first_base_url(compiled)
    methods, auth_warnings = auth.derive_methods(loaded.doc, r, base)
    schemes = auth.security_schemes(loaded.doc, r)
    info = compiled.info
    ops = [op for _n, op in compiled.operations]
    out: dict[str, Any] = {
        "title": compiled.title,
        "version": info.get("version") if isinstance(info.get("version"), str) else None,
        "description": info.get("description") if isinstance(info.get("description"), str)
        else None,
        "servers": compiled.servers,
        "baseUrl": base,
        "operationCount": len(ops),
        "operations": [{"operationId": op.operation_id or "", "method": op.method,
                        "path": op.path, **({"summary": op.summary} if op.summary else {}),
                        "tags": op.tags, "deprecated": op.deprecated} for op in ops],
        "tags": sorted({t for op in ops for t in op.tags}),
        "securitySchemes": schemes,
        "authStrategies": [{"schemes": s} for s in auth.strategies(loaded.doc, schemes)],
        "authenticationTemplate": methods,
        "authMethods": [auth.describe_method(m) for m in methods],
        "tools": _tools(compiled.listing),
        "specHash": sha256_hex(loaded.text),
        "warnings": [*compiled.listing.warnings, *auth_warnings],
    }
    if loaded.url:
        out["sourceUrl"] = loaded.url
    return compiled, out


async def preview(text_or_url: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
    """Title, description, servers/baseUrl, auth methods, tools and warnings of a spec."""
    loaded = await load(text_or_url, timeout_s=timeout_s)
    return _preview_of(loaded)[1]


@dataclass
class BuiltIntegration:
    """What the catalog stores for a new (or refreshed) OpenAPI integration."""

    slug: str
    description: str
    config: dict[str, Any]
    blobs: dict[str, str]
    listing: Listing
    preview: dict[str, Any] = field(default_factory=dict)

    @property
    def can_refresh(self) -> bool:
        return "sourceUrl" in self.config

    @property
    def warnings(self) -> list[str]:
        return list(self.preview.get("warnings") or [])


async def build_integration(text_or_url: str, *, slug: str | None = None,
                            base_url: str | None = None, description: str | None = None,
                            headers: dict[str, str] | None = None,
                            query_params: dict[str, str] | None = None,
                            authentication_template: list[dict[str, Any]] | None = None,
                            timeout_s: float = 30.0) -> BuiltIntegration:
    """Load a spec (URL or text) and make the integration's config and spec blob."""
    if slug is not None and not SLUG.match(slug):
        raise SpecError("invalid_slug", f"slug {slug!r} must be 1-64 letters, digits, '_' or "
                        "'-', starting with a letter or digit (it is one segment of every tool "
                        "address, so it cannot contain '.')")
    if base_url is not None and not re.match(r"^https?://\S+$", base_url.strip()):
        raise SpecError("invalid_base_url", f"baseUrl {base_url!r} is not an http(s) URL")
    loaded = await load(text_or_url, timeout_s=timeout_s)
    compiled, shown = _preview_of(loaded)
    if not compiled.listing.tools:
        raise SpecError(NO_OPERATIONS, "the OpenAPI document declares no operations under "
                        "'paths', so it would give no tools", source=loaded.url)
    spec_hash = sha256_hex(loaded.text)
    config: dict[str, Any] = {"specHash": spec_hash}
    if loaded.url:
        config["sourceUrl"] = loaded.url
    if base_url:
        config["baseUrl"] = base_url.strip()
    if headers:
        config["headers"] = dict(headers)
    if query_params:
        config["queryParams"] = dict(query_params)
    methods = authentication_template if authentication_template is not None else shown[
        "authenticationTemplate"]
    if methods:
        config["authenticationTemplate"] = methods
    title = compiled.title
    info_description = compiled.info.get("description")
    return BuiltIntegration(
        slug=slug or default_slug(title),
        description=description or (info_description if isinstance(info_description, str)
                                    and info_description.strip() else None) or title
        or slug or default_slug(title),
        config=config,
        blobs={spec_blob_key(spec_hash): loaded.text},
        listing=compiled.listing,
        preview=shown,
    )


async def refresh_integration(slug: str, description: str, config: dict[str, Any], *,
                              timeout_s: float = 30.0) -> BuiltIntegration:
    """Fetch the spec again from the config's source URL; everything else in the config stays."""
    url = source_url(config)
    if not url:
        raise SpecError("openapi_not_refreshable", f"{slug!r} was added from spec text, not a "
                        "URL, so there is nothing to fetch again; add the new spec instead")
    fresh = await build_integration(url, description=description, timeout_s=timeout_s)
    fresh.slug = slug  # an existing (maybe migrated) slug is not re-validated
    keep = {k: v for k, v in config.items() if k not in ("specHash", "sourceUrl", "specUrl")}
    new_config = {"specHash": fresh.config["specHash"], "sourceUrl": url, **keep}
    if "authenticationTemplate" not in config and "authenticationTemplate" in fresh.config:
        new_config["authenticationTemplate"] = fresh.config["authenticationTemplate"]
    fresh.config = new_config
    return fresh
