"""Generators of Executor v1 databases, so the migration tests run without ``../shared``.

- ``make_v1_final``: the v1-final form (legacy drizzle 0000-0012) with every kind of data the
  planner maps: OpenAPI with a secret binding and an inline spec, an OpenAPI URL spec without
  credentials, GraphQL, remote and stdio MCP, an OAuth connection, Google Discovery, policies,
  blobs, an unreferenced secret; plus the matching scoped ``auth.json``.
- ``make_v1_early``: the form Executor 1.4.7 writes (legacy 0000 only: per-plugin tables with
  inline secret references), shaped like the ``mixed`` fixture.
- ``make_v1_mid``: a mid-chain file with no drizzle history (some 0002-0010 tables, no
  ``plugin_storage``), the case the tolerant upgrade exists for.
- ``make_large_v1``: a synthetic v1-final file of a target size (10-200 MB) for memory and speed
  tests; also ``python tests/v1gen.py --size-mb 50 OUT.db``.

The DDL is embedded (written after the fixtures' ``schemas/*.sql``) and independent of the code
under test, so a wrong table in the upgrade shows up as a difference instead of agreeing with
itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCOPE = "project-0a1b2c3d"
T0 = 1_790_000_000_000

HASH_0000 = "a2ee2e503b57407857d69b2970f5b6b574ed20220bd2b4059a8a25b07e99b368"
CHAIN_TAIL = (
    "a7b2d800ba6f6d73d8d5a60d2c75eab875aaa49a02b89a553cf0690bed2f317f",
    "9809c1e1f43e2a79490687b488a8888832825e243f2bfbde653c35d7598ea189",
    "84cfe9f746871624218184600eb35cc9564ab92eecc9e62aab2189603a86c2cb",
    "a7c90eb5bec35fb5bbb93048d52603fdbfd13572a1ee3fad2c9aef523c8a28e5",
    "11680b481ad356cb042ecfecbf4be050f7c44f182ce3ecbab29267c11a48177f",
    "1ae936839db0a176af4a3f166bed36b9a7b2c656a54b2b3d85093134d07e8022",
    "739afa418aa40adf529fe9cf3e3f46a24164454c579dc0b8a87cfe4cfc6f7165",
    "30dd2eca020f2da6b69934e36f11ab4a974b52bdaff36b7a41a180f471b0269b",
    "4a7d5536769d9e76c612e20d50576ec12ce3b3d9030db8b19969a537f349081a",
    "bf4874f41df946dee0d18b87d9feccd22ad738d53eec28bd55feb54a12a1267a",
    "6f8a9fc3e96a158c019e215d9d7c51a3f5f3e2c65f081c17dbdaf7c0920b250b",
    "eed0264e14a30cadfe3f96c96ffecf5124212165fe76639dc930191b7f69079a",
)

_JOURNAL_DDL = (
    'CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, '
    "created_at numeric)"
)

# Tables common to 1.4.7 and v1-final (as 1.4.7 writes them).
_COMMON_DDL = """
CREATE TABLE `blob` (`namespace` text NOT NULL, `key` text NOT NULL, `value` text NOT NULL,
 PRIMARY KEY(`namespace`, `key`));
CREATE TABLE `definition` (`id` text NOT NULL, `scope_id` text NOT NULL, `source_id` text NOT NULL,
 `plugin_id` text NOT NULL, `name` text NOT NULL, `schema` text NOT NULL,
 `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_binding` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `binding` text NOT NULL, `created_at` integer NOT NULL,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `source` (`id` text NOT NULL, `scope_id` text NOT NULL, `plugin_id` text NOT NULL,
 `kind` text NOT NULL, `name` text NOT NULL, `url` text, `can_remove` integer DEFAULT true NOT NULL,
 `can_refresh` integer DEFAULT false NOT NULL, `can_edit` integer DEFAULT false NOT NULL,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `tool` (`id` text NOT NULL, `scope_id` text NOT NULL, `source_id` text NOT NULL,
 `plugin_id` text NOT NULL, `name` text NOT NULL, `description` text NOT NULL,
 `input_schema` text, `output_schema` text, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE INDEX `tool_source_id_idx` ON `tool` (`source_id`);
CREATE INDEX `definition_source_id_idx` ON `definition` (`source_id`);
CREATE INDEX `source_scope_id_idx` ON `source` (`scope_id`)
"""

# What Executor 1.4.7 writes on top of the common tables (legacy migration 0000).
V1_EARLY_DDL = """
CREATE TABLE `secret` (`id` text NOT NULL, `scope_id` text NOT NULL, `name` text NOT NULL,
 `provider` text NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_oauth_session` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `session` text NOT NULL, `expires_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_source` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `name` text NOT NULL, `config` text NOT NULL, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `graphql_operation` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `binding` text NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `graphql_source` (`id` text NOT NULL, `scope_id` text NOT NULL, `name` text NOT NULL,
 `endpoint` text NOT NULL, `headers` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `mcp_binding` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `binding` text NOT NULL, `created_at` integer NOT NULL,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `mcp_oauth_session` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `session` text NOT NULL, `expires_at` integer NOT NULL, `created_at` integer NOT NULL,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `mcp_source` (`id` text NOT NULL, `scope_id` text NOT NULL, `name` text NOT NULL,
 `config` text NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `openapi_oauth_session` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `session` text NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `openapi_operation` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `binding` text NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `openapi_source` (`id` text NOT NULL, `scope_id` text NOT NULL, `name` text NOT NULL,
 `spec` text NOT NULL, `base_url` text, `headers` text, `oauth2` text,
 `invocation_config` text NOT NULL, PRIMARY KEY(`scope_id`, `id`))
"""

# What the full legacy chain (0000-0012) leaves on top of the common tables.
V1_FINAL_DDL = """
CREATE TABLE `secret` (`id` text NOT NULL, `scope_id` text NOT NULL, `name` text NOT NULL,
 `provider` text NOT NULL, `created_at` integer NOT NULL, `owned_by_connection_id` text,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `connection` (`id` text NOT NULL, `scope_id` text NOT NULL, `provider` text NOT NULL,
 `identity_label` text, `access_token_secret_id` text NOT NULL, `refresh_token_secret_id` text,
 `expires_at` integer, `scope` text, `provider_state` text, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, `identity_override` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `credential_binding` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `source_id` text NOT NULL, `source_scope_id` text NOT NULL,
 `slot_key` text NOT NULL, `kind` text NOT NULL, `text_value` text, `secret_id` text,
 `connection_id` text, `created_at` integer NOT NULL, `updated_at` integer NOT NULL,
 `secret_scope_id` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_source` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `name` text NOT NULL, `config` text NOT NULL, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, `auth_kind` text DEFAULT 'none' NOT NULL,
 `auth_connection_id` text, `auth_client_id_secret_id` text,
 `auth_client_secret_secret_id` text, `auth_scopes` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_source_credential_header` (`id` text NOT NULL,
 `scope_id` text NOT NULL, `source_id` text NOT NULL, `name` text NOT NULL, `kind` text NOT NULL,
 `text_value` text, `secret_id` text, `secret_prefix` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `google_discovery_source_credential_query_param` (`id` text NOT NULL,
 `scope_id` text NOT NULL, `source_id` text NOT NULL, `name` text NOT NULL, `kind` text NOT NULL,
 `text_value` text, `secret_id` text, `secret_prefix` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `oauth2_session` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `strategy` text NOT NULL, `connection_id` text NOT NULL,
 `token_scope` text NOT NULL, `redirect_url` text NOT NULL, `payload` text NOT NULL,
 `expires_at` integer NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `plugin_storage` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `collection` text NOT NULL, `key` text NOT NULL, `data` text NOT NULL,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE `tool_policy` (`id` text NOT NULL, `scope_id` text NOT NULL, `pattern` text NOT NULL,
 `action` text NOT NULL, `position` text NOT NULL, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE INDEX `plugin_storage_key_idx` ON `plugin_storage` (`key`);
CREATE INDEX `plugin_storage_plugin_id_collection_idx` ON `plugin_storage` (`plugin_id`,
 `collection`);
CREATE INDEX `credential_binding_source_id_idx` ON `credential_binding` (`source_id`);
CREATE INDEX `tool_policy_scope_id_position_idx` ON `tool_policy` (`scope_id`, `position`)
"""


@dataclass
class V1Sample:
    """What a generator wrote, for tests to check the migration against."""

    path: Path
    auth_path: Path | None
    scope_id: str
    secrets: dict[str, str] = field(default_factory=dict)  # secret id -> value
    tools: dict[str, int] = field(default_factory=dict)  # source id -> tool rows
    definitions: dict[str, int] = field(default_factory=dict)
    wal_blob: tuple[str, str] | None = None  # (namespace, key) written only into the -wal


# ------------------------------------------------------------------------------------------------
# Shared content
# ------------------------------------------------------------------------------------------------

_STRIPE_SPEC = json.dumps(
    {
        "openapi": "3.1.0",
        "info": {"title": "Stripe (test)", "version": "1.0.0"},
        "servers": [{"url": "https://api.stripe.test/v1"}],
        "paths": {
            "/charges": {
                "get": {"operationId": "charges.list"},
                "post": {"operationId": "charges.create"},
            },
            "/customers/{id}": {"get": {"operationId": "customers.get"}},
        },
    },
    separators=(",", ":"),
)

_ENVELOPE = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "data": {"$ref": "#/$defs/Customer"},
    },
    "required": ["status", "headers", "data"],
    "additionalProperties": False,
}


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _script(conn: sqlite3.Connection, ddl: str) -> None:
    for statement in ddl.split(";"):
        if statement.strip():
            conn.execute(statement)


def _journal(conn: sqlite3.Connection, kind: str, hashes: tuple[str, ...]) -> None:
    if kind == "missing":
        return
    conn.execute(_JOURNAL_DDL)
    if kind == "empty":
        return
    if kind == "foreign":
        hashes = ("f" * 64, "e" * 64)
    conn.executemany(
        'INSERT INTO "__drizzle_migrations" (id, hash, created_at) VALUES (NULL, ?, ?)',
        [(h, 1776367901699 + i) for i, h in enumerate(hashes)],
    )


def _new_db(path: Path) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL").close()
    conn.execute("BEGIN")
    return conn


def _tool(source: str, name: str, plugin: str, desc: str, inp: Any, out: Any, t: int) -> tuple:
    return (
        f"{source}.{name}",
        source,
        plugin,
        name,
        desc,
        _j(inp) if inp is not None else None,
        _j(out) if out is not None else None,
        t,
        t,
    )


def _write_auth(auth_path: Path | None, scope: str, secrets: dict[str, str]) -> Path | None:
    if auth_path is None:
        return None
    auth_path = Path(auth_path)
    auth_path.parent.mkdir(parents=True, exist_ok=True)
    auth_path.write_text(json.dumps({scope: secrets}, indent=2) + "\n", encoding="utf-8")
    return auth_path


def add_wal_blob(path: Path, scope: str = SCOPE) -> tuple[str, str]:
    """Commit a 4 KiB blob row that lives only in ``<path>-wal``: a child process writes it with
    auto-checkpoint off and exits without closing, so no checkpoint moves it to the base file
    (Python's sqlite3 would checkpoint and delete the WAL on a clean close)."""
    namespace, key = f"{scope}/wal-marker", "marker"
    code = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute('INSERT INTO blob (namespace, key, value) VALUES (?, ?, ?)',"
        " (sys.argv[2], sys.argv[3], 'w' * 4096))\n"
        "sys.stdout.flush()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path), namespace, key], check=True)
    return namespace, key


# ------------------------------------------------------------------------------------------------
# v1-final
# ------------------------------------------------------------------------------------------------

ALL_SOURCES = ("stripe", "petstore", "graphql", "mcp_remote", "mcp_stdio", "oauth", "google")


def make_v1_final(
    path: Path,
    *,
    auth_path: Path | None = None,
    scope_id: str = SCOPE,
    sources: tuple[str, ...] = ALL_SOURCES,
    with_wal_row: bool = False,
    journal: str = "full",
) -> V1Sample:
    """A realistic v1-final ``data.db`` and (when ``auth_path`` is given) its scoped auth.json.

    ``journal``: ``full`` (13 rows), ``empty`` (the TS crash-loop state), ``foreign`` or
    ``missing``: the marker (``plugin_storage``) must win whatever it says.
    """
    path = Path(path)
    sample = V1Sample(path=path, auth_path=None, scope_id=scope_id)
    conn = _new_db(path)
    try:
        _journal(conn, journal, (HASH_0000, *CHAIN_TAIL))
        _script(conn, _COMMON_DDL)
        _script(conn, V1_FINAL_DDL)
        writer = _FinalWriter(conn, scope_id, sample)
        for kind in sources:
            getattr(writer, kind)()
        writer.common()
        conn.execute("COMMIT")
    finally:
        conn.close()
    sample.auth_path = _write_auth(auth_path, scope_id, sample.secrets)
    if with_wal_row:
        sample.wal_blob = add_wal_blob(path, scope_id)
    return sample


class _FinalWriter:
    def __init__(self, conn: sqlite3.Connection, scope: str, sample: V1Sample) -> None:
        self.conn = conn
        self.scope = scope
        self.sample = sample
        self.t = T0

    def _tick(self) -> int:
        self.t += 1000
        return self.t

    def source(self, sid: str, plugin: str, name: str, url: str | None, data: Any) -> int:
        t = self._tick()
        self.conn.execute(
            "INSERT INTO source VALUES (?, ?, ?, ?, ?, ?, 1, 0, 1, ?, ?)",
            (sid, self.scope, plugin, plugin, name, url, t, t),
        )
        if data is not None:
            self.storage(plugin, "source", sid, data, t)
        return t

    def storage(self, plugin: str, collection: str, key: str, data: Any, t: int) -> None:
        self.conn.execute(
            "INSERT INTO plugin_storage VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_j([plugin, collection, key]), self.scope, plugin, collection, key, _j(data), t, t),
        )

    def secret(self, sid: str, name: str, value: str, owner: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO secret VALUES (?, ?, ?, 'file', ?, ?)",
            (sid, self.scope, name, self._tick(), owner),
        )
        self.sample.secrets[sid] = value

    def binding(self, plugin: str, source: str, slot: str, kind: str, **refs: Any) -> None:
        t = self._tick()
        self.conn.execute(
            "INSERT INTO credential_binding VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                _j([plugin, self.scope, source, slot]),
                self.scope,
                plugin,
                source,
                self.scope,
                slot,
                kind,
                refs.get("text"),
                refs.get("secret"),
                refs.get("connection"),
                t,
                t,
            ),
        )

    def tools(self, rows: list[tuple]) -> None:
        self.conn.executemany(
            "INSERT INTO tool VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], self.scope, *r[1:]) for r in rows],
        )
        for r in rows:
            self.sample.tools[r[1]] = self.sample.tools.get(r[1], 0) + 1

    def defs(self, source: str, plugin: str, names: dict[str, Any]) -> None:
        t = self._tick()
        self.conn.executemany(
            "INSERT INTO definition VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (f"{source}.{n}", self.scope, source, plugin, n, _j(schema), t)
                for n, schema in names.items()
            ],
        )
        self.sample.definitions[source] = len(names)

    def operations(self, plugin: str, source: str, ops: dict[str, Any]) -> None:
        t = self._tick()
        for name, binding in ops.items():
            tool_id = f"{source}.{name}"
            self.storage(
                plugin,
                "operation",
                tool_id,
                {"toolId": tool_id, "sourceId": source, "binding": binding},
                t,
            )

    # -- the sources -----------------------------------------------------------------------------

    def stripe(self) -> None:
        self.secret("stripe-key", "Stripe key", "sk_test_123")
        config = {
            "spec": _STRIPE_SPEC,
            "baseUrl": "https://api.stripe.test/v1",
            "headers": {
                "Authorization": {
                    "kind": "binding",
                    "slot": "header:authorization",
                    "prefix": "Bearer ",
                },
                "Stripe-Version": "2024-01-01",
            },
        }
        data = {"namespace": "stripe_api", "scope": self.scope, "name": "Stripe", "config": config}
        t = self.source("stripe_api", "openapi", "Stripe", "https://api.stripe.test/v1", data)
        self.binding("openapi", "stripe_api", "header:authorization", "secret", secret="stripe-key")
        amount = {"type": "object", "properties": {"amount": {"type": "integer"}}}
        self.tools(
            [
                _tool(
                    "stripe_api",
                    "charges.create",
                    "openapi",
                    "Create a charge",
                    amount,
                    {"$ref": "#/$defs/Charge"},
                    t,
                ),
                _tool(
                    "stripe_api",
                    "charges.list",
                    "openapi",
                    "List charges",
                    None,
                    {"type": "array", "items": {"$ref": "#/$defs/Charge"}},
                    t,
                ),
                _tool(
                    "stripe_api",
                    "customers.get",
                    "openapi",
                    "Get a customer",
                    {"type": "object", "properties": {"id": {"type": "string"}}},
                    _ENVELOPE,
                    t,
                ),
            ]
        )
        self.defs("stripe_api", "openapi", {"Charge": {"type": "object"}, "Customer": {}})
        self.operations(
            "openapi",
            "stripe_api",
            {
                "charges.create": {"method": "post", "pathTemplate": "/charges", "parameters": []},
                "charges.list": {"method": "get", "pathTemplate": "/charges", "parameters": []},
                "customers.get": {"method": "get", "pathTemplate": "/customers/{id}"},
            },
        )

    def petstore(self) -> None:
        url = "https://petstore.test/openapi.json"
        data = {
            "namespace": "petstore",
            "scope": self.scope,
            "name": "Petstore (renamed)",
            "config": {"spec": url},
        }
        t = self.source("petstore", "openapi", "Petstore", "https://petstore.test/v1", data)
        self.tools(
            [
                _tool("petstore", "pets.list", "openapi", "List pets", None, None, t),
                _tool(
                    "petstore",
                    "pets.get",
                    "openapi",
                    "Get a pet",
                    {"type": "object", "properties": {"id": {"type": "integer"}}},
                    None,
                    t,
                ),
            ]
        )
        self.defs("petstore", "openapi", {"Pet": {"type": "object"}})
        self.operations(
            "openapi",
            "petstore",
            {
                "pets.list": {"method": "get", "pathTemplate": "/pets"},
                "pets.get": {"method": "get", "pathTemplate": "/pets/{id}"},
            },
        )

    def graphql(self) -> None:
        self.secret("graphql-token", "Library GraphQL token", "gql_secret")
        data = {
            "namespace": "library",
            "scope": self.scope,
            "name": "Library GraphQL",
            "endpoint": "https://library.test/graphql",
            "headers": {
                "Authorization": {
                    "kind": "binding",
                    "slot": "header:authorization",
                    "prefix": "Bearer ",
                }
            },
            "queryParams": {},
            "auth": {"kind": "none"},
            "introspectionJson": '{"__schema":{"types":[]}}',
        }
        t = self.source(
            "library", "graphql", "Library GraphQL", "https://library.test/graphql", data
        )
        self.binding("graphql", "library", "header:authorization", "secret", secret="graphql-token")
        self.tools(
            [
                _tool("library", "query.books", "graphql", "List books", None, None, t),
                _tool(
                    "library",
                    "mutation.addBook",
                    "graphql",
                    "Add a book",
                    {"type": "object"},
                    None,
                    t,
                ),
            ]
        )
        self.defs("library", "graphql", {"Book": {"type": "object"}})
        self.operations(
            "graphql",
            "library",
            {
                "query.books": {"kind": "query", "fieldName": "books"},
                "mutation.addBook": {"kind": "mutation", "fieldName": "addBook"},
            },
        )

    def mcp_remote(self) -> None:
        self.secret("mcp-token", "Remote MCP token", "mcp_tok")
        config = {
            "transport": "remote",
            "endpoint": "https://mcp.test/mcp",
            "remoteTransport": "streamable-http",
            "auth": {"kind": "header", "headerName": "X-Token", "secretSlot": "auth:header"},
        }
        data = {"namespace": "remote_mcp", "scope": self.scope, "name": "remote", "config": config}
        t = self.source("remote_mcp", "mcp", "remote", "https://mcp.test/mcp", data)
        self.binding("mcp", "remote_mcp", "auth:header", "secret", secret="mcp-token")
        self._mcp_tools("remote_mcp", t, destructive="wipe")

    def mcp_stdio(self) -> None:
        config = {
            "transport": "stdio",
            "command": "/usr/bin/node",
            "args": ["server.mjs", "--stdio"],
            "env": {"FIXTURE": "1"},
        }
        data = {"namespace": "stdio_mcp", "scope": self.scope, "name": "stdio", "config": config}
        t = self.source("stdio_mcp", "mcp", "stdio", None, data)
        self._mcp_tools("stdio_mcp", t)

    def _mcp_tools(self, source: str, t: int, destructive: str | None = None) -> None:
        names = ["echo"] + ([destructive] if destructive else [])
        rows = []
        for name in names:
            binding: dict[str, Any] = {"toolId": name, "toolName": name, "inputSchema": {}}
            if name == destructive:
                binding["annotations"] = {"destructiveHint": True, "title": "Wipe everything"}
            self.storage(
                "mcp",
                "binding",
                f"{source}.{name}",
                {"namespace": source, "toolId": f"{source}.{name}", "binding": binding},
                t,
            )
            rows.append(_tool(source, name, "mcp", f"The {name} tool", {"type": "object"}, None, t))
        self.tools(rows)

    def oauth(self) -> None:
        self.secret("ctx7-access", "Context7 access token", "at_123", owner="conn-ctx7")
        self.secret("ctx7-refresh", "Context7 refresh token", "rt_456", owner="conn-ctx7")
        config = {
            "transport": "remote",
            "endpoint": "https://mcp.context7.test/mcp",
            "remoteTransport": "streamable-http",
            "auth": {"kind": "oauth2", "connectionSlot": "auth:oauth2:connection"},
        }
        data = {"namespace": "context7", "scope": self.scope, "name": "Context7", "config": config}
        t = self.source("context7", "mcp", "Context7", "https://mcp.context7.test/mcp", data)
        state = {
            "kind": "authorization-code",
            "clientId": "ctx-client",
            "tokenEndpoint": "https://auth.context7.test/oauth/token",
            "authorizationServerUrl": "https://auth.context7.test",
            "scopes": ["read", "write"],
            "resource": "https://mcp.context7.test/mcp",
        }
        self.conn.execute(
            "INSERT INTO connection VALUES (?, ?, 'oauth2', ?, ?, ?, ?, NULL, ?, ?, ?, NULL)",
            (
                "conn-ctx7",
                self.scope,
                "Context7 User",
                "ctx7-access",
                "ctx7-refresh",
                T0 + 3_600_000,
                _j(state),
                t,
                t,
            ),
        )
        self.binding(
            "mcp", "context7", "auth:oauth2:connection", "connection", connection="conn-ctx7"
        )
        self._mcp_tools("context7", t)

    def google(self) -> None:
        t = self._tick()
        config = {
            "name": "Notes (discovery)",
            "discoveryUrl": "https://notes.test/discovery/rest?version=v1",
            "service": "notes",
            "version": "v1",
            "rootUrl": "https://notes.test/",
            "servicePath": "notes/v1/",
        }
        self.conn.execute(
            "INSERT INTO source VALUES ('notes', ?, 'googleDiscovery', 'googleDiscovery', "
            "'Notes (discovery)', 'https://notes.test/', 1, 1, 1, ?, ?)",
            (self.scope, t, t),
        )
        self.conn.execute(
            "INSERT INTO google_discovery_source VALUES ('notes', ?, 'Notes (discovery)', ?, ?, ?,"
            " 'none', NULL, NULL, NULL, NULL)",
            (self.scope, _j(config), t, t),
        )
        for name in ("notes.list", "notes.get"):
            self.conn.execute(
                "INSERT INTO google_discovery_binding VALUES (?, ?, 'notes', ?, ?)",
                (f"notes.{name}", self.scope, _j({"method": "get", "pathTemplate": name}), t),
            )
        self.tools(
            [
                _tool("notes", "notes.list", "googleDiscovery", "List notes", None, None, t),
                _tool("notes", "notes.get", "googleDiscovery", "Get a note", None, None, t),
            ]
        )
        self.defs("notes", "googleDiscovery", {"Note": {"type": "object"}})

    def common(self) -> None:
        self.secret("unused-secret", "An unreferenced secret", "just-sitting-here")
        t = self._tick()
        policies = [
            ("pol-1", "stripe_api.charges.create", "require_approval", "a0"),
            ("pol-2", "library.*", "approve", "a1"),
            ("pol-3", "executor.sources.list", "approve", "a2"),
            ("pol-4", "*", "approve", "a3"),
        ]
        self.conn.executemany(
            "INSERT INTO tool_policy VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, self.scope, p, a, pos, t, t) for i, p, a, pos in policies],
        )
        self.conn.execute(
            "INSERT INTO blob VALUES (?, 'settings', ?)",
            (f"{self.scope}/onepassword", _j({"vault": "Private"})),
        )
        self.storage("onepassword", "settings", "default", {"vault": "Private"}, t)


# ------------------------------------------------------------------------------------------------
# The 1.4.7 form, and a mid-chain form without history
# ------------------------------------------------------------------------------------------------


def make_v1_early(
    path: Path, *, auth_path: Path | None = None, scope_id: str = SCOPE, journal: str = "0000"
) -> V1Sample:
    """What Executor 1.4.7 writes (shaped like the ``mixed`` fixture): per-plugin tables with
    inline secret references, one drizzle journal row (``journal="missing"``/``"empty"`` for the
    tolerant path)."""
    path = Path(path)
    sample = V1Sample(path=path, auth_path=None, scope_id=scope_id)
    conn = _new_db(path)
    try:
        _journal(conn, "full" if journal == "0000" else journal, (HASH_0000,))
        _script(conn, _COMMON_DDL)
        _script(conn, V1_EARLY_DDL)
        _EarlyWriter(conn, scope_id, sample).all()
        conn.execute("COMMIT")
    finally:
        conn.close()
    sample.auth_path = _write_auth(auth_path, scope_id, sample.secrets)
    return sample


class _EarlyWriter:
    def __init__(self, conn: sqlite3.Connection, scope: str, sample: V1Sample) -> None:
        self.conn = conn
        self.scope = scope
        self.sample = sample

    def all(self) -> None:
        s, t = self.scope, T0
        secrets = {
            "petstore-api-key": ("Petstore API key", "pk_live_1"),
            "todos-token": ("Todos bearer token", "todo_tok"),
            "graphql-token": ("Library GraphQL token", "gql_tok"),
            "mcp-remote-token": ("Remote MCP token", "mcp_tok"),
            "unused-secret": ("An unreferenced secret", "just-sitting-here"),
        }
        for sid, (name, value) in secrets.items():
            self.conn.execute("INSERT INTO secret VALUES (?, ?, ?, 'file', ?)", (sid, s, name, t))
            self.sample.secrets[sid] = value
        src = "INSERT INTO source VALUES (?, ?, ?, ?, ?, ?, 1, 0, 1, ?, ?)"
        pet_headers = _j({"X-API-Key": {"secretId": "petstore-api-key"}, "X-Client": "fixture"})
        todo_headers = _j({"Authorization": {"secretId": "todos-token", "prefix": "Bearer "}})
        spec = '{"openapi":"3.1.0","info":{"title":"Todos","version":"1"},"paths":{}}'
        openapi = [
            (
                "petstore",
                "Fixture Petstore",
                "Petstore (renamed)",
                "https://pets.test/openapi.json",
                None,
                pet_headers,
            ),
            (
                "fixture_todos",
                "Todos (inline spec)",
                "Todos (inline spec)",
                spec,
                "https://todo.test/api",
                todo_headers,
            ),
            (
                "petstore_via_call",
                "Fixture Petstore",
                "Fixture Petstore",
                "https://pets.test/openapi.json",
                None,
                "{}",
            ),
        ]
        for sid, source_name, plugin_name, spec_text, base, headers in openapi:
            self.conn.execute(src, (sid, s, "openapi", "openapi", source_name, base, t, t))
            invocation = _j(
                {"baseUrl": base or "https://pets.test/v1", "headers": json.loads(headers)}
            )
            self.conn.execute(
                "INSERT INTO openapi_source VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                (sid, s, plugin_name, spec_text, base, headers, invocation),
            )
            self._tools(sid, "openapi", ["items.list", "items.get"], "openapi_operation")
            self._defs(sid, "openapi", ["Item"])
        self.conn.execute(
            src,
            (
                "library",
                s,
                "graphql",
                "graphql",
                "Library GraphQL",
                "https://library.test/graphql",
                t,
                t,
            ),
        )
        self.conn.execute(
            "INSERT INTO graphql_source VALUES ('library', ?, 'Library GraphQL', ?, ?)",
            (
                s,
                "https://library.test/graphql",
                _j({"Authorization": {"secretId": "graphql-token", "prefix": "Bearer "}}),
            ),
        )
        self._tools("library", "graphql", ["query.books", "mutation.addBook"], "graphql_operation")
        self._defs("library", "graphql", ["Book"])
        mcp = {
            "remote_mcp": {
                "transport": "remote",
                "endpoint": "https://mcp.test/mcp",
                "remoteTransport": "streamable-http",
                "auth": {
                    "kind": "header",
                    "headerName": "X-Fixture-Token",
                    "secretId": "mcp-remote-token",
                },
            },
            "stdio_mcp": {
                "transport": "stdio",
                "command": "/usr/bin/node",
                "args": ["server.mjs", "mcp-stdio"],
                "env": {"FIXTURE": "1"},
            },
        }
        for sid, config in mcp.items():
            self.conn.execute(src, (sid, s, "mcp", "mcp", f"fixture-{sid}", None, t, t))
            self.conn.execute(
                "INSERT INTO mcp_source VALUES (?, ?, ?, ?, ?)",
                (sid, s, f"fixture-{sid}", _j(config), t),
            )
            for name in ("echo", "add"):
                binding = {"toolId": name, "toolName": name, "description": name}
                self.conn.execute(
                    "INSERT INTO mcp_binding VALUES (?, ?, ?, ?, ?)",
                    (f"{sid}.{name}", s, sid, _j(binding), t + 5),
                )
            self._tools(sid, "mcp", ["echo", "add"], None)
        google = {
            "name": "Notes",
            "discoveryUrl": "https://notes.test/discovery",
            "service": "notes",
            "version": "v1",
            "rootUrl": "https://notes.test/",
            "servicePath": "notes/v1/",
            "auth": {"kind": "none"},
        }
        self.conn.execute(
            src,
            (
                "notes",
                s,
                "googleDiscovery",
                "googleDiscovery",
                "Notes",
                "https://notes.test/",
                t,
                t,
            ),
        )
        self.conn.execute(
            "INSERT INTO google_discovery_source VALUES ('notes', ?, 'Notes', ?, ?, ?)",
            (s, _j(google), t, t),
        )
        self.conn.execute(
            "INSERT INTO google_discovery_binding VALUES (?, ?, 'notes', ?, ?)",
            ("notes.notes.list", s, _j({"method": "get"}), t),
        )
        self._tools("notes", "googleDiscovery", ["notes.list"], None)

    def _tools(self, sid: str, plugin: str, names: list[str], op_table: str | None) -> None:
        for name in names:
            self.conn.execute(
                "INSERT INTO tool VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    f"{sid}.{name}",
                    self.scope,
                    sid,
                    plugin,
                    name,
                    f"{name} tool",
                    _j({"type": "object"}),
                    T0,
                    T0,
                ),
            )
            if op_table:
                self.conn.execute(
                    f"INSERT INTO {op_table} VALUES (?, ?, ?, ?)",
                    (f"{sid}.{name}", self.scope, sid, _j({"method": "get"})),
                )
        self.sample.tools[sid] = len(names)

    def _defs(self, sid: str, plugin: str, names: list[str]) -> None:
        for name in names:
            self.conn.execute(
                "INSERT INTO definition VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"{sid}.{name}", self.scope, sid, plugin, name, "{}", T0),
            )
        self.sample.definitions[sid] = len(names)


def make_v1_mid(path: Path, *, auth_path: Path | None = None, scope_id: str = SCOPE) -> V1Sample:
    """A mid-chain v1 with no drizzle history: the 1.4.7 tables plus ``connection`` (0002,
    without 0012's column), ``tool_policy`` (0004) and a 0008-era ``credential_binding``
    (without 0010's ``secret_scope_id``), but no ``plugin_storage`` yet."""
    sample = make_v1_early(path, auth_path=auth_path, scope_id=scope_id, journal="missing")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TABLE `connection` (`id` text NOT NULL, `scope_id` text NOT NULL, "
            "`provider` text NOT NULL, `identity_label` text, `access_token_secret_id` text NOT "
            "NULL, `refresh_token_secret_id` text, `expires_at` integer, `scope` text, "
            "`provider_state` text, `created_at` integer NOT NULL, `updated_at` integer NOT NULL, "
            "PRIMARY KEY(`scope_id`, `id`))"
        )
        conn.execute(
            "CREATE TABLE `tool_policy` (`id` text NOT NULL, `scope_id` text NOT NULL, "
            "`pattern` text NOT NULL, `action` text NOT NULL, `position` text NOT NULL, "
            "`created_at` integer NOT NULL, `updated_at` integer NOT NULL, "
            "PRIMARY KEY(`scope_id`, `id`))"
        )
        conn.execute(
            "INSERT INTO tool_policy VALUES ('p1', ?, 'petstore.items.get', 'require_approval', "
            "'a0', ?, ?)",
            (scope_id, T0, T0),
        )
        conn.execute(
            "CREATE TABLE `credential_binding` (`id` text NOT NULL, `scope_id` text NOT NULL, "
            "`plugin_id` text NOT NULL, `source_id` text NOT NULL, `source_scope_id` text NOT "
            "NULL, `slot_key` text NOT NULL, `kind` text NOT NULL, `text_value` text, "
            "`secret_id` text, `connection_id` text, `created_at` integer NOT NULL, "
            "`updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`))"
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return sample


# ------------------------------------------------------------------------------------------------
# Large synthetic databases
# ------------------------------------------------------------------------------------------------


def _schema_for(i: int, j: int) -> tuple[str, str]:
    props = {
        f"field_{k}": {
            "type": ("string", "integer", "boolean", "number")[(i + j + k) % 4],
            "description": f"Parameter {k} of operation {j} in service {i}; "
            "documented at length so the row looks like a real generated schema.",
        }
        for k in range(12)
    }
    props["filter"] = {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["open", "closed", "pending"]}},
    }
    inp = {
        "type": "object",
        "properties": props,
        "required": ["field_0"],
        "additionalProperties": False,
    }
    out = {"type": "array", "items": {"$ref": f"#/$defs/Model{j % 10}"}}
    return _j(inp), _j(out)


def make_large_v1(
    path: Path, target_bytes: int, *, scope_id: str = SCOPE, auth_path: Path | None = None
) -> dict[str, int]:
    """A v1-final file of about ``target_bytes``: many OpenAPI integrations (half with a secret
    binding), 60 tools each with realistic schemas, operations, definitions and policies.
    Written with ``executemany`` in one transaction, adding integrations until the file reaches
    the target; returns the row counts (and ``bytes``)."""
    path = Path(path)
    conn = _new_db(path)
    counts = {"source": 0, "tool": 0, "definition": 0, "secret": 0, "tool_policy": 0}
    secrets: dict[str, str] = {}
    try:
        _journal(conn, "full", (HASH_0000, *CHAIN_TAIL))
        _script(conn, _COMMON_DDL)
        _script(conn, V1_FINAL_DDL)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        i = 0
        while i < 1 or conn.execute("PRAGMA page_count").fetchone()[0] * page_size < target_bytes:
            _large_source(conn, scope_id, i, counts, secrets)
            i += 1
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    finally:
        conn.close()
    _write_auth(auth_path, scope_id, secrets)
    counts["bytes"] = os.path.getsize(path)
    return counts


def _large_source(
    conn: sqlite3.Connection, scope_id: str, i: int, counts: dict[str, int], secrets: dict[str, str]
) -> None:
    tools_per_source, defs_per_source, t = 60, 10, T0 + i
    sid = f"service_{i:05d}"
    config: dict[str, Any] = {"spec": f"https://apis.test/{sid}/openapi.json"}
    if i % 2 == 0:
        config["headers"] = {
            "Authorization": {
                "kind": "binding",
                "slot": "header:authorization",
                "prefix": "Bearer ",
            }
        }
        conn.execute(
            "INSERT INTO secret VALUES (?, ?, ?, 'file', ?, NULL)",
            (f"{sid}-token", scope_id, f"Service {i} token", t),
        )
        conn.execute(
            "INSERT INTO credential_binding VALUES (?, ?, 'openapi', ?, ?, "
            "'header:authorization', 'secret', NULL, ?, NULL, ?, ?, NULL)",
            (
                _j(["openapi", scope_id, sid, "header:authorization"]),
                scope_id,
                sid,
                scope_id,
                f"{sid}-token",
                t,
                t,
            ),
        )
        secrets[f"{sid}-token"] = f"tok_{i}"
        counts["secret"] += 1
    data = {"namespace": sid, "scope": scope_id, "name": f"Service {i}", "config": config}
    conn.execute(
        "INSERT INTO source VALUES (?, ?, 'openapi', 'openapi', ?, ?, 1, 0, 1, ?, ?)",
        (sid, scope_id, f"Service {i}", f"https://apis.test/{sid}", t, t),
    )
    rows, ops = [], []
    for j in range(tools_per_source):
        name = f"resource{j // 4}.op{j}"
        inp, out = _schema_for(i, j)
        rows.append(
            (
                f"{sid}.{name}",
                scope_id,
                sid,
                "openapi",
                name,
                f"Operation {j} of service {i}",
                inp,
                out,
                t,
                t,
            )
        )
        binding = {
            "toolId": f"{sid}.{name}",
            "sourceId": sid,
            "binding": {
                "method": "get",
                "pathTemplate": f"/r{j}/{{id}}",
                "parameters": [{"name": "id", "location": "path"}],
            },
        }
        ops.append(
            (
                _j(["openapi", "operation", f"{sid}.{name}"]),
                scope_id,
                "openapi",
                "operation",
                f"{sid}.{name}",
                _j(binding),
                t,
                t,
            )
        )
    ops.append((_j(["openapi", "source", sid]), scope_id, "openapi", "source", sid, _j(data), t, t))
    conn.executemany("INSERT INTO tool VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO plugin_storage VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ops)
    conn.executemany(
        "INSERT INTO definition VALUES (?, ?, ?, 'openapi', ?, ?, ?)",
        [
            (f"{sid}.Model{k}", scope_id, sid, f"Model{k}", _schema_for(i, k)[0], t)
            for k in range(defs_per_source)
        ],
    )
    conn.execute(
        "INSERT INTO tool_policy VALUES (?, ?, ?, 'require_approval', ?, ?, ?)",
        (f"pol-{i}", scope_id, f"{sid}.resource0.op0", f"a{i:06d}", t, t),
    )
    counts["source"] += 1
    counts["tool"] += tools_per_source
    counts["definition"] += defs_per_source
    counts["tool_policy"] += 1


# ------------------------------------------------------------------------------------------------
# The real fixtures in ../shared (optional: tests skip when the folder is absent)
# ------------------------------------------------------------------------------------------------

FIXTURES = Path(os.environ.get("EXECUTOR_FIXTURES")
                or Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures")
FIXTURE_CASES = ("empty", "openapi", "mixed", "wal-live")


def copy_db_set(base: Path, dest: Path) -> Path:
    """Copy a SQLite file set (base, ``-wal``, ``-shm``) to ``dest`` (+ the same suffixes).

    Never open a fixture in place: opening checkpoints and deletes its ``-wal``, and the folder
    is read-only. ``copyfile`` leaves the copies writable whatever the originals' modes.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{base}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{dest}{suffix}")
    return dest


def fixture_input(case: str, tmp: Path) -> tuple[Path, Path | None]:
    """A private copy of ``executor-1.4.7/<case>``: (data.db, auth.json or None)."""
    root = FIXTURES / "executor-1.4.7" / case
    db = copy_db_set(root / "data" / "data.db", tmp / "in" / "data.db")
    auth = root / "auth.json"
    return db, (auth if auth.exists() else None)


def fixture_result(case: str, tmp: Path) -> tuple[Path, Path]:
    """Private copies of what Executor 1.5.9 left: (its v2 data.db, its v1-final backup)."""
    data = FIXTURES / "executor-1.5.9-migrated" / case / "data"
    backup = next(
        p
        for p in sorted(data.iterdir())
        if p.name.startswith("data.db.v1-v2-") and not p.name.endswith(("-wal", "-shm"))
    )
    v2 = copy_db_set(data / "data.db", tmp / "ref" / "data.db")
    v1 = copy_db_set(backup, tmp / "ref-v1" / "data.db")
    return v2, v1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic Executor v1 data.db.")
    parser.add_argument("out", type=Path, help="the data.db to write (replaced if present)")
    parser.add_argument("--size-mb", type=float, default=None, help="a large v1-final file")
    parser.add_argument("--form", choices=("final", "early", "mid"), default="final")
    parser.add_argument("--auth", type=Path, default=None, help="also write this auth.json")
    args = parser.parse_args(argv)
    if args.size_mb is not None:
        size = int(args.size_mb * 1024 * 1024)
        print(json.dumps(make_large_v1(args.out, size, auth_path=args.auth)))
        return 0
    maker = {"final": make_v1_final, "early": make_v1_early, "mid": make_v1_mid}[args.form]
    sample = maker(args.out, auth_path=args.auth)
    print(json.dumps({"path": str(sample.path), "tools": sample.tools}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
