"""The catalog end to end through the real daemon (run from the source tree) and a real
petstore upstream: add an OpenAPI integration, connect it with a secret, list, search, describe,
call, pause and approve or decline, a pause surviving a restart, block policies, refused
patterns, bad input changing nothing, the tenant independent of the cwd, and the secret in no
response, log or database page."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("executor_local.integrations.openapi",
                    reason="the OpenAPI plugin (branch openapi) is not merged here yet")
upstreams = pytest.importorskip("upstreams.petstore",
                                reason="the petstore upstream (branch openapi) is not here yet")
from catalog_util import Api, SourceDaemon  # noqa: E402
from upstreams.petstore import PetstoreServer  # noqa: E402

FIXTURE = Path("/work/shared/fixtures/executor-1.5.9-migrated/mixed")


@pytest.fixture
def petstore():
    with PetstoreServer() as server:
        yield server


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str], cwd: Path | None = None) -> tuple[SourceDaemon,
                                                                                Api]:
    daemon = SourceDaemon(data_dir, env, cwd)
    port = daemon.wait_ready()
    return daemon, Api(port, daemon.token)


def add_petstore(api: Api, petstore: PetstoreServer, slug: str = "pets") -> None:
    out = api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                          "slug": slug})
    assert out["slug"] == slug and out["toolCount"] >= 10
    conn = api.post("/api/connections", {"owner": "org", "integration": slug, "name": "main",
                                         "template": "apikey-0", "value": petstore.api_key})
    assert conn["address"] == f"tools.{slug}.org.main" and conn["provider"] == "file"


def executions_rows(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / "data.db")
    try:
        return conn.execute("SELECT count(*) FROM executor_local_execution").fetchone()[0]
    finally:
        conn.close()


def test_catalog_end_to_end(petstore: PetstoreServer, cat_env: dict[str, str], data_dir: Path,
                            tmp_path: Path) -> None:
    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        # list, filters, search, describe
        tools = api.get("/api/tools?integration=pets")
        names = {t["name"] for t in tools}
        assert {"pets.listPets", "pets.createPet", "store.getInventory"} <= names
        create = next(t for t in tools if t["name"] == "pets.createPet")
        assert create["requiresApproval"] is True
        assert create["address"] == "tools.pets.org.main.pets.createPet"
        found = api.get("/api/search?query=pet")
        paths = [i["path"] for i in found["items"]]
        assert "pets.org.main.pets.listPets" in paths
        assert api.get("/api/tools?query=inventories")[0]["name"] == "store.getInventory"
        listed = api.get("/api/search?namespace=pets&limit=100")
        assert listed["total"] == len(tools)
        view = api.get("/api/tools/schema?address=tools.pets.org.main.pets.showPetById")
        assert "petId" in view["inputSchema"]["properties"]
        assert "petId" in view["inputTypeScript"]
        # a GET runs at once
        out = api.post("/api/executions", {"tool": "pets.org.main.pets.listPets", "args": {}})
        assert out["status"] == "completed" and out["result"]["ok"] is True
        assert {p["name"] for p in out["result"]["data"]} == {"Rex", "Tom"}
        # a POST pauses; accept runs it once, a second resume answers the same
        paused = api.post("/api/executions", {"tool": "tools.pets.org.main.pets.createPet",
                                              "args": {"body": {"name": "Bo"}}})
        assert paused["status"] == "paused"
        eid = paused["executionId"]
        assert eid.startswith("exec_")
        assert paused["interaction"]["address"] == "tools.pets.org.main.pets.createPet"
        assert paused["interaction"]["args"] == {"body": {"name": "Bo"}}
        assert api.get(f"/api/executions/{eid}")["status"] == "paused"
        assert petstore.next_id == 3
        done = api.post(f"/api/executions/{eid}/resume", {"action": "accept"})
        assert done["status"] == "completed" and done["result"]["ok"] is True
        assert done["result"]["data"]["name"] == "Bo" and petstore.next_id == 4
        again = api.post(f"/api/executions/{eid}/resume", {"action": "decline"})
        assert again == done and petstore.next_id == 4
        # decline: the upstream never sees the DELETE
        paused = api.post("/api/executions", {"tool": "pets.org.main.pets.deletePet",
                                              "args": {"petId": 1}})
        declined = api.post(f"/api/executions/{paused['executionId']}/resume",
                            {"action": "decline"})
        assert declined["result"]["ok"] is False
        assert declined["result"]["error"]["code"] == "declined"
        assert 1 in petstore.pets
        # block hides and refuses, even with autoApprove
        policy = api.post("/api/policies", {"owner": "org", "action": "block",
                                            "pattern": "pets.*.*.pets.deletePet"})
        assert "pets.deletePet" not in {t["name"] for t in api.get("/api/tools")}
        assert "pets.org.main.pets.deletePet" not in [
            i["path"] for i in api.get("/api/search?query=delete+pet")["items"]]
        blocked = api.post("/api/executions", {"tool": "pets.org.main.pets.deletePet",
                                               "args": {"petId": 1}, "autoApprove": True})
        assert blocked["result"]["error"]["code"] == "blocked" and 1 in petstore.pets
        status, err = api.call("GET", "/api/tools/schema?address=pets.org.main.pets.deletePet")
        assert status == 404
        # an approve rule lifts the default approval
        api.post("/api/policies", {"owner": "org", "action": "approve",
                                   "pattern": "pets.org.main.pets.createPet"})
        out = api.post("/api/executions", {"tool": "pets.org.main.pets.createPet",
                                           "args": {"body": {"name": "Al"}}})
        assert out["status"] == "completed" and out["result"]["ok"] is True
        # a pattern that can never match is refused, and nothing is added
        before = api.get("/api/policies")
        for bad in ("pets.org.main", "pets.o*", "*.org.main.x", "pets..x", "pets.team.main.x"):
            status, err = api.call("POST", "/api/policies", {"owner": "org", "pattern": bad,
                                                             "action": "block"})
            assert status == 400 and err["error"]["code"] == "invalid_pattern", (bad, err)
        assert api.get("/api/policies") == before
        status, _ = api.call("DELETE", f"/api/policies/{policy['id']}", {"owner": "org"})
        assert status == 200
        # bad input: clear errors, nothing stored, the upstream untouched
        hits, rows = petstore.requests, executions_rows(data_dir)
        out = api.post("/api/executions", {"tool": "pets.org.main.pets.nope", "args": {}})
        assert out["result"]["error"]["code"] == "tool_not_found"
        assert "pets.org.main.pets.listPets" in out["result"]["error"]["details"]["suggestions"]
        out = api.post("/api/executions", {"tool": "pets.org.main.pets.showPetById",
                                           "args": {"petId": "abc", "extra": 1}})
        err = out["result"]["error"]
        assert err["code"] == "invalid_arguments" and "petId" in err["message"]
        status, err = api.call("POST", "/api/executions", {"args": {}})
        assert status == 400 and err["error"]["code"] == "invalid_body"
        assert petstore.requests == hits and executions_rows(data_dir) == rows
        integrations = api.get("/api/integrations")
        status, err = api.call("POST", "/api/openapi/specs",
                               {"spec": {"kind": "blob", "value": "just: text\n"}, "slug": "x"})
        assert status == 400 and err["error"]["message"]
        status, err = api.call("POST", "/api/openapi/specs",
                               {"spec": {"kind": "url", "url": "http://127.0.0.1:9/none"}})
        assert status == 400 and err["error"]["message"]
        status, err = api.call("POST", "/api/connections", {
            "owner": "org", "integration": "pets", "name": "two", "template": "apikey-0",
            "value": "v", "values": {"token": "v"}})
        assert status == 400 and err["error"]["code"] == "invalid_connection_input"
        status, err = api.call("POST", "/api/openapi/specs",
                               {"spec": {"kind": "url", "url": petstore.spec_url},
                                "slug": "pets"})
        assert status == 409
        assert api.get("/api/integrations") == integrations
        assert len(api.get("/api/connections")) == 1
        # providers list item ids, never values
        assert api.get("/api/providers") == ["file"]
        items = api.get("/api/providers/file/items")
        assert len(items) == 1 and items[0]["id"].startswith("secret_")
        # docs
        spec = api.get("/api/openapi.json")
        assert "/api/tools/schema" in spec["paths"] and "/api/executions" in spec["paths"]
        status, page = api.call("GET", "/api/docs")
        assert status == 200 and "/api/connections" in page
        # the secret is in the file provider only (0600), until its connection goes
        secret = petstore.api_key
        auth_file = Path(cat_env["EXECUTOR_AUTH_FILE"])
        assert secret in auth_file.read_text() and (auth_file.stat().st_mode & 0o777) == 0o600
        # refresh re-lists; remove takes the tools, the connection and its minted secret away
        assert api.post("/api/connections/org/pets/main/refresh", {})["toolCount"] == len(tools)
        assert api.call("DELETE", "/api/integrations/pets")[0] == 200
        assert secret not in auth_file.read_text()
        assert api.get("/api/providers/file/items") == []
        assert api.get("/api/tools") == [] and api.get("/api/search?query=pet")["total"] == 0
        assert daemon.terminate() == 0
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").rglob("*")
                   if p.is_file())
    db_bytes = b"".join(p.read_bytes() for p in data_dir.glob("data.db*"))
    for text in (*api.seen, daemon.err, daemon.out, logs):
        assert secret not in text
    assert secret.encode() not in db_bytes


def test_pause_survives_restart(petstore: PetstoreServer, cat_env: dict[str, str],
                                data_dir: Path) -> None:
    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        paused = api.post("/api/executions", {"tool": "pets.org.main.pets.createPet",
                                              "args": {"body": {"name": "Later"}}})
        assert daemon.terminate() == 0
    daemon, api = start(data_dir, cat_env)
    with daemon:
        eid = paused["executionId"]
        assert api.get(f"/api/executions/{eid}")["status"] == "paused"
        done = api.post(f"/api/executions/{eid}/resume", {"action": "accept"})
        assert done["result"]["ok"] is True and done["result"]["data"]["name"] == "Later"
        assert api.post(f"/api/executions/{eid}/resume", {"action": "accept"}) == done
        assert petstore.next_id == 4
        status, err = api.call("POST", "/api/executions/exec_nope/resume", {"action": "accept"})
        assert status == 404 and err["error"]["code"] == "execution_not_found"


def test_tenant_does_not_depend_on_cwd(petstore: PetstoreServer, cat_env: dict[str, str],
                                       data_dir: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    daemon, api = start(data_dir, cat_env, cwd=one)
    with daemon:
        add_petstore(api, petstore)
        tenant = api.get("/api/info")["tenant"]
        assert daemon.terminate() == 0
    daemon, api = start(data_dir, cat_env, cwd=two)
    with daemon:
        assert api.get("/api/info")["tenant"] == tenant
        assert "pets.listPets" in {t["name"] for t in api.get("/api/tools")}


def test_migrated_data_served_from_any_cwd(cat_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "fixture"
    shutil.copytree(FIXTURE / "data", data)
    daemon, api = start(data, {**cat_env, "EXECUTOR_AUTH_FILE": str(tmp_path / "auth.json")},
                        cwd=tmp_path)
    with daemon:
        assert api.get("/api/info")["tenant"] == "project-a105cef1"
        slugs = [i["slug"] for i in api.get("/api/integrations")]
        assert slugs[0] == "executor" and {"petstore", "library", "remote_mcp"} <= set(slugs)
        tools = api.get("/api/tools")
        assert len(tools) == 20
        by_name = {t["address"]: t for t in tools}
        assert by_name["tools.petstore.org.petstoreApiKey.pets.createPet"]["requiresApproval"]
        assert not by_name["tools.petstore.org.petstoreApiKey.pets.listPets"]["requiresApproval"]
        assert by_name["tools.library.org.libraryGraphqlToken.mutation.addBook"][
            "requiresApproval"]
        assert len(api.get("/api/connections")) == 5
        found = api.get("/api/search?query=books")
        assert found["items"][0]["integration"] == "library"


def test_concurrent_resumes_join_and_expiry(petstore: PetstoreServer, cat_env: dict[str, str],
                                            data_dir: Path) -> None:
    import threading

    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        paused = api.post("/api/executions", {"tool": "pets.org.main.pets.createPet",
                                              "args": {"body": {"name": "Once"}}})
        eid = paused["executionId"]
        results: list = []
        barrier = threading.Barrier(4)

        def resume() -> None:
            barrier.wait()
            results.append(api.post(f"/api/executions/{eid}/resume", {"action": "accept"}))

        threads = [threading.Thread(target=resume) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(results) == 4 and all(r == results[0] for r in results)
        assert results[0]["result"]["ok"] is True
        assert petstore.next_id == 4 and petstore.hits("/pets") == 1
        # connection and integration CRUD
        one = api.get("/api/connections/org/pets/main")
        assert one["name"] == "main" and one["template"] == "apikey-0"
        status, patched = api.call("PATCH", "/api/connections/org/pets/main",
                                   {"identityLabel": "me@example.com"})
        assert status == 200 and patched["identityLabel"] == "me@example.com"
        status, patched = api.call("PATCH", "/api/integrations/pets",
                                   {"description": "Pets, renamed"})
        assert status == 200 and patched["description"] == "Pets, renamed"
        status, err = api.call("GET", "/api/connections/org/pets/nope")
        assert status == 404 and err["error"]["code"] == "connection_not_found"
        status, err = api.call("DELETE", "/api/integrations/executor")
        assert status == 409
        assert api.call("DELETE", "/api/connections/org/pets/main")[0] == 200
        assert api.get("/api/tools?integration=pets") == []
        assert daemon.terminate() == 0
    daemon, api = start(data_dir, {**cat_env, "EXECUTOR_PAUSE_TTL_S": "0"})
    with daemon:
        api.post("/api/connections", {"owner": "org", "integration": "pets", "name": "main",
                                      "template": "apikey-0", "value": petstore.api_key})
        paused = api.post("/api/executions", {"tool": "pets.org.main.pets.createPet",
                                              "args": {"body": {"name": "Never"}}})
        out = api.post(f"/api/executions/{paused['executionId']}/resume", {"action": "accept"})
        assert out["result"]["error"]["code"] == "expired" and petstore.next_id == 4


def test_connection_from_an_existing_item(petstore: PetstoreServer, cat_env: dict[str, str],
                                          data_dir: Path) -> None:
    import json

    auth = Path(cat_env["EXECUTOR_AUTH_FILE"])
    auth.parent.mkdir(parents=True, exist_ok=True)
    auth.write_text(json.dumps({"secret_existing": petstore.api_key}))
    auth.chmod(0o600)
    daemon, api = start(data_dir, cat_env)
    with daemon:
        api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                        "slug": "pets"})
        base = {"owner": "org", "integration": "pets", "template": "apikey-0"}
        status, err = api.call("POST", "/api/connections", {
            **base, "name": "a", "from": {"provider": "file", "id": "secret_missing"}})
        assert status == 400 and err["error"]["code"] == "secret_not_found"
        status, err = api.call("POST", "/api/connections", {
            **base, "name": "a", "from": {"provider": "vault", "id": "secret_existing"}})
        assert status == 404 and err["error"]["code"] == "provider_not_found"
        conn = api.post("/api/connections", {
            **base, "name": "a", "from": {"provider": "file", "id": "secret_existing"}})
        assert conn["provider"] == "file"
        out = api.post("/api/executions", {"tool": "pets.org.a.pets.listPets", "args": {}})
        assert out["result"]["ok"] is True
        assert json.loads(auth.read_text()) == {"secret_existing": petstore.api_key}
        assert api.call("DELETE", "/api/connections/org/pets/a")[0] == 200
        assert json.loads(auth.read_text()) == {"secret_existing": petstore.api_key}
    for text in api.seen:
        assert petstore.api_key not in text


def test_migrated_openapi_tool_is_callable(cat_env: dict[str, str], tmp_path: Path) -> None:
    """A migrated integration runs with no extra step: binding from plugin_storage, the secret
    from the migrated auth.json; its upstream (the fixture's, long gone) is reported, not
    raised, and the token stays out of the answer."""
    data = tmp_path / "fixture"
    shutil.copytree(FIXTURE / "data", data)
    auth = tmp_path / "auth.json"
    shutil.copy(FIXTURE / "auth.json", auth)
    daemon, api = start(data, {**cat_env, "EXECUTOR_AUTH_FILE": str(auth)})
    with daemon:
        out = api.post("/api/executions", {
            "tool": "tools.fixture_todos.org.todosBearerToken.todos.listTodos", "args": {}})
        err = out["result"]["error"]
        assert out["status"] == "completed" and out["result"]["ok"] is False
        assert err["code"] in ("upstream_unreachable", "upstream_timeout") and err["retryable"]
        paused = api.post("/api/executions", {
            "tool": "fixture_todos.org.todosBearerToken.todos.createTodo",
            "args": {"body": {"title": "x"}}})
        assert paused["status"] == "paused"
    for text in api.seen:
        assert "todo_tok_abc" not in text


def test_an_integration_without_auth_gets_the_main_connection(
        petstore: PetstoreServer, cat_env: dict[str, str], data_dir: Path) -> None:
    import json

    spec = {"openapi": "3.1.0", "info": {"title": "Echo", "version": "1"},
            "servers": [{"url": petstore.url}],
            "paths": {"/echo": {"get": {"operationId": "echoBack", "tags": ["echo"],
                                        "responses": {"200": {"description": "ok"}}}}}}
    daemon, api = start(data_dir, cat_env)
    with daemon:
        out = api.post("/api/openapi/specs", {"spec": {"kind": "blob",
                                                       "value": json.dumps(spec)},
                                              "slug": "echo"})
        assert out["toolCount"] == 1 and out["integration"]["connection"] == "echo.org.main"
        (conn,) = api.get("/api/connections?integration=echo")
        assert (conn["name"], conn["template"]) == ("main", "none")
        (tool,) = api.get("/api/tools?integration=echo")
        assert tool["address"] == "tools.echo.org.main.echo.echoBack"
        out = api.post("/api/executions", {"tool": tool["address"], "args": {}})
        assert out["result"]["ok"] is True and out["result"]["data"]["path"] == "/echo"
