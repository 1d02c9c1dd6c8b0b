"""The catalog CLI as a person uses it: subprocesses of ``python -m executor_local`` against a
real daemon (run from the source tree) and the real petstore upstream. GETs, a POST that pauses
(exit 13) and is resumed, a decline, a block policy, bad input, and the secret never in argv,
stdout or stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("executor_local.catalog", reason="the catalog (branch core) is not here yet")
catalog_util = pytest.importorskip("catalog_util", reason="needs the core branch's test helpers")
from executor_local.errors import EXIT_PAUSED  # noqa: E402
from proc import pythonpath_env  # noqa: E402
from upstreams import petstore as upstream  # noqa: E402
from upstreams.petstore import API_KEY, BEARER  # noqa: E402

petstore = upstream.petstore


class Cli:
    """Runs ``executor --data-dir D ...`` and keeps every output, to grep for the secret."""

    def __init__(self, data_dir: Path, env: dict[str, str], pyz: Path | None = None) -> None:
        self.data_dir = data_dir
        self.env = env if pyz else pythonpath_env(env)
        self.program = [str(pyz)] if pyz else ["-m", "executor_local"]
        self.seen: list[str] = []
        self.argvs: list[list[str]] = []

    def __call__(self, *args: str, stdin: str | None = None, code: int = 0,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, *self.program, "--data-dir", str(self.data_dir), *args]
        self.argvs.append(argv)
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120,
                              env={**self.env, **(env or {})},
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        self.seen += [done.stdout, done.stderr]
        assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
        return done


@pytest.fixture
def cli_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


@pytest.fixture
def daemon_cli(data_dir: Path, cli_env: dict[str, str]):
    daemon = catalog_util.SourceDaemon(data_dir, cli_env)
    try:
        daemon.wait_ready()
        yield daemon, Cli(data_dir, cli_env)
    finally:
        daemon.kill()


def pause_id(out: str) -> str:
    match = re.search(r"resume --execution-id (\S+) --action accept", out)
    assert match, out
    return match.group(1)


def test_add_connect_search_describe_call_pause_resume_and_policies(daemon_cli, petstore,
                                                                    tmp_path):
    daemon, cli = daemon_cli
    added = cli("integrations", "add-openapi", petstore.spec_url, "--slug", "pets")
    assert "Added pets (15 tools)" in added.stdout
    several = cli("connections", "add", "pets", "--value-stdin", stdin=API_KEY, code=2)
    assert "apikey-0" in several.stderr and "apikey-1" in several.stderr
    cli("connections", "add", "pets", "--template", "apikey-0", "--value-stdin",
        stdin=API_KEY + "\n")
    cli("connections", "add", "pets", "--name", "store", "--template", "apikey-1",
        "--value-env", "PETS_BEARER", env={"PETS_BEARER": BEARER})
    listed = json.loads(cli("connections", "list", "--json").stdout)
    assert {(c["name"], c["template"]) for c in listed} == {("main", "apikey-0"),
                                                           ("store", "apikey-1")}

    found = cli("tools", "search", "list pets", "--namespace", "pets.org.main").stdout
    assert found.splitlines()[0].startswith("pets.org.main.pets.listPets")
    tree = cli("call", "pets.org.main", "--help").stdout
    assert "pets.org.main.pets  [group (4)]" in tree
    leaf = cli("call", "pets", "org", "main", "pets.listPets", "--help").stdout
    assert "List all pets" in leaf and "limit" in leaf
    described = json.loads(cli("tools", "describe", "tools.pets.org.main.pets.showPetById",
                               "--json").stdout)
    assert described["inputSchema"]["required"] == ["petId"]

    pets = json.loads(cli("call", "pets.org.main.pets.listPets", '{"limit": 1}').stdout)
    assert [p["name"] for p in pets] == ["Rex"]
    tom = json.loads(cli("call", "pets.org.main.pets.showPetById", "@-",
                         stdin='{"petId": 2}').stdout)
    assert tom["name"] == "Tom"
    assert cli("call", "pets.org.main.failures.plainText").stdout == "just text\n"
    inventory = json.loads(cli("call", "tools.pets.org.store.store.getInventory").stdout)
    assert inventory == {"available": 1, "sold": 1}

    body = tmp_path / "pet.json"
    body.write_text(json.dumps({"body": {"name": "Kit"}}))
    paused = cli("call", "pets.org.main.pets.createPet", f"@{body}", code=EXIT_PAUSED).stdout
    assert f"Approve in browser:\n  http://127.0.0.1:{daemon.port}/resume/" in paused
    assert "Kit" not in {p["name"] for p in petstore.pets.values()}
    created = json.loads(cli("resume", "--execution-id", pause_id(paused)).stdout)
    assert created["name"] == "Kit" and petstore.pets[created["id"]]["name"] == "Kit"

    again = cli("call", "pets.org.main.pets.deletePet", '{"petId": 1}', code=EXIT_PAUSED).stdout
    declined = cli("resume", "--execution-id", pause_id(again), "--action", "decline", code=1)
    assert "declined" in declined.stderr and 1 in petstore.pets

    cli("policies", "set", "pets.org.main.pets.deletePet", "block")
    policies = json.loads(cli("policies", "list", "--json").stdout)
    assert [(p["pattern"], p["action"]) for p in policies] == [
        ("pets.org.main.pets.deletePet", "block")]
    before = petstore.requests
    cli("call", "pets.org.main.pets.deletePet", '{"petId": 1}', code=1)
    assert petstore.requests == before and 1 in petstore.pets
    cli("policies", "set", "pets.org.main.pets.*", "approve")
    cli("policies", "remove", "pets.org.main.pets.deletePet")
    gone = json.loads(cli("call", "pets.org.main.pets.deletePet", '{"petId": 2}',
                          "--json").stdout)
    assert gone["status"] == "completed" and 2 not in petstore.pets

    for argv in cli.argvs:
        assert API_KEY not in " ".join(argv) and BEARER not in " ".join(argv)
    for text in cli.seen:
        assert API_KEY not in text and BEARER not in text


def test_bad_input_is_a_clear_error_and_changes_nothing(daemon_cli, petstore, tmp_path):
    _daemon, cli = daemon_cli
    swagger = tmp_path / "swagger.json"
    swagger.write_text('{"swagger": "2.0", "info": {"title": "x"}, "paths": {}}')
    refused = cli("integrations", "add-openapi", str(swagger), code=1)
    assert "Swagger 2.0 is not supported; convert it to OpenAPI 3" in refused.stderr
    assert json.loads(cli("integrations", "list", "--json").stdout)[0]["slug"] == "executor"
    cli("integrations", "add-openapi", petstore.spec_url, "--slug", "pets")
    cli("connections", "add", "pets", "--template", "apikey-0", "--value-stdin", stdin=API_KEY)
    unknown = cli("call", "pets.org.main.pets.listPet", code=1)
    assert "tool_not_found" in unknown.stderr and "pets.org.main.pets.listPets" in unknown.stderr
    bad = cli("call", "pets.org.main.pets.listPets", '{"limit": "many"}', code=1)
    assert "invalid_arguments" in bad.stderr
    cli("call", "pets.org.main.pets.listPets", "{not json", code=2)
    nothing = cli("call", "pets.org.nobody", "--help", code=1)
    assert "no tool or namespace 'pets.org.nobody'" in nothing.stderr
    assert "pets.org.main" in nothing.stdout
    cli("integrations", "remove", "pets")
    assert [i["slug"] for i in json.loads(cli("integrations", "list", "--json").stdout)] == [
        "executor"]


def test_a_command_starts_the_daemon_when_none_runs(data_dir, cli_env):
    cli = Cli(data_dir, cli_env)
    try:
        out = cli("tools", "integrations")
        assert out.stdout.startswith("executor  [built-in]")
        assert "Starting the daemon" in out.stderr and "Daemon ready on" in out.stderr
        again = cli("tools", "integrations")  # the second finds it running
        assert "Starting" not in again.stderr
        cli("daemon", "status")
    finally:
        subprocess.run([sys.executable, "-m", "executor_local", "--data-dir", str(data_dir),
                        "daemon", "stop"], env=cli.env, capture_output=True, timeout=60)


def test_a_spec_file_without_auth_is_callable_at_once(daemon_cli, petstore, tmp_path):
    _daemon, cli = daemon_cli
    spec = tmp_path / "echo.yaml"
    spec.write_text(f"""openapi: 3.0.3
info: {{title: Echo Service, version: '1'}}
servers: [{{url: '{petstore.url}'}}]
paths:
  /echo:
    get:
      operationId: echoBack
      tags: [echo]
      parameters: [{{name: q, in: query, schema: {{type: string}}}}]
      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{}}}}}}}}}}
""")
    added = json.loads(cli("integrations", "add-openapi", str(spec), "--json").stdout)
    assert added["slug"] == "echo_service" and added["toolCount"] == 1
    out = json.loads(cli("call", "echo_service.org.main.echo.echoBack", '{"q": "hi"}').stdout)
    assert out["query"] == [["q", "hi"]]
    cli("connections", "add", "echo_service", "--name", "second")
    refreshed = cli("integrations", "refresh", "echo_service")
    assert "nothing to fetch again" in refreshed.stderr
    refreshed = refreshed.stdout
    assert "org/main: 1 tools" in refreshed and "org/second: 1 tools" in refreshed
    cli("connections", "remove", "echo_service", "second")
    names = [c["name"] for c in json.loads(cli("connections", "list", "--json").stdout)]
    assert names == ["main"]


def test_refresh_fetches_a_changed_spec_and_relists_every_connection(daemon_cli, petstore):
    _daemon, cli = daemon_cli
    cli("integrations", "add-openapi", petstore.spec_url, "--slug", "pets")
    cli("connections", "add", "pets", "--template", "apikey-0", "--value-stdin", stdin=API_KEY)
    same = cli("integrations", "refresh", "pets").stdout
    assert same.startswith("The spec is unchanged (15 tools)") and "org/main: 15 tools" in same
    petstore.extra_paths = ("  /toys:\n    get:\n      tags: [toys]\n      operationId: listToys\n"
                            "      responses: {'200': {description: ok}}\n")
    changed = cli("integrations", "refresh", "pets").stdout
    assert changed.startswith("The spec changed (16 tools)") and "org/main: 16 tools" in changed
    assert "pets.org.main.toys.listToys" in cli("call", "pets.org.main", "--help",
                                                "--match", "toys").stdout
    config = json.loads(cli("--json", "integrations", "list").stdout)
    assert [i["canRefresh"] for i in config if i["slug"] == "pets"] == [True]


def test_the_bundle_calls_and_resumes_through_its_own_daemon(pyz, data_dir, cli_env, petstore):
    """The same flow through the built pyz (daemon and CLI), once it carries httpx and PyYAML."""
    import zipfile

    with zipfile.ZipFile(pyz) as bundle:
        names = bundle.namelist()
    if not any("/httpx/" in n for n in names) or not any("/yaml/" in n for n in names):
        pytest.skip("the bundle does not carry httpx and PyYAML yet (requirements.lock)")
    from proc import Daemon

    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port",
                      "0"], cli_env) as daemon:
        daemon.wait_ready()
        cli = Cli(data_dir, cli_env, pyz)
        cli("integrations", "add-openapi", petstore.spec_url, "--slug", "pets")
        cli("connections", "add", "pets", "--template", "apikey-0", "--value-stdin",
            stdin=API_KEY)
        pets = json.loads(cli("call", "pets.org.main.pets.listPets", '{"limit": 1}').stdout)
        assert [p["name"] for p in pets] == ["Rex"]
        paused = cli("call", "pets.org.main.pets.createPet", '{"body": {"name": "Kit"}}',
                     code=EXIT_PAUSED).stdout
        created = json.loads(cli("resume", "--execution-id", pause_id(paused)).stdout)
        assert petstore.pets[created["id"]]["name"] == "Kit"
        for text in [*cli.seen, daemon.out, daemon.err]:
            assert API_KEY not in text
