"""Code mode below the MCP layer: real QuickJS worker processes, a real petstore upstream over
HTTP and a real Host: calls combined, search then call, approvals paused and resumed by replay,
pauses persisted in a real SQLite file and replayed by a new CodeMode (new worker processes)
as after a daemon restart, and replays that diverge."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from codemode_parts import Petstore, PetstoreHost, resume, run
from executor_local.executions.sandbox.code_runner import CodeMode
from executor_local.executions.sandbox.pool import Pool

pytest_plugins = ["codemode_fixtures"]  # the pool, store and host fixtures


def test_two_tools_combined(pool: Pool, host: PetstoreHost, store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    out = run(mode, """
        const list = await tools.petstore.org.main.pets.listPets({ status: "available" });
        const one = await tools["petstore.org.main.pets.showPetById"]({ petId: list.data[1].id });
        console.log("found", list.data.length);
        return { names: list.data.map((p: { name: string }) => p.name), second: one.data.name,
                 status: one.http.status };
    """)
    assert out["status"] == "completed" and out["isError"] is False, out
    assert out["structured"]["result"] == {"names": ["Rex", "Kit"], "second": "Kit",
                                           "status": 200}
    assert out["structured"]["logs"] == ["found 2"]
    assert "Logs:\nfound 2" in out["text"]
    assert store.hits["GET /pets"] == 1 and store.hits["GET /pets/3"] == 1


def test_search_then_call(pool: Pool, host: PetstoreHost) -> None:
    mode = CodeMode(host, pool=pool)
    out = run(mode, """
        const { items } = await tools.search({ query: "specific pet", limit: 1 });
        const d = await tools.describe.tool({ path: items[0].path });
        const r = await tools[items[0].path]({ petId: 2 });
        const missing = await tools.describe.tool({ path: "petstore.org.main.nope" });
        const conns = await tools.executor.coreTools.connections.list({});
        return { path: items[0].path, input: d.inputTypeScript, pet: r.data.name,
                 missing: missing.error.code, conn: conns.data.connections[0].address };
    """)
    assert out["structured"]["result"] == {
        "path": "petstore.org.main.pets.showPetById", "input": "{ petId?: number }",
        "pet": "Tom", "missing": "tool_not_found", "conn": "tools.petstore.org.main"}, out


def test_search_arguments_checked_like_executor(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), """
        try { await tools.search({ query: "x", limit: -1 }); return "no throw" }
        catch (e) { return String(e) }
    """)
    assert out["structured"]["result"] == \
        "Error: tools.search limit must be a positive number when provided"


def test_approval_pause_then_accept(pool: Pool, host: PetstoreHost, store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    code = """
        const before = await tools.petstore.org.main.pets.listPets({});
        const made = await tools.petstore.org.main.pets.createPet({ body: { name: "Neo" } });
        const after = await tools.petstore.org.main.pets.listPets({});
        return { before: before.data.length, made: made.ok && made.data.name,
                 after: after.data.length };
    """
    paused = run(mode, code)
    assert paused["status"] == "paused", paused
    assert paused["interaction"]["address"] == "tools.petstore.org.main.pets.createPet"
    assert paused["structured"]["status"] == "waiting_for_interaction"
    assert store.hits["POST /pets"] == 0 and store.hits["GET /pets"] == 1
    done = resume(mode, paused["payload"], "accept")
    assert done["status"] == "completed", done
    assert done["structured"]["result"] == {"before": 3, "made": "Neo", "after": 4}
    # the first listPets was replayed from the journal, not asked again
    assert store.hits["POST /pets"] == 1 and store.hits["GET /pets"] == 2


def test_approval_pause_then_decline(pool: Pool, host: PetstoreHost, store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    paused = run(mode, """
        const made = await tools.petstore.org.main.pets.deletePet({ petId: 1 });
        return made.ok ? "deleted" : made.error.code + ": " + made.error.message;
    """)
    assert paused["status"] == "paused"
    done = resume(mode, paused["payload"], "decline")
    assert done["structured"]["result"] == \
        "declined: The user declined the call to tools.petstore.org.main.pets.deletePet"
    assert store.hits["DELETE /pets/1"] == 0 and 1 in store.pets


def test_auto_approve_runs_without_pausing(pool: Pool, host: PetstoreHost,
                                           store: Petstore) -> None:
    out = run(CodeMode(host, pool=pool),
              'return (await tools.petstore.org.main.pets.deletePet({ petId: 2 })).http.status',
              auto_approve=True)
    assert out["structured"]["result"] == 204 and store.hits["DELETE /pets/2"] == 1


def _save(db: Path, payload: Any) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS paused (id TEXT PRIMARY KEY, payload TEXT)")
        conn.execute("INSERT INTO paused VALUES (?, ?)", ("exec_test", json.dumps(payload)))
        conn.commit()
    finally:
        conn.close()


def _load(db: Path) -> Any:
    conn = sqlite3.connect(db)
    try:
        return json.loads(conn.execute("SELECT payload FROM paused").fetchone()[0])
    finally:
        conn.close()


def test_pause_survives_restart_without_repeating_calls(tmp_path: Path, store: Petstore) -> None:
    code = """
        const t0 = Date.now();
        const r0 = Math.random();
        const pets = await tools.petstore.org.main.pets.listPets({});
        const t1 = new Date().getTime();
        const made = await tools.petstore.org.main.pets.createPet({ body: { name: "Zed" } });
        return { count: pets.data.length, made: made.data.name, t0, t1, r0,
                 r1: Math.random(), perf: performance.now() >= 0 };
    """
    first_pool = Pool(idle=0)
    try:
        paused = run(CodeMode(PetstoreHost(store), pool=first_pool), code)
    finally:
        first_pool.close()  # the "daemon" is gone, with its workers
    assert paused["status"] == "paused"
    _save(tmp_path / "data.db", paused["payload"])
    journal = json.loads(paused["payload"]["journal"])
    assert len(journal["clock"]) == 2  # Date.now() and new Date() were recorded

    second_pool = Pool(idle=0)
    try:
        done = resume(CodeMode(PetstoreHost(store), pool=second_pool),
                      _load(tmp_path / "data.db"), "accept")
    finally:
        second_pool.close()
    assert done["status"] == "completed", done
    result = done["structured"]["result"]
    assert result["count"] == 3 and result["made"] == "Zed"
    assert [result["t0"], result["t1"]] == journal["clock"]
    assert store.hits["GET /pets"] == 1, "the journaled call reached the upstream again"
    assert store.hits["POST /pets"] == 1


def test_replay_gives_the_same_random_values(pool: Pool, host: PetstoreHost) -> None:
    mode = CodeMode(host, pool=pool)
    code = """
        const a = Math.random();
        console.log(String(a));
        await tools.petstore.org.main.pets.deletePet({ petId: 3 });
        return a;
    """
    paused = run(mode, code)
    done = resume(mode, paused["payload"], "decline")
    assert done["structured"]["logs"] == [str(done["structured"]["result"])]


def test_replay_that_diverges_is_stopped(pool: Pool, host: PetstoreHost, store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    paused = run(mode, """
        await tools.petstore.org.main.pets.listPets({ limit: 1 });
        await tools.petstore.org.main.pets.deletePet({ petId: 3 });
    """)
    payload = dict(paused["payload"])
    payload["code"] = payload["code"].replace("limit: 1", "limit: 2")
    done = resume(mode, payload, "accept")
    assert done["isError"] is True
    assert "different path when it was replayed" in done["structured"]["error"]
    assert "limit" in done["structured"]["error"]
    assert store.hits["DELETE /pets/3"] == 0


def test_concurrent_calls_and_pause_in_the_middle(pool: Pool, host: PetstoreHost,
                                                  store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    code = """
        const [a, b, c] = await Promise.all([
          tools.petstore.org.main.pets.showPetById({ petId: 1 }),
          tools.petstore.org.main.pets.createPet({ body: { name: "Ann" } }),
          tools.petstore.org.main.pets.showPetById({ petId: 2 }),
        ]);
        return [a.data.name, b.ok, c.data.name];
    """
    paused = run(mode, code)
    assert paused["status"] == "paused"
    done = resume(mode, paused["payload"], "accept")
    assert done["structured"]["result"] == ["Rex", True, "Tom"], done
    assert store.hits["GET /pets/1"] == 1 and store.hits["GET /pets/2"] == 1
    assert store.hits["POST /pets"] == 1


def test_two_approvals_in_one_program(pool: Pool, host: PetstoreHost, store: Petstore) -> None:
    mode = CodeMode(host, pool=pool)
    code = """
        const a = await tools.petstore.org.main.pets.createPet({ body: { name: "One" } });
        const list = await tools.petstore.org.main.pets.listPets({});
        const b = await tools.petstore.org.main.pets.deletePet({ petId: 1 });
        return { a: a.ok, n: list.data.length, b: b.ok ? "deleted" : b.error.code };
    """
    first = run(mode, code)
    assert first["interaction"]["address"].endswith("createPet")
    second = resume(mode, first["payload"], "accept")
    assert second["status"] == "paused" and second["interaction"]["address"].endswith("deletePet")
    done = resume(mode, second["payload"], "decline")
    assert done["structured"]["result"] == {"a": True, "n": 4, "b": "declined"}
    assert store.hits["POST /pets"] == 1 and store.hits["GET /pets"] == 1
    assert store.hits["DELETE /pets/1"] == 0


def test_replay_retraces_an_interleaving_that_depended_on_timing(pool: Pool,
                                                                 store: Petstore) -> None:
    """Results arrive in a timing-dependent order; the replay delivers them in the recorded
    order, so the program's interleaving (and the calls it derives from it) repeat exactly."""
    import random

    class JitterHost(PetstoreHost):
        async def call_tool(self, path: str, args: dict[str, Any], *, approved: bool) -> Any:
            if path.endswith("deletePet") and not approved:
                return await super().call_tool(path, args, approved=approved)
            self.calls.append(path)
            await asyncio.sleep(random.uniform(0, 0.03))
            return {"ok": True, "data": args}

    host = JitterHost(store)
    mode = CodeMode(host, pool=pool)
    code = """
        const order: number[] = [];
        await Promise.all(Array.from({ length: 8 }, (_, i) =>
          tools.a.b.c.d({ i }).then(async (r: any) => {
            order.push(r.data.i);
            console.log("got " + r.data.i);
            await tools.a.b.c.e({ after: r.data.i, at: order.length });
          })));
        const d = await tools.petstore.org.main.pets.deletePet({ petId: 2 });
        return { order, declined: !d.ok };
    """
    paused = run(mode, code)
    assert paused["status"] == "paused"
    upstream_before = len(host.calls)
    done = resume(mode, paused["payload"], "decline")
    assert done["status"] == "completed", done
    journal = json.loads(paused["payload"]["journal"])
    firsts = [json.loads(journal["calls"][str(s)]["args"]).get("i") for s in journal["order"]]
    recorded = [i for i in firsts if i is not None]
    assert done["structured"]["result"]["order"] == recorded
    assert done["structured"]["logs"] == [f"got {i}" for i in recorded]
    assert len(host.calls) == upstream_before  # all 16 calls came from the journal
