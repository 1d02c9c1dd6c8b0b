"""``GET /api/providers``, ``GET /api/providers/:key/items`` (ids and labels, never values)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.server.http import reply, services, sync
from executor_local.store import tables
from executor_local.store.rows import loads


async def list_providers(request: Request) -> JSONResponse:
    return reply(await sync(services(request).secrets.keys))


def _items(svc, key: str) -> list[dict[str, str]]:
    provider = svc.secrets.provider(key)  # unknown → 404
    labels: dict[str, str] = {}
    with svc.db.read() as conn:
        for row in tables.connections(conn, svc.tenant.tenant):
            if row.provider != key:
                continue
            ids = loads(row.item_ids) or {}
            for var, item in (ids.items() if isinstance(ids, dict) else []):
                labels.setdefault(str(item), f"{row.integration}.{row.owner}.{row.name} ({var})")
    ids = provider.ids()
    known = ids if ids is not None else sorted(labels)
    return [{"id": i, "name": labels.get(i, i)} for i in known]


async def items(request: Request) -> JSONResponse:
    return reply(await sync(_items, services(request), request.path_params["key"]))


def routes() -> list[BaseRoute]:
    return [Route("/api/providers", list_providers, methods=["GET"]),
            Route("/api/providers/{key}/items", items, methods=["GET"])]
