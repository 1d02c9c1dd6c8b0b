"""MCP integration configs: read them (Executor's shapes and our migrator's), build them for
``add-mcp``, and turn one plus a connection's credentials into a dial target.

Stored shapes (``integration.config``), as Executor's ``packages/plugins/mcp/src/sdk/types.ts``:
remote ``{"transport": "remote", "endpoint", "remoteTransport": streamable-http|sse|auto,
"headers"?, "queryParams"?, "authenticationTemplate": [...]}`` and stdio ``{"transport": "stdio",
"command", "args"?, "env"?, "cwd"?, "authenticationTemplate"?}``. Secret header, query and env
values never live here: they come from the connection through ``authenticationTemplate``
(``apikey`` placements for remote, ``stdio_env`` ``vars`` for stdio). Static ``env`` may still
carry values our migrator kept from v1, as Executor's legacy shape does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from executor_local.integrations.base import Credentials, placements

REMOTE_TRANSPORTS = ("streamable-http", "sse", "auto")
NONE_METHOD = {"slug": "none", "kind": "none"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class McpConfigError(ValueError):
    """A config or an add request that cannot be used; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RemoteTarget:
    """Where and how to reach a remote server, with the connection's secrets applied."""

    url: str  # endpoint with the query parameters (static and secret) applied
    transport: str  # streamable-http | sse | auto
    headers: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # the connection's values, to scrub from messages

    def __repr__(self) -> str:  # headers and query may carry secrets
        return f"RemoteTarget({redact_url(self.url)!r}, {self.transport}, {sorted(self.headers)})"


@dataclass(frozen=True)
class StdioTarget:
    """A local server to launch; ``env`` merges static and secret values."""

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    secrets: tuple[str, ...] = ()  # the connection's values, to scrub from stderr and errors

    def __repr__(self) -> str:  # env may carry secrets
        return f"StdioTarget({self.command!r}, {list(self.args)!r}, env={sorted(self.env)})"


Target = RemoteTarget | StdioTarget


def redact_url(url: str) -> str:
    """The URL without its query values (they may be credentials), for logs and errors."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query="&".join(f"{n}=…" for n in names)))


def is_stdio(config: dict[str, Any]) -> bool:
    return config.get("transport") == "stdio"


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise McpConfigError(where, f"must be an object of strings, not {type(value).__name__}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, (str, int, float, bool)):
            out[str(key)] = str(item) if not isinstance(item, bool) else str(item).lower()
        # v1 secret refs left in static maps ({"secretId": ...}) are skipped: their values come
        # from the connection now, never from the config.
    return out


def target_for(config: dict[str, Any], credentials: Credentials) -> Target:
    """The dial target of ``config`` with ``credentials`` applied; McpConfigError if unusable."""
    if not isinstance(config, dict):
        raise McpConfigError("config", "must be an object")
    headers, query, env = placements(credentials)
    method = credentials.method or {}
    if method.get("kind") == "stdio_env":
        for var in method.get("vars") or []:
            if isinstance(var, str) and var in credentials.values:
                env[var] = credentials.values[var]
    if is_stdio(config):
        command = config.get("command")
        if not isinstance(command, str) or not command.strip():
            raise McpConfigError(
                "config.command",
                "this stdio MCP integration has no command (Executor 1.5.9's migration drops it; "
                "add the server again with `executor integrations add-mcp --command ...`)")
        args = config.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise McpConfigError("config.args", "must be a list of strings")
        cwd = config.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise McpConfigError("config.cwd", "must be a string")
        merged = {**_string_map(config.get("env"), "config.env"), **env}
        return StdioTarget(command=command, args=tuple(args), env=merged, cwd=cwd or None,
                           secrets=_secret_values(credentials))
    endpoint = config.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise McpConfigError("config.endpoint", "a remote MCP integration needs an endpoint URL")
    transport = config.get("remoteTransport") or "auto"
    if transport not in REMOTE_TRANSPORTS:
        raise McpConfigError("config.remoteTransport",
                             f"{transport!r} is not one of {', '.join(REMOTE_TRANSPORTS)}")
    all_headers = {**_string_map(config.get("headers"), "config.headers"), **headers}
    all_query = {**_string_map(config.get("queryParams"), "config.queryParams"), **query}
    return RemoteTarget(url=with_query(endpoint.strip(), all_query), transport=transport,
                        headers=all_headers, secrets=_secret_values(credentials))


def _secret_values(credentials: Credentials) -> tuple[str, ...]:
    # longest first, so a value containing another is scrubbed whole; short ones are skipped
    # (scrubbing "1" would mangle every message)
    return tuple(sorted({v for v in credentials.values.values() if len(v) >= 4},
                        key=len, reverse=True))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value (and its URL-encoded form) replaced by ``***``."""
    from urllib.parse import quote

    for value in secrets:
        text = text.replace(value, "***").replace(quote(value, safe=""), "***")
    return text


def with_query(url: str, query: dict[str, str]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise McpConfigError("endpoint", f"{redact_url(url)!r} is not an http(s) URL")
    if not query:
        return url
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in query]
    pairs.extend(query.items())
    return urlunsplit(parts._replace(query=urlencode(pairs)))


_KEY = os.urandom(16)  # per process: a pool key cannot be checked against a guessed secret


def fingerprint(slug: str, config: dict[str, Any], credentials: Credentials) -> str:
    """A pool key for one integration as seen with one set of credentials.

    A keyed hash, so the secret values it covers are never held as a key or shown; a changed
    config or a rotated secret gives a new key, hence a fresh session.
    """
    digest = hashlib.blake2b(key=_KEY, digest_size=16)
    digest.update(json.dumps([slug, config, credentials.method, sorted(credentials.values.items())],
                             sort_keys=True, default=str).encode())
    return f"{slug}:{digest.hexdigest()}"


# ------------------------------------------------------------------------------------------------
# Building a config for ``add-mcp`` / ``POST /api/mcp/servers``


def _variable(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "value"
    out, n = base, 1
    while out in taken:
        n += 1
        out = f"{base}_{n}"
    taken.add(out)
    return out


def build_config(request: dict[str, Any]) -> dict[str, Any]:
    """The stored config for an add request, validated; secrets are named, never carried.

    ``request``: ``{"endpoint", "remoteTransport"?, "headers"?: {name: static value},
    "secretHeaders"?: [name], "queryParams"?, "secretQueryParams"?: [name], "auth"?:
    {"kind": "header", "headerName", "prefix"?}}`` or ``{"command", "args"?, "env"?: {name:
    static value}, "secretEnv"?|"envVars"?: [name], "cwd"?}``.
    Executor's own shapes (``transport``, ``authenticationTemplate``) are accepted as they are.
    """
    if not isinstance(request, dict):
        raise McpConfigError("body", "must be a JSON object")
    command = request.get("command")
    endpoint = request.get("endpoint") or request.get("url")
    if command and endpoint:
        raise McpConfigError("body", "give either an endpoint (remote) or a command (stdio), "
                             "not both")
    if request.get("transport") == "stdio" or command:
        return _stdio_config(request)
    if not endpoint:
        raise McpConfigError("endpoint", "give the server's URL, or a command for a local server")
    return _remote_config(request, str(endpoint))


def _names(value: Any, where: str, pattern: re.Pattern[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise McpConfigError(where, "must be a list of names")
    for name in value:
        if not pattern.match(name):
            raise McpConfigError(where, f"{name!r} is not a valid name")
    return list(dict.fromkeys(value))


def _remote_config(request: dict[str, Any], endpoint: str) -> dict[str, Any]:
    transport = request.get("remoteTransport") or request.get("transport") or "auto"
    if transport == "remote":
        transport = "auto"
    if transport not in REMOTE_TRANSPORTS:
        raise McpConfigError("remoteTransport",
                             f"{transport!r} is not one of {', '.join(REMOTE_TRANSPORTS)}")
    with_query(endpoint, {})  # validates the URL
    config: dict[str, Any] = {"transport": "remote", "endpoint": endpoint,
                              "remoteTransport": transport}
    headers = _string_map(request.get("headers"), "headers")
    for name in headers:
        if not _HEADER_NAME.match(name):
            raise McpConfigError("headers", f"{name!r} is not a valid header name")
    query = _string_map(request.get("queryParams"), "queryParams")
    if headers:
        config["headers"] = headers
    if query:
        config["queryParams"] = query
    if isinstance(request.get("authenticationTemplate"), list):
        config["authenticationTemplate"] = request["authenticationTemplate"]
        return config
    prefixes: dict[str, str] = {}
    secret_headers = _names(request.get("secretHeaders"), "secretHeaders", _HEADER_NAME)
    auth = request.get("auth")
    if isinstance(auth, dict) and auth.get("kind") == "header":  # Executor's shorthand
        name = auth.get("headerName")
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise McpConfigError("auth.headerName", "must be a header name")
        secret_headers.append(name)
        if isinstance(auth.get("prefix"), str) and auth["prefix"]:
            prefixes[name] = auth["prefix"]
    found = [("header", n) for n in dict.fromkeys(secret_headers)]
    found += [("query", n) for n in _names(request.get("secretQueryParams"),
                                           "secretQueryParams", re.compile(r"^[^&=#\s]+$"))]
    if not found:
        config["authenticationTemplate"] = [dict(NONE_METHOD)]
        return config
    taken: set[str] = set()
    places = []
    for carrier, name in found:
        place: dict[str, Any] = {"carrier": carrier, "name": name}
        if carrier == "header" and name in prefixes:
            place["prefix"] = prefixes[name]
        if len(found) > 1:
            place["variable"] = _variable(name, taken)
        places.append(place)
    slug = "apikey" if len(found) > 1 else found[0][0]
    config["authenticationTemplate"] = [{"slug": slug, "kind": "apikey", "placements": places}]
    return config


def _stdio_config(request: dict[str, Any]) -> dict[str, Any]:
    command = request.get("command")
    if not isinstance(command, str) or not command.strip():
        raise McpConfigError("command", "a stdio server needs a command")
    args = request.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise McpConfigError("args", "must be a list of strings")
    config: dict[str, Any] = {"transport": "stdio", "command": command}
    if args:
        config["args"] = list(args)
    env = _string_map(request.get("env"), "env")
    for name in env:
        if not _ENV_NAME.match(name):
            raise McpConfigError("env", f"{name!r} is not a valid environment variable name")
    if env:
        config["env"] = env
    cwd = request.get("cwd")
    if cwd is not None:
        if not isinstance(cwd, str) or not cwd:
            raise McpConfigError("cwd", "must be a directory path")
        config["cwd"] = cwd
    if isinstance(request.get("authenticationTemplate"), list):
        config["authenticationTemplate"] = request["authenticationTemplate"]
        return config
    secret = _names(request.get("secretEnv"), "secretEnv", _ENV_NAME)
    secret += [n for n in _names(request.get("envVars"), "envVars", _ENV_NAME)  # Executor's
               if n not in secret]
    clash = sorted(set(secret) & set(env))
    if clash:
        raise McpConfigError("secretEnv", f"{', '.join(clash)} also given a static value")
    config["authenticationTemplate"] = (
        [{"slug": "env", "kind": "stdio_env", "vars": secret}] if secret else [dict(NONE_METHOD)])
    return config


def secret_variables(config: dict[str, Any]) -> list[str]:
    """The variables a connection must supply for the config's first credential method."""
    for method in config.get("authenticationTemplate") or []:
        if not isinstance(method, dict):
            continue
        if method.get("kind") == "stdio_env":
            return [v for v in method.get("vars") or [] if isinstance(v, str)]
        if method.get("kind") == "apikey":
            return list(dict.fromkeys(
                p.get("variable") or "token" for p in method.get("placements") or []
                if isinstance(p, dict) and "literal" not in p))
    return []


def default_method(config: dict[str, Any]) -> dict[str, Any] | None:
    """The first declared method, the one a new connection binds unless told otherwise."""
    for method in config.get("authenticationTemplate") or []:
        if isinstance(method, dict):
            return method
    return None
