"""One data-dir layout: every file name of design §4 is spelled in datadir.py only, and a SQLite
file set is reached by named member, never by position."""

from __future__ import annotations

import ast
from pathlib import Path

from executor_local import datadir
from executor_local.datadir import DataDir, sqlite_files

SRC = Path(__file__).resolve().parent.parent / "src" / "executor_local"
NAMES = {datadir.WAL_SUFFIX, datadir.SHM_SUFFIX, datadir.JOURNAL_SUFFIX, datadir.OWNER_LOCK_NAME,
         datadir.MIGRATION_JOURNAL_NAME, datadir.SNAPSHOT_PREFIX, datadir.STAGING_PREFIX,
         datadir.CONTROL_DIR_NAME, datadir.MANIFEST_NAME, datadir.DAEMON_LOG_NAME, datadir.DB_NAME}


def _is_name(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)
            and (node.value in NAMES or node.value.startswith(("data.db.", "data.db-"))))


def _spelled_names(path: Path) -> list[str]:
    """String constants that are a layout name (messages that mention one are fine)."""
    return [f"{path.name}:{node.lineno} {node.value!r}"  # type: ignore[attr-defined]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            if _is_name(node)]


def test_layout_names_are_spelled_in_datadir_only() -> None:
    files = [p for p in SRC.rglob("*.py") if p != SRC / "datadir.py"]
    assert files
    assert [hit for f in files for hit in _spelled_names(f)] == []


def test_the_name_scan_sees_a_spelled_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('WAL = "-wal"\nLOCK = "data.db.owner-lock"\nMSG = "data.db is missing"\n')
    assert len(_spelled_names(bad)) == 2


def test_file_sets_have_named_members(tmp_path: Path) -> None:
    files = sqlite_files(tmp_path / "data.db")
    assert files.base.name == "data.db"
    assert [p.name for p in files.sidecars] == ["data.db-wal", "data.db-shm"]
    assert files.journal.name == "data.db-journal"
    assert files.members == [files.base, files.wal, files.shm]
    assert files.with_journal == [*files.members, files.journal]


def test_every_path_of_the_layout(tmp_path: Path) -> None:
    d = DataDir(tmp_path)
    assert d.owner_lock == tmp_path / "data.db.owner-lock"
    assert d.migration_journal == tmp_path / "data.db.v1-v2-migration.json"
    assert d.snapshot("0a1b2c3d") == tmp_path / "data.db.source-0a1b2c3d"
    assert d.staging("0a1b2c3d") == tmp_path / "data.db.building-0a1b2c3d"
    backup = d.backup("v1-v2", 1776367901699, "0a1b2c3d")
    assert backup == tmp_path / "data.db.v1-v2-1776367901699-0a1b2c3d"
    assert datadir.BACKUP_RE.match(backup.name)
    assert d.manifest == tmp_path / "server-control" / "server.json"
    assert d.token == tmp_path / "server-control" / "auth.json"
    assert d.daemon_log == tmp_path / "logs" / "daemon.log"
