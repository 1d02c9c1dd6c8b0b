"""Adding a GraphQL integration: the config row and the snapshot blob Executor would write,
from an endpoint (introspected) or a schema file; and a preview of the tools it would give.

The functions here build values and never touch the store: the route or CLI that calls them
writes the integration row (plugin ``graphql``) and the blob (namespace ``o:<tenant>/graphql``,
see ``introspect.blob_namespace``) through the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from executor_local.integrations.base import Credentials
from executor_local.integrations.graphql import tools as gtools
from executor_local.integrations.graphql.introspect import (
    GraphqlSchemaError,
    blob_key,
    introspect,
    schema_from_file,
    snapshot,
)
from executor_local.integrations.graphql.plugin import request_auth

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class GraphqlInputError(ValueError):
    """Bad input to an add or configure: names the field and why; nothing was changed."""


def slug_from_endpoint(endpoint: str) -> str:
    """Executor's default slug: the endpoint's host name, non-alphanumerics as ``_``."""
    from urllib.parse import urlsplit

    host = urlsplit(endpoint).hostname or ""
    slug = re.sub(r"[^a-z0-9]+", "_", host.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"graphql_{slug}" if slug else "graphql"
    return slug[:63]


def check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise GraphqlInputError(f"slug {slug!r} must be lower-case letters, digits and _, starting "
                         "with a letter (at most 63 characters)")
    return slug


def check_endpoint(endpoint: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GraphqlInputError(f"endpoint {endpoint!r} must be an http(s) URL")
    return endpoint.strip()


def header_template(header_names: Sequence[str]) -> list[dict[str, Any]]:
    """An ``authenticationTemplate`` whose one apikey method places a connection's values in
    these headers. ``NAME`` or ``NAME:PREFIX`` (``Authorization:Bearer ``); with one header
    the value is the connection's ``token``, with several each gets a variable named after
    its header."""
    if not header_names:
        return []
    place: list[dict[str, Any]] = []
    for spec in header_names:
        name, sep, prefix = spec.partition(":")
        name = name.strip()
        if not re.match(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", name):
            raise GraphqlInputError(f"header name {name!r} is not a valid HTTP header name")
        p: dict[str, Any] = {"carrier": "header", "name": name}
        if sep and prefix:
            p["prefix"] = prefix.lstrip() if prefix.strip() else prefix
            if not p["prefix"].endswith(" ") and prefix.endswith(" "):
                p["prefix"] += " "
        if len(header_names) > 1:
            p["variable"] = re.sub(r"[^a-zA-Z0-9]+", "_", name).strip("_").lower() or "token"
        place.append(p)
    slug = "header" if len(place) == 1 else "apikey"
    return [{"slug": slug, "kind": "apikey", "placements": place}]


def build_integration(endpoint: str, introspection: dict[str, Any] | None, *,
                      slug: str | None = None, name: str | None = None,
                      description: str | None = None,
                      headers: Mapping[str, str] | None = None,
                      query_params: Mapping[str, str] | None = None,
                      authentication_template: list[dict[str, Any]] | None = None,
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """The integration (``slug``, ``description``, ``config``) and its blobs.

    Returns ``({"slug", "plugin_id", "description", "config"}, {"introspection/<sha>": text})``;
    ``config`` is Executor's canonical GraphQL config (``endpoint``, ``name``,
    ``introspectionHash``, ``headers``?, ``queryParams``?, ``authenticationTemplate``).
    ``headers`` are static, non-secret headers; secret ones are placements of a connection.
    With ``introspection=None`` (an endpoint that needs a connection's credentials to
    introspect) the config has no snapshot yet: the plugin introspects with the first
    connection's credentials and hands the snapshot back in its Listing.
    """
    endpoint = check_endpoint(endpoint)
    slug = check_slug(slug or slug_from_endpoint(endpoint))
    display = (name or "").strip() or slug
    config: dict[str, Any] = {"endpoint": endpoint, "name": display}
    blobs: dict[str, str] = {}
    if introspection is not None:
        text, sha = snapshot(introspection)
        config["introspectionHash"] = sha
        blobs[blob_key(sha)] = text
    if headers:
        config["headers"] = dict(headers)
    if query_params:
        config["queryParams"] = dict(query_params)
    config["authenticationTemplate"] = list(authentication_template or [])
    schema_description = ((introspection or {}).get("__schema") or {}).get("description")
    desc = ((description or "").strip() or (schema_description or "").strip() or display)
    row = {"slug": slug, "plugin_id": "graphql", "description": desc, "config": config}
    return row, blobs


def preview(introspection: dict[str, Any]) -> dict[str, Any]:
    """What adding would give: the tools (name, description, approval) and the ``$defs``."""
    listing = gtools.listing(introspection)
    return {
        "toolCount": len(listing.tools),
        "tools": [{"name": t.name, "description": t.description,
                   "requiresApproval": bool(t.annotations.get("requiresApproval"))}
                  for t in listing.tools],
        "definitions": sorted(listing.definitions),
    }


async def load_schema(endpoint: str, *, schema_text: str | None = None,
                      schema_source: str = "schema file",
                      headers: Mapping[str, str] | None = None,
                      query_params: Mapping[str, str] | None = None,
                      credentials: Credentials | None = None,
                      authentication_template: list[dict[str, Any]] | None = None,
                      timeout_s: float = 30.0) -> dict[str, Any]:
    """The introspection for an add: from ``schema_text`` when given (no network), else by
    introspecting ``endpoint`` with the static headers and the credentials placed by the
    template's first method. Raises GraphqlSchemaError."""
    if schema_text is not None:
        return schema_from_file(schema_text, source=schema_source)
    config = {"headers": dict(headers or {}), "queryParams": dict(query_params or {})}
    creds = credentials or Credentials()
    if creds.method is None and authentication_template:
        creds = Credentials(method=authentication_template[0], values=creds.values)
    placed_headers, placed_query = request_auth(config, creds)
    return await introspect(endpoint, placed_headers, query_params=placed_query,
                            timeout_s=timeout_s)


__all__ = ["GraphqlInputError", "GraphqlSchemaError", "build_integration", "check_endpoint",
           "check_slug", "header_template", "load_schema", "preview", "slug_from_endpoint"]
