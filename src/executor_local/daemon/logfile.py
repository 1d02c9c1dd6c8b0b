"""``logs/daemon.log``: every ``daemon run`` appends here, foreground or background.

The TS Executor logged only when run as an OS service, so a background daemon that died left
nothing to read (its §2.10). Ours always writes the boot steps with their durations. The file is
0600 (it may name paths and pids) and rotates at 1 MiB keeping three old files; the rotation goes
through the fs layer like every other rename.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from executor_local import fs
from executor_local.daemon.limits import RepeatFilter, route_library_logs
from executor_local.datadir import DAEMON_LOG_NAME, DataDir

LOG_NAME = DAEMON_LOG_NAME
MAX_BYTES = 1024 * 1024
BACKUPS = 3
# Set by the background spawner on the child whose stdout/stderr already are daemon.log.
DETACHED_ENV = "EXECUTOR_DETACHED"
FORMAT = "%(asctime)s pid %(process)d %(levelname)s %(name)s: %(message)s"


def log_path(data_dir: Path) -> Path:
    return DataDir(data_dir).daemon_log


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A ``RotatingFileHandler`` whose files are created 0600 and rotated by ``fs.replace``.

    A record it cannot write (no descriptor left to reopen the file after a rotation, a full
    disk) is dropped and counted, never printed to stderr: in a detached daemon stderr is this
    very file, where nothing would rotate it.
    """

    dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:
        self.dropped += 1

    def _open(self):  # type: ignore[no-untyped-def]
        fs.create_private_file(self.baseFilename)
        return super()._open()

    def doRollover(self) -> None:
        if self.stream:
            self.stream.close()
            self.stream = None  # type: ignore[assignment]
        base = self.baseFilename
        for i in range(self.backupCount - 1, 0, -1):
            if os.path.exists(f"{base}.{i}"):
                fs.replace(f"{base}.{i}", f"{base}.{i + 1}")
        if os.path.exists(base):
            fs.replace(base, f"{base}.1")
        self.stream = self._open()


def open_daemon_log(data_dir: Path) -> Path:
    """Add the file handler to the ``executor`` logger (at least INFO, whatever stderr shows)."""
    path = log_path(data_dir)
    fs.make_private_dir(path.parent)
    root = logging.getLogger("executor")
    if any(isinstance(h, PrivateRotatingFileHandler) for h in root.handlers):
        return path
    handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                         encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RepeatFilter())
    stderr_level = root.level
    for existing in root.handlers:
        existing.setLevel(max(existing.level, stderr_level))
    if os.environ.get(DETACHED_ENV) == "1":
        # stderr *is* this file in a background child: keep one copy of every line.
        root.handlers = [h for h in root.handlers if not isinstance(h, logging.StreamHandler)]
    handler.setLevel(min(stderr_level, logging.INFO))
    root.addHandler(handler)
    root.setLevel(min(stderr_level, logging.INFO))
    route_library_logs(list(root.handlers))
    return path


def tail(path: Path, lines: int = 30, since: int = 0) -> str:
    """The last ``lines`` lines of the log written at or after byte ``since``."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(since if 0 <= since <= size else 0)
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
