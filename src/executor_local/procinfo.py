"""Facts about other processes: is a pid alive, when did it start, who holds a file or a port.

Why start times: a pid is recycled, so "the pid in server.json is alive" does not mean the daemon
is (the TS Executor crash-looped after reboots on exactly this, its failure class #10). A pid is
the same process only when its start time matches the one recorded with it.

Linux answers from ``/proc``; other POSIX systems from ``ps``; Windows through the Win32 API (with
ctypes: ``os.kill(pid, 0)`` there would *terminate* the process). Everything is best-effort:
``None`` means "cannot tell", never "no".
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from executor_local.datadir import OWNER_LOCK_NAME

IS_WINDOWS = os.name == "nt"
PROC = Path("/proc")
HAS_PROC = sys.platform.startswith("linux") and (PROC / "self" / "stat").exists()


def pid_alive(pid: int) -> bool:
    """True when ``pid`` names a running process (a zombie counts as dead: it serves nothing)."""
    if pid <= 0:
        return False
    if IS_WINDOWS:
        return _win_exit_code(pid) == _STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    except OSError:
        return False
    if HAS_PROC:
        stat = _linux_stat(pid)
        return stat is not None and stat[0] != "Z"
    return True


def process_start_time(pid: int) -> str | None:
    """A string that is the same for the life of one process and differs for a recycled pid."""
    if pid <= 0:
        return None
    if HAS_PROC:
        stat = _linux_stat(pid)
        if stat is None:
            return None
        # Field 22, starttime, in clock ticks since boot, fixed for the process's life; with the
        # boot id, since ticks restart at each boot. (Not btime + ticks: btime moves with NTP.)
        return f"{_linux_boot_id()}:{stat[19]}"
    if IS_WINDOWS:
        return _win_creation_time(pid)
    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def same_process(pid: int, start_time: str | None) -> bool:
    """True when ``pid`` is alive and is the process that had ``start_time`` (when known)."""
    if not pid_alive(pid):
        return False
    if start_time is None:
        return True
    now = process_start_time(pid)
    return now is None or now == start_time


def command_line(pid: int, limit: int = 200) -> str | None:
    """The command line of ``pid`` (Linux), shortened, for messages that name a process."""
    if not HAS_PROC:
        return None
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    text = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return text[:limit] + ("…" if len(text) > limit else "") if text else None


def lock_holders(path: Path) -> list[int] | None:
    """Pids holding a POSIX write lock on ``path`` (Linux ``/proc/locks``), without touching it.

    SQLite's exclusive transaction is a set of fcntl write locks, so the owner of
    ``data.db.owner-lock`` shows up here even when it never wrote a manifest.
    """
    if not HAS_PROC:
        return None
    try:
        st = os.stat(path)
        text = (PROC / "locks").read_text()
    except OSError:
        return None
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids: set[int] = set()
    for line in text.splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 8:
            continue  # a waiter, not a holder
        kind, access, pid, where = fields[1], fields[3], fields[4], fields[5]
        if kind == "POSIX" and access == "WRITE" and where == device and pid.isdigit():
            pids.add(int(pid))
    pids.discard(os.getpid())
    return sorted(pids)


@dataclass(frozen=True)
class Handle:
    pid: int
    path: str
    command: str | None


def open_handles(paths: list[Path]) -> list[Handle] | None:
    """Other processes with one of ``paths`` open (Linux: ``/proc/<pid>/fd``); None elsewhere."""
    if not HAS_PROC:
        return None
    wanted = {os.path.realpath(p) for p in paths}
    found = [Handle(pid, target, command_line(pid)) for pid, target in _fd_targets()
             if target in wanted]
    return sorted(set(found), key=lambda h: (h.pid, h.path))


def port_listeners(port: int) -> list[int] | None:
    """Pids listening on TCP ``port`` (Linux ``/proc/net/tcp{,6}``); None elsewhere."""
    if not HAS_PROC:
        return None
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN
            if len(fields) <= 9 or fields[3] != "0A":
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return []
    return sorted({pid for pid, target in _fd_targets() if target in inodes})


def executor_data_dir(pid: int) -> str | None:
    """The data dir an executor process owns: the folder of the ``data.db.owner-lock`` it
    holds open (Linux); None when it holds none, or this OS cannot tell."""
    if not HAS_PROC:
        return None
    with contextlib.suppress(OSError):
        for fd in (PROC / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.endswith(f"/{OWNER_LOCK_NAME}"):
                    return target[: -len(f"/{OWNER_LOCK_NAME}")]
    return None


def describe_port_holders(port: int) -> str | None:
    """Who listens on ``port``: "executor pid 12 (data dir /x)" or "pid 12 (its command)"."""
    pids = port_listeners(port)
    if not pids:
        return None
    parts = []
    for pid in pids:
        data_dir = executor_data_dir(pid)
        if data_dir is not None:
            parts.append(f"another executor, pid {pid} (data dir {data_dir}; stop it with: "
                         f"executor --data-dir {data_dir} daemon stop)")
        else:
            parts.append(f"pid {pid} ({command_line(pid) or 'unknown command'})")
    return "; ".join(parts)


def _fd_targets() -> list[tuple[int, str]]:
    """Every (pid, link target) of every fd we may read, our own process excluded."""
    me = os.getpid()
    out: list[tuple[int, str]] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    out.append((int(entry.name), os.readlink(fd)))
    return out


def _linux_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the name is in parentheses and may itself hold spaces or ')'
    return text[text.rindex(")") + 2:].split()


_boot_id: list[str] = []


def _linux_boot_id() -> str:
    if not _boot_id:
        try:
            _boot_id.append((PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip())
        except OSError:
            _boot_id.append("boot")
    return _boot_id[0]


# --- Windows ----------------------------------------------------------------------------------

_STILL_ACTIVE = 259
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def _win_open(pid: int):  # type: ignore[no-untyped-def]
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    return kernel32, handle


def _win_exit_code(pid: int) -> int | None:
    import ctypes

    kernel32, handle = _win_open(pid)
    if not handle:
        # ERROR_ACCESS_DENIED: it exists but belongs to someone else
        return _STILL_ACTIVE if ctypes.GetLastError() == 5 else None  # type: ignore[attr-defined]
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None
        return code.value
    finally:
        kernel32.CloseHandle(handle)


def _win_creation_time(pid: int) -> str | None:
    import ctypes

    kernel32, handle = _win_open(pid)
    if not handle:
        return None
    try:
        times = [ctypes.c_ulonglong() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
        return str(times[0].value)
    finally:
        kernel32.CloseHandle(handle)
