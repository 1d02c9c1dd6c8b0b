"""Real Executor 1.4.7 data dirs through the built pyz: ``migrate --dry-run --json`` predicts what
``migrate --json`` writes, nothing of v1 is lost, the files left are exactly the expected ones,
and the daemon boots on each of them.

Every test works on a private copy of a fixture (``../shared/fixtures``, read-only: opening a
``data.db`` in place would checkpoint and delete its ``-wal``) with a copy of its ``auth.json``
passed through ``EXECUTOR_AUTH_FILE``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

import peer
from executor_local.migrate.v1.secrets import migrated_item_id
from proc import Daemon, run_cli

pytestmark = peer.needs_fixtures

BACKUP = re.compile(r"^data\.db\.v1-v2-(\d+-[0-9a-f]{8})$")
AUTH_BACKUP = re.compile(r"^auth\.json\.v1-v2-(\d+-[0-9a-f]{8})$")
V2_TABLES = ("integration", "connection", "oauth_client", "tool", "definition", "tool_policy",
             "plugin_storage", "blob")

# What the planner had to interpret in each fixture and says so. The fixtures hold nothing it
# must guess at: its deliberate keeps (a `workspace` connection for sources without credentials,
# the renamed source's plugin-side name, ...) are the documented mapping, not guesses.
# test_interpretations_are_warned_identically shows warnings on a fixture that needs some.
EXPECTED_WARNINGS: dict[str, list[str]] = {name: [] for name in peer.CASE_NAMES}

# The v1 secrets no source references (kept all the same: README "unused-secret").
UNREFERENCED = {"mixed": {"unused-secret"}, "wal-live": {"unused-secret"},
                "wal-live-after-clean-stop": {"unused-secret"}}


def _setup(case: peer.Case, tmp: Path, env: dict[str, str]) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the case's data dir and auth.json, and the env pointing the CLI at them."""
    data = peer.copy_data_dir(case, tmp / "data")
    auth = tmp / "secrets" / "auth.json"
    auth.parent.mkdir()
    if case.auth is not None:
        auth.write_bytes(case.auth.read_bytes())
    return data, auth, {**env, "EXECUTOR_AUTH_FILE": str(auth)}


def _cli_json(pyz: Path, data: Path, env: dict[str, str], *args: str) -> dict:
    proc = run_cli(pyz, ["--data-dir", str(data), *args, "--json"], env)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout)


def _migrate(pyz: Path, data: Path, env: dict[str, str]) -> dict:
    result = _cli_json(pyz, data, env, "migrate")
    assert result["status"] == "migrated", result
    return result


def _backup_suffix(data: Path) -> str:
    found = [m.group(1) for p in data.iterdir() if (m := BACKUP.match(p.name))]
    assert len(found) == 1, sorted(p.name for p in data.iterdir())
    return found[0]


@pytest.mark.parametrize("name", peer.CASE_NAMES)
def test_dry_run_reports_what_the_migration_writes(
    pyz: Path, env: dict[str, str], tmp_path: Path, name: str
) -> None:
    case = peer.CASES[name]
    data, auth, env = _setup(case, tmp_path, env)
    before = peer.digests(data), peer.digests(auth.parent)

    dry = _cli_json(pyz, data, env, "migrate", "--dry-run")
    assert (peer.digests(data), peer.digests(auth.parent)) == before, "a dry run wrote"
    assert dry["status"] == "v1" and dry["journal"] is False
    plan = dry["plan"]

    real = _migrate(pyz, data, env)
    report = real["report"]
    written = peer.count_rows(data / "data.db", list(V2_TABLES))
    assert plan["counts"] == report["counts"] == written
    assert plan["integrations"] == report["integrations"]
    assert plan["secrets"] == report["secrets"]
    assert plan["tenant"] == report["tenant"]
    if written["integration"]:
        assert report["tenant"] == case.scope_id
    # Warnings: the dry run names exactly what the migration then reports.
    assert plan["warnings"] == report["warnings"] == real["warnings"] == EXPECTED_WARNINGS[name]
    # Per integration, the counts it announced are the rows it wrote.
    db = data / "data.db"
    per = {r[0]: r[1:] for r in peer.query(
        db, "SELECT i.slug, (SELECT COUNT(*) FROM tool t WHERE t.integration = i.slug), "
            "(SELECT COUNT(*) FROM definition d WHERE d.integration = i.slug) FROM integration i")}
    assert per == {i["slug"]: (i["tools"], i["definitions"]) for i in plan["integrations"]}
    conns = peer.query(db, "SELECT integration, name FROM connection")
    assert sorted(conns) == sorted((i["slug"], c) for i in plan["integrations"]
                                   for c in i["connections"])

    again = _cli_json(pyz, data, env, "migrate", "--dry-run")
    assert again["status"] == "v2"


@pytest.mark.parametrize("name", peer.CASE_NAMES)
def test_nothing_of_v1_is_lost(
    pyz: Path, env: dict[str, str], tmp_path: Path, name: str
) -> None:
    case = peer.CASES[name]
    data, auth, env = _setup(case, tmp_path, env)
    if case.wal_only:  # the shape 1.4.7 leaves when stopped right after a write
        assert peer.base_file_tables(data / "data.db") == 0
    v1 = peer.v1_facts(data / "data.db")
    v1_rows = peer.table_digests(data / "data.db")
    _migrate(pyz, data, env)
    db = data / "data.db"

    # Files: exactly the v2 store, the v1 backup and the owner lock; no snapshot, staging or
    # journal left; the backup holds the v1 rows as they were (WAL included).
    suffix = _backup_suffix(data)
    assert peer.tree(data) == {"data.db", "data.db.owner-lock", f"data.db.v1-v2-{suffix}"}
    assert peer.table_digests(data / f"data.db.v1-v2-{suffix}") == v1_rows

    # Sources and tools: every v1 source is an integration of the same plugin kind, and every
    # v1 tool name is a tool of that integration.
    integrations = dict(peer.query(db, "SELECT slug, plugin_id FROM integration"))
    assert integrations == v1.sources
    v2_tools: dict[str, set[str]] = {}
    for integration, tool in peer.query(db, "SELECT integration, name FROM tool"):
        v2_tools.setdefault(integration, set()).add(tool)
    assert v2_tools == {sid: names for sid, names in v1.tools.items() if names}
    if name == "wal-live":  # the copy taken while the 1.4.7 daemon ran: all of it migrated
        assert len(v1.sources) == 5 and sum(map(len, v1.tools.values())) == 20

    # Secrets.
    backups = [p for p in auth.parent.iterdir() if p.name != "auth.json"]
    if case.auth is None:
        assert backups == [] and not auth.exists()
        assert v1.secrets == {}
        return
    # The old auth.json is kept byte-identical, under the migration's own ms-nonce.
    assert [AUTH_BACKUP.match(p.name).group(1) for p in backups] == [suffix]  # type: ignore[union-attr]
    assert backups[0].read_bytes() == case.auth.read_bytes()
    old = json.loads(case.auth.read_text())
    new = json.loads(auth.read_text())
    (scope,) = v1.scopes
    values = old[scope]
    assert set(values) == set(v1.secrets) and set(v1.secrets.values()) == {"file"}
    # Every v1 file secret, referenced or not, under its migrated item id...
    for sid, value in values.items():
        assert new[migrated_item_id(scope, sid)] == value, sid
    referenced = set().union(*v1.refs.values()) if v1.refs else set()
    assert set(values) - referenced == UNREFERENCED.get(name, set())
    # ...and each source's connection points at the values its v1 row referenced.
    for slug in v1.sources:
        item_ids = [json.loads(r[0]) for r in peer.query(
            db, "SELECT item_ids FROM connection WHERE integration = ?", (slug,))]
        assert item_ids, f"{slug} has no connection"
        got = {new[item] for ids in item_ids for item in ids.values()}
        assert got == {values[s] for s in v1.refs.get(slug, set())}, slug
    # Flat strings only (1.5.9 refuses the whole file otherwise), exactly what 1.5.9 wrote.
    assert all(isinstance(v, str) for v in new.values())
    assert new == json.loads((case.ref_dir / "auth.json").read_text())


def test_interpretations_are_warned_identically(
    pyz: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The mixed fixture plus what 1.4.7 leaves after ``DELETE /sources/throwaway`` went wrong
    (a tool row of a deleted source) and a value in auth.json no secret row names: the dry run
    names both, the migration reports the same words, and neither vanishes silently."""
    case = peer.CASES["mixed"]
    data, auth, env = _setup(case, tmp_path, env)
    conn = sqlite3.connect(str(data / "data.db"), isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO tool VALUES ('throwaway.ping', ?, 'throwaway', 'openapi', 'ping', "
            "'GET /ping', NULL, NULL, 1, 1)", (case.scope_id,))
    finally:
        conn.close()
    old = json.loads(auth.read_text())
    old[case.scope_id]["stray-value"] = "no-row-names-me"
    auth.write_text(json.dumps(old, indent=2))
    auth_bytes = auth.read_bytes()

    dry = _cli_json(pyz, data, env, "migrate", "--dry-run")["plan"]["warnings"]
    real = _migrate(pyz, data, env)
    assert dry == real["warnings"] == real["report"]["warnings"]
    text = "\n".join(dry)
    assert "'throwaway.ping'" in text and "'throwaway'" in text
    assert f"{case.scope_id}/stray-value" in text and "auth.json.v1-v2-" in text
    assert len(dry) == 2, dry
    # The stray value stays in the byte-identical backup of auth.json.
    (backup,) = [p for p in auth.parent.iterdir() if p.name != "auth.json"]
    assert backup.read_bytes() == auth_bytes


@pytest.mark.parametrize("name", peer.CASE_NAMES)
def test_daemon_boots_on_each_fixture(
    pyz: Path, env: dict[str, str], tmp_path: Path, name: str
) -> None:
    case = peer.CASES[name]
    data, auth, env = _setup(case, tmp_path, env)
    v1 = peer.v1_facts(data / "data.db")
    args = ["--data-dir", str(data), "daemon", "run", "--foreground", "--port", "0"]
    with Daemon(pyz, args, env) as daemon:
        daemon.wait_ready()
        assert daemon.get("/api/health") == (200, "ok")
        token = json.loads((data / "server-control" / "auth.json").read_text())["token"]
        status, body = daemon.get("/api/info", token)
        assert status == 200, body
        assert not [p for p in peer.tree(data) if re.search(r"\.(source|building)-|migration", p)]
        assert daemon.terminate() == 0, daemon.err
    suffix = _backup_suffix(data)
    assert peer.tree(data) == {
        "data.db", "data.db.owner-lock", f"data.db.v1-v2-{suffix}",
        "logs/", "logs/daemon.log", "server-control/", "server-control/auth.json",
    }
    assert dict(peer.query(data / "data.db", "SELECT slug, plugin_id FROM integration")) \
        == v1.sources
    if case.auth is not None:
        assert (auth.parent / f"auth.json.v1-v2-{suffix}").read_bytes() == case.auth.read_bytes()
