"""Data dir resolution (design §3): each branch, with an isolated HOME and XDG variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from executor_local.boot.locate import ensure_data_dir, locate_data_dir


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.delenv("EXECUTOR_DATA_DIR", raising=False)
    return home


def test_option_wins_over_everything(isolated: Path, tmp_path: Path) -> None:
    (isolated / ".executor").mkdir()
    (isolated / ".executor" / "data.db").write_bytes(b"")
    choice = locate_data_dir(str(tmp_path / "opt"), {"EXECUTOR_DATA_DIR": str(tmp_path / "env")})
    assert (choice.path, choice.source) == (tmp_path / "opt", "option")


def test_env_wins_over_legacy(isolated: Path, tmp_path: Path) -> None:
    (isolated / ".executor").mkdir()
    (isolated / ".executor" / "data.db").write_bytes(b"")
    choice = locate_data_dir(None, {"EXECUTOR_DATA_DIR": str(tmp_path / "env")})
    assert (choice.path, choice.source) == (tmp_path / "env", "env")


def test_relative_values_are_made_absolute(isolated: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert locate_data_dir("rel", {}).path == tmp_path / "rel"
    assert locate_data_dir("~/x", {}).path == isolated / "x"


def test_legacy_dir_only_when_it_holds_a_database(isolated: Path) -> None:
    (isolated / ".executor").mkdir()
    assert locate_data_dir(None, {}).source == "platform"  # empty legacy dir: not chosen
    (isolated / ".executor" / "data.db").write_bytes(b"")
    choice = locate_data_dir(None, {})
    assert (choice.path, choice.source) == (isolated / ".executor", "legacy")
    assert "legacy" in choice.reason


def test_platform_default_follows_xdg(isolated: Path) -> None:
    choice = locate_data_dir(None, {})
    assert choice.source == "platform"
    assert choice.path == isolated / "xdg-data" / "executor"


def test_ensure_creates_0700_and_resolves_symlinks(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        real = ensure_data_dir(locate_data_dir(str(tmp_path / "a" / "b"), {}))
    finally:
        os.umask(old)
    assert real.path.is_dir()
    assert real.path.stat().st_mode & 0o777 == 0o700
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a" / "b")
    assert ensure_data_dir(locate_data_dir(str(link), {})).path == real.path
