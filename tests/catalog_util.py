"""Helpers for the catalog tests: a daemon run from the source tree (``python -m
executor_local`` from the venv, in a chosen cwd) and a JSON client that keeps every response
text, so a test can grep them all for its secret."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from daemon_util import request
from proc import Daemon, pythonpath_env


class SourceDaemon(Daemon):
    """``python -m executor_local --data-dir D daemon run --foreground --port 0`` in ``cwd``."""

    def __init__(self, data_dir: Path, env: dict[str, str], cwd: Path | None = None) -> None:
        args = [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir), "daemon",
                "run", "--foreground", "--port", "0"]
        self.proc = subprocess.Popen(args, env=pythonpath_env(env), cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        import queue

        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False),
                         daemon=True).start()
        self.port = None
        self.data_dir = data_dir

    @property
    def token(self) -> str:
        return json.loads((self.data_dir / "server-control" / "auth.json").read_text())["token"]


class Api:
    """JSON over HTTP to one daemon; every response body is kept in ``seen``."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.seen: list[str] = []

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if raw is not None else {}
        status, _headers, text = request(self.port, path, token=self.token, method=method,
                                         headers=headers, body=raw)
        self.seen.append(text)
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text

    def get(self, path: str) -> Any:
        status, data = self.call("GET", path)
        assert status == 200, (path, status, data)
        return data

    def post(self, path: str, body: Any, expect: int = 200) -> Any:
        status, data = self.call("POST", path, body)
        assert status == expect, (path, status, data)
        return data
