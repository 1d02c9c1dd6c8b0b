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

Telling a v1 file from a v2, newer or unknown one is ``classify``'s job; the fold of the per-plugin
tables is ``v1.fold``'s.
"""

from __future__ import annotations

import re
import sqlite3
import time

from executor_local.errors import DataTooNew
from executor_local.migrate.rows import query_all, table_names
from executor_local.migrate.v1.classify import is_v1_shape
from executor_local.migrate.v1.fold import Fold
from executor_local.store.schema import table_columns

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

_SKIPPABLE = re.compile(r"already exists|duplicate column name", re.IGNORECASE)


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
        fold = Fold(conn, now, warnings)
        fold.run()
        conn.execute("RELEASE v1_forms")
    except BaseException:
        conn.execute("ROLLBACK TO v1_forms")
        conn.execute("RELEASE v1_forms")
        raise
    warnings.extend(unknown_schema_warnings(conn))
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


# Tables a v1 file may hold that carry no data of their own.
_BOOKKEEPING = ("__drizzle_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat2",
                "sqlite_stat3", "sqlite_stat4")


def unknown_schema_warnings(conn: sqlite3.Connection) -> list[str]:
    """One warning per table, and per column of a known table, that v1-final does not have
    (a person's own table, a column a tool added): the migration does not carry them to v2,
    but they stay, with their rows, in the backup of the v1 data."""
    reference = _reference_columns()
    out: list[str] = []
    for table in sorted(table_names(conn)):
        if table in _BOOKKEEPING:
            continue
        if table not in reference:
            rows = query_all(conn, f'SELECT COUNT(*) FROM "{table}"')[0][0]
            out.append(f"v1 table {table} ({rows} rows) is not part of Executor's v1 schema and "
                       "is not migrated; it stays, with its rows, in the backup "
                       "data.db.v1-v2-<ms>-<nonce>")
            continue
        known = {name for name, _decl in reference[table]}
        extra = sorted(set(table_columns(conn, table)) - known)
        if extra:
            out.append(f"v1 table {table} has column(s) {', '.join(extra)} that Executor's v1 "
                       "schema does not; they are not migrated and stay in the backup "
                       "data.db.v1-v2-<ms>-<nonce>")
    return out


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
