"""Issue 10 F: the CLI tells the truth: help, -V, --json everywhere, environment variables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from daemon_util import request
from proc import Daemon, pythonpath_env

ROOT = Path(__file__).resolve().parent.parent


def cli(args: list[str], env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "executor_local", *args],
                          env={**pythonpath_env(env), **extra}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_bare_executor_prints_help_and_exits_0(env: dict[str, str]) -> None:
    done = cli([], env)
    assert done.returncode == 0 and done.stdout.startswith("Usage: executor")


def test_dash_capital_v_is_the_version(env: dict[str, str]) -> None:
    done = cli(["-V"], env)
    assert done.returncode == 0 and re.match(r"executor, version \d", done.stdout)


def test_top_level_help_is_short_and_true(env: dict[str, str]) -> None:
    out = cli(["--help"], env).stdout
    listed = re.findall(r"^  (\w[\w-]*)  ", out.split("Commands:", 1)[1], re.M)
    # short: the options, then at most two lines per command (it was 47 lines, half exit codes)
    assert len(out.splitlines()) <= 22 + 2 * len(listed), out
    assert "0  success" not in out and "executor help exit-codes" in " ".join(out.split())
    try:
        for name in listed:  # every command it lists exists and has help
            assert cli([name, "--help"], env).returncode == 0, name
    finally:  # `call --help` lists the tools, starting the daemon as a call does
        cli(["daemon", "stop"], env)
    mentioned = set(re.findall(r"'executor ([a-z][\w-]*)", out))
    assert mentioned <= set(listed), mentioned - set(listed)
    for line in out.split("Commands:", 1)[1].splitlines():
        assert not line.rstrip().endswith("..."), line  # a summary cut mid-sentence


def test_subcommand_summaries_are_whole_sentences(env: dict[str, str]) -> None:
    for group in ("daemon", "backups"):
        out = cli([group, "--help"], env).stdout
        assert "..." not in out.split("Commands:", 1)[1], out


def test_help_topics(env: dict[str, str]) -> None:
    codes = cli(["help", "exit-codes"], env)
    assert codes.returncode == 0
    for code in range(11):
        assert re.search(rf"^\s+{code}  \S", codes.stdout, re.M), code
    as_json = json.loads(cli(["--json", "help", "exit-codes"], env).stdout)
    assert as_json["9"].startswith("the port")
    assert "EXECUTOR_PORT" in cli(["help", "environment"], env).stdout
    assert cli(["help", "daemon", "run"], env).stdout.startswith("Usage: executor daemon run")
    bad = cli(["help", "nonsense"], env)
    assert bad.returncode == 2 and "no help topic or command" in bad.stderr


def test_usage_errors_are_json_under_json(env: dict[str, str]) -> None:
    for args, extra in ((["--json", "daemon", "stop", "--bogus"], {}),
                        (["daemon", "stop", "--json", "--bogus"], {}),
                        (["nonsense"], {"EXECUTOR_JSON": "1"})):
        done = cli(args, env, **extra)
        assert done.returncode == 2, done
        assert done.stderr.startswith("{"), (args, done.stderr)
        error = json.loads(done.stderr)["error"]
        assert error["exit_code"] == 2 and error["message"], error


def test_every_result_command_takes_json(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "d"
    for args in (["daemon", "stop"], ["daemon", "status"], ["paths"], ["doctor"],
                 ["backups", "list"], ["migrate", "--dry-run"], ["backups", "restore", "x"]):
        done = cli(["--data-dir", str(data), *args, "--json"], env)
        assert done.returncode in (0, 2, 3), (args, done.stderr)
        text = done.stdout if done.stdout.strip() else done.stderr
        assert text.startswith(("{", "[")), (args, text)
        json.loads(text)  # JSON, and no usage error for the --json itself


def test_restore_of_an_unknown_backup_is_a_usage_error_that_writes_nothing(
        env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    done = cli(["--data-dir", str(data), "backups", "restore", "data.db.v1-v2-1-deadbeef"], env)
    assert done.returncode == 2, done.stderr
    assert "no backup named" in done.stderr and "backups list" in done.stderr
    assert list(data.iterdir()) == []  # not even the owner lock


def test_environment_variables_users_expect(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "d"
    as_json = cli(["paths"], env, EXECUTOR_JSON="1", EXECUTOR_DATA_DIR=str(data))
    assert json.loads(as_json.stdout)["data_dir"] == str(data)
    assert json.loads(as_json.stdout)["data_dir_source"] == "env"
    old = cli(["paths"], env, EXECUTOR_AS_JSON="1", EXECUTOR_DATA_DIR=str(data))
    assert not old.stdout.startswith("{")  # the accidental spelling is gone
    debug = cli(["migrate"], env, EXECUTOR_LOG_LEVEL="debug", EXECUTOR_DATA_DIR=str(data))
    assert "fs: mkdir" in debug.stderr


def test_daemon_reads_port_host_and_token_from_the_environment(
        pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    """What the TypeScript desktop shell sets: EXECUTOR_PORT, EXECUTOR_HOST, EXECUTOR_AUTH_TOKEN."""
    extra = {"EXECUTOR_PORT": "0", "EXECUTOR_HOST": "127.0.0.1",
             "EXECUTOR_AUTH_TOKEN": "tok-from-env-123456", "EXECUTOR_DATA_DIR": str(tmp_path / "d"),
             "EXECUTOR_DAEMON_RUN_PORT": "1"}  # the old accidental name is ignored
    with Daemon(pyz, ["daemon", "run", "--foreground"], {**env, **extra}) as d:
        port = d.wait_ready()
        assert port not in (0, 1, 4788)
        status, _h, body = request(port, "/api/info", token="tok-from-env-123456")
        assert status == 200 and json.loads(body)["port"] == port
        assert d.terminate() == 0


def _readme_env_table() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.M))


def test_one_readme_table_lists_every_variable() -> None:
    from executor_local.cli.envvars import ENV_VARS, INTERNAL

    names = {v.name for v in ENV_VARS}
    assert _readme_env_table() == names
    read = set()
    for path in (ROOT / "src").rglob("*.py"):
        read |= set(re.findall(r"\b(EXECUTOR_[A-Z][A-Z_]*[A-Z])\b", path.read_text()))
    read = {n for n in read if not n.startswith(INTERNAL)}
    assert read <= names, read - names


def test_port_held_by_another_executor_names_it(pyz: Path, env: dict[str, str],
                                                 tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    with Daemon(pyz, ["--data-dir", str(first_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as first:
        port = first.wait_ready()
        second = subprocess.run(
            [sys.executable, str(pyz), "--data-dir", str(second_dir), "daemon", "run",
             "--foreground", "--port", str(port)], env=env, capture_output=True, text=True,
            timeout=60, stdin=subprocess.DEVNULL)
        assert second.returncode == 9, second.stderr
        assert "address already in use" in second.stderr  # the desktop-shell contract
        if sys.platform.startswith("linux"):
            assert f"another executor, pid {first.proc.pid}" in second.stderr
            assert f"data dir {first_dir}" in second.stderr
        assert first.terminate() == 0


def test_background_start_that_migrated_says_so(pyz: Path, env: dict[str, str],
                                                tmp_path: Path) -> None:
    from daemon_util import kill_daemons
    from migration_env import seed_v1

    seed = seed_v1(tmp_path)
    run_env = {**env, "EXECUTOR_AUTH_FILE": str(seed.auth_path)}
    try:
        done = subprocess.run(
            [sys.executable, str(pyz), "--data-dir", str(seed.data_dir), "daemon", "run",
             "--port", "0"], env=run_env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        assert "migrated local Executor data to v2; the v1 data is kept at" in done.stderr
        assert "data.db.v1-v2-" in done.stderr
    finally:
        subprocess.run([sys.executable, str(pyz), "--data-dir", str(seed.data_dir), "daemon",
                        "stop"], env=run_env, capture_output=True, timeout=60)
        kill_daemons(seed.data_dir)


def test_an_unresolved_file_secret_names_where_it_looked(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    from migration_env import seed_v1

    seed = seed_v1(tmp_path)
    seed.auth_path.write_text("{}")  # the v1 secrets are not where this run looks
    done = cli(["--data-dir", str(seed.data_dir), "migrate", "--dry-run", "--json"], env,
               EXECUTOR_AUTH_FILE=str(seed.auth_path))
    warnings = [w for w in json.loads(done.stdout)["plan"]["warnings"]
                if w.startswith("Could not resolve local secret")]
    assert warnings
    for w in warnings:
        assert f"Looked in {seed.auth_path} (from $EXECUTOR_AUTH_FILE)" in w
        assert "set EXECUTOR_AUTH_FILE" in w
