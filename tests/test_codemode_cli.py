"""``executor execute`` as a person uses it: a subprocess against a real daemon (from the
source tree) and the petstore upstream; a result on stdout and logs on stderr, a pause (exit
13) resumed with ``executor resume``, a failed program (exit 1), a program from a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("executor_local.integrations.openapi")
from executor_local.errors import EXIT_PAUSED
from test_cli_catalog import cli_env, daemon_cli, pause_id  # noqa: F401 (fixtures)
from upstreams.petstore import API_KEY, petstore  # noqa: F401 (a fixture)


def test_execute_from_the_cli(daemon_cli, petstore, tmp_path: Path) -> None:  # noqa: F811
    _daemon, cli = daemon_cli
    cli("integrations", "add-openapi", petstore.spec_url, "--slug", "pets")
    cli("connections", "add", "pets", "--template", "apikey-0", "--value-stdin",
        stdin=API_KEY + "\n")
    out = cli("execute", """
        const r = await tools.pets.org.main.pets.listPets({});
        console.log("count", r.data.length);
        return r.data.map((p: { name: string }) => p.name);
    """)
    assert json.loads(out.stdout) == ["Rex", "Tom"] and out.stderr.strip() == "count 2"

    program = tmp_path / "make.ts"
    program.write_text("const m = await tools.pets.org.main.pets.createPet("
                       "{ body: { name: 'Neo' } });\nreturn m.ok ? m.data.name : m.error.code")
    paused = cli("execute", "--file", str(program), code=EXIT_PAUSED)
    eid = pause_id(paused.stdout)
    assert petstore.next_id == 3
    done = cli("resume", "--execution-id", eid, "--action", "accept")
    assert done.stdout.strip() == "Neo" and petstore.next_id == 4

    failed = cli("execute", "null.x", code=1)
    assert "TypeError" in failed.stderr and "program:1" in failed.stderr
    both = cli("execute", "return 1", "--file", str(program), code=2)
    assert "not both" in both.stderr
    as_json = json.loads(cli("execute", "return 1 + 1", "--json").stdout)
    assert as_json["structured"]["result"] == 2
