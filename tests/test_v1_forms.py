"""Recognising v1/v2 generations and bringing an older v1 to the v1-final form."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import v1gen
from dbcheck import opened, rows
from executor_local.errors import DataTooNew
from executor_local.migrate.v1 import fold as v1_fold
from executor_local.migrate.v1.classify import (
    EMPTY,
    TOO_NEW,
    UNKNOWN,
    V1,
    V2,
    V2_STAMPED,
    classify,
)
from executor_local.migrate.v1.forms import bring_to_v1_final
from executor_local.store.schema import V1_TO_V2_STAMP, create_v2_schema, stamp

NOW = 1_795_650_715_000
PER_PLUGIN = (
    "openapi_source",
    "openapi_operation",
    "graphql_source",
    "graphql_operation",
    "mcp_source",
    "mcp_binding",
    "openapi_oauth_session",
    "mcp_oauth_session",
    "google_discovery_oauth_session",
)
needs_fixtures = pytest.mark.skipif(
    not v1gen.FIXTURES.is_dir(), reason=f"real Executor fixtures not present at {v1gen.FIXTURES}"
)


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in rows(conn, "SELECT name FROM sqlite_master WHERE type='table'")}


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in rows(conn, f'PRAGMA table_info("{table}")')]


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every table's rows, for "nothing changed" checks."""
    return {t: sorted(rows(conn, f'SELECT * FROM "{t}"'), key=repr) for t in sorted(tables(conn))}


def v1_final_tables() -> set[str]:
    """The table set of v1-final, read off the generator's own (independent) DDL."""
    with closing(sqlite3.connect(":memory:")) as mem:
        for ddl in (v1gen._COMMON_DDL, v1gen.V1_FINAL_DDL):
            for statement in ddl.split(";"):
                if statement.strip():
                    mem.execute(statement)
        return tables(mem)


# ------------------------------------------------------------------------------------------------
# classify
# ------------------------------------------------------------------------------------------------


def test_classify_empty(tmp_path: Path) -> None:
    with opened(tmp_path / "data.db") as conn:
        assert classify(conn) == EMPTY


def test_classify_v1_generations(tmp_path: Path) -> None:
    for maker in (v1gen.make_v1_final, v1gen.make_v1_early, v1gen.make_v1_mid):
        path = tmp_path / f"{maker.__name__}.db"
        maker(path)
        with opened(path) as conn:
            assert classify(conn) == V1, maker.__name__


def test_classify_v2_unstamped_and_stamped(tmp_path: Path) -> None:
    with opened(tmp_path / "data.db") as conn:
        create_v2_schema(conn)
        assert classify(conn) == V2
        stamp(conn, V1_TO_V2_STAMP, NOW)
        assert classify(conn) == V2_STAMPED


def test_stamp_beats_shape(tmp_path: Path) -> None:
    """A stamped database never looks like v1 again, even with a stray v1 `source` table."""
    with opened(tmp_path / "data.db") as conn:
        create_v2_schema(conn)
        stamp(conn, V1_TO_V2_STAMP, NOW)
        conn.execute("CREATE TABLE source (id text, scope_id text)")
        conn.execute("ALTER TABLE connection ADD COLUMN scope_id text")
        assert classify(conn) == V2_STAMPED


def test_v1_with_v1_connection_beside_an_integration_table_is_v1(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_final(path)
    with opened(path) as conn:
        conn.execute("CREATE TABLE integration (slug text)")
        assert classify(conn) == V1  # connection has scope_id, no tenant


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([V1_TO_V2_STAMP, "2026-06-05-auth-config-placements"], V2_STAMPED),
        ([V1_TO_V2_STAMP, "2026-08-28-bigint-storage-class"], TOO_NEW),
        ([V1_TO_V2_STAMP, "2026-06-20-google-openapi-ownership"], TOO_NEW),
        (["2026-07-09-openapi-ndjson-output-arrays"], TOO_NEW),
        ([V1_TO_V2_STAMP, "2026-01-01-somebody-elses-fork"], UNKNOWN),
        ([V1_TO_V2_STAMP, "no-date-at-all"], UNKNOWN),
    ],
)
def test_ledger_rules(tmp_path: Path, names: list[str], expected: str) -> None:
    with opened(tmp_path / "data.db") as conn:
        create_v2_schema(conn)
        for name in names:
            stamp(conn, name, NOW)
        assert classify(conn) == expected


def test_newer_settings_version_is_too_new(tmp_path: Path) -> None:
    with opened(tmp_path / "data.db") as conn:
        create_v2_schema(conn)
        stamp(conn, V1_TO_V2_STAMP, NOW)
        conn.execute(
            "INSERT INTO private_executor_local_settings VALUES ('executor_local', '1.0.0')"
        )
        assert classify(conn) == V2_STAMPED
        conn.execute("UPDATE private_executor_local_settings SET version = '1.1.0'")
        assert classify(conn) == TOO_NEW


def test_anything_else_is_unknown(tmp_path: Path) -> None:
    with opened(tmp_path / "data.db") as conn:
        conn.execute("CREATE TABLE notes (body text)")
        assert classify(conn) == UNKNOWN
        conn.execute("CREATE TABLE source (id text)")  # no scope_id: not the v1 shape
        assert classify(conn) == UNKNOWN


def test_bring_refuses_a_non_v1_database(tmp_path: Path) -> None:
    with opened(tmp_path / "data.db") as conn:
        create_v2_schema(conn)
        with pytest.raises(DataTooNew, match="v1 database"):
            bring_to_v1_final(conn)


# ------------------------------------------------------------------------------------------------
# bring_to_v1_final on generated databases
# ------------------------------------------------------------------------------------------------


def test_early_form_is_folded_into_v1_final(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    sample = v1gen.make_v1_early(path)
    s = sample.scope_id
    with opened(path) as conn:
        assert bring_to_v1_final(conn, now_ms=NOW) == []  # a 0000 journal is a valid prefix
        assert tables(conn) == v1_final_tables() | {"__drizzle_migrations"}
        assert not tables(conn) & set(PER_PLUGIN)
        assert "identity_override" in columns(conn, "connection")
        assert "owned_by_connection_id" in columns(conn, "secret")
        storage = {
            (r[0], r[1]): (json.loads(r[2]), r[3], r[4])
            for r in rows(
                conn, "SELECT id, scope_id, data, created_at, updated_at FROM plugin_storage"
            )
        }
        assert storage['["openapi","source","petstore"]', s][0] == {
            "namespace": "petstore",
            "scope": s,
            "name": "Petstore (renamed)",
            "config": {
                "spec": "https://pets.test/openapi.json",
                "headers": {
                    "X-API-Key": {"kind": "binding", "slot": "header:x-api-key"},
                    "X-Client": "fixture",
                },
            },
        }
        todos = storage['["openapi","source","fixture_todos"]', s][0]["config"]
        assert todos["baseUrl"] == "https://todo.test/api"
        assert todos["headers"]["Authorization"] == {
            "kind": "binding",
            "slot": "header:authorization",
            "prefix": "Bearer ",
        }
        via_call = storage['["openapi","source","petstore_via_call"]', s][0]["config"]
        assert via_call == {"spec": "https://pets.test/openapi.json"}  # `{}` headers: no key
        library = storage['["graphql","source","library"]', s][0]
        assert library["queryParams"] == {} and library["auth"] == {"kind": "none"}
        remote = storage['["mcp","source","remote_mcp"]', s][0]["config"]
        assert remote["auth"] == {
            "kind": "header",
            "headerName": "X-Fixture-Token",
            "secretSlot": "auth:header",
        }
        op = storage['["openapi","operation","petstore.items.get"]', s]
        assert op == (
            {"toolId": "petstore.items.get", "sourceId": "petstore", "binding": {"method": "get"}},
            NOW,
            NOW,
        )
        binding = storage['["mcp","binding","stdio_mcp.echo"]', s]
        assert binding[0]["namespace"] == "stdio_mcp" and binding[1:] == (v1gen.T0 + 5, NOW)
        bindings = rows(
            conn,
            "SELECT id, plugin_id, source_id, slot_key, kind, secret_id "
            "FROM credential_binding ORDER BY source_id",
        )
        assert bindings == [
            (
                json.dumps(
                    ["openapi", s, "fixture_todos", "header:authorization"], separators=(",", ":")
                ),
                "openapi",
                "fixture_todos",
                "header:authorization",
                "secret",
                "todos-token",
            ),
            (
                json.dumps(
                    ["graphql", s, "library", "header:authorization"], separators=(",", ":")
                ),
                "graphql",
                "library",
                "header:authorization",
                "secret",
                "graphql-token",
            ),
            (
                json.dumps(["openapi", s, "petstore", "header:x-api-key"], separators=(",", ":")),
                "openapi",
                "petstore",
                "header:x-api-key",
                "secret",
                "petstore-api-key",
            ),
            (
                json.dumps(["mcp", s, "remote_mcp", "auth:header"], separators=(",", ":")),
                "mcp",
                "remote_mcp",
                "auth:header",
                "secret",
                "mcp-remote-token",
            ),
        ]
        google = rows(conn, "SELECT config, auth_kind FROM google_discovery_source")
        assert "auth" not in json.loads(google[0][0]) and google[0][1] == "none"
        # Untouched: sources, tools, definitions, secrets.
        assert len(rows(conn, "SELECT * FROM tool")) == sum(sample.tools.values())


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)
    with opened(path) as conn:
        bring_to_v1_final(conn, now_ms=NOW)
        before = dump(conn)
        assert bring_to_v1_final(conn, now_ms=NOW + 1) == []
        assert dump(conn) == before


@pytest.mark.parametrize("journal", ["empty", "foreign", "missing", "full"])
def test_v1_final_is_left_alone_whatever_its_journal_says(tmp_path: Path, journal: str) -> None:
    """The TS crash loop (#982): v1-final with an empty journal must not replay anything."""
    path = tmp_path / "data.db"
    v1gen.make_v1_final(path, journal=journal)
    with opened(path) as conn:
        before = dump(conn)
        assert bring_to_v1_final(conn, now_ms=NOW) == []
        assert dump(conn) == before


def test_mid_chain_without_history_is_upgraded_tolerantly(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_mid(path)
    with opened(path) as conn:
        warnings = bring_to_v1_final(conn, now_ms=NOW)
        assert len(warnings) == 1 and "tolerant upgrade" in warnings[0]
        assert tables(conn) == v1_final_tables()  # no journal was invented
        assert "identity_override" in columns(conn, "connection")
        assert "secret_scope_id" in columns(conn, "credential_binding")
        assert rows(conn, "SELECT id, pattern FROM tool_policy") == [("p1", "petstore.items.get")]
        assert len(rows(conn, "SELECT * FROM credential_binding")) == 4
        assert bring_to_v1_final(conn, now_ms=NOW) == []


@pytest.mark.parametrize("journal", ["empty", "missing"])
def test_early_form_with_unusable_history_warns(tmp_path: Path, journal: str) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path, journal=journal)
    with opened(path) as conn:
        warnings = bring_to_v1_final(conn, now_ms=NOW)
    assert len(warnings) == 1 and "unusable drizzle migration history" in warnings[0]


def test_half_upgraded_file_converges(tmp_path: Path) -> None:
    """plugin_storage exists but a per-plugin table survived: folded in, nothing overwritten."""
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)
    with opened(path) as conn:
        conn.execute(
            "CREATE TABLE plugin_storage (id text NOT NULL, scope_id text NOT NULL, "
            "plugin_id text NOT NULL, collection text NOT NULL, key text NOT NULL, "
            "data text NOT NULL, created_at integer NOT NULL, updated_at integer NOT "
            "NULL, PRIMARY KEY(scope_id, id))"
        )
        conn.execute(
            "INSERT INTO plugin_storage VALUES (?, ?, 'openapi', 'source', 'petstore', "
            "'{\"kept\":true}', 1, 1)",
            ('["openapi","source","petstore"]', v1gen.SCOPE),
        )
        warnings = bring_to_v1_final(conn, now_ms=NOW)
        assert "missing parts of the v1-final form" in warnings[0]
        data = rows(
            conn, "SELECT data FROM plugin_storage WHERE key = 'petstore' AND collection = 'source'"
        )
        assert data == [('{"kept":true}',)]
        assert "openapi_source" not in tables(conn)


def test_session_rows_and_unplaceable_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)
    with opened(path) as conn:
        conn.execute(
            "INSERT INTO mcp_oauth_session VALUES ('sess-1', ?, '{}', 1, 1)", (v1gen.SCOPE,)
        )
        conn.execute("ALTER TABLE graphql_source ADD COLUMN extra_setting text")
        conn.execute("UPDATE graphql_source SET extra_setting = 'x'")
        warnings = bring_to_v1_final(conn, now_ms=NOW)
    text = "\n".join(warnings)
    assert "mcp_oauth_session" in text and "sess-1" in text
    assert "graphql_source column extra_setting" in text and "library" in text


def test_a_failure_leaves_the_snapshot_untouched(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)

    def explode(self: object) -> None:
        raise RuntimeError("boom")

    with opened(path) as conn:
        before = dump(conn)
        monkeypatch.setattr(v1_fold.Fold, "_sessions", explode)
        with pytest.raises(RuntimeError, match="boom"):
            bring_to_v1_final(conn, now_ms=NOW)
        assert not conn.in_transaction
        assert dump(conn) == before


@pytest.mark.parametrize("isolation", ["", "DEFERRED", None])
def test_upgrade_is_committed_whatever_the_connection_mode(tmp_path: Path, isolation) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)
    conn = sqlite3.connect(path, isolation_level=isolation)
    try:
        bring_to_v1_final(conn, now_ms=NOW)
        assert not conn.in_transaction
    finally:
        conn.close()
    with opened(path) as conn:
        assert "plugin_storage" in tables(conn) and "openapi_source" not in tables(conn)


def test_wal_only_data_is_read(tmp_path: Path) -> None:
    """Committed rows that live only in -wal are part of the snapshot (fixtures 'mixed', ...)."""
    path = tmp_path / "data.db"
    sample = v1gen.make_v1_final(path, with_wal_row=True)
    assert Path(f"{path}-wal").stat().st_size > 4096
    copy = v1gen.copy_db_set(path, tmp_path / "copy" / "data.db")
    with opened(copy) as conn:
        bring_to_v1_final(conn)
        assert rows(
            conn, "SELECT length(value) FROM blob WHERE namespace = ?", (sample.wal_blob[0],)
        ) == [(4096,)]


# ------------------------------------------------------------------------------------------------
# The real fixtures: our upgrade against what 1.5.9's replay of the legacy chain produced
# ------------------------------------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("case", v1gen.FIXTURE_CASES)
def test_fixture_upgrade_matches_executors_replay(tmp_path: Path, case: str) -> None:
    db, _ = v1gen.fixture_input(case, tmp_path)
    _, ref_v1 = v1gen.fixture_result(case, tmp_path)
    with opened(db) as ours, opened(ref_v1) as ref:
        assert classify(ours) == V1
        assert bring_to_v1_final(ours, now_ms=NOW) == []
        assert tables(ours) == tables(ref)
        for table in tables(ref):
            assert columns(ours, table) == columns(ref, table), table
        same = {
            "plugin_storage": "SELECT id, scope_id, plugin_id, collection, key, data "
            "FROM plugin_storage",
            "credential_binding": "SELECT id, scope_id, plugin_id, source_id, source_scope_id, "
            "slot_key, kind, text_value, secret_id, connection_id, "
            "secret_scope_id FROM credential_binding",
        }
        for table in (
            "google_discovery_source",
            "google_discovery_binding",
            "secret",
            "source",
            "tool",
            "definition",
            "blob",
            "tool_policy",
            "connection",
        ):
            same[table] = f'SELECT * FROM "{table}"'
        for table, sql in same.items():
            assert sorted(rows(ours, sql), key=repr) == sorted(rows(ref, sql), key=repr), table
        # Timestamps: the fold's rows carry the upgrade time (1.5.9: its boot time, whole
        # seconds); MCP bindings keep their v1 created_at, as 1.5.9's replay did.
        stamps = sorted(
            rows(
                ours,
                "SELECT collection, created_at = ?, updated_at = ? "
                "FROM plugin_storage GROUP BY 1, 2, 3",
                (NOW, NOW),
            )
        )
        ref_binding = rows(
            ref, "SELECT key, created_at FROM plugin_storage WHERE collection = 'binding'"
        )
        our_binding = rows(
            ours, "SELECT key, created_at FROM plugin_storage WHERE collection = 'binding'"
        )
        assert sorted(our_binding) == sorted(ref_binding)
        for collection, created_now, updated_now in stamps:
            assert updated_now == 1 and created_now == (collection != "binding")
