"""Recognise the generations of a v1 ``data.db`` and bring an older one to the v1-final form.

Executor 1.4.7 writes only legacy drizzle migration 0000: per-plugin tables (``openapi_source``,
``graphql_operation``, ``mcp_binding``, ...) with secret references inline in their JSON. Later
1.4.x releases ran migrations 0001-0012, ending in the v1-final form the planner reads: the
per-plugin rows folded into ``plugin_storage`` (collections ``source``/``operation``/``binding``)
and the inline secret references turned into ``credential_binding`` rows (0008/0011).

We do not have the legacy SQL files, so ``bring_to_v1_final`` is our own idempotent upgrade,
matched row for row against the v1 backups Executor 1.5.9 left after replaying the chain on the
fixtures: create what is missing (``CREATE TABLE IF NOT EXISTS``, missing columns added as
nullable), fold the per-plugin tables (``INSERT OR IGNORE`` on v1's keys, so a re-run or a
half-upgraded file converges), then drop the folded tables as 0011 did. It edits the connection
the caller hands over, which must be a private snapshot copy (the canonical file stays as it was).

Not carried by the fold, each named in a warning when it holds data: in-flight OAuth sessions of
the per-plugin session tables (short-lived; v1-final dropped them too) and any column of a folded
table the v1-final form has no place for. ``openapi_source.invocation_config`` is not one of them:
it is derived from the spec, ``base_url`` and ``headers``, and v2 derives it again.

Generation marker, as in the TS gate (reference §1.5): ``plugin_storage`` present means v1-final,
whatever ``__drizzle_migrations`` says (the crash loop of TS #982 came from trusting an empty one).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from executor_local.errors import DataTooNew
from executor_local.migrate.rows import dumps, loads, query_all, select_dicts, table_names
from executor_local.store.schema import V1_TO_V2_STAMP, table_columns

EMPTY = "empty"
V1 = "v1"
V2 = "v2"
V2_STAMPED = "v2-stamped"
TOO_NEW = "too-new"
UNKNOWN = "unknown"

# The v2 ledger names this program knows: the gate stamp plus what Executor 1.5.9 stamps.
KNOWN_LEDGER_NAMES = (
    V1_TO_V2_STAMP,
    "2026-06-05-auth-config-placements",
    "2026-06-11-openapi-output-envelope-unwrap",
    "2026-06-12-openapi-spec-to-blob",
    "2026-06-12-graphql-introspection-to-blob",
)
# The schema version Executor's local settings table carries; a higher one is a newer program.
KNOWN_SETTINGS_VERSION = (1, 0, 0)

# sha256 of each legacy drizzle file 0000..0012, as the 13-row journal of a v1-final file lists
# them. A journal that is a non-empty strict prefix of this is a normal pre-v1-final database.
LEGACY_CHAIN_HASHES = (
    "a2ee2e503b57407857d69b2970f5b6b574ed20220bd2b4059a8a25b07e99b368",
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

# The v1-final data tables (the schema 1.5.9's v1 backups carry), without the drizzle journal.
V1_FINAL_DDL = """
CREATE TABLE IF NOT EXISTS `blob` (`namespace` text NOT NULL, `key` text NOT NULL,
 `value` text NOT NULL, PRIMARY KEY(`namespace`, `key`));
CREATE TABLE IF NOT EXISTS `connection` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `provider` text NOT NULL, `identity_label` text, `access_token_secret_id` text NOT NULL,
 `refresh_token_secret_id` text, `expires_at` integer, `scope` text, `provider_state` text,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL, `identity_override` text,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `credential_binding` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `source_id` text NOT NULL, `source_scope_id` text NOT NULL,
 `slot_key` text NOT NULL, `kind` text NOT NULL, `text_value` text, `secret_id` text,
 `connection_id` text, `created_at` integer NOT NULL, `updated_at` integer NOT NULL,
 `secret_scope_id` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `definition` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `plugin_id` text NOT NULL, `name` text NOT NULL,
 `schema` text NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `google_discovery_binding` (`id` text NOT NULL,
 `scope_id` text NOT NULL, `source_id` text NOT NULL, `binding` text NOT NULL,
 `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `google_discovery_source` (`id` text NOT NULL,
 `scope_id` text NOT NULL, `name` text NOT NULL, `config` text NOT NULL,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL,
 `auth_kind` text DEFAULT 'none' NOT NULL, `auth_connection_id` text,
 `auth_client_id_secret_id` text, `auth_client_secret_secret_id` text, `auth_scopes` text,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `google_discovery_source_credential_header` (`id` text NOT NULL,
 `scope_id` text NOT NULL, `source_id` text NOT NULL, `name` text NOT NULL,
 `kind` text NOT NULL, `text_value` text, `secret_id` text, `secret_prefix` text,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `google_discovery_source_credential_query_param` (
 `id` text NOT NULL, `scope_id` text NOT NULL, `source_id` text NOT NULL, `name` text NOT NULL,
 `kind` text NOT NULL, `text_value` text, `secret_id` text, `secret_prefix` text,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `oauth2_session` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `strategy` text NOT NULL, `connection_id` text NOT NULL,
 `token_scope` text NOT NULL, `redirect_url` text NOT NULL, `payload` text NOT NULL,
 `expires_at` integer NOT NULL, `created_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `plugin_storage` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `collection` text NOT NULL, `key` text NOT NULL,
 `data` text NOT NULL, `created_at` integer NOT NULL, `updated_at` integer NOT NULL,
 PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `secret` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `name` text NOT NULL, `provider` text NOT NULL, `created_at` integer NOT NULL,
 `owned_by_connection_id` text, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `source` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `plugin_id` text NOT NULL, `kind` text NOT NULL, `name` text NOT NULL, `url` text,
 `can_remove` integer DEFAULT true NOT NULL, `can_refresh` integer DEFAULT false NOT NULL,
 `can_edit` integer DEFAULT false NOT NULL, `created_at` integer NOT NULL,
 `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `tool` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `source_id` text NOT NULL, `plugin_id` text NOT NULL, `name` text NOT NULL,
 `description` text NOT NULL, `input_schema` text, `output_schema` text,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE TABLE IF NOT EXISTS `tool_policy` (`id` text NOT NULL, `scope_id` text NOT NULL,
 `pattern` text NOT NULL, `action` text NOT NULL, `position` text NOT NULL,
 `created_at` integer NOT NULL, `updated_at` integer NOT NULL, PRIMARY KEY(`scope_id`, `id`));
CREATE INDEX IF NOT EXISTS `credential_binding_source_id_idx` ON `credential_binding` (`source_id`);
CREATE INDEX IF NOT EXISTS `plugin_storage_key_idx` ON `plugin_storage` (`key`);
CREATE INDEX IF NOT EXISTS `plugin_storage_plugin_id_collection_idx`
 ON `plugin_storage` (`plugin_id`, `collection`);
CREATE INDEX IF NOT EXISTS `tool_source_id_idx` ON `tool` (`source_id`);
CREATE INDEX IF NOT EXISTS `definition_source_id_idx` ON `definition` (`source_id`);
CREATE INDEX IF NOT EXISTS `tool_policy_scope_id_position_idx`
 ON `tool_policy` (`scope_id`, `position`)
"""

# Per-plugin tables that legacy 0006/0011 dropped after folding them (the session tables are
# short-lived OAuth handshakes, replaced by `oauth2_session`).
SESSION_TABLES = ("openapi_oauth_session", "mcp_oauth_session", "google_discovery_oauth_session")

# Legacy 0007's one-row-per-header tables, folded back into the sources' JSON.
ENTRY_TABLES = (
    "openapi_source_header",
    "openapi_source_query_param",
    "openapi_source_spec_fetch_header",
    "openapi_source_spec_fetch_query_param",
    "graphql_source_header",
    "graphql_source_query_param",
    "mcp_source_header",
    "mcp_source_query_param",
)

_SKIPPABLE = re.compile(r"already exists|duplicate column name", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


# ------------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------------


def classify(conn: sqlite3.Connection) -> str:
    """Say what ``conn`` holds, so the boot path knows whether to migrate, serve or refuse.

    Returns one of ``empty`` (no tables), ``too-new``, ``v2-stamped``, ``v1``, ``v2`` (v2-shaped,
    no stamp yet) or ``unknown``, checked in that order. The stamp beats the shape (reference
    §1.4): residue that looks like v1 never re-triggers a migration once the gate is stamped.

    ``too-new`` rule: the ``data_migration`` ledger holds a name outside ``KNOWN_LEDGER_NAMES``
    whose ``YYYY-MM-DD-`` prefix is later than every known name's (Executor dates its entries and
    only appends them), or a ``private_executor_local_settings.version`` above 1.0.0. An unknown
    name dated on or before our newest (or undated) means a build we cannot place: ``unknown``.
    Both outcomes are refused by the caller; neither is ever migrated or downgraded.
    """
    tables = table_names(conn)
    if not tables:
        return EMPTY
    ledger = _ledger_names(conn) if "data_migration" in tables else set()
    foreign = ledger.difference(KNOWN_LEDGER_NAMES)
    if _newer_than_known(foreign) or _settings_too_new(conn, tables):
        return TOO_NEW
    if foreign:
        return UNKNOWN
    if V1_TO_V2_STAMP in ledger:
        return V2_STAMPED
    if is_v1_shape(conn, tables):
        return V1
    if _is_v2_shape(conn, tables):
        return V2
    return UNKNOWN


def is_v1_shape(conn: sqlite3.Connection, tables: set[str] | None = None) -> bool:
    """The TS gate's shape test: a ``source`` table with ``scope_id``, and no v2 ``connection``
    (``integration`` absent, or ``connection`` lacking ``tenant`` or having ``scope_id``)."""
    tables = table_names(conn) if tables is None else tables
    if "source" not in tables or "scope_id" not in table_columns(conn, "source"):
        return False
    if "integration" not in tables:
        return True
    columns = table_columns(conn, "connection")
    return "tenant" not in columns or "scope_id" in columns


def _is_v2_shape(conn: sqlite3.Connection, tables: set[str]) -> bool:
    if "integration" not in tables or "connection" not in tables:
        return False
    columns = table_columns(conn, "connection")
    return "tenant" in columns and "scope_id" not in columns


def _newer_than_known(names: Iterable[str]) -> bool:
    newest = max(_date_of(name) or "" for name in KNOWN_LEDGER_NAMES)
    return any((_date_of(name) or "") > newest for name in names)


def _date_of(name: str) -> str | None:
    match = _DATE_PREFIX.match(name)
    return match.group(1) if match else None


def _settings_too_new(conn: sqlite3.Connection, tables: set[str]) -> bool:
    if "private_executor_local_settings" not in tables:
        return False
    if "version" not in table_columns(conn, "private_executor_local_settings"):
        return False
    for (version,) in query_all(conn, "SELECT version FROM private_executor_local_settings"):
        if _version_tuple(str(version)) > KNOWN_SETTINGS_VERSION:
            return True
    return False


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.strip().split("."):
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group(0)) if digits else 0)
    return tuple(parts)


def _ledger_names(conn: sqlite3.Connection) -> set[str]:
    if "name" not in table_columns(conn, "data_migration"):
        return set()
    return {str(row[0]) for row in query_all(conn, "SELECT name FROM data_migration")}


# ------------------------------------------------------------------------------------------------
# Bringing an older generation to v1-final
# ------------------------------------------------------------------------------------------------


def bring_to_v1_final(conn: sqlite3.Connection, *, now_ms: int | None = None) -> list[str]:
    """Upgrade the snapshot behind ``conn`` in place to the v1-final form; return warnings.

    Atomic: everything runs inside a savepoint that is rolled back on any error, so a failure
    leaves the snapshot as it was; releasing it commits, unless the caller holds a transaction of
    its own (then the caller commits). Idempotent: a second call changes nothing. ``now_ms``
    stamps the rows the fold creates (legacy 0011 used the boot time in whole seconds; so do we).
    """
    if not is_v1_shape(conn):
        raise DataTooNew(
            "bring_to_v1_final needs a v1 database (a `source` table with `scope_id`)",
            step="migrate",
        )
    now = int(time.time()) * 1000 if now_ms is None else now_ms
    tables = table_names(conn)
    had_marker = "plugin_storage" in tables
    history_ok = _history_is_prefix(conn, tables)
    warnings: list[str] = []
    conn.execute("SAVEPOINT v1_forms")
    try:
        created, added = _ensure_v1_final_schema(conn)
        fold = _Fold(conn, now, warnings)
        fold.run()
        conn.execute("RELEASE v1_forms")
    except BaseException:
        conn.execute("ROLLBACK TO v1_forms")
        conn.execute("RELEASE v1_forms")
        raise
    changed = bool(created or added or fold.rows)
    if not had_marker and not history_ok:
        warnings.insert(
            0,
            "v1 database had unusable drizzle migration history; recovered the v1-final form by "
            f"a tolerant upgrade ({len(created)} tables created, {len(added)} columns added, "
            f"{fold.rows} rows folded).",
        )
    elif had_marker and changed:
        warnings.insert(
            0,
            "v1 database had plugin_storage but was missing parts of the v1-final form; added "
            f"tables {sorted(created)} and columns {sorted(added)}, folded {fold.rows} rows.",
        )
    return warnings


def _history_is_prefix(conn: sqlite3.Connection, tables: set[str]) -> bool:
    if "__drizzle_migrations" not in tables:
        return False
    if "hash" not in table_columns(conn, "__drizzle_migrations"):
        return False
    applied = [
        str(r[0]) for r in query_all(conn, "SELECT hash FROM __drizzle_migrations ORDER BY rowid")
    ]
    n = len(applied)
    return 0 < n < len(LEGACY_CHAIN_HASHES) and tuple(applied) == LEGACY_CHAIN_HASHES[:n]


def _ensure_v1_final_schema(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """Create missing v1-final tables and indexes, add missing columns; say what was done.

    A column that v1-final declares NOT NULL without a default is added as nullable: SQLite
    cannot add it otherwise, and the readers treat NULL as "absent".
    """
    reference = _reference_columns()
    before = table_names(conn)
    created = [t for t in reference if t not in before]
    statements = [s.strip() for s in V1_FINAL_DDL.split(";") if s.strip()]
    for statement in statements:
        if statement.startswith("CREATE TABLE"):
            conn.execute(statement)
    added: list[str] = []
    for table, columns in reference.items():
        if table in created:
            continue
        present = table_columns(conn, table)
        for name, decl in columns:
            if name in present:
                continue
            try:
                conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {decl}')
            except sqlite3.OperationalError as exc:
                if not _SKIPPABLE.search(str(exc)):
                    raise
                continue
            added.append(f"{table}.{name}")
    # Indexes last: one may name a column that was only just added.
    for statement in statements:
        if statement.startswith("CREATE INDEX"):
            conn.execute(statement)
    return created, added


def _reference_columns() -> dict[str, list[tuple[str, str]]]:
    """Column name and an ADD COLUMN declaration for every v1-final table, read off the DDL."""
    mem = sqlite3.connect(":memory:")
    try:
        for statement in V1_FINAL_DDL.split(";"):
            if statement.strip():
                mem.execute(statement)
        out: dict[str, list[tuple[str, str]]] = {}
        names = [r[0] for r in query_all(mem, "SELECT name FROM sqlite_master WHERE type='table'")]
        for table in names:
            cols = []
            for _cid, name, ctype, _notnull, default, _pk in query_all(
                mem, f'PRAGMA table_info("{table}")'
            ):
                decl = ctype or "text"
                if default is not None:
                    decl += f" DEFAULT {default}"
                cols.append((name, decl))
            out[table] = cols
        return out
    finally:
        mem.close()


class _Fold:
    """Fold the per-plugin tables of an older v1 into plugin_storage and credential_binding.

    Shapes follow what legacy 0008/0011 produced on the fixtures: plugin_storage ids are the
    JSON ``[plugin, collection, key]``, binding ids ``[plugin, scope, source, slot]``, slots
    ``header:<lower-case name>`` / ``query_param:<name>`` / ``auth:header``.
    """

    def __init__(self, conn: sqlite3.Connection, now: int, warnings: list[str]) -> None:
        self.conn = conn
        self.now = now
        self.warnings = warnings
        self.tables = table_names(conn)
        self.rows = 0
        self.folded: list[str] = []

    def run(self) -> None:
        self._openapi()
        self._graphql()
        self._mcp()
        self._operations("openapi_operation", "openapi")
        self._operations("graphql_operation", "graphql")
        self._mcp_bindings()
        self._google_auth_columns()
        self._early_bindings()
        self._sessions()
        self._orphan_entries()
        for table in self.folded:
            self.conn.execute(f'DROP TABLE IF EXISTS "{table}"')

    # -- sources ---------------------------------------------------------------------------------

    def _openapi(self) -> None:
        table = "openapi_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "spec", "base_url", "headers", "query_params", "oauth2")
        self._warn_unread(table, {*cols, "invocation_config"})
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            headers = self._merged(row["headers"], "openapi_source_header", scope, sid)
            query = self._merged(row["query_params"], "openapi_source_query_param", scope, sid)
            config: dict[str, Any] = {"spec": row["spec"]}
            if row["base_url"]:
                config["baseUrl"] = row["base_url"]
            headers = self._placements(headers, "header", "openapi", scope, sid)
            query = self._placements(query, "query_param", "openapi", scope, sid)
            if headers:
                config["headers"] = headers
            if query:
                config["queryParams"] = query
            spec_fetch = self._spec_fetch(scope, sid)
            if spec_fetch:
                config["specFetchCredentials"] = spec_fetch
            oauth2 = _json(row["oauth2"])
            if oauth2:
                config["oauth2"] = oauth2
            data = {"namespace": sid, "scope": scope, "name": row["name"], "config": config}
            self._storage("openapi", "source", sid, scope, data, self.now)
        self.folded.append(table)

    def _spec_fetch(self, scope: str, sid: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for suffix, key, slot in (
            ("header", "headers", "spec_fetch_header"),
            ("query_param", "queryParams", "spec_fetch_query_param"),
        ):
            values = self._merged(None, f"openapi_source_spec_fetch_{suffix}", scope, sid)
            values = self._placements(values, slot, "openapi", scope, sid)
            if values:
                out[key] = values
        return out

    def _graphql(self) -> None:
        table = "graphql_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "endpoint", "headers", "query_params", "auth")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            headers = self._merged(row["headers"], "graphql_source_header", scope, sid)
            query = self._merged(row["query_params"], "graphql_source_query_param", scope, sid)
            auth = _json(row["auth"])
            data = {
                "namespace": sid,
                "scope": scope,
                "name": row["name"],
                "endpoint": row["endpoint"],
                "headers": self._placements(headers, "header", "graphql", scope, sid),
                "queryParams": self._placements(query, "query_param", "graphql", scope, sid),
                "auth": self._source_auth(auth, "graphql", scope, sid),
            }
            self._storage("graphql", "source", sid, scope, data, self.now)
        self.folded.append(table)

    def _mcp(self) -> None:
        table = "mcp_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "config")
        self._warn_unread(table, {*cols, "created_at"})
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            config = _json(row["config"])
            if not isinstance(config, dict):
                config = {}
            headers = self._merged(config.get("headers"), "mcp_source_header", scope, sid)
            query = self._merged(config.get("queryParams"), "mcp_source_query_param", scope, sid)
            if headers:
                config["headers"] = self._placements(headers, "header", "mcp", scope, sid)
            if query:
                config["queryParams"] = self._placements(query, "query_param", "mcp", scope, sid)
            if "auth" in config:
                config["auth"] = self._source_auth(config["auth"], "mcp", scope, sid)
            data = {"namespace": sid, "scope": scope, "name": row["name"], "config": config}
            self._storage("mcp", "source", sid, scope, data, self.now)
        self.folded.append(table)

    def _source_auth(self, auth: Any, plugin: str, scope: str, sid: str) -> Any:
        """An MCP/GraphQL ``auth`` block with its inline secret or connection turned into a slot."""
        if not isinstance(auth, dict):
            return {"kind": "none"} if auth is None else auth
        kind = auth.get("kind")
        if kind in ("header", "query") and isinstance(auth.get("secretId"), str):
            slot = f"auth:{kind}"
            self._binding(plugin, scope, sid, slot, "secret", secret_id=auth["secretId"])
            return {
                ("secretSlot" if k == "secretId" else k): (slot if k == "secretId" else v)
                for k, v in auth.items()
            }
        if kind == "oauth2" and isinstance(auth.get("connectionId"), str):
            slot = "auth:oauth2:connection"
            self._binding(
                plugin, scope, sid, slot, "connection", connection_id=auth["connectionId"]
            )
            return {
                ("connectionSlot" if k == "connectionId" else k): (
                    slot if k == "connectionId" else v
                )
                for k, v in auth.items()
            }
        if kind == "oauth2" and not auth.get("connectionSlot"):
            self.warnings.append(
                f"{plugin} source {sid!r} (scope {scope!r}) used OAuth in a form without a v1 "
                "connection row; its tokens migrate as secrets but it must be re-authorised."
            )
        return auth

    def _placements(
        self, values: dict[str, Any], slot_prefix: str, plugin: str, scope: str, sid: str
    ) -> dict[str, Any]:
        """Turn inline ``{"secretId", "prefix"}`` references into ``{"kind": "binding"}`` ones."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            secret_id = None
            if (
                isinstance(value, dict)
                and isinstance(value.get("secretId"), str)
                and value.get("kind") in (None, "secret")
            ):
                secret_id = value["secretId"]
            if secret_id is None:
                out[name] = value
                continue
            slot = f"{slot_prefix}:{name.lower()}"
            placement: dict[str, Any] = {"kind": "binding", "slot": slot}
            if value.get("prefix") is not None:
                placement["prefix"] = value["prefix"]
            out[name] = placement
            self._binding(plugin, scope, sid, slot, "secret", secret_id=secret_id)
        return out

    def _merged(self, raw: Any, table: str, scope: str, sid: str) -> dict[str, Any]:
        """Header/query entries from a JSON column plus the per-row tables of legacy 0007."""
        values = _json(raw) if isinstance(raw, (str, bytes)) else raw
        out: dict[str, Any] = dict(values) if isinstance(values, dict) else {}
        if table not in self.tables:
            return out
        cols = (
            "id",
            "scope_id",
            "source_id",
            "name",
            "kind",
            "text_value",
            "secret_id",
            "secret_prefix",
        )
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols, "scope_id = ? AND source_id = ?", (scope, sid)):
            if row["kind"] == "secret" and row["secret_id"]:
                ref: dict[str, Any] = {"secretId": row["secret_id"]}
                if row["secret_prefix"] is not None:
                    ref["prefix"] = row["secret_prefix"]
                out[row["name"]] = ref
            else:
                out[row["name"]] = row["text_value"] if row["text_value"] is not None else ""
        if table not in self.folded:
            self.folded.append(table)
        return out

    # -- tool metadata ---------------------------------------------------------------------------

    def _operations(self, table: str, plugin: str) -> None:
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "source_id", "binding")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            data = {
                "toolId": row["id"],
                "sourceId": row["source_id"],
                "binding": _json(row["binding"]),
            }
            self._storage(plugin, "operation", row["id"], row["scope_id"], data, self.now)
        self.folded.append(table)

    def _mcp_bindings(self) -> None:
        table = "mcp_binding"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "source_id", "binding", "created_at")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            data = {
                "namespace": row["source_id"],
                "toolId": row["id"],
                "binding": _json(row["binding"]),
            }
            created = row["created_at"] if row["created_at"] is not None else self.now
            self._storage("mcp", "binding", row["id"], row["scope_id"], data, created)
        self.folded.append(table)

    def _google_auth_columns(self) -> None:
        """Move ``config.auth`` of google_discovery_source into the ``auth_*`` columns."""
        if "google_discovery_source" not in self.tables:
            return
        updates = []
        for row in self._rows("google_discovery_source", ("id", "scope_id", "config")):
            config = _json(row["config"])
            if not isinstance(config, dict) or "auth" not in config:
                continue
            auth = config.pop("auth")
            auth = auth if isinstance(auth, dict) else {}
            scopes = auth.get("scopes")
            updates.append(
                (
                    dumps(config),
                    str(auth.get("kind") or "none"),
                    auth.get("connectionId"),
                    auth.get("clientIdSecretId"),
                    auth.get("clientSecretSecretId"),
                    dumps(scopes) if scopes is not None else None,
                    row["scope_id"],
                    row["id"],
                )
            )
        self.conn.executemany(
            "UPDATE google_discovery_source SET config = ?, auth_kind = ?, auth_connection_id = ?,"
            " auth_client_id_secret_id = ?, auth_client_secret_secret_id = ?, auth_scopes = ?"
            " WHERE scope_id = ? AND id = ?",
            updates,
        )
        self.rows += len(updates)

    def _early_bindings(self) -> None:
        """Legacy 0003's ``openapi_source_binding``, folded when its columns are recognisable."""
        table = "openapi_source_binding"
        if table not in self.tables:
            return
        cols = table_columns(self.conn, table)
        if not {"scope_id", "source_id", "slot_key", "secret_id"} <= cols:
            ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"v1 table {table} has a layout this upgrade does not know; its rows {ids} "
                    "were left in place and are not migrated."
                )
            return
        wanted = ("scope_id", "source_id", "slot_key", "secret_id", "connection_id")
        self._warn_unread(table, {*wanted, "id", "created_at", "updated_at", "source_scope_id"})
        for row in self._rows(table, wanted):
            kind = "connection" if row["connection_id"] else "secret"
            self._binding(
                "openapi",
                row["scope_id"],
                row["source_id"],
                row["slot_key"],
                kind,
                secret_id=row["secret_id"],
                connection_id=row["connection_id"],
            )
        self.folded.append(table)

    def _orphan_entries(self) -> None:
        """Name legacy-0007 header/query rows whose source row does not exist (never folded)."""
        for table in ENTRY_TABLES:
            if table not in self.tables:
                continue
            source_table = table.split("_source_")[0] + "_source"
            if source_table in self.tables:
                sql = (
                    f'SELECT e.id FROM "{table}" e WHERE NOT EXISTS (SELECT 1 FROM '
                    f'"{source_table}" s WHERE s.scope_id = e.scope_id AND s.id = e.source_id)'
                )
                ids = [str(r[0]) for r in query_all(self.conn, sql)]
            else:
                ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"v1 table {table} rows {ids} belong to no {source_table} row; "
                    "they are not migrated."
                )
            if table not in self.folded:
                self.folded.append(table)

    def _sessions(self) -> None:
        for table in SESSION_TABLES:
            if table not in self.tables:
                continue
            ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"dropped {len(ids)} in-flight OAuth session row(s) of v1 table {table} "
                    f"({ids}); sessions are short-lived, start the sign-in again."
                )
            self.folded.append(table)

    # -- writes ----------------------------------------------------------------------------------

    def _storage(
        self, plugin: str, collection: str, key: str, scope: str, data: Any, created: int
    ) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO plugin_storage (id, scope_id, plugin_id, collection, key, data,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dumps([plugin, collection, key]),
                scope,
                plugin,
                collection,
                key,
                dumps(data),
                created,
                self.now,
            ),
        )
        self.rows += cur.rowcount
        cur.close()

    def _binding(
        self,
        plugin: str,
        scope: str,
        sid: str,
        slot: str,
        kind: str,
        *,
        secret_id: str | None = None,
        connection_id: str | None = None,
    ) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO credential_binding (id, scope_id, plugin_id, source_id,"
            " source_scope_id, slot_key, kind, text_value, secret_id, connection_id, created_at,"
            " updated_at, secret_scope_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL)",
            (
                dumps([plugin, scope, sid, slot]),
                scope,
                plugin,
                sid,
                scope,
                slot,
                kind,
                secret_id,
                connection_id,
                self.now,
                self.now,
            ),
        )
        self.rows += cur.rowcount
        cur.close()

    # -- reads -----------------------------------------------------------------------------------

    def _rows(
        self, table: str, cols: Iterable[str], where: str = "", params: tuple[Any, ...] = ()
    ) -> list[dict[str, Any]]:
        return select_dicts(self.conn, table, cols, where, params)

    def _ids(self, table: str) -> list[str]:
        key = "id" if "id" in table_columns(self.conn, table) else "rowid"
        return [str(r[0]) for r in query_all(self.conn, f'SELECT "{key}" FROM "{table}"')]

    def _warn_unread(self, table: str, read: set[str]) -> None:
        """Name any column of a folded table that holds data the v1-final form has no place for."""
        key = "id" if "id" in table_columns(self.conn, table) else "rowid"
        for column in sorted(table_columns(self.conn, table) - read - {"scope_id", "id"}):
            ids = [
                str(r[0])
                for r in query_all(
                    self.conn, f'SELECT "{key}" FROM "{table}" WHERE "{column}" IS NOT NULL'
                )
            ]
            if ids:
                self.warnings.append(
                    f"v1 table {table} column {column} holds data for rows {ids} that the "
                    "v1-final form has no place for; it is not migrated."
                )


def _json(value: Any) -> Any:
    """A JSON column of a per-plugin table; text that is not JSON is kept as the text itself."""
    return loads(value, fallback=value)
