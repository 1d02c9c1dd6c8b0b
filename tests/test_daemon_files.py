"""File modes (reliability matrix row 58/59), the manifest's life, and the rotating log."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon_util import manifest, request
from executor_local.daemon.logfile import PrivateRotatingFileHandler
from proc import Daemon


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, under which a naive open() makes world-readable files."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath, name)
            out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


@pytest.mark.usefixtures("umask_022")
def test_every_file_private_under_umask_022(pyz: Path, env: dict[str, str],
                                            data_dir: Path) -> None:
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        d.wait_ready()
        running = _modes(data_dir)
        assert d.terminate() == 0
    stopped = _modes(data_dir)
    for name in ("data.db", "data.db-wal", "data.db-shm", "data.db.owner-lock",
                 "server-control/server.json", "server-control/auth.json", "logs/daemon.log"):
        assert name in running, sorted(running)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for modes in (running, stopped):
        wrong = {name: oct(mode) for name, mode in modes.items()
                 if mode != (0o700 if (data_dir / name).is_dir() else 0o600)}
        assert wrong == {}


def test_readable_token_file_is_replaced(pyz: Path, env: dict[str, str], data_dir: Path) -> None:
    auth = data_dir / "server-control" / "auth.json"
    auth.parent.mkdir(parents=True)
    auth.write_text(json.dumps({"token": "leaked"}))
    auth.chmod(0o644)
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env) as d:
        port = d.wait_ready()
        token = json.loads(auth.read_text())["token"]
        assert token != "leaked" and stat.S_IMODE(auth.stat().st_mode) == 0o600
        assert request(port, "/api/info", token="leaked")[0] == 401
        assert request(port, "/api/info", token=token)[0] == 200
        assert manifest(data_dir)["bearer"] == token  # type: ignore[index]
        assert d.terminate() == 0
    assert "readable by other users" in d.err


@pytest.mark.usefixtures("umask_022")
def test_log_rotation_keeps_files_private(tmp_path: Path) -> None:
    path = tmp_path / "daemon.log"
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test.rotation")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for i in range(40):
            logger.warning("line %02d %s", i, "x" * 30)
    finally:
        logger.removeHandler(handler)
        handler.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert all(stat.S_IMODE((tmp_path / n).stat().st_mode) == 0o600 for n in names)
    assert "line 39" in path.read_text()
