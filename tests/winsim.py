"""Windows file-sharing rules on Linux, decided from the process's real open descriptors.

A file counts as held exactly while some descriptor of this process (or of a watched child)
really refers to it: ``/proc/<pid>/fd`` is the kernel's handle table, so a SQLite connection that
CPython has not finalized, or a cursor that keeps a closed connection's file open, holds the file
here just as it would on Windows. The rules (packaging.md §4.3):

- remove(p) with p held -> PermissionError(EACCES), winerror 32;
- replace(s, d): s held -> 32; d a directory -> 5; d held -> 5;
- fsync on a read-only descriptor -> EBADF (FlushFileBuffers needs write access);
- fsync of a directory -> PermissionError (Windows cannot open one);
- foreign holders: a path refused the next n attempts, as antivirus or another program would.

Under a real Windows CPython (tests/windows/run.sh) there is no ``/proc`` and no ``fcntl``: the
OS applies the sharing rules itself, and only the foreign holders are modelled here.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from executor_local import fs


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def open_file_ids(pids: list[int]) -> set[tuple[int, int]]:
    ids = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                st = os.stat(f"{fd_dir}/{name}")
            except OSError:
                continue
            ids.add((st.st_dev, st.st_ino))
    return ids


def _denied(code: int, path: str) -> PermissionError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file because it is "
                          "being used by another process" if code == 32 else "Access is denied",
                          path)
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


class WindowsSemantics(fs.Primitives):
    """Primitives that refuse what Windows would refuse, then do the real operation."""

    def __init__(self) -> None:
        self.watched_pids: list[int] = []
        self.foreign: dict[str, int] = {}  # path -> refusals left (-1: until released)
        self.refusals: list[tuple[str, str, int]] = []

    def held(self, path: str) -> bool:
        left = self.foreign.get(os.path.abspath(path))
        if left:
            if left > 0:
                self.foreign[os.path.abspath(path)] = left - 1
            return True
        fid = _file_id(path)
        return fid is not None and fid in open_file_ids([os.getpid(), *self.watched_pids])

    def _refuse(self, op: str, path: str, code: int) -> PermissionError:
        self.refusals.append((op, path, code))
        return _denied(code, path)

    def hold(self, path: Path | str, times: int = -1) -> None:
        """Model another program holding ``path`` for the next ``times`` attempts (-1: always)."""
        self.foreign[os.path.abspath(path)] = times

    def release(self, path: Path | str) -> None:
        self.foreign.pop(os.path.abspath(path), None)

    def replace(self, src: str, dst: str) -> None:
        if self.held(src):
            raise self._refuse("replace", src, 32)
        if os.path.isdir(dst):
            raise self._refuse("replace", dst, 5)
        if os.path.exists(dst) and self.held(dst):
            raise self._refuse("replace", dst, 5)
        super().replace(src, dst)

    def remove(self, path: str) -> None:
        if self.held(path):
            raise self._refuse("remove", path, 32)
        super().remove(path)

    def rmtree(self, path: str) -> None:
        root = os.path.abspath(path)
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if self.held(os.path.join(dirpath, name)):
                    raise self._refuse("rmtree", os.path.join(dirpath, name), 32)
        super().rmtree(path)

    def fsync(self, fd: int) -> None:
        if sys.platform == "win32":  # the OS applies this rule itself (and has no fcntl)
            super().fsync(fd)
            return
        import fcntl

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(errno.EBADF, "Bad file descriptor")
        super().fsync(fd)

    def fsync_dir(self, path: str) -> None:
        raise self._refuse("fsync_dir", path, 5)
