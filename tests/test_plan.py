"""Planning and writing the v2 rows: generated databases, edge cases, memory, and the real
fixtures compared with what Executor 1.5.9 made of them."""

from __future__ import annotations

import json
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import v1gen
from dbcheck import opened, rows
from executor_local.migrate.plan.planner import (
    POST_FORM_STAMPS,
    MigrationPlan,
    PlanError,
    plan_migration,
    write_plan,
)
from executor_local.migrate.v1.classify import KNOWN_LEDGER_NAMES
from executor_local.migrate.v1.forms import bring_to_v1_final
from executor_local.migrate.v1.secrets import migrated_item_id, read_auth_file
from executor_local.store.rows import row_id
from executor_local.store.schema import V1_TO_V2_STAMP, create_v2_schema

NOW = 1_795_651_386_224
needs_fixtures = pytest.mark.skipif(
    not v1gen.FIXTURES.is_dir(), reason=f"real Executor fixtures not present at {v1gen.FIXTURES}"
)


def migrate(src_path: Path, auth: dict | None, dst_path: Path, **kw: Any) -> MigrationPlan:
    """The pure data path the driver runs: upgrade, plan, write in one transaction, commit."""
    with opened(src_path) as src, opened(dst_path) as dst:
        warnings = bring_to_v1_final(src, now_ms=NOW)
        plan = plan_migration(src, auth, now_ms=NOW, **kw)
        plan.warnings[:0] = warnings
        dst.execute("BEGIN IMMEDIATE")
        create_v2_schema(dst)
        written = write_plan(plan, src, dst)
        assert dst.in_transaction  # write_plan neither commits nor ends the caller's transaction
        dst.execute("COMMIT")
    assert written == plan.expected_counts
    assert set(written) == {
        "integration",
        "connection",
        "oauth_client",
        "tool",
        "definition",
        "tool_policy",
        "plugin_storage",
        "blob",
    }
    return plan


@pytest.fixture
def final(tmp_path: Path) -> tuple[v1gen.V1Sample, MigrationPlan, Path]:
    sample = v1gen.make_v1_final(
        tmp_path / "v1" / "data.db", auth_path=tmp_path / "auth.json", with_wal_row=True
    )
    dst = tmp_path / "v2.db"
    plan = migrate(sample.path, read_auth_file(sample.auth_path), dst)
    return sample, plan, dst


# ------------------------------------------------------------------------------------------------
# A generated v1-final database, end to end
# ------------------------------------------------------------------------------------------------


def test_every_source_tool_and_secret_survives(final) -> None:
    sample, plan, dst = final
    assert plan.warnings == []
    with opened(dst) as conn:
        slugs = {r[0] for r in rows(conn, "SELECT slug FROM integration")}
        assert slugs == set(sample.tools)
        tools = dict(rows(conn, "SELECT integration, COUNT(*) FROM tool GROUP BY integration"))
        assert tools == sample.tools
        defs = dict(rows(conn, "SELECT integration, COUNT(*) FROM definition GROUP BY 1"))
        assert defs == sample.definitions
        for table in (
            "integration",
            "connection",
            "tool",
            "definition",
            "tool_policy",
            "plugin_storage",
        ):
            tenants = rows(conn, f"SELECT DISTINCT tenant FROM {table}")
            assert tenants == [(sample.scope_id,)], table
    assert plan.tenant == sample.scope_id
    assert set(plan.secret_items) == {migrated_item_id(sample.scope_id, s) for s in sample.secrets}


def test_connections(final) -> None:
    sample, _, dst = final
    with opened(dst) as conn:
        got = {
            r[0]: r[1:]
            for r in rows(
                conn,
                "SELECT integration, name, template, provider, item_ids, owner, subject, "
                "oauth_client, refresh_item_id, expires_at, oauth_scope, identity_label "
                "FROM connection",
            )
        }
    item = lambda sid: migrated_item_id(sample.scope_id, sid)  # noqa: E731
    assert got["stripe_api"][:6] == (
        "stripeKey",
        "apiKey",
        "file",
        json.dumps({"token": item("stripe-key")}, separators=(",", ":")),
        "org",
        "",
    )
    assert got["remote_mcp"][:3] == ("remoteMcpToken", "apiKey", "file")
    for slug in ("petstore", "stdio_mcp", "notes"):
        assert got[slug][:4] == ("workspace", "none", "file", "{}")
    ctx = got["context7"]
    assert ctx[:3] == ("context7User", "oauth2", "file")
    assert json.loads(ctx[3]) == {"token": item("ctx7-access")}
    assert ctx[6:] == (
        "context7",
        item("ctx7-refresh"),
        str(v1gen.T0 + 3_600_000),
        "read write",
        "Context7 User",
    )


def test_oauth_client(final) -> None:
    _, _, dst = final
    with opened(dst) as conn:
        clients = rows(
            conn,
            "SELECT slug, authorization_url, token_url, grant, client_id, "
            "client_secret_item_id, resource, owner, subject FROM oauth_client",
        )
    assert clients == [
        (
            "context7",
            "https://auth.context7.test/oauth/authorize",
            "https://auth.context7.test/oauth/token",
            "authorization_code",
            "ctx-client",
            None,
            "https://mcp.context7.test/mcp",
            "org",
            "",
        )
    ]


def test_configs_keep_what_v1_had(final) -> None:
    _, _, dst = final
    with opened(dst) as conn:
        configs = {
            r[0]: json.loads(r[1]) for r in rows(conn, "SELECT slug, config FROM integration")
        }
    assert configs["stripe_api"]["headers"] == {"Stripe-Version": "2024-01-01"}
    assert configs["stripe_api"]["authenticationTemplate"] == [
        {
            "slug": "apiKey",
            "kind": "apikey",
            "placements": [{"carrier": "header", "name": "Authorization", "prefix": "Bearer "}],
        }
    ]
    assert "spec" not in configs["stripe_api"] and len(configs["stripe_api"]["specHash"]) == 64
    assert configs["petstore"]["sourceUrl"] == "https://petstore.test/openapi.json"
    assert configs["petstore"]["name"] == "Petstore (renamed)"
    assert configs["stdio_mcp"]["command"] == "/usr/bin/node"
    assert configs["stdio_mcp"]["args"] == ["server.mjs", "--stdio"]
    assert configs["stdio_mcp"]["env"] == {"FIXTURE": "1"}
    assert configs["remote_mcp"]["authenticationTemplate"][0]["placements"] == [
        {"carrier": "header", "name": "X-Token"}
    ]
    assert configs["context7"]["authenticationTemplate"] == [{"slug": "oauth2", "kind": "oauth2"}]
    assert configs["notes"]["discoveryUrl"] == "https://notes.test/discovery/rest?version=v1"
    assert configs["library"]["introspectionHash"]


def test_tools_annotations_and_output_envelope(final) -> None:
    _, _, dst = final
    with opened(dst) as conn:
        tools = {
            (r[0], r[1]): r[2:]
            for r in rows(conn, "SELECT integration, name, annotations, output_schema FROM tool")
        }
    assert json.loads(tools["remote_mcp", "echo"][0]) == {
        "requiresApproval": False,
        "mcp": {"toolName": "echo"},
    }
    assert json.loads(tools["remote_mcp", "wipe"][0]) == {
        "requiresApproval": True,
        "approvalDescription": "Wipe everything",
        "mcp": {
            "toolName": "wipe",
            "upstream": {"destructiveHint": True, "title": "Wipe everything"},
        },
    }
    assert tools["stripe_api", "customers.get"][1] == '{"$ref":"#/$defs/Customer"}'
    assert tools["stripe_api", "charges.create"][0] is None


def test_plugin_storage_and_blobs(final) -> None:
    sample, _, dst = final
    s = sample.scope_id
    with opened(dst) as conn:
        storage = {
            (r[0], r[1], r[2]): (json.loads(r[3]), r[4])
            for r in rows(
                conn, "SELECT plugin_id, collection, key, data, owner FROM plugin_storage"
            )
        }
        blobs = {
            (r[0], r[1]): (r[2], r[3])
            for r in rows(conn, "SELECT namespace, key, length(value), id FROM blob")
        }
        ledger = {r[0] for r in rows(conn, "SELECT name FROM data_migration")}
    assert storage["openapi", "operation", "stripe_api.charges.create"] == (
        {
            "integration": "stripe_api",
            "toolName": "charges.create",
            "binding": {"method": "post", "pathTemplate": "/charges", "parameters": []},
        },
        "org",
    )
    assert storage["mcp", "binding", "remote_mcp.echo"][0]["toolId"] == "remote_mcp.echo"
    assert storage["onepassword", "settings", "default"] == ({"vault": "Private"}, "org")
    assert ("googleDiscovery", "operation", "notes.notes.list") in storage
    assert not [k for k in storage if k[1] == "source"]
    assert (f"o:{s}/onepassword", "settings") in blobs
    assert blobs[f"o:{s}/wal-marker", "marker"][0] == 4096  # the row that lived only in -wal
    spec = [k for k in blobs if k[0] == f"o:{s}/openapi"]
    assert len(spec) == 2 and all(k[1].startswith("spec/") for k in spec)
    assert next(k for k in blobs if k[0] == f"o:{s}/graphql")[1].startswith("introspection/")
    for (namespace, key), (_, blob_id) in blobs.items():
        assert json.loads(blob_id) == [namespace, key]
    assert ledger == set(KNOWN_LEDGER_NAMES) == {V1_TO_V2_STAMP, *POST_FORM_STAMPS}


def test_policies(final) -> None:
    _, _, dst = final
    with opened(dst) as conn:
        got = dict(rows(conn, "SELECT id, pattern FROM tool_policy"))
        positions = dict(rows(conn, "SELECT id, position FROM tool_policy"))
    assert got == {
        "pol-1": "stripe_api.*.*.charges.create",
        "pol-2": "library.*",
        "pol-3": "executor.sources.list",
        "pol-4": "*",
    }
    assert positions == {"pol-1": "a0", "pol-2": "a1", "pol-3": "a2", "pol-4": "a3"}


def test_dry_run_json(final) -> None:
    sample, plan, _ = final
    report = plan.to_json()
    json.dumps(report)  # serialisable
    assert report["counts"] == plan.expected_counts
    assert report["tenant"] == sample.scope_id
    by_slug = {i["slug"]: i for i in report["integrations"]}
    assert by_slug["stripe_api"]["connections"] == ["stripeKey"]
    assert by_slug["stripe_api"]["tools"] == sample.tools["stripe_api"]
    assert report["secrets"]["file_items"] == len(sample.secrets)
    text = json.dumps(report)
    assert not any(value in text for value in sample.secrets.values())


def test_rebuild_is_deterministic(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db", auth_path=tmp_path / "auth.json")
    auth = read_auth_file(sample.auth_path)
    migrate(sample.path, auth, tmp_path / "a.db")
    migrate(sample.path, auth, tmp_path / "b.db")
    with opened(tmp_path / "a.db") as a, opened(tmp_path / "b.db") as b:
        for table in (
            "integration",
            "connection",
            "oauth_client",
            "tool",
            "definition",
            "tool_policy",
            "plugin_storage",
            "blob",
            "data_migration",
        ):
            sql = f'SELECT * FROM "{table}"'
            assert sorted(rows(a, sql), key=repr) == sorted(rows(b, sql), key=repr), table
        ids = rows(a, "SELECT row_id FROM tool UNION ALL SELECT row_id FROM connection")
    assert all(len(r[0]) == 24 and r[0][0].isalpha() and r[0].isalnum() for r in ids)


def test_planner_needs_v1_final(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    v1gen.make_v1_early(path)
    with opened(path) as conn, pytest.raises(PlanError, match="bring_to_v1_final"):
        plan_migration(conn, None, now_ms=NOW)


def test_rollback_leaves_nothing(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db")
    with opened(sample.path) as src, opened(tmp_path / "v2.db") as dst:
        create_v2_schema(dst)
        plan = plan_migration(src, None, now_ms=NOW)
        dst.execute("BEGIN")
        write_plan(plan, src, dst)
        dst.execute("ROLLBACK")
        assert rows(dst, "SELECT COUNT(*) FROM tool") == [(0,)]
        assert rows(dst, "SELECT COUNT(*) FROM data_migration") == [(0,)]


# ------------------------------------------------------------------------------------------------
# Edge cases: nothing vanishes without a warning naming it
# ------------------------------------------------------------------------------------------------


def test_leftovers_of_deleted_sources_are_named(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db", sources=("petstore",))
    s = sample.scope_id
    with opened(sample.path) as conn:
        conn.execute(
            "INSERT INTO tool VALUES ('ghost.t1', ?, 'ghost', 'openapi', 't1', 'x', "
            "NULL, NULL, 1, 1)",
            (s,),
        )
        conn.execute(
            "INSERT INTO tool_policy VALUES ('dead', ?, 'gone.tool', 'approve', 'b0', 1, 1)", (s,)
        )
        conn.execute(
            "INSERT INTO credential_binding VALUES ('cb-ghost', ?, 'openapi', 'vanished',"
            " ?, 'header:x', 'secret', NULL, 'unused-secret', NULL, 1, 1, NULL)",
            (s, s),
        )
        conn.execute(
            "INSERT INTO connection VALUES ('stale-conn', ?, 'oauth2', NULL, 'tok', NULL,"
            " NULL, NULL, NULL, 1, 1, NULL)",
            (s,),
        )
        conn.execute("INSERT INTO blob VALUES ('no-slash', 'k', 'v')")
        conn.execute(
            "INSERT INTO oauth2_session VALUES ('os-1', ?, 'mcp', 's', 'c', 't', 'r', '{}', 1, 1)",
            (s,),
        )
        conn.execute(
            "INSERT INTO plugin_storage VALUES ('x', ?, 'openapi', 'source', 'removed', "
            "'{}', 1, 1)",
            (s,),
        )
    plan = migrate(sample.path, None, tmp_path / "v2.db")
    text = "\n".join(plan.warnings)
    assert "tool row(s) ['ghost.t1'] belong to source 'ghost'" in text
    assert 'Dead-source policy kept inert: "gone.tool"' in text
    assert "credential_binding rows ['cb-ghost']" in text
    assert "unbound v1 connection row(s) ['stale-conn']" in text
    assert "blob rows ['no-slash|k']" in text
    assert "plugin_storage source rows ['removed']" in text
    assert "oauth2_session ['os-1']" in text
    with opened(tmp_path / "v2.db") as conn:
        assert rows(conn, "SELECT pattern FROM tool_policy WHERE id = 'dead'") == [("gone.tool",)]


def test_declared_credentials_without_binding_get_workspace(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db", sources=("stripe",))
    with opened(sample.path) as conn:
        conn.execute("DELETE FROM credential_binding")
    plan = migrate(sample.path, None, tmp_path / "v2.db")
    assert any("declares credentials" in w for w in plan.warnings)
    with opened(tmp_path / "v2.db") as conn:
        assert rows(conn, "SELECT name, template FROM connection") == [("workspace", "none")]
        assert rows(conn, "SELECT COUNT(*) FROM tool") == [(3,)]


def test_text_keychain_and_external_providers(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(
        tmp_path / "v1" / "data.db", sources=("stripe", "graphql", "mcp_remote")
    )
    s = sample.scope_id
    with opened(sample.path) as conn:
        conn.execute("UPDATE secret SET provider = 'keychain' WHERE id = 'graphql-token'")
        conn.execute("UPDATE secret SET provider = 'onepassword' WHERE id = 'mcp-token'")
        conn.execute(
            "UPDATE credential_binding SET kind = 'text', secret_id = NULL, "
            "text_value = 'inline-key' WHERE source_id = 'stripe_api'"
        )
    plan = migrate(sample.path, {s: sample.secrets}, tmp_path / "v2.db")
    text_item = migrated_item_id(s, "text:stripe_api:header:authorization")
    assert plan.secret_items[text_item] == "inline-key"
    assert [(k.scope_id, k.secret_id) for k in plan.keychain_copies] == [(s, "graphql-token")]
    with opened(tmp_path / "v2.db") as conn:
        conns = {
            r[0]: (r[1], r[2], json.loads(r[3]))
            for r in rows(conn, "SELECT integration, name, provider, item_ids FROM connection")
        }
    assert conns["stripe_api"] == ("inline", "file", {"token": text_item})
    assert conns["library"][1:] == ("keychain", {"token": migrated_item_id(s, "graphql-token")})
    # An external provider keeps pointing at the v1 item (1.5.9's id override).
    assert conns["remote_mcp"][1:] == ("onepassword", {"token": "mcp-token"})


def test_scopes_and_tenant(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db", sources=("petstore",))
    with opened(sample.path) as conn:
        conn.execute(
            "INSERT INTO source VALUES ('other', 'project-other', 'openapi', 'openapi', "
            "'Other', NULL, 1, 0, 1, 1, 1)"
        )
        bring_to_v1_final(conn)
        plan = plan_migration(conn, None, "cwd-tenant-1234", now_ms=NOW)
        alone = plan_migration(conn, None, now_ms=NOW)
    tenants = {i["slug"]: i["tenant"] for i in plan.integrations}
    assert tenants == {"petstore": "cwd-tenant-1234", "other": "project-other"}
    assert plan.tenant == "cwd-tenant-1234"
    assert any("2 local scopes" in w for w in plan.warnings)
    assert {i["slug"]: i["tenant"] for i in alone.integrations} == {
        "petstore": sample.scope_id,
        "other": "project-other",
    }
    assert alone.tenant == sample.scope_id  # the scope with the most sources


def test_empty_v1_plans_nothing(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "v1" / "data.db", sources=())
    with opened(sample.path) as conn:
        conn.execute("DELETE FROM secret")
        conn.execute("DELETE FROM tool_policy")
        conn.execute("DELETE FROM blob")
        conn.execute("DELETE FROM plugin_storage")
    plan = migrate(sample.path, None, tmp_path / "v2.db", tenant="t-1")
    assert set(plan.expected_counts.values()) == {0}
    assert plan.auth_json is None and plan.tenant == "t-1"


# ------------------------------------------------------------------------------------------------
# Memory: streaming keeps the peak flat
# ------------------------------------------------------------------------------------------------


def test_memory_stays_flat_on_a_large_database(tmp_path: Path) -> None:
    src_path = tmp_path / "v1" / "data.db"
    src_path.parent.mkdir()
    stats = v1gen.make_large_v1(src_path, 20 * 1024 * 1024, auth_path=tmp_path / "auth.json")
    assert stats["bytes"] >= 20 * 1024 * 1024
    auth = read_auth_file(tmp_path / "auth.json")
    with opened(src_path) as src, opened(tmp_path / "v2.db") as dst:
        create_v2_schema(dst)
        # row_id builds its 46656-entry lookup table (~2.8 MB) once per process, on first use:
        # made here, so the peak measures the migration whichever test ran first.
        row_id("warm-up")
        tracemalloc.start()
        try:
            bring_to_v1_final(src)
            plan = plan_migration(src, auth, now_ms=NOW)
            dst.execute("BEGIN")
            written = write_plan(plan, src, dst)
            dst.execute("COMMIT")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert written == plan.expected_counts
    assert written["tool"] == stats["tool"] and written["definition"] == stats["definition"]
    assert plan.warnings == []
    assert peak < stats["bytes"] / 10, f"peak {peak} bytes for a {stats['bytes']}-byte database"


# ------------------------------------------------------------------------------------------------
# The real fixtures against Executor 1.5.9's results
# ------------------------------------------------------------------------------------------------


def _v1_facts(path: Path) -> dict[str, Any]:
    """What the v1 input holds, read from our upgraded snapshot."""
    with opened(path) as conn:
        sources = dict(rows(conn, "SELECT id, kind FROM source"))
        tools: dict[str, set[str]] = defaultdict(set)
        for sid, name in rows(conn, "SELECT source_id, name FROM tool"):
            tools[sid].add(name)
        defs: dict[str, set[str]] = defaultdict(set)
        for sid, name in rows(conn, "SELECT source_id, name FROM definition"):
            defs[sid].add(name)
        specs = {
            r[0]: json.loads(r[1]).get("config", {}).get("spec")
            for r in rows(conn, "SELECT key, data FROM plugin_storage WHERE collection = 'source'")
        }
        names = {
            r[0]: json.loads(r[1]).get("name")
            for r in rows(conn, "SELECT key, data FROM plugin_storage WHERE collection = 'source'")
        }
        secrets = [r[0] for r in rows(conn, "SELECT id FROM secret")]
        scope = rows(conn, "SELECT DISTINCT scope_id FROM source")
    return {
        "sources": sources,
        "tools": tools,
        "defs": defs,
        "specs": specs,
        "names": names,
        "secrets": secrets,
        "scope": scope[0][0] if scope else None,
    }


def _without_kept_extras(slug: str, config: dict, facts: dict, case: str) -> dict:
    """Our config minus what we keep on purpose and 1.5.9 drops; each difference asserted."""
    kind = facts["sources"][slug]
    out = dict(config)
    if kind == "openapi":
        spec = facts["specs"].get(slug)
        if isinstance(spec, str) and spec.startswith("http"):
            # Deliberate: an OpenAPI spec given as a URL is kept as config.sourceUrl.
            assert out.pop("sourceUrl") == spec
        plugin_name = facts["names"].get(slug)
        if "name" in out:
            # Deliberate: the renamed OpenAPI source keeps its plugin-side name.
            assert out.pop("name") == plugin_name and case == "mixed" and slug == "petstore"
    if kind == "mcp" and out.get("transport") == "stdio":
        # Deliberate: a stdio MCP server keeps command, args and env.
        assert out["command"] == "/usr/bin/node" and out["env"] == {"FIXTURE": "1"}
        out = {"transport": "stdio", "auth": out["auth"]}
    if kind == "mcp" and out.get("transport") == "remote":
        # Deliberate: the remote MCP header credential keeps its header name (1.5.9: `none`).
        assert out["authenticationTemplate"] == [
            {
                "slug": "apiKey",
                "kind": "apikey",
                "placements": [{"carrier": "header", "name": "X-Fixture-Token"}],
            }
        ]
        out["authenticationTemplate"] = [{"slug": "none", "kind": "none"}]
    if kind == "googleDiscovery":
        # Deliberate: the Google Discovery config is kept (1.5.9 writes `{}`).
        assert out["discoveryUrl"].startswith("http") and out["service"] == "fixturenotes"
        out = {}
    return out


@needs_fixtures
@pytest.mark.parametrize("case", v1gen.FIXTURE_CASES)
def test_fixture_matches_executor_159(tmp_path: Path, case: str) -> None:
    db, auth_path = v1gen.fixture_input(case, tmp_path)
    ref_path, _ = v1gen.fixture_result(case, tmp_path)
    auth = read_auth_file(auth_path) if auth_path else None
    plan = migrate(db, auth, tmp_path / "v2.db")
    facts = _v1_facts(db)
    assert plan.warnings == []
    with opened(tmp_path / "v2.db") as ours, opened(ref_path) as ref:
        # Integrations: slug, plugin id, description identical; config identical but for the
        # deliberate keeps named in _without_kept_extras.
        q = "SELECT slug, plugin_id, description, config, tenant FROM integration"
        mine = {r[0]: r[1:] for r in rows(ours, q)}
        theirs = {r[0]: r[1:] for r in rows(ref, q)}
        assert set(mine) == set(theirs) == set(facts["sources"])
        for slug, (plugin, description, config, tenant) in mine.items():
            t_plugin, t_description, t_config, t_tenant = theirs[slug]
            assert (plugin, description, tenant) == (t_plugin, t_description, t_tenant)
            assert _without_kept_extras(slug, json.loads(config), facts, case) == json.loads(
                t_config
            ), slug
            assert tenant == facts["scope"], slug  # every integration's, not the last one's

        # Connections: all of 1.5.9's, identical; ours adds `workspace` ones (deliberate) for
        # the sources 1.5.9 left without a connection (and so without tools).
        q = (
            "SELECT integration, name, template, provider, item_ids, owner, subject, tenant "
            "FROM connection"
        )
        mine_c, theirs_c = set(rows(ours, q)), set(rows(ref, q))
        assert theirs_c <= mine_c
        extra = mine_c - theirs_c
        without = {slug for slug in mine if slug not in {c[0] for c in theirs_c}}
        assert {(c[0], c[1], c[2], c[4]) for c in extra} == {
            (slug, "workspace", "none", "{}") for slug in without
        }
        assert without == ({"petstore_via_call", "notes"} if case == "mixed" else set())

        # Tools and definitions, per integration and connection: 1.5.9's set, plus ours for
        # the deliberate workspace connections; every v1 tool present exactly once.
        for table, v1 in (("tool", facts["tools"]), ("definition", facts["defs"])):
            q = f"SELECT integration, connection, name FROM {table}"
            mine_t, theirs_t = set(rows(ours, q)), set(rows(ref, q))
            assert theirs_t <= mine_t
            assert {r[0] for r in mine_t - theirs_t} <= without
            per: dict[str, set[str]] = defaultdict(set)
            for integration, _, name in mine_t:
                per[integration].add(name)
            assert dict(per) == {k: v for k, v in v1.items() if v}, table
        q = (
            "SELECT integration, connection, name, description, input_schema, output_schema, "
            "annotations FROM tool"
        )
        assert set(rows(ref, q)) <= set(rows(ours, q))

        # plugin_storage: 1.5.9's rows identical; ours adds Google Discovery operations.
        q = "SELECT plugin_id, collection, key, data, owner, subject, tenant FROM plugin_storage"
        mine_p, theirs_p = set(rows(ours, q)), set(rows(ref, q))
        assert theirs_p <= mine_p
        assert {(r[0], r[1]) for r in mine_p - theirs_p} <= {("googleDiscovery", "operation")}

        # Blobs and the ledger: identical.
        q = "SELECT namespace, key, value, id FROM blob"
        assert set(rows(ours, q)) == set(rows(ref, q))
        q = "SELECT name FROM data_migration"
        assert set(rows(ours, q)) == set(rows(ref, q))

    # Secrets: every v1 secret has an item; auth.json holds exactly 1.5.9's entries (the nested
    # v1 object would make 1.5.9 refuse the whole file; the auth.json backup keeps it).
    for sid in facts["secrets"]:
        assert migrated_item_id(facts["scope"], sid) in plan.secret_items
    ref_auth_path = v1gen.FIXTURES / "executor-1.5.9-migrated" / case / "auth.json"
    if ref_auth_path.exists():
        ref_auth = json.loads(ref_auth_path.read_text())
        assert plan.auth_json is not None
        assert plan.auth_json == ref_auth
    else:
        assert plan.auth_json is None
