"""Running the built pyz as a real subprocess, and waiting on it with deadlines (never sleeps)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

READY_DEADLINE_S = 60.0


def run_cli(pyz: Path, args: list[str], env: dict[str, str], timeout: float = 60,
            python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """Run one CLI command to completion."""
    return subprocess.run(
        [python, str(pyz), *args], env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def wait_for(predicate: Callable[[], bool], deadline_s: float, what: str) -> None:
    """Poll ``predicate`` until it holds or the deadline passes."""
    end = time.monotonic() + deadline_s
    delay = 0.01
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(delay)  # polling interval, not a wait for an event
        delay = min(delay * 2, 0.2)


class Daemon:
    """A ``daemon run --foreground`` child whose stdout and stderr are read as they come."""

    def __init__(self, pyz: Path, args: list[str], env: dict[str, str],
                 python: str = sys.executable, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [python, str(pyz), *args], env=env, stdin=subprocess.DEVNULL, cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False),
                         daemon=True).start()
        self.port: int | None = None

    def _pump(self, stream, sink: list[str], notify: bool) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            sink.append(line)
            if notify:
                self._lines.put(line)
        if notify:
            self._lines.put(None)

    def wait_ready(self, deadline_s: float = READY_DEADLINE_S) -> int:
        """Read stdout until ``EXECUTOR_READY:<port>``; fail with stderr if the child exits."""
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no READY line in {deadline_s} s; stderr:\n{self.err}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=10)
                raise AssertionError(
                    f"daemon exited {self.proc.returncode} before READY; stderr:\n{self.err}"
                )
            if line.startswith("EXECUTOR_READY:"):
                self.port = int(line.strip().split(":", 1)[1])
                return self.port

    def next_stdout_line(self, deadline_s: float = 10) -> str | None:
        try:
            return self._lines.get(timeout=deadline_s)
        except queue.Empty:
            return None

    @property
    def err(self) -> str:
        return "".join(self.stderr)

    @property
    def out(self) -> str:
        return "".join(self.stdout)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, token: str | None = None, timeout: float = 10) -> tuple[int, str]:
        req = urllib.request.Request(self.url(path))
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def terminate(self, timeout: float = 5) -> int:
        """SIGTERM and wait; returns the exit code (fails the test past ``timeout``)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def pythonpath_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the source tree importable (for ``python -m executor_local`` tests)."""
    src = str(Path(__file__).resolve().parent.parent / "src")
    return {**env, "PYTHONPATH": src + os.pathsep + env.get("PYTHONPATH", "")}
