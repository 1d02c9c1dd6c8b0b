"""Getting a GraphQL schema: live introspection over HTTP, or a schema file (SDL or an
introspection JSON) for servers that switch introspection off.

Either way the result is one introspection dict (``{"__schema": ...}``), kept as a blob the
way Executor keeps it: the text ``{"data": <introspection>}`` in compact JSON, addressed by
the sha256 of that text (``introspection/<sha256>``), so the same schema is stored once and
Executor 1.5.9+ can read what we write.

httpx and graphql-core are imported inside the functions: nothing here may load before READY.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from executor_local.integrations.base import (
    UPSTREAM_ERROR,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNREACHABLE,
)

INTROSPECTION_PREFIX = "introspection/"
MAX_INTROSPECTION_BYTES = 64 * 1024 * 1024  # GitHub's full schema is ~10 MB
FILE_HINT = (" (if the server disables introspection, add the integration from a schema file: "
             "SDL or introspection JSON)")


class GraphqlSchemaError(ValueError):
    """A schema could not be had: the endpoint refused or failed introspection, or a schema
    file does not parse. ``code`` is the envelope error code, ``retryable`` whether trying
    again later may help; the message names the endpoint or file position and the cause."""

    def __init__(self, message: str, *, code: str = "graphql_introspection_failed",
                 retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.status = status


def introspection_query() -> str:
    """The standard full introspection query (descriptions included), so the snapshot can be
    rebuilt into a schema that validates documents locally."""
    from graphql import get_introspection_query

    return get_introspection_query(descriptions=True)


def with_query(endpoint: str, query_params: Mapping[str, str] | None) -> str:
    """The endpoint with extra query parameters set (an apikey placed in the query)."""
    if not query_params:
        return endpoint
    import httpx

    return str(httpx.URL(endpoint).copy_merge_params(dict(query_params)))


def _scrub(text: str, secrets: list[str]) -> str:
    """``text`` without any of the request's header or query values (an upstream may echo
    the credential it refused; an exception may quote the URL)."""
    for value in sorted((v for v in secrets if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text


def _first_error(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for err in body["errors"]:
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])
    return None


async def introspect(endpoint: str, headers: Mapping[str, str] | None = None, *,
                     query_params: Mapping[str, str] | None = None,
                     timeout_s: float = 30.0,
                     max_bytes: int = MAX_INTROSPECTION_BYTES) -> dict[str, Any]:
    """POST the introspection query to ``endpoint`` and return ``{"__schema": ...}``.

    ``headers`` may carry secret values (from a connection's placements): they go on the
    request only, never into an error message. Raises GraphqlSchemaError naming the endpoint
    and what went wrong (unreachable, timeout, HTTP status, introspection disabled, ...).
    """
    import httpx

    request_headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "User-Agent": "executor-graphql"}
    request_headers.update(headers or {})
    url = with_query(endpoint, query_params)
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
            client.stream("POST", url, json={"query": introspection_query()},
                          headers=request_headers) as response,
        ):
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > max_bytes:
                    raise GraphqlSchemaError(
                        f"introspection of {endpoint} is larger than {max_bytes} bytes",
                        code="response_too_large")
    except httpx.TimeoutException as exc:
        raise GraphqlSchemaError(f"introspection of {endpoint} timed out after {timeout_s:g} s",
                                 code=UPSTREAM_TIMEOUT, retryable=True) from exc
    except httpx.InvalidURL as exc:
        raise GraphqlSchemaError(f"endpoint {endpoint!r} is not a valid URL: {exc}",
                                 code="invalid_endpoint") from exc
    except httpx.HTTPError as exc:
        raise GraphqlSchemaError(
            f"cannot reach GraphQL endpoint {endpoint}: {type(exc).__name__}: "
            f"{_scrub(str(exc), [*(headers or {}).values(), *(query_params or {}).values()])}",
            code=UPSTREAM_UNREACHABLE, retryable=True) from None
    try:
        body = json.loads(bytes(raw)) if raw else None
    except ValueError:
        body = None
    upstream = _first_error(body)
    if upstream:
        upstream = _scrub(upstream, [*(headers or {}).values(), *(query_params or {}).values()])
    if response.status_code != 200:
        detail = f": {upstream}" if upstream else ""
        if upstream and response.status_code not in (401, 403):
            detail += FILE_HINT
        raise GraphqlSchemaError(
            f"introspection of {endpoint} failed with HTTP {response.status_code}{detail}",
            code=UPSTREAM_ERROR, status=response.status_code,
            retryable=response.status_code >= 500 or response.status_code == 429)
    if body is None:
        raise GraphqlSchemaError(f"introspection of {endpoint} did not answer JSON",
                                 code="invalid_response")
    if upstream:
        raise GraphqlSchemaError(
            f"introspection of {endpoint} returned errors: {upstream}{FILE_HINT}")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("__schema"), dict):
        raise GraphqlSchemaError(f"introspection of {endpoint} answered without data.__schema")
    return {"__schema": data["__schema"]}


def schema_from_file(text: str, *, source: str = "schema file") -> dict[str, Any]:
    """Read a schema file: an introspection JSON (``{"data": {"__schema"}}``, ``{"__schema"}``)
    or SDL. Returns the introspection dict; raises GraphqlSchemaError with the line and column
    of a syntax error, or what is missing."""
    stripped = text.lstrip()
    if not stripped:
        raise GraphqlSchemaError(f"{source} is empty", code="invalid_schema")
    if stripped.startswith("{"):
        return parse_introspection(text, source=source)
    from graphql import GraphQLError, build_schema, introspection_from_schema

    try:
        schema = build_schema(text)
    except GraphQLError as exc:
        where = ""
        if exc.locations:
            loc = exc.locations[0]
            where = f" at line {loc.line}, column {loc.column}"
        raise GraphqlSchemaError(f"{source} is not valid GraphQL SDL{where}: {exc.message}",
                                 code="invalid_schema") from exc
    except (TypeError, ValueError) as exc:
        raise GraphqlSchemaError(f"{source} is not a usable GraphQL schema: {exc}",
                                 code="invalid_schema") from exc
    if schema.query_type is None:
        raise GraphqlSchemaError(f"{source} defines no Query type", code="invalid_schema")
    return dict(introspection_from_schema(schema))


def parse_introspection(text: str, *, source: str = "introspection") -> dict[str, Any]:
    """Parse an introspection JSON text in any of the shapes people keep it in."""
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise GraphqlSchemaError(f"{source} is not valid JSON: {exc}",
                                 code="invalid_schema") from exc
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), dict):
        parsed = parsed["data"]
    if not isinstance(parsed, dict) or not isinstance(parsed.get("__schema"), dict):
        raise GraphqlSchemaError(f"{source} has no __schema (expected an introspection result)",
                                 code="invalid_schema")
    schema = parsed["__schema"]
    if not isinstance(schema.get("types"), list):
        raise GraphqlSchemaError(f"{source}: __schema.types is missing", code="invalid_schema")
    return {"__schema": schema}


def snapshot(introspection: Mapping[str, Any]) -> tuple[str, str]:
    """The blob text and its sha256 hex, as Executor writes them (``{"data": ...}`` compact)."""
    text = json.dumps({"data": introspection}, separators=(",", ":"), ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def blob_key(sha: str) -> str:
    return f"{INTROSPECTION_PREFIX}{sha}"


def blob_namespace(tenant: str) -> str:
    """The blob namespace of GraphQL snapshots for a tenant (``o:<tenant>/graphql``)."""
    return f"o:{tenant}/graphql"
