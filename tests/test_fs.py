"""The fs layer's retry policy: what it retries, the GC nudge, the budget, never sleeping."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from executor_local import fs
from executor_local.errors import EXIT_LOCKED, FileLocked


def sharing_violation() -> PermissionError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file")
    exc.winerror = 32  # type: ignore[attr-defined]
    return exc


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.collects = 0

    def policy(self, **kw: object) -> fs.RetryPolicy:
        def collect() -> int:
            self.collects += 1
            return 0

        return fs.RetryPolicy(sleep=self.sleeps.append, collect=collect, **kw)  # type: ignore[arg-type]


class FlakyReplace(fs.Primitives):
    """Refuses the first ``n`` replaces the way a Windows holder would."""

    def __init__(self, n: int, exc_factory=sharing_violation) -> None:  # type: ignore[no-untyped-def]
        self.left = n
        self.exc_factory = exc_factory
        self.calls = 0

    def replace(self, src: str, dst: str) -> None:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.exc_factory()
        super().replace(src, dst)


def test_retries_then_succeeds_with_gc_nudge_before_each_wait(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    rec, prims = Recorder(), FlakyReplace(3)
    with fs.use(prims, rec.policy()):
        fs.replace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_text() == "x"
    assert prims.calls == 4
    assert rec.sleeps == [0.05, 0.1, 0.25]
    assert rec.collects == 3


def test_budget_exhausted_is_file_locked_exit_7_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    rec = Recorder()
    with fs.use(FlakyReplace(100), rec.policy()), pytest.raises(FileLocked) as info:
        fs.replace(tmp_path / "a", tmp_path / "b")
    assert info.value.exit_code == EXIT_LOCKED
    assert str(tmp_path / "a") in info.value.message
    assert rec.sleeps == [d / 1000 for d in fs.RETRY_DELAYS_MS]
    assert abs(sum(rec.sleeps) - 7.9) < 0.01
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("code", [errno.EBUSY, errno.EPERM, errno.EACCES])
def test_posix_busy_errnos_are_retried(tmp_path: Path, code: int) -> None:
    (tmp_path / "a").write_text("x")
    rec = Recorder()
    with fs.use(FlakyReplace(1, lambda: OSError(code, os.strerror(code))), rec.policy()):
        fs.replace(tmp_path / "a", tmp_path / "b")
    assert rec.sleeps == [0.05]


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    rec = Recorder()
    with fs.use(policy=rec.policy()), pytest.raises(FileNotFoundError):
        fs.replace(tmp_path / "missing", tmp_path / "b")
    assert rec.sleeps == []


def test_nudge_can_be_disabled_for_the_negative_control(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    rec = Recorder()
    with fs.use(FlakyReplace(2), rec.policy(nudge=False)):
        fs.replace(tmp_path / "a", tmp_path / "b")
    assert rec.collects == 0 and len(rec.sleeps) == 2


class RecordingFsync(fs.Primitives):
    def __init__(self) -> None:
        self.modes: list[int] = []

    def fsync(self, fd: int) -> None:
        if sys.platform == "win32":
            # No F_GETFL on Windows, but the real rule applies: FlushFileBuffers refuses a
            # read-only handle, so a failing fsync is how a read-only descriptor shows.
            try:
                super().fsync(fd)
            except OSError:
                self.modes.append(os.O_RDONLY)
                raise
            self.modes.append(os.O_RDWR)
            return
        import fcntl

        self.modes.append(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE)
        super().fsync(fd)


def test_fsync_never_uses_a_read_only_descriptor(tmp_path: Path) -> None:
    prims = RecordingFsync()
    with fs.use(prims):
        fs.write_atomic(tmp_path / "f", b"data")
        fs.fsync_file(tmp_path / "f")
        fs.copy_file(tmp_path / "f", tmp_path / "g")
    assert prims.modes and os.O_RDONLY not in prims.modes
    assert (tmp_path / "g").read_bytes() == b"data"


@pytest.mark.skipif(sys.platform != "win32", reason="a Windows rule (FlushFileBuffers needs a "
                    "writable handle); POSIX flushes a read-only descriptor")
def test_windows_refuses_to_fsync_a_read_only_descriptor(tmp_path: Path) -> None:
    """The rule the recorder above relies on under a real Windows CPython."""
    (tmp_path / "f").write_bytes(b"data")
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        with pytest.raises(OSError) as info:
            os.fsync(fd)
    finally:
        os.close(fd)
    assert info.value.errno in (errno.EBADF, errno.EACCES)  # Windows: EBADF; Wine: EACCES


def test_write_atomic_is_private_and_leaves_no_temp(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fs.write_atomic(tmp_path / "auth.json", b"{}")
        fs.write_atomic(tmp_path / "auth.json", b'{"a": 1}')
    finally:
        os.umask(old)
    assert (tmp_path / "auth.json").read_bytes() == b'{"a": 1}'
    assert fs.is_private_file(tmp_path / "auth.json")
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]


def test_remove_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("1")
    assert fs.remove(tmp_path / "x") is True
    assert fs.remove(tmp_path / "x") is False
