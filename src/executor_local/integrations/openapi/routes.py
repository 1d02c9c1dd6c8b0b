"""The OpenAPI plugin's own routes: fetch a spec again from its URL and re-list the tools.

``POST /api/openapi/integrations/{slug}/refresh``: the spec is fetched from ``config.sourceUrl``
(a migrated config whose blob holds only the URL works too), stored content-addressed beside the
old one, the config's ``specHash`` swapped (auth methods, base URL, headers and connections
stay), then every connection's tools are listed again. A spec that fails to load changes
nothing. ``GET /api/openapi/integrations/{slug}/config`` is Executor's config view (no spec text).
Preview and add (``/api/openapi/preview|specs``) are served by ``server/routes/openapi_add.py``.
Imported only by the server, after READY.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput, NotFound
from executor_local.integrations.openapi.errors import SpecError
from executor_local.integrations.openapi.load import is_url
from executor_local.integrations.openapi.preview import refresh_integration
from executor_local.integrations.openapi.source import source_url, spec_blob_key

CONFIG_VIEW_KEYS = ("sourceUrl", "baseUrl", "headers", "queryParams", "authenticationTemplate")


def _catalog(request: Request) -> Any:
    return request.app.state.services.catalog


def _openapi_row(catalog: Any, slug: str) -> Any:
    row = catalog._integration_row(slug)  # NotFound (404) when there is none
    if row.plugin_id != "openapi":
        raise NotFound(f"{slug!r} is a {row.plugin_id} integration, not an OpenAPI one",
                       code="integration_not_found")
    return row


def _config(catalog: Any, row: Any) -> dict[str, Any]:
    config = catalog.plugin_integration(row).config
    return dict(config) if isinstance(config, dict) else {}


async def get_config(request: Request) -> JSONResponse:
    from executor_local.server.http import sync

    catalog = _catalog(request)
    row = await sync(_openapi_row, catalog, request.path_params["slug"])
    config = _config(catalog, row)
    return JSONResponse({k: config[k] for k in CONFIG_VIEW_KEYS if k in config})


async def refresh(request: Request) -> JSONResponse:
    from executor_local.server.http import sync

    catalog = _catalog(request)
    slug = request.path_params["slug"]
    row = await sync(_openapi_row, catalog, slug)
    config = _config(catalog, row)
    if not source_url(config) and config.get("specHash"):
        stored = catalog.plugin_env(row).blob(spec_blob_key(config["specHash"]))
        if stored is not None and is_url(stored):
            config["sourceUrl"] = stored.strip()  # 1.5.9 kept the URL as the blob
    try:
        built = await refresh_integration(slug, row.description, config)
    except SpecError as exc:
        raise InvalidInput(exc.message, code=exc.code,
                           hint="Nothing was changed; check the spec's URL and retry.") from None
    changed = built.config.get("specHash") != config.get("specHash")
    await sync(_store, catalog, slug, built.config, built.blobs)
    results = []
    for conn in await sync(catalog.connections, slug):
        out = await catalog.refresh_connection(conn["owner"], slug, conn["name"])
        count = out.get("toolCount") if isinstance(out, dict) else len(out or [])
        results.append({"owner": conn["owner"], "name": conn["name"], "toolCount": count})
    return JSONResponse({"slug": slug, "specHash": built.config["specHash"], "changed": changed,
                         "toolCount": len(built.listing.tools), "connections": results,
                         "warnings": built.warnings})


def _store(catalog: Any, slug: str, config: dict[str, Any], blobs: dict[str, str]) -> None:
    """The new spec blob and config in one transaction (tools follow per connection)."""
    from executor_local.store import tables
    from executor_local.store.ids import blob_namespace, now_ms

    namespace = blob_namespace(catalog.tenant, "org", "openapi")
    with catalog.db.write() as conn:
        for key, value in blobs.items():
            tables.put_blob(conn, namespace, key, value)
        tables.update(conn, "integration",
                      {"config": json.dumps(config, separators=(",", ":")),
                       "can_refresh": 1, "updated_at": now_ms()},
                      "tenant = ? AND slug = ?", (catalog.tenant, slug))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/openapi/integrations/{slug}/refresh", refresh, methods=["POST"]),
        Route("/api/openapi/integrations/{slug}/config", get_config, methods=["GET"]),
    ]
