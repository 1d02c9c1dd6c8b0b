"""One GraphQL POST and what its answer means, as a result envelope.

Failure mapping (clients branch on ``error.code``):
- nothing reached the server (refused, DNS, connect timeout): ``upstream_unreachable`` /
  ``upstream_timeout``, retryable;
- the request was sent and the answer did not come: retryable for a query, not for a mutation
  (it may have run; retrying could do it twice);
- 401/403: ``connection_rejected`` (fix the connection, do not retry);
- a body with ``errors``: ``graphql_errors`` with every error and the partial ``data`` in
  ``details``;
- other non-2xx: ``upstream_error``, retryable on 5xx/429; a 2xx that is not JSON:
  ``invalid_response``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from executor_local.integrations.base import (
    INVALID_RESPONSE,
    RESPONSE_TOO_LARGE,
    UPSTREAM_ERROR,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNREACHABLE,
    Envelope,
    fail,
    ok,
)
from executor_local.integrations.graphql.introspect import with_query

GRAPHQL_ERRORS = "graphql_errors"
CONNECTION_REJECTED = "connection_rejected"


def redact(envelope: Envelope, secrets: list[str]) -> Envelope:
    """The envelope with every secret value replaced: an upstream may echo a credential in
    its error body, and an exception text may quote a URL carrying a query-placed key."""
    values = sorted({v for v in secrets if len(v) >= 4}, key=len, reverse=True)
    if not values:
        return envelope
    text = json.dumps(envelope)
    hit = False
    for value in values:
        quoted = json.dumps(value)[1:-1]
        if quoted in text:
            hit = True
            text = text.replace(quoted, "[redacted]")
    return json.loads(text) if hit else envelope


async def post(endpoint: str, document: str, variables: dict[str, Any], *,
               headers: Mapping[str, str], query_params: Mapping[str, str],
               mutation: bool, timeout_s: float, max_bytes: int,
               secrets: list[str] | None = None) -> Envelope:
    """Send ``document`` with ``variables``; always an envelope, never an exception, and
    never one that carries any of ``secrets``."""
    out = await _post(endpoint, document, variables, headers=headers,
                      query_params=query_params, mutation=mutation, timeout_s=timeout_s,
                      max_bytes=max_bytes)
    return redact(out, list(secrets or []))


async def _post(endpoint: str, document: str, variables: dict[str, Any], *,
                headers: Mapping[str, str], query_params: Mapping[str, str],
                mutation: bool, timeout_s: float, max_bytes: int) -> Envelope:
    import httpx

    body: dict[str, Any] = {"query": document}
    if variables:
        body["variables"] = variables
    request_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    request_headers.update(headers)
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
            client.stream("POST", with_query(endpoint, query_params), json=body,
                          headers=request_headers) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return fail(RESPONSE_TOO_LARGE,
                                f"GraphQL response from {endpoint} is larger than "
                                f"{max_bytes} bytes", status=response.status_code,
                                retryable=False)
                chunks.append(chunk)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        code = UPSTREAM_TIMEOUT if isinstance(exc, httpx.ConnectTimeout) else UPSTREAM_UNREACHABLE
        return fail(code, f"cannot reach GraphQL endpoint {endpoint}: {type(exc).__name__}",
                    retryable=True)
    except httpx.TimeoutException as exc:
        return fail(UPSTREAM_TIMEOUT,
                    f"GraphQL endpoint {endpoint} did not answer within {timeout_s:g} s "
                    f"({type(exc).__name__})" + (
                        "; the mutation may have run, check before retrying" if mutation else ""),
                    retryable=not mutation)
    except httpx.InvalidURL as exc:
        return fail("invalid_endpoint", f"endpoint {endpoint!r} is not a valid URL: {exc}",
                    retryable=False)
    except httpx.HTTPError as exc:
        return fail(UPSTREAM_UNREACHABLE,
                    f"GraphQL request to {endpoint} failed: {type(exc).__name__}: {exc}",
                    retryable=not mutation)
    return interpret(endpoint, response.status_code, dict(response.headers), b"".join(chunks))


def interpret(endpoint: str, status: int, headers: dict[str, str], raw: bytes) -> Envelope:
    """The envelope for one HTTP answer of a GraphQL endpoint."""
    try:
        payload: Any = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    http = {"status": status, "headers": headers}
    if status in (401, 403):
        return fail(CONNECTION_REJECTED,
                    f"GraphQL endpoint {endpoint} rejected the credentials with HTTP {status}; "
                    "fix or re-create the connection before retrying",
                    status=status, details={"body": payload if payload is not None else
                                            raw[:2000].decode("utf-8", "replace")},
                    retryable=False)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors:
        first = next((e.get("message") for e in errors
                      if isinstance(e, dict) and e.get("message")), None)
        details: dict[str, Any] = {"errors": errors}
        if isinstance(payload, dict) and payload.get("data") is not None:
            details["data"] = payload["data"]
        return fail(GRAPHQL_ERRORS, str(first or "GraphQL request returned errors"),
                    status=status, details=details, retryable=status >= 500 or status == 429)
    if not 200 <= status < 300:
        return fail(UPSTREAM_ERROR, f"GraphQL request to {endpoint} failed with HTTP {status}",
                    status=status,
                    details={"body": payload if payload is not None else
                             raw[:2000].decode("utf-8", "replace")},
                    retryable=status >= 500 or status == 429)
    if not isinstance(payload, dict):
        return fail(INVALID_RESPONSE,
                    f"GraphQL endpoint {endpoint} answered HTTP {status} with a body that is not "
                    "a JSON object", status=status, retryable=False)
    return ok(payload.get("data"), http=http)
