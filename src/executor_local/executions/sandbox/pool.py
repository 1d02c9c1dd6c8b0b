"""Warm worker processes for code mode, on the daemon's side.

A worker is a child Python process (``worker.py``) with QuickJS and sucrase loaded. The pool
keeps ``idle`` of them ready, so an ``execute`` pays for a process start only when one died
or was recycled. A worker that crashed, was killed for overrunning its deadline, or has run
``max_runs`` programs is replaced rather than reused, so one bad program cannot poison the
next and the engine's memory stays bounded.

The child gets an empty environment apart from what Python needs to start (a program has no
way to read it anyway, but the daemon's environment may carry the bearer token), and the
daemon's ``sys.path``, passed in argv, so it imports this package from wherever the daemon
did: a venv, a wheel, or an extracted shiv bundle.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

log = logging.getLogger("executor.sandbox")

# The worker imports only the sandbox: ``executor_local.executions`` is registered as a bare
# namespace first, so its ``__init__`` (the executions service, the catalog, secrets) never
# loads into the process that runs untrusted code, and the worker starts faster.
_BOOT = "\n".join([
    "import json, os, sys, types",
    "sys.path[:0] = json.loads(sys.argv[1])",
    "import executor_local",
    "pkg = types.ModuleType('executor_local.executions')",
    "pkg.__path__ = [os.path.join(os.path.dirname(executor_local.__file__), 'executions')]",
    "sys.modules['executor_local.executions'] = pkg",
    "from executor_local.executions.sandbox.worker import main",
    "main()",
])
# What CPython needs to start on each OS; nothing else of the daemon's environment passes.
_KEEP_ENV = ("SYSTEMROOT", "SystemRoot", "WINDIR", "TEMP", "TMP", "TMPDIR", "PATH", "LANG",
             "LC_ALL", "SHIV_ROOT", "COMSPEC", "PATHEXT")


class WorkerDied(Exception):
    """The worker process ended or stopped answering."""


class Worker:
    """One child process and the two threads that move its messages."""

    def __init__(self, *, preload: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if k in _KEEP_ENV}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if preload:
            env["EXECUTOR_SANDBOX_PRELOAD"] = "1"
        boot = sys.modules.get("_executor_pyz")  # run from the bundle: the child imports
        if boot is not None:  # from our folders without its bootstrap, so all must be on disk
            boot.ensure_later()
        paths = [p for p in sys.path if p and os.path.exists(p)]
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, json.dumps(paths)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=tempfile.gettempdir(), creationflags=flags)
        self.runs = 0
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=3)
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._wake_lock = threading.Lock()
        assert self.proc.stdout and self.proc.stdin and self.proc.stderr
        threads = [threading.Thread(target=fn, args=(stream,), daemon=True,
                                    name=f"sandbox-{self.proc.pid}-{name}")
                   for name, fn, stream in (("out", self._read, self.proc.stdout),
                                            ("in", self._write, self.proc.stdin),
                                            ("err", self._log_stderr, self.proc.stderr))]
        self._err_thread = threads[2]
        for thread in threads:
            thread.start()
        try:
            ready = self._inbox.get(timeout=60)
        except queue.Empty:
            ready = None
        if not ready or ready.get("op") != "ready":
            self.kill()
            self._err_thread.join(timeout=2)  # the last lines say why
            tail = "; ".join(self._stderr_tail)
            raise WorkerDied(f"the sandbox worker did not start (exit {self.proc.poll()})"
                             + (f": {tail}" if tail else ""))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                self._post(json.loads(line))
            except ValueError:
                log.warning("sandbox worker %s wrote a non-protocol line", self.proc.pid)
        self._post(None)

    def _post(self, msg: dict[str, Any] | None) -> None:
        self._inbox.put(msg)
        with self._wake_lock:
            wake = self._wake
        if wake is not None:
            loop, event = wake
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(event.set)

    def _write(self, stream: IO[bytes]) -> None:
        while True:
            data = self._outbox.get()
            if data is None:
                break
            try:
                stream.write(data)
                stream.flush()
            except OSError:
                break
        with contextlib.suppress(OSError):
            stream.close()

    def _log_stderr(self, stream: IO[bytes]) -> None:
        for line in stream:
            text = line.decode("utf-8", "replace").rstrip()
            self._stderr_tail.append(text)
            log.warning("sandbox worker %s: %s", self.proc.pid, text)

    def send(self, msg: dict[str, Any]) -> None:
        self._outbox.put(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    async def recv(self, timeout: float | None = None) -> dict[str, Any]:
        """The next message; ``WorkerDied`` when the process ended, ``TimeoutError`` when
        nothing came within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self._wake_lock:
            self._wake = (loop, event)
        try:
            while True:
                try:
                    msg = self._inbox.get_nowait()
                except queue.Empty:
                    event.clear()
                    if not self._inbox.empty():
                        continue
                    await asyncio.wait_for(event.wait(), timeout)
                    continue
                if msg is None:
                    self._inbox.put(None)  # stay dead for later readers
                    raise WorkerDied(self.describe_exit())
                return msg
        finally:
            with self._wake_lock:
                self._wake = None

    def describe_exit(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.poll()
        return ("the sandbox process ended unexpectedly"
                + (f" (exit code {code})" if code is not None else ""))

    def kill(self) -> None:
        self._outbox.put(None)
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class Pool:
    """Idle workers ready to run a program; spawning happens off the event loop."""

    def __init__(self, *, idle: int = 1, max_runs: int = 200, max_busy: int = 4) -> None:
        self.idle_target = idle
        self.max_runs = max_runs
        # Programs running at once; more wait for a worker rather than each starting a process.
        self._busy = threading.BoundedSemaphore(max_busy)
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._waiting = 0
        self.spawned = 0

    def _spawn(self) -> Worker:
        worker = Worker()
        with self._lock:
            self.spawned += 1
        return worker

    async def acquire(self) -> Worker:
        if not self._busy.acquire(blocking=False):
            with self._lock:
                self._waiting += 1
            try:
                await asyncio.to_thread(self._busy.acquire)
            finally:
                with self._lock:
                    self._waiting -= 1
        try:
            return await self._take()
        except BaseException:
            self._busy.release()
            raise

    async def _take(self) -> Worker:
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                return await asyncio.to_thread(self._spawn)
            if worker.alive():
                return worker
            worker.kill()

    def release(self, worker: Worker, *, healthy: bool) -> None:
        """Back to the idle list, or replaced when it failed or is due for recycling."""
        self._busy.release()
        worker.runs += 1
        keep = healthy and worker.alive() and worker.runs < self.max_runs
        with self._lock:
            # Kept for the next program too when others are already waiting for one.
            target = max(self.idle_target, self._waiting)
            if keep and not self._closed and len(self._idle) < target:
                self._idle.append(worker)
                worker = None  # type: ignore[assignment]
        if worker is not None:
            worker.kill()
        self.warm_in_background()

    def warm_in_background(self) -> None:
        """Top the idle list up without making anyone wait for it."""
        with self._lock:
            missing = 0 if self._closed else self.idle_target - len(self._idle)
        for _ in range(max(0, missing)):
            threading.Thread(target=self._add_idle, daemon=True, name="sandbox-warm").start()

    def _add_idle(self) -> None:
        try:
            worker = self._spawn()
        except (OSError, WorkerDied) as exc:
            log.warning("could not start a sandbox worker: %s", exc)
            return
        with self._lock:
            if not self._closed and len(self._idle) < self.idle_target:
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
