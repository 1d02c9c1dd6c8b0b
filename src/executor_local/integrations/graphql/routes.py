"""HTTP routes of GraphQL integrations (Executor's ``graphql`` API group):

- ``POST /api/graphql/integrations`` ``{endpoint, slug?, name?, description?,
  introspectionJson?, schema?, headers?, queryParams?, authenticationTemplate?}`` ->
  ``{slug, name, toolCount}``. ``introspectionJson`` (Executor's field) or ``schema`` (SDL or
  introspection JSON) gives the schema offline; otherwise an endpoint without auth methods is
  introspected now (a refusal is reported, with the schema-file hint), and one that declares
  auth methods is registered without a snapshot: its first connection's credentials
  introspect it (as Executor defers discovery to connection time).
- ``GET /api/graphql/integrations/:slug`` -> the stored config, or ``null``;
- ``GET /api/graphql/integrations/:slug/config`` -> ``{endpoint, name, headers?, queryParams?,
  authenticationTemplate}``, or ``null``;
- ``POST /api/graphql/integrations/:slug/config`` ``{authenticationTemplate, mode?:
  merge|replace}`` -> ``{authenticationTemplate}``;
- ``POST /api/graphql/integrations/:slug/refresh`` ``{schema?}`` -> ``{introspectionHash,
  changed, connections}`` (ours: take the schema again and re-list the tools).

Secret values never travel here: headers given here are static and stored in the config;
secret ones are auth-method placements filled by a connection (``POST /api/connections``).

The handlers reach the catalog as ``request.app.state.services.catalog`` and use its
``add_integration``; reading and replacing a config use ``integration_config(slug)`` and
``set_integration_config(slug, config)`` when the catalog has them, else its row through the
store.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from executor_local.integrations.graphql.add import (
    GraphqlInputError,
    build_integration,
    check_endpoint,
    load_schema,
)
from executor_local.integrations.graphql.configure import config_view, merge, normalize
from executor_local.integrations.graphql.introspect import GraphqlSchemaError

log = logging.getLogger("executor.integrations.graphql")


def _error(status: int, code: str, message: str, hint: str | None = None) -> Any:
    from starlette.responses import JSONResponse

    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status)


def _from_exception(exc: Exception) -> Any:
    """An error a catalog raised (its ``http_status``/``code``/``hint``), or a GraphQL one."""
    if isinstance(exc, SlugTaken):
        return _error(exc.http_status, exc.code, str(exc), exc.hint)
    if isinstance(exc, GraphqlInputError):
        return _error(400, "invalid_input", str(exc), "Fix the request; nothing was changed.")
    if isinstance(exc, GraphqlSchemaError):
        status = 400 if exc.code in ("invalid_schema", "invalid_endpoint") else 502
        return _error(status, exc.code, str(exc),
                      "Nothing was stored. Give the schema as SDL or introspection JSON "
                      "(schema / introspectionJson) if the endpoint cannot be introspected.")
    status = getattr(exc, "http_status", None)
    if isinstance(status, int):
        return _error(status, str(getattr(exc, "code", "error")), str(exc) or type(exc).__name__,
                      getattr(exc, "hint", None))
    raise exc


def _str_map(body: dict[str, Any], key: str) -> dict[str, str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise GraphqlInputError(f"{key} must be an object of string values")
    return dict(value)


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise GraphqlInputError(f"{key} must be a string")
    return value


async def prepare_add(body: Any, *, timeout_s: float = 30.0) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    """Check an add request and build the integration row and blobs (may introspect)."""
    if not isinstance(body, dict):
        raise GraphqlInputError("the body must be a JSON object")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise GraphqlInputError("endpoint is required: the GraphQL URL")
    endpoint = check_endpoint(endpoint)
    schema_text = _opt_str(body, "schema")
    introspection_json = _opt_str(body, "introspectionJson")
    if schema_text is not None and introspection_json is not None:
        raise GraphqlInputError("give schema or introspectionJson, not both")
    headers = _str_map(body, "headers")
    query_params = _str_map(body, "queryParams")
    template = normalize(body.get("authenticationTemplate") or [])
    text = schema_text if schema_text is not None else introspection_json
    needs_auth = any(m["kind"] != "none" for m in template)
    introspection = None
    if text is not None or not needs_auth:
        introspection = await load_schema(
            endpoint, schema_text=text,
            schema_source="schema" if schema_text is not None else "introspectionJson",
            headers=headers, query_params=query_params, timeout_s=timeout_s)
    return build_integration(
        endpoint, introspection, slug=_opt_str(body, "slug"), name=_opt_str(body, "name"),
        description=_opt_str(body, "description"), headers=headers, query_params=query_params,
        authentication_template=template)


def _catalog(request: Any) -> Any:
    return request.app.state.services.catalog


async def _config_of(catalog: Any, slug: str) -> dict[str, Any] | None:
    """The integration's stored config when it is a GraphQL one, else None."""
    getter = getattr(catalog, "integration_config", None)
    try:
        if callable(getter):
            config, plugin_id = await asyncio.to_thread(getter, slug)
        else:  # the catalog's plumbing, until it offers integration_config
            row = await asyncio.to_thread(catalog._integration_row, slug)
            config, plugin_id = catalog.plugin_integration(row).config, row.plugin_id
    except Exception as exc:
        if getattr(exc, "http_status", None) == 404:
            return None
        raise
    return config if plugin_id == "graphql" and isinstance(config, dict) else None


def _set_config(catalog: Any, slug: str, config: dict[str, Any]) -> None:
    """Replace the integration's config: the catalog's own call when it has one, else the
    row in place through the store (only ``config``/``updated_at`` change; tools, connections
    and policies stay)."""
    setter = getattr(catalog, "set_integration_config", None)
    if callable(setter):
        setter(slug, config)
        return
    import json

    from executor_local.store import tables
    from executor_local.store.ids import now_ms

    with catalog.db.write() as conn:
        tables.update(conn, "integration",
                      {"config": json.dumps(config, separators=(",", ":")),
                       "updated_at": now_ms()},
                      "tenant = ? AND slug = ?", (catalog.tenant, slug))


class SlugTaken(GraphqlInputError):
    http_status = 409
    code = "slug_taken"
    hint = "Pick another slug, or remove the existing one first; nothing was changed."


async def _refuse_taken_slug(catalog: Any, body: Any) -> None:
    """Refuse an existing slug before introspecting (the catalog checks again on write)."""
    from executor_local.integrations.graphql.add import slug_from_endpoint

    if not isinstance(body, dict) or not isinstance(body.get("endpoint"), str):
        return
    slug = body.get("slug") or slug_from_endpoint(body["endpoint"])
    if not isinstance(slug, str) or not callable(getattr(catalog, "integration", None)):
        return
    try:
        await asyncio.to_thread(catalog.integration, slug)
    except Exception as exc:
        if getattr(exc, "http_status", None) == 404:
            return
        raise
    raise SlugTaken(f"an integration {slug!r} already exists")


async def add_integration(request: Any) -> Any:
    from starlette.responses import JSONResponse

    try:
        body = await request.json()
    except ValueError:
        return _error(400, "invalid_input", "the body is not JSON")
    try:
        await _refuse_taken_slug(_catalog(request), body)
        row, blobs = await prepare_add(body)
        added = await _catalog(request).add_integration(
            row["slug"], "graphql", description=row["description"], config=row["config"],
            blobs=blobs, can_refresh=True)
    except Exception as exc:
        return _from_exception(exc)
    tool_count = added.get("toolCount", 0) if isinstance(added, dict) else 0
    log.info("added graphql integration %s (%s)", row["slug"], row["config"]["endpoint"])
    return JSONResponse({"slug": row["slug"], "name": row["config"]["name"],
                         "toolCount": tool_count}, status_code=200)


async def get_integration(request: Any) -> Any:
    from starlette.responses import JSONResponse

    try:
        config = await _config_of(_catalog(request), request.path_params["slug"])
    except Exception as exc:
        return _from_exception(exc)
    return JSONResponse(config)


async def get_config(request: Any) -> Any:
    from starlette.responses import JSONResponse

    try:
        config = await _config_of(_catalog(request), request.path_params["slug"])
    except Exception as exc:
        return _from_exception(exc)
    return JSONResponse(config_view(config) if config is not None else None)


async def configure(request: Any) -> Any:
    from starlette.responses import JSONResponse

    slug = request.path_params["slug"]
    catalog = _catalog(request)
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "invalid_input", "the body is not JSON")
    try:
        if not isinstance(body, dict) or "authenticationTemplate" not in body:
            raise GraphqlInputError("the body must be {authenticationTemplate, mode?}")
        mode = body.get("mode", "merge")
        if mode not in ("merge", "replace"):
            raise GraphqlInputError("mode must be merge or replace")
        config = await _config_of(catalog, slug)
        if config is None:
            return _error(404, "not_found", f"no GraphQL integration {slug!r}",
                          "List them with: executor integrations list")
        methods = (normalize(body["authenticationTemplate"]) if mode == "replace" else
                   merge(list(config.get("authenticationTemplate") or []),
                         body["authenticationTemplate"]))
        await asyncio.to_thread(_set_config, catalog, slug,
                                {**config, "authenticationTemplate": methods})
    except Exception as exc:
        return _from_exception(exc)
    return JSONResponse({"authenticationTemplate": methods})


def _put_snapshot(catalog: Any, slug: str, config: dict[str, Any], text: str,
                  sha: str) -> None:
    """Store a snapshot blob and point the config at it, in one write."""
    import json

    from executor_local.store import tables
    from executor_local.store.ids import blob_namespace, now_ms

    with catalog.db.write() as conn:
        tables.put_blob(conn, blob_namespace(catalog.tenant, "org", "graphql"),
                        f"introspection/{sha}", text)
        tables.update(conn, "integration",
                      {"config": json.dumps({**config, "introspectionHash": sha},
                                            separators=(",", ":")),
                       "updated_at": now_ms()},
                      "tenant = ? AND slug = ?", (catalog.tenant, slug))


async def refresh(request: Any) -> Any:
    """``POST /api/graphql/integrations/:slug/refresh {schema?}``: take the schema again — from
    ``schema`` (SDL or introspection JSON) when given, else by introspecting the endpoint with
    the first connection's credentials — and re-list every connection's tools. A stored
    snapshot otherwise stays as it is (Executor never re-introspects one), so this is how a
    changed upstream schema reaches the catalog. On failure the old snapshot stays."""
    from starlette.responses import JSONResponse

    from executor_local.integrations.graphql.introspect import schema_from_file, snapshot

    slug = request.path_params["slug"]
    catalog = _catalog(request)
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        return _error(400, "invalid_input", "the body is not JSON")
    try:
        if not isinstance(body, dict):
            raise GraphqlInputError("the body must be a JSON object: {schema?}")
        schema_text = _opt_str(body, "schema")
        config = await _config_of(catalog, slug)
        if config is None:
            return _error(404, "not_found", f"no GraphQL integration {slug!r}",
                          "List them with: executor integrations list")
        conns = await asyncio.to_thread(catalog.connections, slug)
        if schema_text is not None:
            text, sha = snapshot(schema_from_file(schema_text, source="schema"))
            await asyncio.to_thread(_put_snapshot, catalog, slug, config, text, sha)
        elif not conns:
            return _error(409, "no_connection",
                          f"{slug!r} has no connection to introspect with",
                          "Add one (executor connections add), or give the schema.")
        else:  # no snapshot: the first listing introspects live and keeps what it got
            await asyncio.to_thread(_set_config, catalog, slug, {
                k: v for k, v in config.items() if k != "introspectionHash"})
        done = []
        try:
            for c in conns:
                out = await catalog.refresh_connection(c["owner"], slug, c["name"])
                done.append({"owner": c["owner"], "name": c["name"],
                             "toolCount": out.get("toolCount")})
        except Exception:
            now = await _config_of(catalog, slug)
            if now is not None and not now.get("introspectionHash"):
                await asyncio.to_thread(_set_config, catalog, slug, config)
            raise
        after = await _config_of(catalog, slug) or {}
    except Exception as exc:
        return _from_exception(exc)
    sha = after.get("introspectionHash")
    return JSONResponse({"introspectionHash": sha,
                         "changed": sha != config.get("introspectionHash"),
                         "connections": done})


def routes(prefix: str = "/api") -> list[Any]:
    """The starlette routes, under ``prefix`` (mount them in the daemon's app)."""
    from starlette.routing import Route

    base = f"{prefix}/graphql/integrations"
    return [
        Route(base, add_integration, methods=["POST"]),
        Route(base + "/{slug}", get_integration, methods=["GET"]),
        Route(base + "/{slug}/config", get_config, methods=["GET"]),
        Route(base + "/{slug}/config", configure, methods=["POST"]),
        Route(base + "/{slug}/refresh", refresh, methods=["POST"]),
    ]


def router(services: Any = None, prefix: str = "/api") -> Any:
    """A Router with these routes; ``services`` is unused (handlers read it from
    ``request.app.state.services``) and accepted so it mounts like the other routers."""
    from starlette.routing import Router

    return Router(routes=routes(prefix))
