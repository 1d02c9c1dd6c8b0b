"""GraphQL integrations end to end through the real daemon (run from the source tree) and the
real GraphQL test server: add over the API, search and describe, call queries with arguments
and ``select``, a bad ``select`` refused before sending, a mutation paused then accepted or
declined, a secret header filled from a connection, and the ``mixed`` fixture's migrated
``library`` source called (its endpoint rewritten in a copy to the test server's port)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("catalog_util", reason="the catalog core (branch core) is not merged yet")
from catalog_util import Api, SourceDaemon
from proc import pythonpath_env
from upstreams.graphql_server import SDL, running

_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = next((p / "fixtures" / "executor-1.5.9-migrated" / "mixed" for p in (
    _ROOT.parent / "shared", _ROOT.parent.parent / "shared", Path("/work/shared"))
    if (p / "fixtures").is_dir()), Path("/work/shared/fixtures/executor-1.5.9-migrated/mixed"))
SECRET = "gql-daemon-secret-41f0c2"


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str]) -> tuple[SourceDaemon, Api]:
    daemon = SourceDaemon(data_dir, env)
    port = daemon.wait_ready()
    return daemon, Api(port, daemon.token)


def test_graphql_through_the_daemon(cat_env: dict[str, str], data_dir: Path) -> None:
    with running() as server:
        daemon, api = start(data_dir, cat_env)
        with daemon:
            added = api.post("/api/graphql/integrations",
                             {"endpoint": server.url, "slug": "library", "name": "Library"})
            assert added == {"slug": "library", "name": "Library", "toolCount": 6}
            tools = {t["name"]: t for t in api.get("/api/tools?integration=library")}
            assert set(tools) == {"query.books", "query.book", "query.authors", "query.explode",
                                  "mutation.addBook", "mutation.deleteBook"}
            assert tools["mutation.addBook"]["requiresApproval"] is True
            assert not tools["query.books"]["requiresApproval"]
            found = api.get("/api/search?query=books")
            assert "library.org.main.query.books" in [i["path"] for i in found["items"]]
            view = api.get("/api/tools/schema?address=tools.library.org.main.mutation.addBook")
            assert "select" in view["inputSchema"]["properties"]
            assert "NewBook" in json.dumps(view)
            assert "title?: string" in view["outputTypeScript"]

            out = api.post("/api/executions", {"tool": "library.org.main.query.books",
                                               "args": {"limit": 1, "genre": "POETRY"}})
            assert out["status"] == "completed", out
            assert out["result"]["data"]["books"][0]["title"] == "Dream Work"
            out = api.post("/api/executions", {"tool": "tools.library.org.main.query.book",
                                               "args": {"id": "b1",
                                                        "select": "title author { name }"}})
            assert out["result"]["data"] == {"book": {"title": "The Dispossessed",
                                                      "author": {"name": "Ursula K. Le Guin"}}}
            before = server.count
            out = api.post("/api/executions", {"tool": "library.org.main.query.books",
                                               "args": {"select": "id nope"}})
            assert out["result"]["error"]["code"] == "graphql_invalid_selection"
            assert server.count == before

            # A mutation pauses; the upstream sees nothing until it is accepted, once.
            paused = api.post("/api/executions", {
                "tool": "library.org.main.mutation.addBook",
                "args": {"input": {"title": "Lavinia", "authorId": "a1"}}})
            assert paused["status"] == "paused", paused
            assert server.count == before
            eid = paused["executionId"]
            done = api.post(f"/api/executions/{eid}/resume", {"action": "accept"})
            assert done["status"] == "completed" and done["result"]["ok"] is True, done
            assert done["result"]["data"]["addBook"]["title"] == "Lavinia"
            assert server.count == before + 1
            assert api.post(f"/api/executions/{eid}/resume", {"action": "accept"}) == done
            assert server.count == before + 1
            paused = api.post("/api/executions", {"tool": "library.org.main.mutation.deleteBook",
                                                  "args": {"id": "b1"}})
            declined = api.post(f"/api/executions/{paused['executionId']}/resume",
                                {"action": "decline"})
            assert declined["result"]["error"]["code"] == "declined"
            assert server.count == before + 1

            # Upstream errors keep the partial data.
            server.broken_reviews.add("b2")
            out = api.post("/api/executions", {"tool": "library.org.main.query.books",
                                               "args": {"select": "id review"}})
            err = out["result"]["error"]
            assert err["code"] == "graphql_errors" and err["details"]["data"]["books"][0] == {
                "id": "b1", "review": "An ambiguous utopia."}

            cfg = api.get("/api/graphql/integrations/library/config")
            assert cfg == {"endpoint": server.url, "name": "Library",
                           "authenticationTemplate": []}
            method = {"kind": "apikey", "slug": "key",
                      "placements": [{"carrier": "header", "name": "X-Key"}]}
            out = api.post("/api/graphql/integrations/library/config",
                           {"authenticationTemplate": [method]})
            assert out == {"authenticationTemplate": [method]}
            assert api.get("/api/graphql/integrations/library/config")[
                "authenticationTemplate"] == [method]
            status, err = api.call("POST", "/api/graphql/integrations/library/config",
                                   {"authenticationTemplate": [{"kind": "x"}]})
            assert status == 400 and "kind" in err["error"]["message"]
            assert api.get("/api/graphql/integrations/library")["introspectionHash"]
            # Tools and their connection are untouched by the config change.
            assert len(api.get("/api/tools?integration=library")) == 6


def test_graphql_secret_header_from_a_connection(cat_env: dict[str, str],
                                                 data_dir: Path) -> None:
    with running(token=SECRET) as server:
        daemon, api = start(data_dir, cat_env)
        with daemon:
            template = [{"kind": "apikey", "placements": [
                {"carrier": "header", "name": "Authorization", "prefix": "Bearer "}]}]
            added = api.post("/api/graphql/integrations", {
                "endpoint": server.url, "slug": "private", "authenticationTemplate": template})
            assert added["toolCount"] == 0 and server.count == 0  # nothing to introspect with
            conn = api.post("/api/connections", {"owner": "org", "integration": "private",
                                                 "name": "main", "value": SECRET})
            assert conn["toolCount"] == 6
            out = api.post("/api/executions", {"tool": "private.org.main.query.authors",
                                               "args": {}})
            assert out["result"]["ok"] is True, out
            assert all(r["headers"]["authorization"] == f"Bearer {SECRET}"
                       for r in server.requests)
            # The snapshot introspected with the connection's credential is kept.
            config = api.get("/api/graphql/integrations/private")
            assert config["introspectionHash"]
        assert all(SECRET not in text for text in api.seen)
        introspections = sum("__schema" in q for q in server.queries())
        assert introspections == 1
        daemon2, api2 = start(data_dir, cat_env)
        with daemon2:
            out = api2.post("/api/executions", {"tool": "private.org.main.query.book",
                                                "args": {"id": "b1", "select": "title"}})
            assert out["result"]["data"] == {"book": {"title": "The Dispossessed"}}
            out = api2.post("/api/executions", {"tool": "private.org.main.query.book",
                                                "args": {"id": "b1", "select": "nope"}})
            assert out["result"]["error"]["code"] == "graphql_invalid_selection"
        assert sum("__schema" in q for q in server.queries()) == introspections
        assert SECRET not in "".join(daemon.stdout + daemon.stderr)
        log = data_dir / "logs" / "daemon.log"
        assert not log.exists() or SECRET not in log.read_text(errors="replace")


def test_migrated_fixture_library_callable(cat_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "fixture"
    shutil.copytree(FIXTURE / "data", data)
    for f in [data, *data.iterdir()]:
        f.chmod(0o700 if f.is_dir() else 0o600)
    auth = tmp_path / "auth.json"
    shutil.copy(FIXTURE / "auth.json", auth)
    auth.chmod(0o600)
    secrets = json.loads(auth.read_text())
    with contextlib.closing(sqlite3.connect(data / "data.db")) as db:
        (item_ids,), = db.execute("select item_ids from connection where integration='library'")
    token = secrets[json.loads(item_ids)["token"]]
    with running(token=token) as server:
        # The fixture's config points at 127.0.0.1:47902; rewrite it in the copy.
        with contextlib.closing(sqlite3.connect(data / "data.db")) as db, db:
            (config,), = db.execute("select config from integration where slug='library'")
            db.execute("update integration set config=? where slug='library'",
                       (json.dumps({**json.loads(config), "endpoint": server.url}),))
        daemon, api = start(data, {**cat_env, "EXECUTOR_AUTH_FILE": str(auth)})
        with daemon:
            base = "library.org.libraryGraphqlToken"
            out = api.post("/api/executions", {"tool": f"{base}.query.books",
                                               "args": {"limit": 2}})
            assert out["status"] == "completed" and out["result"]["ok"] is True, out
            assert len(out["result"]["data"]["books"]) == 2
            out = api.post("/api/executions", {"tool": f"{base}.query.book",
                                               "args": {"id": "b3", "select": "title"}})
            assert out["result"]["data"] == {"book": {"title": "The Left Hand of Darkness"}}
            paused = api.post("/api/executions", {"tool": f"{base}.mutation.deleteBook",
                                                  "args": {"id": "b3"}})
            assert paused["status"] == "paused"
            done = api.post(f"/api/executions/{paused['executionId']}/resume",
                            {"action": "accept"})
            assert done["result"] == {**done["result"], "ok": True,
                                      "data": {"deleteBook": True}}
            assert server.requests[0]["headers"]["authorization"] == f"Bearer {token}"
            # A refresh lists with the connection's credential and keeps the snapshot that
            # 1.5.9 dropped: config.introspectionHash -> blob introspection/<sha256>.
            out = api.post("/api/connections/org/library/libraryGraphqlToken/refresh", {})
            assert out["toolCount"] == 6
            sha = api.get("/api/graphql/integrations/library")["introspectionHash"]
        assert all(token not in text for text in api.seen)
        with contextlib.closing(sqlite3.connect(data / "data.db")) as db:
            (text,), = db.execute("select value from blob where namespace=? and key=?",
                                  ("o:project-a105cef1/graphql", f"introspection/{sha}"))
        assert hashlib.sha256(text.encode()).hexdigest() == sha
        assert json.loads(text)["data"]["__schema"]["queryType"]["name"] == "Query"


def test_cli_add_graphql_against_the_daemon(cat_env: dict[str, str], data_dir: Path) -> None:
    with running(token=SECRET) as server:
        daemon, api = start(data_dir, cat_env)
        with daemon:
            cmd = [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "--json",
                   "integrations", "add-graphql", server.url, "--slug", "library",
                   "--header", "Authorization:Bearer ", "--connection", "main", "--value-stdin"]
            done = subprocess.run(cmd, input=f"{SECRET}\n", capture_output=True, text=True,
                                  env=pythonpath_env(cat_env), timeout=120)
            assert done.returncode == 0, done.stderr
            out = json.loads(done.stdout)
            assert out["integration"]["slug"] == "library"
            assert out["connection"]["toolCount"] == 6
            assert SECRET not in done.stdout + done.stderr
            tools = api.get("/api/tools?integration=library")
            assert {t["address"] for t in tools} >= {"tools.library.org.main.query.books"}
            out = api.post("/api/executions", {"tool": "library.org.main.query.book",
                                               "args": {"id": "b2"}})
            assert out["result"]["data"]["book"]["title"] == "Dream Work"
            call = subprocess.run(
                [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "call",
                 "library.org.main.query.book", '{"id": "b1", "select": "title author { name }"}'],
                capture_output=True, text=True, env=pythonpath_env(cat_env), timeout=120)
            assert call.returncode == 0, call.stderr
            assert json.loads(call.stdout) == {"book": {"title": "The Dispossessed",
                                                        "author": {"name": "Ursula K. Le Guin"}}}
            again = subprocess.run(cmd[:-5], capture_output=True, text=True,
                                   env=pythonpath_env(cat_env), timeout=120)
            assert again.returncode != 0 and "already exists" in again.stderr, again.stderr


def test_refresh_takes_a_changed_schema(cat_env: dict[str, str], data_dir: Path) -> None:
    with running() as server:
        daemon, api = start(data_dir, cat_env)
        with daemon:
            api.post("/api/graphql/integrations", {"endpoint": server.url, "slug": "library"})
            first = api.get("/api/graphql/integrations/library")["introspectionHash"]
            # Executor never re-introspects a stored snapshot; neither does a plain refresh.
            api.post("/api/connections/org/library/main/refresh", {})
            assert api.get("/api/graphql/integrations/library")["introspectionHash"] == first
            server.evolve('extend type Query { "The API version" version: String }')
            out = api.post("/api/graphql/integrations/library/refresh", {})
            assert out["changed"] is True and out["introspectionHash"] != first
            assert out["connections"] == [{"owner": "org", "name": "main", "toolCount": 7}]
            names = {t["name"] for t in api.get("/api/tools?integration=library")}
            assert "query.version" in names
            found = api.get("/api/search?query=API+version")
            assert "library.org.main.query.version" in [i["path"] for i in found["items"]]
            # Unchanged upstream: the same snapshot.
            again = api.post("/api/graphql/integrations/library/refresh", {})
            assert again["changed"] is False
            # Introspection switched off: refused, the snapshot kept; a schema file works.
            server.introspection = False
            status, err = api.call("POST", "/api/graphql/integrations/library/refresh", {})
            assert status == 502 and "introspection has been disabled" in err["error"]["message"]
            kept = api.get("/api/graphql/integrations/library")["introspectionHash"]
            assert kept == out["introspectionHash"]
            back = api.post("/api/graphql/integrations/library/refresh", {"schema": SDL})
            assert back["changed"] is True and back["connections"][0]["toolCount"] == 6
            assert "query.version" not in {
                t["name"] for t in api.get("/api/tools?integration=library")}
            status, err = api.call("POST", "/api/graphql/integrations/ghost/refresh", {})
            assert status == 404
            server.introspection = True
            server.evolve("extend type Query { ping: Boolean }")
            done = subprocess.run(
                [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir),
                 "integrations", "refresh-graphql", "library"],
                capture_output=True, text=True, env=pythonpath_env(cat_env), timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "Schema changed; org.main: 7 tools"
            server.evolve("extend type Query { pong: Boolean }")
            done = subprocess.run(
                [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir),
                 "integrations", "refresh", "library"],
                capture_output=True, text=True, env=pythonpath_env(cat_env), timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "The schema changed\norg/main: 7 tools"
            assert "query.pong" in {t["name"] for t in api.get("/api/tools?integration=library")}
