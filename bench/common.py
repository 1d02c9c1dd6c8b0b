"""Shared pieces of the benchmarks: timing a child to its ready line, medians, the peer."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle" / "executor.pyz"
PEER_SPEC = "executor@1.5.9-linux-x64"
sys.path.insert(0, str(ROOT / "tests"))  # the v1 generator lives with the tests


@dataclass
class Timed:
    seconds: float
    max_rss_kb: int


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ensure_bundle() -> Path:
    if not BUNDLE.exists():
        subprocess.run([sys.executable, str(ROOT / "build.py")], check=True,
                       stdout=subprocess.DEVNULL)
    return BUNDLE


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "share"),
               EXECUTOR_DISABLE_INTEGRATIONS_FETCH="1", DO_NOT_TRACK="1")
    return env


def time_to_line(cmd: list[str], env: dict[str, str], marker: str,
                 deadline_s: float = 120) -> float:
    """Seconds from spawn to the first stdout line containing ``marker``; then SIGTERM."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if marker in line:
                return time.perf_counter() - started
            if time.perf_counter() - started > deadline_s:
                break
        raise RuntimeError(f"{cmd[0]} never printed {marker!r}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_measured(cmd: list[str], env: dict[str, str]) -> Timed:
    """Run to completion; wall time and the child's own peak RSS (wait4, not cumulative)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {stderr[-2000:]}")
    return Timed(elapsed, usage.ru_maxrss)


def install_peer(cache: Path) -> Path | None:
    """The TypeScript Executor 1.5.9 binary from the npm registry, or None (with a note)."""
    exe = cache / "package" / "bin" / "executor"
    if exe.exists():
        return exe
    if shutil.which("npm") is None:
        print(f"note: npm not found; skipping {PEER_SPEC}")
        return None
    cache.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["npm", "pack", PEER_SPEC], cwd=cache, check=True, capture_output=True,
                       timeout=300)
        tgz = next(cache.glob("executor-*.tgz"))
        subprocess.run(["tar", "xzf", str(tgz)], cwd=cache, check=True)
    except (subprocess.SubprocessError, StopIteration, OSError) as exc:
        print(f"note: could not install {PEER_SPEC} ({exc}); skipping it")
        return None
    return exe if exe.exists() else None


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"executor-bench-{prefix}-"))


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def tree_rss_mb(pid: int) -> float:
    """RSS of ``pid`` and all its descendants (MiB), from /proc; a sandbox worker or a stdio
    upstream child counts with the daemon that owns it."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total / 1024


class KeepAlive(http.client.HTTPConnection):
    """A keep-alive HTTP connection with ``TCP_NODELAY``: http.client sends a POST's headers
    and body in two writes, and without it Nagle holds the body until the server's delayed
    ACK (up to 40 ms on loopback), which would be timed as the daemon's."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
