"""The other direction: the real Executor 1.5.9 (``executor@1.5.9-linux-x64`` from npm) reads what
our migration wrote from each real 1.4.7 fixture, and its HTTP API lists the same integrations,
connections and tools, with the same schemas and the same secrets store.

How each case runs:

1. A private copy of the fixture's v1 data dir and auth.json. The v1 scope id is the tenant id
   1.4.7 derived from the dir it ran in (``makeTenantId``: basename + sha256 of the path); 1.5.9
   derives its tenant the same way from its cwd, and the fixtures' original dir is unknown. So
   the copy's scope id is renamed to the tenant of a private ``project`` dir (every ``scope_id``
   column and the auth.json scope key, nothing else), and 1.5.9 runs from that dir: exactly the
   relation a person's own v1 data has with the dir they run Executor in.
2. Our built pyz migrates it (``migrate --json``; auth.json at its default place,
   ``$XDG_DATA_HOME/executor/auth.json``, where 1.5.9 looks too).
3. 1.5.9 boots on a copy of that data dir and of that XDG data dir (private HOME and TMPDIR,
   127.0.0.1, ``--port 0``, ``EXECUTOR_DISABLE_INTEGRATIONS_FETCH=1``, ``DO_NOT_TRACK=1``: nothing
   but the npm registry is contacted by this test).
4. Its API is compared with our rows, and with what its API listed after its own migration of
   the same fixture (``api/*.json``); every difference from the latter is one of ours, by name.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import peer
from proc import run_cli

pytestmark = [pytest.mark.compat, peer.needs_fixtures]

# The deliberate differences of our migration that 1.5.9's API shows, by name.
WORKSPACE = "workspace-connection-keeps-tools"
"""A source without credentials (OpenAPI, Google Discovery) gets a credential-less ``workspace``
connection (template ``none``) and keeps its tools; 1.5.9 gives it no connection and drops them."""
SPEC_URL = "openapi-spec-url-kept"
"""An OpenAPI spec given as a URL is kept as ``config.sourceUrl``, which 1.5.9 lists as the
integration's ``displayUrl``; its own migration stores the URL text as the spec and shows none."""
MCP_HEADER = "remote-mcp-header-name-kept"
"""A remote MCP header credential keeps its header name: auth method ``apiKey`` placing the token
in ``X-Fixture-Token``; 1.5.9's own migration lists ``none`` (the header name is lost)."""
# Kept too, but shown by no list endpoint of 1.5.9 (checked where it does show them):
STDIO = "stdio-mcp-command-kept"
"""A stdio MCP server keeps command, args and env: 1.5.9's ``GET /api/mcp/servers/<slug>`` shows
them from our config; its own migration keeps only ``transport``."""
NOT_IN_API = {
    "google-discovery-config-kept": "1.5.9 has no Google Discovery route; test_plan.py compares it",
    "renamed-openapi-name-kept": "1.5.9's openapi config route omits `name`; test_plan.py has it",
}

EXPECTED_DIFFERENCES: dict[str, dict[str, set[str]]] = {
    "empty": {},
    "openapi": {SPEC_URL: {"petstore"}},
    "mixed": {
        SPEC_URL: {"petstore", "petstore_via_call"},
        MCP_HEADER: {"remote_mcp"},
        WORKSPACE: {"petstore_via_call", "notes"},
    },
    "wal-live": {SPEC_URL: {"petstore"}, MCP_HEADER: {"remote_mcp"}},
    "wal-live-after-clean-stop": {SPEC_URL: {"petstore"}, MCP_HEADER: {"remote_mcp"}},
}
EXPECTED_STDIO = {"mixed": {"stdio_mcp"}, "wal-live": {"stdio_mcp"},
                  "wal-live-after-clean-stop": {"stdio_mcp"}}


@pytest.fixture(scope="session")
def executor_159(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1.5.9 binary, installed once per session (shared by the xdist workers, whose base
    temp dirs are siblings in the session's own dir)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(root / "executor-1.5.9.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return peer.install_executor_159(root / "executor-1.5.9")


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with peer.private_copy(db) as conn:
        cur = conn.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _ours(db: Path) -> dict[str, Any]:
    integrations = {r["slug"]: r for r in _rows(db, "SELECT * FROM integration")}
    for r in integrations.values():
        r["config"] = json.loads(r["config"])
    definitions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _rows(db, "SELECT integration, connection, name FROM definition"):
        definitions[r["integration"], r["connection"]].add(r["name"])
    return {
        "integrations": integrations,
        "connections": _rows(db, "SELECT * FROM connection"),
        "tools": _rows(db, "SELECT * FROM tool"),
        "definitions": definitions,
    }


def _prepare(case: peer.Case, tmp: Path, env: dict[str, str], pyz: Path) -> tuple[Path, Path]:
    """Steps 1 and 2: the re-scoped v1 copy, migrated by our pyz. Returns (project, data)."""
    project = tmp / "work" / "project"
    project.mkdir(parents=True)
    data = peer.copy_data_dir(case, tmp / "data")
    auth = Path(env["XDG_DATA_HOME"]) / "executor" / "auth.json"
    auth.parent.mkdir(parents=True)
    if case.auth is not None:
        auth.write_bytes(case.auth.read_bytes())
    changed = peer.rescope_v1(data / "data.db", auth, case.scope_id, peer.tenant_for(project))
    assert (changed > 0) == (case.name != "empty")
    proc = run_cli(pyz, ["--data-dir", str(data), "migrate", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "migrated" and result["warnings"] == []
    if case.auth is not None:
        assert len(list(auth.parent.glob("auth.json.v1-v2-*"))) == 1
    return project, data


def _peer_env(tmp: Path, xdg: Path, data: Path) -> dict[str, str]:
    home, tmpdir = tmp / "peer-home", tmp / "peer-tmp"
    home.mkdir()
    tmpdir.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "XDG_DATA_HOME": str(xdg),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "EXECUTOR_DATA_DIR": str(data),
        "EXECUTOR_DISABLE_INTEGRATIONS_FETCH": "1",
        "EXECUTOR_DISABLE_UPDATE_CHECK": "1",
        "DO_NOT_TRACK": "1",
    }


def _differences(case: peer.Case, ours: dict[str, Any], api: dict[str, Any]) -> dict[str, set]:
    """Every difference between 1.5.9's API on our data and on its own migration, classified;
    an unexplained one fails the test."""
    ref = {name: json.loads((case.ref_dir / "api" / f"{name}.json").read_text())
           for name in ("integrations", "connections", "tools", "policies", "providers")}
    found: dict[str, set[str]] = defaultdict(set)
    assert api["policies"] == ref["policies"] and api["providers"] == ref["providers"]

    mine = {i["slug"]: dict(i) for i in api["integrations"]}
    theirs = {i["slug"]: dict(i) for i in ref["integrations"]}
    assert set(mine) == set(theirs)
    for slug, m in mine.items():
        t = theirs[slug]
        config = ours["integrations"].get(slug, {}).get("config", {})
        if "displayUrl" in m and "displayUrl" not in t:
            assert m.pop("displayUrl") == config["sourceUrl"], slug
            found[SPEC_URL].add(slug)
        if m["authMethods"] != t["authMethods"]:
            assert m["kind"] == "mcp" and [a["kind"] for a in t["authMethods"]] == ["none"], slug
            (method,) = m["authMethods"]
            assert method["kind"] == "apikey" and method["placements"] == [
                {"carrier": "header", "name": p["name"], "prefix": ""}
                for p in config["authenticationTemplate"][0]["placements"]
            ], slug
            m["authMethods"] = t["authMethods"]
            found[MCP_HEADER].add(slug)
        assert m == t, f"{slug}: unexplained difference"

    key = lambda c: (c["integration"], c["name"])  # noqa: E731
    mine_c = {key(c): c for c in api["connections"]}
    theirs_c = {key(c): c for c in ref["connections"]}
    assert set(theirs_c) <= set(mine_c)
    for k, c in mine_c.items():
        if k in theirs_c:
            assert c == theirs_c[k], k
        else:
            assert c["name"] == "workspace" and c["template"] == "none", k
            found[WORKSPACE].add(c["integration"])

    mine_t = {t["address"]: t for t in api["tools"]}
    theirs_t = {t["address"]: t for t in ref["tools"]}
    assert set(theirs_t) <= set(mine_t)
    for address, t in mine_t.items():
        if address in theirs_t:
            assert t == theirs_t[address], address
        else:  # a tool 1.5.9 dropped with the source's missing connection
            assert t["integration"] in found[WORKSPACE] and t["connection"] == "workspace"
    return dict(found)


@pytest.mark.parametrize("name", peer.CASE_NAMES)
def test_executor_159_lists_what_we_migrated(
    pyz: Path, env: dict[str, str], tmp_path: Path, executor_159: Path, name: str
) -> None:
    case = peer.CASES[name]
    project, ours_dir = _prepare(case, tmp_path, env, pyz)
    ours = _ours(ours_dir / "data.db")
    auth_ours = Path(env["XDG_DATA_HOME"]) / "executor" / "auth.json"
    new_auth = json.loads(auth_ours.read_text()) if case.auth is not None else {}

    # Step 3: 1.5.9 on copies of our data dir and of the XDG data dir holding our auth.json.
    data = tmp_path / "peer-data"
    shutil.copytree(ours_dir, data)
    xdg = tmp_path / "peer-xdg"
    shutil.copytree(env["XDG_DATA_HOME"], xdg)
    before_files, before_rows = peer.tree(data), peer.table_digests(data / "data.db")
    before_auth = peer.digests(xdg)
    token = "t" + secrets.token_urlsafe(24)
    args = ["daemon", "run", "--foreground", "--port", "0", "--hostname", "127.0.0.1",
            f"--auth-token={token}"]
    server = peer.Peer(executor_159, args, _peer_env(tmp_path, xdg, data), cwd=project)
    try:
        server.wait_ready()
        api = {}
        for endpoint in ("integrations", "connections", "tools", "policies", "providers"):
            status, api[endpoint] = server.get(f"/api/{endpoint}", token)
            assert status == 200, (endpoint, api[endpoint])

        # Step 4a: the integrations, connections and tools we wrote, as 1.5.9 lists them.
        listed = {i["slug"]: i for i in api["integrations"] if i["kind"] != "built-in"}
        assert {s: (i["kind"], i["description"]) for s, i in listed.items()} == {
            s: (r["plugin_id"], r["description"]) for s, r in ours["integrations"].items()
        }, f"1.5.9 (tenant {peer.tenant_for(project)}) does not list our integrations"
        for slug in listed:
            assert server.get(f"/api/integrations/{slug}", token) == (200, listed[slug])
        assert {(c["integration"], c["name"]): (c["template"], c["provider"], c["owner"])
                for c in api["connections"]} == {
            (c["integration"], c["name"]): (c["template"], c["provider"], c["owner"])
            for c in ours["connections"]}
        tools = {t["address"]: t for t in api["tools"] if t["integration"] != "executor"}
        expected_tools = {
            f"tools.{t['integration']}.{t['owner']}.{t['connection']}.{t['name']}": t
            for t in ours["tools"]
        }
        assert set(tools) == set(expected_tools)
        for address, t in expected_tools.items():
            assert (tools[address]["pluginId"], tools[address]["description"]) == (
                t["plugin_id"], t["description"]), address
            # The schemas it resolves: ours, with $defs from our definitions.
            status, schema = server.get("/api/tools/schema", token, address=address)
            assert status == 200, (address, schema)
            for field, column in (("inputSchema", "input_schema"),
                                  ("outputSchema", "output_schema")):
                want = json.loads(t[column]) if t[column] else None
                assert schema.get(field) == want, (address, field)
            assert set(schema.get("schemaDefinitions") or {}) <= ours["definitions"][
                t["integration"], t["connection"]], address

        # The plugins' own views of our configs.
        for slug, row in ours["integrations"].items():
            config, plugin = row["config"], row["plugin_id"]
            route = {"openapi": f"/api/openapi/integrations/{slug}/config",
                     "graphql": f"/api/graphql/integrations/{slug}/config",
                     "mcp": f"/api/mcp/servers/{slug}"}.get(plugin)
            if route is None:
                continue  # googleDiscovery: no route in 1.5.9 (see NOT_IN_API)
            status, shown = server.get(route, token)
            assert status == 200, (route, shown)
            shown = shown["config"] if plugin == "mcp" else shown
            assert {k: v for k, v in shown.items() if v is not None} == {
                k: config[k] for k in shown if k in config}, slug
        stdio = {s for s, r in ours["integrations"].items()
                 if r["config"].get("transport") == "stdio"}
        assert stdio == EXPECTED_STDIO.get(name, set())
        ref_db = case.ref_dir / "data" / "data.db"
        for slug in stdio:  # STDIO: 1.5.9 shows the command its own migration lost
            status, shown = server.get(f"/api/mcp/servers/{slug}", token)
            assert shown["config"]["command"] == ours["integrations"][slug]["config"]["command"]
            (theirs,) = peer.query(ref_db, "SELECT config FROM integration WHERE slug = ?",
                                   (slug,))
            assert "command" not in json.loads(theirs[0]), STDIO

        # The secrets: 1.5.9's file provider parses our auth.json and holds every item our
        # connections point at (a nested v1 object in it made this a 500).
        status, items = server.get("/api/providers/file/items", token)
        assert status == 200, items
        assert {i["id"] for i in items} == set(new_auth)
        pointed = {v for c in ours["connections"] for v in json.loads(c["item_ids"]).values()}
        assert pointed <= set(new_auth)

        # Step 4b: against 1.5.9's API on its own migration, every difference named.
        assert _differences(case, ours, api) == EXPECTED_DIFFERENCES[name]
    finally:
        server.stop()

    # 1.5.9 did not migrate our database again, nor rewrite any of it.
    assert server.proc.returncode is not None
    backups = lambda files: {f for f in files if f.startswith("data.db.v1-v2-")}  # noqa: E731
    assert backups(peer.tree(data)) == backups(before_files) and len(backups(before_files)) == 1
    assert peer.table_digests(data / "data.db") == before_rows
    assert peer.digests(xdg) == before_auth
    assert not list((tmp_path / "peer-tmp").glob("executor-legacy-migrations-*"))


def test_executor_159_lists_what_the_catalog_added(
    env: dict[str, str], tmp_path: Path, executor_159: Path
) -> None:
    """Our daemon adds an OpenAPI integration, a connection with a secret (file provider), a
    policy, a pause (``executor_local_execution``) and the search index (``executor_local_*``
    FTS tables) to a new data dir; 1.5.9 run with that data dir as its scope dir boots on it,
    lists all of it, resolves the schemas, reads the secret's item, and changes nothing."""
    pytest.importorskip("executor_local.integrations.openapi")
    petstore_mod = pytest.importorskip("upstreams.petstore")
    from catalog_util import Api, SourceDaemon

    data = tmp_path / "catalog-data"
    xdg = Path(env["XDG_DATA_HOME"])
    with petstore_mod.PetstoreServer() as petstore:
        ours = SourceDaemon(data, {**env, "EXECUTOR_SECRET_PROVIDER": "file"}, cwd=tmp_path)
        with ours:
            api = Api(ours.wait_ready(), ours.token)
            tenant = api.get("/api/info")["tenant"]
            assert tenant == peer.tenant_for(data)
            api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                            "slug": "pets"})
            conn = api.post("/api/connections", {"owner": "org", "integration": "pets",
                                                 "name": "main", "template": "apikey-0",
                                                 "value": petstore.api_key})
            policy = api.post("/api/policies", {"owner": "org", "action": "block",
                                                "pattern": "pets.*.*.pets.deletePet"})
            paused = api.post("/api/executions", {"tool": "pets.org.main.pets.createPet",
                                                  "args": {"body": {"name": "x"}}})
            assert paused["status"] == "paused"
            assert api.get("/api/search?query=pet")["total"] > 0
            our_tools = {t["address"] for t in api.get("/api/tools?includeBlocked=true")}
            assert ours.terminate() == 0
    added = {r[0] for r in peer.query(data / "data.db", "SELECT name FROM sqlite_master WHERE "
                                      "type = 'table' AND name LIKE 'executor_local_%'")}
    assert {"executor_local_execution", "executor_local_meta"} <= added
    assert any(n.startswith("executor_local_tool_") for n in added), added

    before_rows = peer.table_digests(data / "data.db")
    token = "t" + secrets.token_urlsafe(24)
    args = ["daemon", "run", "--foreground", "--port", "0", "--hostname", "127.0.0.1",
            f"--auth-token={token}"]
    server = peer.Peer(executor_159, args, {**_peer_env(tmp_path, xdg, data),
                                            "EXECUTOR_SCOPE_DIR": str(data)}, cwd=data)
    try:
        server.wait_ready()
        status, integrations = server.get("/api/integrations", token)
        assert status == 200 and "pets" in {i["slug"] for i in integrations}
        status, connections = server.get("/api/connections", token)
        assert [(c["integration"], c["name"], c["provider"]) for c in connections] == [
            ("pets", "main", "file")]
        assert connections[0]["address"] == conn["address"]
        status, tools = server.get("/api/tools", token)
        theirs = {t["address"] for t in tools if t["integration"] == "pets"}
        assert theirs | {"tools.pets.org.main.pets.deletePet"} == our_tools
        status, schema = server.get("/api/tools/schema", token,
                                    address="tools.pets.org.main.pets.showPetById")
        assert status == 200 and "petId" in schema["inputSchema"]["properties"]
        status, policies = server.get("/api/policies", token)
        assert [(p["id"], p["pattern"], p["action"]) for p in policies] == [
            (policy["id"], policy["pattern"], "block")]
        status, items = server.get("/api/providers/file/items", token)
        assert status == 200 and len(items) == 1 and items[0]["id"].startswith("secret_")
    finally:
        server.stop()
    # 1.5.9 stamps its own ledger entries on a data set it did not create; nothing else changes.
    after_rows = peer.table_digests(data / "data.db")
    assert after_rows.pop("data_migration")[0] >= before_rows.pop("data_migration")[0]
    assert after_rows == before_rows
