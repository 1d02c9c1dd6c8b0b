"""``POST /api/openapi/preview`` and ``POST /api/openapi/specs`` (Executor's shapes), over the
OpenAPI plugin's ``preview`` and ``build_integration``, storing through ``Catalog``.

Mounted after ``PLUGIN_ROUTERS``, so routes the plugin package brings itself take precedence.
The plugin is imported inside the handlers (never before READY).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local.errors import InvalidInput
from executor_local.server.http import body, reply, services


class SpecRefused(InvalidInput):
    code = "openapi_invalid_spec"


def _spec_input(data: dict[str, Any]) -> str:
    spec = data.get("spec")
    if isinstance(spec, str) and spec.strip():
        return spec
    if isinstance(spec, dict):
        if spec.get("kind") == "url" and isinstance(spec.get("url"), str):
            return spec["url"]
        if spec.get("kind") == "blob" and isinstance(spec.get("value"), str):
            return spec["value"]
    raise InvalidInput("spec is required: a URL or the document's text, or "
                       "{kind: url, url} / {kind: blob, value}", code="invalid_body")


def _refused(exc: Exception) -> SpecRefused:
    code = getattr(exc, "code", None) or "openapi_invalid_spec"
    return SpecRefused(str(getattr(exc, "message", None) or exc), code=code,
                       hint="Nothing was stored. Check the URL or the document and retry.")


async def preview(request: Request) -> JSONResponse:
    from executor_local.integrations import openapi

    data = await body(request)
    try:
        return reply(await openapi.preview(_spec_input(data)))
    except openapi.SpecError as exc:
        raise _refused(exc) from None


async def add_spec(request: Request) -> JSONResponse:
    from executor_local.integrations import openapi

    data = await body(request)
    for key in ("headers", "queryParams"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise InvalidInput(f"{key} must be an object of strings")
    try:
        built = await openapi.build_integration(
            _spec_input(data), slug=data.get("slug"), base_url=data.get("baseUrl"),
            description=data.get("description"), headers=data.get("headers"),
            query_params=data.get("queryParams"),
            authentication_template=data.get("authenticationTemplate"))
    except openapi.SpecError as exc:
        raise _refused(exc) from None
    config = dict(built.config)
    if isinstance(data.get("name"), str) and data["name"].strip():
        config["name"] = data["name"].strip()
    out = await services(request).catalog.add_integration(
        built.slug, "openapi", description=built.description, config=config, blobs=built.blobs,
        can_refresh=built.can_refresh, listing=built.listing)
    return reply({"slug": built.slug, "toolCount": len(built.listing.tools),
                  "integration": out, "warnings": built.warnings})


def routes() -> list[BaseRoute]:
    return [Route("/api/openapi/preview", preview, methods=["POST"]),
            Route("/api/openapi/specs", add_spec, methods=["POST"])]
