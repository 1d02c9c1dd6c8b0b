"""Helpers of the web console tests: the CLI as subprocesses, another origin for the attacks,
and a bearer JSON client."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import catalog_util
from daemon_util import request
from proc import pythonpath_env


class Cli:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.argv = [sys.executable, "-m", "executor_local", "--data-dir", str(data_dir)]
        self.env = pythonpath_env(env)
        self.seen: list[str] = []

    def run(self, *args: str, code: int = 0) -> str:
        done = subprocess.run([*self.argv, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        self.seen += [done.stdout, done.stderr]
        assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
        return done.stdout

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.argv, *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


class EvilSite:
    """Another origin (another port of 127.0.0.1: the same *site*, so SameSite alone would not
    stop it) serving a page that posts a form to the daemon and one that fetches from it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.csrf = "guessed"
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/post"):
                    body = (f'<form id="f" method="post" action="{site.target}/ui/policies">'
                            '<input name="pattern" value="*"><input name="action" '
                            f'value="block"><input name="csrf" value="{site.csrf}"></form>'
                            '<script>document.getElementById("f").submit()</script>')
                else:
                    body = f'<a href="{site.target}/">the console</a>'

                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def api(daemon: catalog_util.SourceDaemon, method: str, path: str,
        body: object = None) -> tuple[int, object]:
    raw = None if body is None else json.dumps(body).encode()
    status, _h, text = request(daemon.port, path, token=daemon.token, method=method,
                               headers={"Content-Type": "application/json"} if raw else {},
                               body=raw)
    return status, json.loads(text) if text else None
