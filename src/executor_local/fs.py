"""The one file-system layer: every rename, replace, remove, copy, fsync and private mkdir.

Why one place: on Windows a file whose handle is still open cannot be renamed or removed
(WinError 32), and CPython keeps a closed SQLite connection's handles open while an unfinished
cursor is still referenced, until the garbage collector runs. So every mutating call here retries
on the Windows sharing errors with a ``gc.collect()`` nudge before each wait (design §5), and the
rest of the package never calls ``os.replace``/``os.remove``/``shutil.rmtree`` itself (a test scans
for that).

The raw OS calls live in ``Primitives``; tests swap in a double that applies Windows sharing rules
(see ``tests/winsim.py``), and a ``RetryPolicy`` with an injected sleep so no test ever sleeps.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from executor_local.datadir import SHM_SUFFIX, WAL_SUFFIX, sqlite_files
from executor_local.errors import DiskFailure, FileLocked, NoSpace, NotWritable

log = logging.getLogger("executor.fs")

T = TypeVar("T")

# Waits before each retry: 7 retries, 8 attempts, about 7.9 s in all (TS #939 and 9e05b10c1).
RETRY_DELAYS_MS: tuple[int, ...] = (50, 100, 250, 500, 1000, 2000, 4000)
# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
RETRYABLE_WINERRORS = frozenset({5, 32, 33})
RETRYABLE_ERRNOS = frozenset({errno.EBUSY, errno.EPERM, errno.EACCES})
SQLITE_SIDECARS = (WAL_SUFFIX, SHM_SUFFIX)
IS_WINDOWS = os.name == "nt"
# fsync errors that only say "this file system or handle cannot flush": nothing was lost, so a
# best-effort flush ignores them. Anything else (EIO, ENOSPC, ...) means the data on disk is
# unknown and must stop the operation; retrying the fsync would report success on lost pages.
FSYNC_UNSUPPORTED_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "ENOSYS")
    if hasattr(errno, name))
# What a Windows handle that cannot flush reports: FlushFileBuffers on a read-only handle gives
# EBADF; a handle without write access, EACCES/EPERM (winerror 5).
WINDOWS_FSYNC_UNSUPPORTED_ERRNOS = frozenset({errno.EBADF, errno.EACCES, errno.EPERM})
NO_SPACE_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT") if hasattr(errno, n))


def is_retryable(exc: BaseException) -> bool:
    """True for the errors a lingering handle or a scanner produces, on Windows and POSIX."""
    if not isinstance(exc, OSError) or isinstance(exc, FileNotFoundError):
        return False
    if getattr(exc, "winerror", None) in RETRYABLE_WINERRORS:
        return True
    return isinstance(exc, PermissionError) or exc.errno in RETRYABLE_ERRNOS


class Primitives:
    """The raw, unretried OS calls. A test double overrides these to model Windows."""

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def remove(self, path: str) -> None:
        os.remove(path)

    def rmtree(self, path: str) -> None:
        shutil.rmtree(path)

    def copyfile(self, src: str, dst: str) -> None:
        shutil.copyfile(src, dst)

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class RetryPolicy:
    """When and how to retry. ``nudge=False`` exists only for the negative control in tests."""

    delays_ms: tuple[int, ...] = RETRY_DELAYS_MS
    sleep: Callable[[float], None] = time.sleep
    collect: Callable[[], object] = gc.collect
    nudge: bool = True

    def run(self, what: str, path: str, op: Callable[[], T]) -> T:
        """Run ``op``, retrying retryable errors; raise ``FileLocked`` when the budget is spent."""
        attempt = 0
        while True:
            try:
                return op()
            except OSError as exc:
                if not is_retryable(exc):
                    raise
                if attempt >= len(self.delays_ms):
                    raise FileLocked(
                        f"could not {what} {path}: it stayed locked after "
                        f"{attempt + 1} attempts over {sum(self.delays_ms) / 1000:.1f} s",
                        path=path,
                        cause=exc,
                    ) from exc
                delay = self.delays_ms[attempt]
                log.debug(
                    "fs: %s %s failed (%s), retry %d in %d ms",
                    what, path, describe_os_error(exc), attempt + 1, delay,
                )
                if self.nudge:
                    # Let CPython finalize connections/cursors held only by reference cycles,
                    # which is what releases their OS handles on Windows.
                    self.collect()
                self.sleep(delay / 1000)
                attempt += 1


@dataclass
class _Layer:
    primitives: Primitives = field(default_factory=Primitives)
    policy: RetryPolicy = field(default_factory=RetryPolicy)


_layer = _Layer()
if os.environ.get("EXECUTOR_TEST_NO_GC_NUDGE") == "1" and os.environ.get("EXECUTOR_TEST_MODE"):
    _layer.policy.nudge = False


@contextlib.contextmanager
def use(
    primitives: Primitives | None = None, policy: RetryPolicy | None = None
) -> Iterator[None]:
    """Swap the primitives and/or the retry policy for the duration of a block (tests)."""
    saved = (_layer.primitives, _layer.policy)
    _layer.primitives = primitives or saved[0]
    _layer.policy = policy or saved[1]
    try:
        yield
    finally:
        _layer.primitives, _layer.policy = saved


def describe_os_error(exc: BaseException) -> str:
    """``PermissionError errno 13 (EACCES) winerror 32: msg`` — every fact an OSError has."""
    parts = [type(exc).__name__]
    if isinstance(exc, OSError):
        if exc.errno is not None:
            parts.append(f"errno {exc.errno} ({errno.errorcode.get(exc.errno, '?')})")
        if getattr(exc, "winerror", None) is not None:
            parts.append(f"winerror {exc.winerror}")  # type: ignore[attr-defined]
        text = exc.strerror or str(exc)
    else:
        text = str(exc)
    return " ".join(parts) + (f": {text}" if text else "")


# --- the operations the rest of the package uses -------------------------------------------


def replace(src: Path | str, dst: Path | str) -> None:
    """Atomically move ``src`` onto ``dst`` (which may exist), retrying Windows sharing errors."""
    s, d = str(src), str(dst)
    log.debug("fs: replace %s -> %s", s, d)
    _layer.policy.run("move", s, lambda: _layer.primitives.replace(s, d))


def remove(path: Path | str) -> bool:
    """Remove a file if it exists, retrying; returns whether it existed."""
    p = str(path)
    if not os.path.lexists(p):
        return False
    log.debug("fs: remove %s", p)

    def op() -> bool:
        try:
            _layer.primitives.remove(p)
        except FileNotFoundError:
            return False
        return True

    return _layer.policy.run("remove", p, op)


def rmtree(path: Path | str) -> None:
    """Remove a directory tree if it exists, retrying."""
    p = str(path)
    if not os.path.exists(p):
        return
    log.debug("fs: rmtree %s", p)
    _layer.policy.run("remove", p, lambda: _layer.primitives.rmtree(p))


def fsync_unsupported(exc: OSError) -> bool:
    """True when a failed fsync only means "cannot flush here", never "data may be lost"."""
    if exc.errno in FSYNC_UNSUPPORTED_ERRNOS:
        return True
    windows_handle = IS_WINDOWS or getattr(exc, "winerror", None) is not None
    return windows_handle and exc.errno in WINDOWS_FSYNC_UNSUPPORTED_ERRNOS


def write_error(what: str, path: Path | str, exc: OSError) -> BaseException:
    """A failed write or flush as the error a person can act on: full disk, or disk failure."""
    if exc.errno in NO_SPACE_ERRNOS:
        return NoSpace(
            f"could not {what} {path}: the disk is full ({describe_os_error(exc)})", path=path,
            cause=exc, hint="Free some disk space and run again; nothing was half-done.")
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return NotWritable(f"could not {what} {path}: {describe_os_error(exc)}", path=path,
                           cause=exc)
    if exc.errno == errno.EIO or what == "flush":
        return DiskFailure(
            f"could not {what} {path}: the disk reported an error ({describe_os_error(exc)}), "
            "so what it holds is unknown", path=path, cause=exc)
    return exc


def copy_file(src: Path | str, dst: Path | str, *, mode: int = 0o600) -> None:
    """Copy bytes to ``dst`` whole or not at all: into a temp sibling, flushed, then renamed.

    A crash or a full disk in the middle leaves at most the temp file, never a partial ``dst``
    that a later step (restoring auth.json from its backup) would take for the real thing.
    """
    s, d = str(src), str(dst)
    tmp = _temp_sibling(Path(d))
    log.debug("fs: copy %s -> %s", s, d)
    try:
        try:
            _layer.policy.run("copy", s, lambda: _layer.primitives.copyfile(s, tmp))
        except OSError as exc:
            converted = write_error("copy to", d, exc)
            if converted is exc:
                raise
            raise converted from exc
        chmod_private(tmp, mode)
        fsync_file(tmp)
        replace(tmp, d)
    except BaseException:
        with contextlib.suppress(OSError, FileLocked):
            remove(tmp)
        raise


def copy_open_file(fd: int, dst: Path | str) -> None:
    """Copy what the open descriptor ``fd`` holds, from offset 0, into ``dst`` (created private
    when new, truncated when not). Not flushed: the migrator's snapshot copy verifies and
    flushes the set itself. The source is read through a descriptor the caller already holds
    (a locked SQLite member), never reopened by name.
    """
    create_private_file(dst)
    out = os.open(str(dst), os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
    try:
        size, done = os.fstat(fd).st_size, 0
        try:
            while done < size:
                sent = os.sendfile(out, fd, done, size - done)
                if sent == 0:
                    break
                done += sent
        except OSError:  # no file-to-file sendfile here (macOS): plain reads and writes
            os.lseek(out, done, os.SEEK_SET)
            while done < size:
                chunk = os.pread(fd, min(size - done, 1 << 20), done)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
                done += len(chunk)
    finally:
        os.close(out)


def fsync_file(path: Path | str) -> None:
    """Flush a file through a read-write descriptor (Windows refuses to flush a read-only one).

    Best effort only where flushing is not possible (a missing or read-only file, a file system
    or handle that cannot flush); an I/O error or a full disk raises ``DiskFailure``/``NoSpace``.
    """
    try:
        fd = os.open(str(path), os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if not isinstance(exc, (FileNotFoundError, PermissionError)) and exc.errno != errno.EROFS:
            raise write_error("flush", path, exc) from exc
        log.debug("fs: fsync %s skipped: %s", path, describe_os_error(exc))
        return
    try:
        _fsync_fd(fd, path)
    finally:
        os.close(fd)


def _fsync_fd(fd: int, path: Path | str) -> None:
    try:
        _layer.primitives.fsync(fd)
    except OSError as exc:
        if not fsync_unsupported(exc):
            raise write_error("flush", path, exc) from exc
        log.debug("fs: fsync %s not supported (ignored): %s", path, describe_os_error(exc))


def fsync_dir(path: Path | str) -> None:
    """Flush a directory's entries, POSIX only: Windows cannot open or flush a directory.

    A dir that cannot be opened or flushed here is skipped; an I/O error raises ``DiskFailure``.
    """
    if IS_WINDOWS:
        return
    try:
        _layer.primitives.fsync_dir(str(path))
    except OSError as exc:
        if not (fsync_unsupported(exc) or isinstance(exc, PermissionError)):
            raise write_error("flush", path, exc) from exc
        log.debug("fs: fsync dir %s not supported (ignored): %s", path, describe_os_error(exc))


def chmod_private(path: Path | str, mode: int = 0o600) -> None:
    """Set a private mode whatever the umask was (a no-op for most bits on Windows)."""
    with contextlib.suppress(OSError):
        os.chmod(str(path), mode)


def make_private_dir(path: Path | str) -> bool:
    """Create ``path`` (and parents) as 0700 when missing; returns whether it was created."""
    p = Path(path)
    if p.is_dir():
        return False
    log.debug("fs: mkdir %s", p)
    p.mkdir(mode=0o700, parents=True, exist_ok=True)
    chmod_private(p, 0o700)
    return True


def create_private_file(path: Path | str, mode: int = 0o600) -> bool:
    """Create an empty file with a private mode if it does not exist; returns whether it did."""
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    os.close(fd)
    chmod_private(path, mode)
    return True


def write_atomic(path: Path | str, data: bytes, *, mode: int = 0o600) -> None:
    """Write next to ``path``, flush, then replace it, so a reader sees old or new, never half."""
    target = Path(path)
    tmp = _temp_sibling(target)
    log.debug("fs: write %s (%d bytes)", target, len(data))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as exc:
        converted = write_error("write", target, exc)
        if converted is exc:
            raise
        raise converted from exc
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[_layer.primitives.write(fd, view):]
            _fsync_fd(fd, tmp)
        except OSError as exc:
            converted = write_error("write", target, exc)
            if converted is exc:
                raise
            raise converted from exc
        finally:
            os.close(fd)
        chmod_private(tmp, mode)
        replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError, FileLocked):
            remove(tmp)
        raise
    fsync_dir(target.parent)


def _temp_sibling(target: Path) -> str:
    return str(target.with_name(f"{target.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"))


def sqlite_set(base: Path | str) -> list[Path]:
    """The members of a SQLite file set: the base file and its ``-wal``/``-shm`` sidecars."""
    return sqlite_files(base).members


def remove_sqlite_set(base: Path | str) -> None:
    """Remove a SQLite file set, sidecars first, so a base never outlives its WAL in a crash."""
    for member in reversed(sqlite_set(base)):
        remove(member)
    fsync_dir(Path(base).parent)


def is_private_file(path: Path | str) -> bool:
    """True when no one but the owner may read or write ``path`` (always true on Windows)."""
    if IS_WINDOWS:
        return True
    return stat.S_IMODE(os.stat(str(path)).st_mode) & 0o077 == 0
