"""The v2 schema, byte-compatible with what Executor 1.5.x creates.

The same DDL builds the staging database during a migration and the serving database, so the
two can never drift apart (the TypeScript Executor learned this in its #997).
"""

from __future__ import annotations

import sqlite3

# The ledger row that says "this database is v2; never probe its shape again".
V1_TO_V2_STAMP = "2026-06-11-local-v1-to-v2"

V2_TABLES = (
    "integration",
    "connection",
    "oauth_client",
    "oauth_session",
    "tool",
    "definition",
    "tool_policy",
    "plugin_storage",
    "blob",
    "data_migration",
)

V2_DDL = """
CREATE TABLE IF NOT EXISTS "blob" ("namespace" text NOT NULL, "key" text NOT NULL, "value" text NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "id" text NOT NULL);
CREATE TABLE IF NOT EXISTS "connection" ("integration" text NOT NULL, "name" text NOT NULL, "template" text NOT NULL, "provider" text NOT NULL, "item_ids" text NOT NULL, "identity_label" text, "oauth_client" text, "oauth_client_owner" text, "refresh_item_id" text, "expires_at" blob, "oauth_scope" text, "provider_state" text, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL, identity_override TEXT);
CREATE TABLE IF NOT EXISTS data_migration (name TEXT PRIMARY KEY, time_completed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS "definition" ("integration" text NOT NULL, "connection" text NOT NULL, "plugin_id" text NOT NULL, "name" text NOT NULL, "schema" text NOT NULL, "created_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE TABLE IF NOT EXISTS "integration" ("slug" text NOT NULL, "plugin_id" text NOT NULL, "description" text NOT NULL, "config" text, "can_remove" integer NOT NULL DEFAULT 1, "can_refresh" integer NOT NULL DEFAULT 0, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL);
CREATE TABLE IF NOT EXISTS "oauth_client" ("slug" text NOT NULL, "authorization_url" text NOT NULL, "token_url" text NOT NULL, "grant" text NOT NULL, "client_id" text NOT NULL, "client_secret_item_id" text, "resource" text, "origin_kind" text, "origin_integration" text, "created_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE TABLE IF NOT EXISTS "oauth_session" ("state" text NOT NULL, "client_slug" text NOT NULL, "integration" text NOT NULL, "name" text NOT NULL, "template" text NOT NULL, "redirect_url" text NOT NULL, "pkce_verifier" text, "identity_label" text, "payload" text NOT NULL, "expires_at" blob NOT NULL, "created_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE TABLE IF NOT EXISTS "plugin_storage" ("plugin_id" text NOT NULL, "collection" text NOT NULL, "key" text NOT NULL, "data" text NOT NULL, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE TABLE IF NOT EXISTS "private_executor_local_settings" ("id" text PRIMARY KEY NOT NULL, "version" text NOT NULL DEFAULT '1.0.0');
CREATE TABLE IF NOT EXISTS "tool" ("integration" text NOT NULL, "connection" text NOT NULL, "plugin_id" text NOT NULL, "name" text NOT NULL, "description" text NOT NULL, "input_schema" text, "output_schema" text, "annotations" text, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE TABLE IF NOT EXISTS "tool_policy" ("id" text NOT NULL, "pattern" text NOT NULL, "action" text NOT NULL, "position" text NOT NULL, "created_at" integer NOT NULL, "updated_at" integer NOT NULL, "row_id" text PRIMARY KEY NOT NULL, "tenant" text NOT NULL, "owner" text NOT NULL, "subject" text NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "blob_id_uidx" ON "blob" ("id");
CREATE UNIQUE INDEX IF NOT EXISTS "connection_uidx" ON "connection" ("tenant", "owner", "subject", "integration", "name");
CREATE UNIQUE INDEX IF NOT EXISTS "definition_uidx" ON "definition" ("tenant", "owner", "subject", "integration", "connection", "name");
CREATE UNIQUE INDEX IF NOT EXISTS "integration_uidx" ON "integration" ("tenant", "slug");
CREATE UNIQUE INDEX IF NOT EXISTS "oauth_client_uidx" ON "oauth_client" ("tenant", "owner", "subject", "slug");
CREATE UNIQUE INDEX IF NOT EXISTS "oauth_session_uidx" ON "oauth_session" ("tenant", "state");
CREATE UNIQUE INDEX IF NOT EXISTS "plugin_storage_uidx" ON "plugin_storage" ("tenant", "owner", "subject", "plugin_id", "collection", "key");
CREATE UNIQUE INDEX IF NOT EXISTS "tool_policy_uidx" ON "tool_policy" ("tenant", "owner", "subject", "id");
CREATE UNIQUE INDEX IF NOT EXISTS "tool_uidx" ON "tool" ("tenant", "owner", "subject", "integration", "connection", "name");
"""

# Nullable columns that Executor added to v2 after its baseline; a v2 file from before them gets
# them on open (TS #997). Only columns Executor 1.5.9 itself has, so 1.5.9 can still read our files.
V2_ADDED_COLUMNS = (
    ("connection", "identity_override", "text"),
    ("connection", "oauth_client_owner", "text"),
    ("oauth_client", "origin_kind", "text"),
    ("oauth_client", "origin_integration", "text"),
)


def create_v2_schema(conn: sqlite3.Connection) -> None:
    """Create every v2 table and index that is missing, then add missing nullable columns."""
    # One statement at a time: executescript() would COMMIT the caller's open transaction.
    for statement in V2_DDL.split(";\n"):
        if statement.strip():
            conn.execute(statement).close()
    for table, column, decl in V2_ADDED_COLUMNS:
        if column not in table_columns(conn, table):
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {decl}')


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The column names of ``table`` (empty when it does not exist)."""
    cur = conn.execute(f'PRAGMA table_info("{table}")')
    try:
        return {row[1] for row in cur.fetchall()}
    finally:
        cur.close()


def stamp(conn: sqlite3.Connection, name: str, now_ms: int) -> None:
    """Record a finished data migration in the ledger (idempotent)."""
    conn.execute(
        "INSERT OR IGNORE INTO data_migration(name, time_completed) VALUES (?, ?)", (name, now_ms)
    )
