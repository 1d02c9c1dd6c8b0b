"""Code mode through the real daemon (run from the source tree) with the real catalog, the
OpenAPI plugin and the petstore upstream: ``POST /api/executions {code}`` combining calls,
search then call, a policy pause resumed with accept and decline, a pause that survives a
daemon restart without repeating the first call upstream, and limits that leave the daemon
serving."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("executor_local.integrations.openapi")
from catalog_util import Api, SourceDaemon
from upstreams.petstore import PetstoreServer


@pytest.fixture
def petstore():  # type: ignore[no-untyped-def]
    with PetstoreServer() as server:
        yield server


@pytest.fixture
def cat_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


def start(data_dir: Path, env: dict[str, str]) -> tuple[SourceDaemon, Api]:
    daemon = SourceDaemon(data_dir, env)
    port = daemon.wait_ready()
    return daemon, Api(port, daemon.token)


def add_petstore(api: Api, petstore: PetstoreServer) -> None:
    api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                    "slug": "pets"})
    api.post("/api/connections", {"owner": "org", "integration": "pets", "name": "main",
                                  "template": "apikey-0", "value": petstore.api_key})


COMBINE = """
    const list = await tools.pets.org.main.pets.listPets({});
    const { items } = await tools.search({ query: "info for a specific pet", limit: 3 });
    const path = items.find((i: { path: string }) => i.path.endsWith("showPetById"))!.path;
    const one = await tools[path]({ petId: list.data[1].id });
    console.log("seen", list.data.length);
    const conns = await tools.executor.coreTools.connections.list({ integration: "pets" });
    return { names: list.data.map((p: any) => p.name), second: one.data.name, path,
             conn: conns.data.connections.map((c: any) => c.address) };
"""

CREATE = """
    const before = await tools.pets.org.main.pets.listPets({});
    const made = await tools.pets.org.main.pets.createPet({ body: { name: "Neo" } });
    return { before: before.data.length, made: made.ok ? made.data.name : made.error.code };
"""


def test_execute_over_http(petstore: PetstoreServer, cat_env: dict[str, str],
                           data_dir: Path) -> None:
    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        out = api.post("/api/executions", {"code": COMBINE})
        assert out["status"] == "completed" and not out.get("isError"), out
        assert out["structured"]["result"] == {"names": ["Rex", "Tom"], "second": "Tom",
                                               "path": "pets.org.main.pets.showPetById",
                                               "conn": ["tools.pets.org.main"]}
        assert out["structured"]["logs"] == ["seen 2"]
        assert "payload" not in out
        assert petstore.hits("/pets") == 1 and petstore.hits("/pets/2") == 1

        paused = api.post("/api/executions", {"code": CREATE})
        assert paused["status"] == "paused", paused
        assert paused["interaction"]["address"] == "tools.pets.org.main.pets.createPet"
        eid = paused["executionId"]
        assert api.get(f"/api/executions/{eid}")["status"] == "paused"
        done = api.post(f"/api/executions/{eid}/resume", {"action": "accept"})
        assert done["structured"]["result"] == {"before": 2, "made": "Neo"}, done
        assert petstore.hits("/pets") == 3  # 1 above, 1 before the pause, 0 on replay, +POST
        assert api.post(f"/api/executions/{eid}/resume", {"action": "accept"}) == done

        paused = api.post("/api/executions", {"code": CREATE})
        declined = api.post(f"/api/executions/{paused['executionId']}/resume",
                            {"action": "decline"})
        assert declined["structured"]["result"] == {"before": 3, "made": "declined"}
        auto = api.post("/api/executions", {"code": CREATE, "autoApprove": True})
        assert auto["structured"]["result"] == {"before": 3, "made": "Neo"}

        for code, words in [("const a = []; while (true) a.push('x'.repeat(1 << 20));",
                             "Memory limit exceeded"),
                            ("function f(n: number): number { return 1 + f(n + 1) }\n"
                             "return f(0)", "Stack limit exceeded"),
                            ("const x: = 1", "SyntaxError")]:
            bad = api.post("/api/executions", {"code": code})
            assert bad["isError"] is True and bad["structured"]["error"].startswith(words), bad
        assert api.post("/api/executions", {"code": "return 'up'"})["structured"]["result"] \
            == "up"


def test_paused_program_survives_a_restart(petstore: PetstoreServer, cat_env: dict[str, str],
                                           data_dir: Path) -> None:
    daemon, api = start(data_dir, cat_env)
    with daemon:
        add_petstore(api, petstore)
        paused = api.post("/api/executions", {"code": CREATE})
        assert paused["status"] == "paused"
        assert daemon.terminate() == 0
    assert petstore.hits("/pets") == 1
    daemon, api = start(data_dir, cat_env)
    with daemon:
        eid = paused["executionId"]
        done = api.post(f"/api/executions/{eid}/resume", {"action": "accept"})
        assert done["status"] == "completed", done
        assert done["structured"]["result"] == {"before": 2, "made": "Neo"}
    # the GET before the pause was replayed from the journal in data.db: 1 GET + 1 POST only
    assert petstore.hits("/pets") == 2 and petstore.next_id == 4
