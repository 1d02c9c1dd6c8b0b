"""A tiny pet store over real HTTP on 127.0.0.1 (stdlib only), for tests that need an upstream
before tests/upstreams/petstore.py (the OpenAPI engineer's) lands."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple


class _Handler(BaseHTTPRequestHandler):
    pets: list[dict[str, object]]

    def log_message(self, *_args: object) -> None:
        pass

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the caller gave up
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):  # held until the test sets ``server.release``
            self.server.slow_started.set()  # type: ignore[attr-defined]
            self.server.release.wait(30)  # type: ignore[attr-defined]
            self._send(200, {"slow": True})
        elif self.path.startswith("/pets"):
            self._send(200, self.server.pets)  # type: ignore[attr-defined]
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        pet = json.loads(self.rfile.read(length) or b"{}")
        pets = self.server.pets  # type: ignore[attr-defined]
        pet = {"id": len(pets) + 1, **pet}
        pets.append(pet)
        self._send(201, pet)


class Served(NamedTuple):
    base_url: str
    pets: list[dict[str, object]]  # the live list, for assertions
    release: threading.Event  # lets a held GET /slow answer
    slow_started: threading.Event  # set when GET /slow arrived


@contextlib.contextmanager
def serve() -> Iterator[Served]:
    """Serve on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.pets = [{"id": 1, "name": "Rex", "tag": "dog"}]  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    server.slow_started = threading.Event()  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", server.pets,  # type: ignore[attr-defined]
                     server.release, server.slow_started)  # type: ignore[attr-defined]
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
