"""The contract between the catalog and one kind of integration (openapi, mcp, graphql).

A plugin turns an integration's ``config`` (the v2 ``integration.config`` JSON, as Executor and
our migrator write it) into tools, and runs one tool call. It never touches the store: the
catalog hands it what it needs (config, blobs, the binding kept in ``plugin_storage``, resolved
credentials) and stores what it returns. That keeps plugins testable against a real upstream
with no database, and keeps ``migrate/`` (which must not import this package) from drifting.

Every tool run ends in one envelope (design §9), never an exception:
``{"ok": True, "data": ..., "http": {"status", "headers"}?}`` or
``{"ok": False, "error": {"code", "message", "status"?, "details"?, "retryable"?}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Json = Any
Envelope = dict[str, Any]

# Error codes a plugin uses in ``error.code`` (the catalog adds its own: tool_not_found,
# blocked, declined, invalid_arguments, ...). Keep them snake_case and stable: clients
# branch on them.
UPSTREAM_UNREACHABLE = "upstream_unreachable"  # refused, DNS, TLS: retryable
UPSTREAM_TIMEOUT = "upstream_timeout"  # retryable
UPSTREAM_ERROR = "upstream_error"  # a non-2xx answer: retryable when 5xx/429
INVALID_RESPONSE = "invalid_response"  # body does not parse as it says
RESPONSE_TOO_LARGE = "response_too_large"
TOO_MANY_REDIRECTS = "too_many_redirects"
INVALID_ARGUMENTS = "invalid_arguments"
MISSING_CREDENTIALS = "missing_credentials"


def ok(data: Json, http: Mapping[str, Any] | None = None) -> Envelope:
    out: Envelope = {"ok": True, "data": data}
    if http is not None:
        out["http"] = dict(http)
    return out


def fail(code: str, message: str, *, status: int | None = None, details: Json = None,
         retryable: bool | None = None) -> Envelope:
    error: dict[str, Any] = {"code": code, "message": message or code}
    if status is not None:
        error["status"] = status
    if details is not None:
        error["details"] = details
    if retryable is not None:
        error["retryable"] = retryable
    return {"ok": False, "error": error}


@dataclass(frozen=True)
class ToolSpec:
    """One tool as a plugin produces it; the catalog stores it once per connection.

    ``name`` is the tool's part of the address (``pets.listPets``, ``query.books``, or the
    upstream MCP tool name). ``binding`` is plugin-private data the plugin needs again at
    invoke time; the catalog keeps it in ``plugin_storage`` (collection ``binding_collection``,
    key ``<integration>.<name>``) exactly as Executor does. ``annotations`` holds
    ``requiresApproval`` / ``approvalDescription`` and plugin stamps.
    """

    name: str
    description: str
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)
    binding: dict[str, Any] | None = None


@dataclass(frozen=True)
class Listing:
    """What ``list_tools`` returns: the tools and the shared ``$defs`` they reference
    (stored in the ``definition`` table, one row per name, per connection)."""

    tools: list[ToolSpec]
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # What the plugin learned that the catalog should keep (optional, may be ignored): blobs
    # to put in the integration's plugin namespace (key -> text), and the integration config
    # to store in place of the current one (GraphQL: a lazily introspected snapshot and the
    # config pointing at it, so the next boot needs no network).
    blobs: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] | None = None


@dataclass(frozen=True)
class Credentials:
    """A connection's credentials, resolved: the auth method it uses (one entry of
    ``config.authenticationTemplate``) and the secret values by variable name.

    The values are secrets: never log them, never put them in an error or envelope.
    """

    method: dict[str, Any] | None = None
    values: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # a stray log line must not carry a secret
        slug = (self.method or {}).get("slug")
        return f"Credentials(method={slug!r}, variables={sorted(self.values)})"


@dataclass(frozen=True)
class Integration:
    """The integration row a plugin sees."""

    slug: str
    plugin_id: str
    description: str
    config: dict[str, Any]


@dataclass(frozen=True)
class PluginEnv:
    """Services the catalog lends a plugin for one call.

    ``blob(key)`` reads this integration's plugin blob namespace (``spec/<sha256>`` for
    OpenAPI, ``introspection/<sha256>`` for GraphQL); ``log`` is the daemon logger name to use.
    """

    blob: Callable[[str], str | None]
    timeout_s: float = 60.0
    max_response_bytes: int = 10 * 1024 * 1024
    log: str = "executor.integrations"


@dataclass(frozen=True)
class ToolCall:
    integration: Integration
    connection: str
    tool: str
    args: dict[str, Any]
    binding: dict[str, Any] | None
    input_schema: dict[str, Any] | None
    credentials: Credentials


class Plugin(Protocol):
    plugin_id: str
    binding_collection: str  # "operation" for openapi and graphql, "binding" for mcp

    async def list_tools(self, integration: Integration, credentials: Credentials,
                         env: PluginEnv) -> Listing:
        """The tools of this integration as seen with these credentials."""
        ...

    async def invoke(self, call: ToolCall, env: PluginEnv) -> Envelope:
        """Run one tool call; always an envelope, never an exception for upstream failures."""
        ...


def placements(credentials: Credentials) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Headers, query parameters and environment variables the credentials put on a request.

    A placement is ``{carrier: header|query|env|cookie, name, prefix?, variable?, literal?}``;
    its value is ``prefix + values[variable or "token"]`` (or ``literal``).
    """
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    env: dict[str, str] = {}
    for place in (credentials.method or {}).get("placements") or []:
        if not isinstance(place, dict) or not place.get("name"):
            continue
        if "literal" in place and place["literal"] is not None:
            value = str(place["literal"])
        else:
            variable = place.get("variable") or "token"
            if variable not in credentials.values:
                continue
            value = f"{place.get('prefix') or ''}{credentials.values[variable]}"
        carrier = place.get("carrier", "header")
        if carrier == "query":
            query[place["name"]] = value
        elif carrier == "env":
            env[place["name"]] = value
        elif carrier == "cookie":
            prev = headers.get("Cookie")
            headers["Cookie"] = f"{prev}; {place['name']}={value}" if prev else (
                f"{place['name']}={value}")
        else:
            headers[place["name"]] = value
    return headers, query, env
