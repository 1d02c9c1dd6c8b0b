"""Our own OpenAPI description (``/api/openapi.json``), generated from the route table, and a
plain HTML listing at ``/api/docs`` (no CDN: the daemon works offline)."""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from executor_local import __version__


def _api_routes(request: Request) -> list[tuple[str, str, str]]:
    out = []
    for route in request.app.routes:
        path = getattr(route, "path", None)
        methods = sorted((getattr(route, "methods", None) or set()) - {"HEAD"})
        if not path or not path.startswith("/api") or not methods:
            continue
        endpoint = getattr(route, "endpoint", None)
        doc = (getattr(endpoint, "__doc__", None) or "").strip().split("\n")[0]
        mod_doc = (getattr(__import__(endpoint.__module__, fromlist=["_"]), "__doc__", "")
                   or "").strip().split("\n")[0] if endpoint is not None else ""
        for method in methods:
            out.append((method, path, doc or mod_doc))
    return out


def describe(request: Request) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path, summary in _api_routes(request):
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", path)]
        op: dict[str, Any] = {"summary": summary or f"{method} {path}",
                              "responses": {"200": {"description": "JSON"},
                                            "default": {"description": "{error: {code, "
                                                                       "message, hint}}"}}}
        if params:
            op["parameters"] = params
        if method in ("POST", "PATCH", "PUT"):
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        if path != "/api/health":
            op["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": "executor-local", "version": __version__},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "paths": paths}


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(describe(request))


async def docs(request: Request) -> HTMLResponse:
    rows = "\n".join(f"<tr><td><code>{m}</code></td><td><code>{html.escape(p)}</code></td>"
                     f"<td>{html.escape(s)}</td></tr>" for m, p, s in _api_routes(request))
    page = (f"<!doctype html><meta charset=utf-8><title>executor-local API</title>"
            f"<h1>executor-local {html.escape(__version__)} API</h1>"
            "<p>Every route but /api/health needs <code>Authorization: Bearer &lt;token&gt;"
            "</code>. Machine-readable: <a href=/api/openapi.json>/api/openapi.json</a>. Errors "
            "are <code>{\"error\": {\"code\", \"message\", \"hint\"}}</code>.</p>"
            f"<table border=1 cellpadding=4><tr><th>Method</th><th>Path</th><th>What</th></tr>"
            f"{rows}</table>")
    return HTMLResponse(page)


def routes() -> list[BaseRoute]:
    return [Route("/api/openapi.json", openapi, methods=["GET"]),
            Route("/api/docs", docs, methods=["GET"])]
