"""The ``mixed`` fixture's GraphQL integration (``library``, as Executor 1.5.9 migrated it from
1.4.7) called against the test's GraphQL server.

The fixture's config points at 127.0.0.1:47902 (where the fixture server ran when it was
written). The test copies the data dir, rewrites that endpoint in the copy to the test server's
port (binding 47902 would clash between parallel runs) and drives the plugin with the rows
read from the copy: the integration config (no ``introspectionHash``: 1.5.9 drops the
snapshot), the connection (template ``apiKey``, item id -> the fixture's ``auth.json``), the
tool rows and the ``operation`` bindings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from executor_local.integrations.base import Credentials, Integration, PluginEnv, ToolCall
from executor_local.integrations.graphql import GraphqlPlugin
from upstreams.graphql_server import running

# ../shared beside the checkout (main), or two levels up (a worktree under /work/wt/<name>).
_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = next((p / "fixtures" / "executor-1.5.9-migrated" / "mixed" for p in (
    _ROOT.parent / "shared", _ROOT.parent.parent / "shared") if (p / "fixtures").is_dir()),
    _ROOT.parent / "shared" / "fixtures" / "executor-1.5.9-migrated" / "mixed")
pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason=f"fixtures absent at {FIXTURE}")


def copy_fixture(tmp: Path) -> Path:
    dest = tmp / "data"
    shutil.copytree(FIXTURE / "data", dest)
    for f in dest.iterdir():
        f.chmod(0o600)
    dest.chmod(0o700)
    return dest


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def point_at(db: Path, url: str) -> None:
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        (config,), = conn.execute("select config from integration where slug='library'")
        conn.execute("update integration set config=? where slug='library'",
                     (json.dumps({**json.loads(config), "endpoint": url}),))


def test_mixed_fixture_graphql_callable(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path)
    db = data / "data.db"
    secrets = json.loads((FIXTURE / "auth.json").read_text())
    (conn_name, template, item_ids), = rows(
        db, "select name, template, item_ids from connection where integration='library'")
    token = secrets[json.loads(item_ids)["token"]]
    with running(token=token) as server:
        point_at(db, server.url)
        (slug, description, config_text), = rows(
            db, "select slug, description, config from integration where plugin_id='graphql'")
        config = json.loads(config_text)
        assert "introspectionHash" not in config  # 1.5.9 dropped the snapshot
        method = next(m for m in config["authenticationTemplate"] if m["slug"] == template)
        creds = Credentials(method=method, values={"token": token})
        integration = Integration(slug, "graphql", description, config)
        bindings = {json.loads(d)["toolName"]: json.loads(d) for (d,) in rows(
            db, "select data from plugin_storage where plugin_id='graphql' "
                "and collection='operation'")}
        stored_tools = {name: (desc, json.loads(schema) if schema else None) for
                        name, desc, schema in rows(
                            db, "select name, description, input_schema from tool "
                                "where plugin_id='graphql'")}
        stored_defs = {n: json.loads(s) for n, s in rows(
            db, "select name, schema from definition where plugin_id='graphql'")}
        plugin = GraphqlPlugin()
        env = PluginEnv(blob=lambda _key: None, timeout_s=5)

        def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
            return asyncio.run(plugin.invoke(ToolCall(
                integration, conn_name, tool, args, bindings[tool],
                stored_tools[tool][1], creds), env))

        # First call: the schema is introspected lazily (with the connection's token).
        out = call("query.books", {"limit": 2, "genre": "FICTION"})
        assert out["ok"] is True, out
        assert [b["title"] for b in out["data"]["books"]] == [
            "The Dispossessed", "The Left Hand of Darkness"]
        assert server.requests[0]["query"].lstrip().startswith("query IntrospectionQuery")
        # 1.4.7's stored books operation selects `author { id name books }` (a list of
        # objects without a selection): invalid, so the schema-built default was sent.
        assert server.queries()[-1] == (
            "query($limit: Int, $genre: Genre) { books(limit: $limit, genre: $genre) "
            "{ id title year genres review } }")
        assert all(r["headers"]["authorization"] == f"Bearer {token}" for r in server.requests)

        # The kept snapshot serves the next calls: no second introspection.
        introspections = sum("__schema" in q for q in server.queries())
        out = call("query.book", {"id": "b2", "select": "title author { name }"})
        assert out["data"] == {"book": {"title": "Dream Work",
                                        "author": {"name": "Mary Oliver"}}}
        out = call("query.authors", {})
        assert out["ok"] is True and len(out["data"]["authors"]) == 2
        out = call("mutation.addBook", {"input": {"title": "Lathe of Heaven", "authorId": "a1"}})
        assert out["ok"] is True and out["data"]["addBook"]["title"] == "Lathe of Heaven"
        # A stored operation that validates is sent exactly as stored.
        out = call("mutation.deleteBook", {"id": "b1"})
        assert out == {**out, "ok": True, "data": {"deleteBook": True}}
        assert server.queries()[-1] == bindings["mutation.deleteBook"]["binding"][
            "operationString"]
        assert sum("__schema" in q for q in server.queries()) == introspections

        # Listing hands the catalog the snapshot and the config pointing at it, and the
        # tools it lists match what 1.5.9 stored (plus the optional `select`).
        fresh = GraphqlPlugin()
        listing = asyncio.run(fresh.list_tools(integration, creds, env))
        (key, text), = listing.blobs.items()
        assert listing.config["introspectionHash"] == key.removeprefix("introspection/")
        assert json.loads(text)["data"]["__schema"]["queryType"]["name"] == "Query"
        listed = {t.name: t for t in listing.tools}
        for name, (desc, schema) in stored_tools.items():
            assert listed[name].description == desc
            props = dict(listed[name].input_schema["properties"])
            props.pop("select")
            assert props == ((schema or {}).get("properties") or {}), name
            assert listed[name].input_schema.get("required") == (schema or {}).get("required")
        assert {k: listing.definitions[k] for k in stored_defs} == stored_defs
        # Listing again is a refresh: it introspects again (the schema may have changed),
        # and the calls after it use that snapshot.
        before = server.count
        asyncio.run(fresh.list_tools(integration, creds, env))
        assert server.count == before + 1
        call("query.authors", {})
        assert server.count == before + 2
        # With the snapshot stored, listing and calling need no introspection at all.
        stored = Integration(slug, "graphql", description, listing.config)
        before = server.count
        again = asyncio.run(GraphqlPlugin().list_tools(
            stored, creds, PluginEnv(blob=listing.blobs.get)))
        assert [t.name for t in again.tools] == [t.name for t in listing.tools]
        assert not again.blobs and again.config is None
        assert server.count == before
    assert token not in json.dumps(out)
