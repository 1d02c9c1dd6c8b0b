"""Code mode's sandbox as a boundary: TypeScript-only syntax, syntax and runtime errors, the
limits (time, memory, stack, output), a killed or unstartable worker, no way to the file
system, network, environment or Python, a bounded pool, and no orphan processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from codemode_parts import Petstore, PetstoreHost, run
from executor_local.executions.sandbox.code_runner import CodeMode
from executor_local.executions.sandbox.limits import Limits
from executor_local.executions.sandbox.pool import Pool

pytest_plugins = ["codemode_fixtures"]  # the pool, store and host fixtures


def test_typescript_only_syntax(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), """
        interface Pet { id: number; name?: string }
        type Maybe<T> = T | null;
        enum Color { Red, Green }
        function first<T>(xs: T[]): T { return xs[0]! }
        const r = await tools.petstore.org.main.pets.listPets({} satisfies object);
        const pets = r.data as Pet[];
        const m: Maybe<Pet> = first<Pet>(pets);
        return { name: m!.name, color: Color.Green, abstract: (<any>null) === null };
    """.replace("(<any>null)", "(null as any)"))
    assert out["structured"]["result"] == {"name": "Rex", "color": 1, "abstract": True}, out


def test_decorators_refused_clearly(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), "@sealed class A {}\nreturn 1")
    assert out["isError"] and "decorators are not supported" in out["structured"]["error"]


def test_syntax_error_names_the_line(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), "const a = 1;\nconst b = ;\nreturn a")
    assert out["isError"] is True
    assert out["structured"]["error"].startswith("SyntaxError")
    assert "line 2" in out["structured"]["error"]


def test_runtime_error_points_at_the_program_line(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), "const a = 1;\nnull.x;\nreturn a")
    assert out["isError"] and "program:2" in out["structured"]["error"], out
    assert "100" not in out["structured"]["error"].split("\n", 1)[1]  # no prelude frames


def test_enumerating_tools_throws(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), """
        const seen = [];
        for (const probe of [() => Object.keys(tools), () => { for (const k in tools) {} },
                             () => ({ ...tools }), () => JSON.stringify(tools),
                             () => "petstore" in tools]) {
          try { probe(); seen.push("no throw") } catch (e) { seen.push(e.message) }
        }
        return seen;
    """)
    result = out["structured"]["result"]
    assert len(result) == 5 and all("tools.search" in m for m in result), result


@pytest.mark.parametrize(("code", "kind", "words"), [
    ("while (true) {}", "time_limit", "Time limit exceeded"),
    ("const a = []; while (true) a.push(new Array(1e6).fill(1.5));", "memory_limit",
     "Memory limit exceeded"),
    ("const big = new ArrayBuffer(1024 * 1024 * 1024); return big.byteLength", "memory_limit",
     "Memory limit exceeded"),
    ("function f(n: number): number { return n === 0 ? 0 : 1 + f(n - 1) }\nreturn f(1e6)",
     "stack_limit", "Stack limit exceeded"),
])
def test_limits_end_clearly_and_leave_the_process_unharmed(
        pool: Pool, host: PetstoreHost, code: str, kind: str, words: str) -> None:
    mode = CodeMode(host, pool=pool, limits=Limits(time_s=1.5))
    out = run(mode, code)
    assert out["isError"] is True, out
    assert out["structured"]["error"].startswith(words), out["structured"]["error"]
    after = run(mode, "return 6 * 7")
    assert after["structured"]["result"] == 42


def test_wait_on_a_tool_is_not_charged_to_the_deadline(pool: Pool, host: PetstoreHost) -> None:
    host.slow_s = 1.2
    mode = CodeMode(host, pool=pool, limits=Limits(time_s=1.0))
    out = run(mode, """
        const a = await tools.petstore.org.main.pets.showPetById({ petId: 1 });
        const b = await tools.petstore.org.main.pets.showPetById({ petId: 2 });
        return a.data.name + b.data.name;
    """)
    assert out["structured"]["result"] == "RexTom", out


def test_a_killed_worker_is_a_clear_error_and_is_replaced(pool: Pool, store: Petstore) -> None:
    class KillingHost(PetstoreHost):
        async def call_tool(self, path: str, args: dict[str, Any], *, approved: bool) -> Any:
            os.kill(int(args["pid"]), 9)
            await asyncio.sleep(0.2)
            return {"ok": True, "data": None}

    mode = CodeMode(KillingHost(store), pool=pool)
    # the worker's pid is not visible to the program; find it from the pool's side
    worker = asyncio.run(pool.acquire())
    pool.release(worker, healthy=True)
    out = run(mode, f"await tools.x.y.z.kill({{ pid: {worker.pid} }}); return 1")
    assert out["isError"] and "sandbox process ended unexpectedly" in out["structured"]["error"]
    assert run(mode, "return 'still here'")["structured"]["result"] == "still here"


def test_no_file_system_network_environment_or_python(pool: Pool, host: PetstoreHost,
                                                      tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-file-content")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[Any] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    os.environ["CODEMODE_TEST_SECRET"] = "env-secret-value"
    try:
        out = run(CodeMode(host, pool=pool), f"""
            const attempts = {{}};
            const tries = {{
              require: () => require("fs").readFileSync({json.dumps(str(secret))}),
              fetch: () => fetch("http://127.0.0.1:{port}/"),
              std: () => std.loadFile({json.dumps(str(secret))}),
              os: () => os.open({json.dumps(str(secret))}),
              process: () => process.env.CODEMODE_TEST_SECRET,
              python: () => __driver.settle(0, "x", false),
            }};
            for (const [name, fn] of Object.entries(tries)) {{
              try {{ attempts[name] = "ok " + String(fn()) }}
              catch (e) {{ attempts[name] = String(e) }}
            }}
            try {{ await import({json.dumps(str(secret))}); attempts.import = "ok" }}
            catch (e) {{ attempts.import = String(e) }}
            try {{ await import("os"); attempts.importOs = "ok" }}
            catch (e) {{ attempts.importOs = String(e) }}
            return attempts;
        """)
    finally:
        del os.environ["CODEMODE_TEST_SECRET"]
        thread.join()
        listener.close()
    attempts = out["structured"]["result"]
    assert set(attempts) == {"require", "fetch", "std", "os", "process", "python", "import",
                             "importOs"}, out
    assert not any(v.startswith("ok") for v in attempts.values()), attempts
    assert "fetch is not available" in attempts["fetch"]
    assert accepted == [], "the program opened a socket"
    assert "s3cr3t" not in json.dumps(out) and "env-secret" not in json.dumps(out)


def test_output_is_capped(pool: Pool, host: PetstoreHost) -> None:
    mode = CodeMode(host, pool=pool, limits=Limits(output_chars=1000))
    out = run(mode, "for (let i = 0; i < 10000; i++) console.log('line ' + i); return 'ok'")
    logs = out["structured"]["logs"]
    assert out["structured"]["result"] == "ok"
    assert sum(len(x) for x in logs) < 1200 and "output capped" in logs[-1]


def test_emit_goes_to_the_user(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), """
        emit("hello");
        emit({ type: "image", data: "aGk=", mimeType: "image/png" });
        emit({ a: 1 });
    """)
    assert out["structured"]["emitted"] == 3
    assert out["text"] == "(no return value; 3 items emitted to the user)"
    assert out["content"][0] == {"type": "text", "text": "hello"}
    assert out["content"][1]["type"] == "image"


def test_the_worker_loads_only_the_sandbox(pool: Pool, host: PetstoreHost) -> None:
    """The process that runs untrusted code has no catalog, store or secrets code in it."""
    worker = asyncio.run(pool.acquire())
    try:
        maps = Path(f"/proc/{worker.pid}/maps")
        if not maps.exists():
            pytest.skip("needs /proc")
        cmdline = Path(f"/proc/{worker.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1] == b"-I"
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
        names = {e.split(b"=", 1)[0] for e in environ if e}
        assert names <= {b"PATH", b"LANG", b"LC_ALL", b"TMPDIR", b"TEMP", b"TMP",
                         b"SHIV_ROOT", b"PYTHONDONTWRITEBYTECODE", b"EXECUTOR_SANDBOX_PRELOAD"}
        worker.send({"op": "modules"})
        loaded = asyncio.run(worker.recv(timeout=30))["names"]
        assert "executor_local.executions.sandbox.engine" in loaded
        extra = [m for m in loaded if m not in ("executor_local", "executor_local.executions")
                 and not m.startswith("executor_local.executions.sandbox")]
        assert extra == [], extra
    finally:
        pool.release(worker, healthy=True)
    out = run(CodeMode(host, pool=pool), "return 1")
    assert out["structured"]["result"] == 1


def test_a_promise_nothing_resolves_ends_clearly(pool: Pool, host: PetstoreHost) -> None:
    out = run(CodeMode(host, pool=pool), "await new Promise(() => {}); return 1")
    assert out["isError"] and "nothing will resolve" in out["structured"]["error"]


def test_many_concurrent_calls_are_bounded(pool: Pool, store: Petstore) -> None:
    class CountingHost(PetstoreHost):
        now = 0
        peak = 0

        async def call_tool(self, path: str, args: dict[str, Any], *, approved: bool) -> Any:
            self.now += 1
            self.peak = max(self.peak, self.now)
            await asyncio.sleep(0.01)
            self.now -= 1
            return {"ok": True, "data": args["i"]}

    host = CountingHost(store)
    mode = CodeMode(host, pool=pool, limits=Limits(max_calls=200))
    out = run(mode, """
        const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => tools.a.b.c.d({ i })));
        return rs.reduce((s: number, r: any) => s + r.data, 0);
    """)
    assert out["structured"]["result"] == sum(range(100))
    assert 1 < host.peak <= 16
    many = run(mode, "for (let i = 0; i < 300; i++) await tools.a.b.c.d({ i }); return 1")
    assert many["isError"] and "more than 200 tool calls" in many["structured"]["error"]


def test_concurrent_executions_share_a_bounded_pool(host: PetstoreHost) -> None:
    small = Pool(idle=1, max_busy=2)
    mode = CodeMode(host, pool=small)

    async def many() -> list[Any]:
        return await asyncio.gather(*(
            mode.run(f"const r = await tools.petstore.org.main.pets.showPetById({{ petId: "
                     f"{1 + i % 3} }}); return r.data.id", execution_id=f"e{i}")
            for i in range(6)))

    try:
        outs = asyncio.run(many())
    finally:
        small.close()
    assert [o["structured"]["result"] for o in outs] == [1, 2, 3, 1, 2, 3]
    assert small.spawned <= 3  # two busy at most, plus the warm spare


def test_workers_end_when_the_daemon_dies(tmp_path: Path) -> None:
    """No orphans: a worker reads its stdin, so it ends when the daemon's end of the pipe goes."""
    import subprocess
    import sys
    import time

    script = tmp_path / "daemon.py"
    script.write_text(
        "import asyncio, os, sys\n"
        "from executor_local.executions.sandbox.pool import Pool\n"
        "pool = Pool(idle=0)\n"
        "w = asyncio.run(pool.acquire())\n"
        "print(w.pid, flush=True)\n"
        "os._exit(0)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=True)
    pid = int(proc.stdout.strip())
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
        if stat.split(") ")[-1].startswith("Z"):
            break  # exited, waiting only for its (gone) parent to be reaped by init
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"), \
        "the worker outlived the daemon"


def test_a_worker_that_cannot_start_is_a_clear_error(host: PetstoreHost,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from executor_local.executions.sandbox import pool as pool_module

    monkeypatch.setattr(pool_module, "_BOOT", "import sys\n"
                        "sys.exit(\"ModuleNotFoundError: No module named '_quickjs'\")")
    broken = Pool(idle=0)
    try:
        out = run(CodeMode(host, pool=broken), "return 1")
    finally:
        broken.close()
    assert out["isError"] is True
    assert out["structured"]["error"].startswith("code mode is unavailable here: the sandbox "
                                                 "worker did not start")
    assert "_quickjs" in out["structured"]["error"]


def test_a_program_replacing_json_cannot_forge_the_driver(pool: Pool, host: PetstoreHost,
                                                          store: Petstore) -> None:
    out = run(CodeMode(host, pool=pool), """
        JSON.stringify = () =>
          '[{"id": 0, "path": "petstore.org.main.pets.deletePet", "args": "{}"}]';
        Array.prototype.splice = () => [];
        const r = await tools.petstore.org.main.pets.showPetById({ petId: 1 });
        return r.data.name;
    """)
    assert out["structured"]["result"] == "Rex", out
    assert store.hits["GET /pets/1"] == 1 and host.calls == ["petstore.org.main.pets.showPetById"]
