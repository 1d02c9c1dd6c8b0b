"""A tiny pet store over real HTTP on 127.0.0.1 (stdlib only), for tests that need an upstream
before tests/upstreams/petstore.py (the OpenAPI engineer's) lands."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/pets"):
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


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """Serve on a free port; yields ``(base_url, pets)`` (the live list, for assertions)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.pets = [{"id": 1, "name": "Rex", "tag": "dog"}]  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.pets  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
