"""A real petstore upstream: an OpenAPI 3.1 YAML spec and the API it describes, over HTTP.

``PetstoreServer`` runs starlette under uvicorn in a thread on ``127.0.0.1:0``. The spec uses
``$ref``s (with a cycle: a pet's owner lists pets), tags, an API-key header scheme (``X-API-Key``,
on ``/pets``) and a bearer scheme (on ``/store``), path, query and body parameters. Endpoints under
``/fail`` misbehave on purpose (500, invalid JSON, a huge body, a slow body, a redirect loop) and
``/echo`` shows what arrived. Every request is counted (``requests``, ``hits(path)``), so a test can
prove a refused call never reached the upstream.

Use it from any test module::

    from upstreams.petstore import petstore  # noqa: F401  (the pytest fixture)

    def test_x(petstore):
        petstore.spec_url, petstore.url, petstore.api_key, petstore.bearer
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from upstreams.petstore_spec import BODIES_SPEC, SPEC

API_KEY = "pk-petstore-7f3a9c21e5"
BEARER = "bt-petstore-4d8e62b0aa"

HUGE_BYTES = 24 * 1024 * 1024


def _app(server: PetstoreServer) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    def need_key(request: Request) -> Response | None:
        if request.headers.get("x-api-key") != server.api_key:
            return JSONResponse({"code": 401, "message": "missing or wrong X-API-Key"}, 401)
        return None

    def need_bearer(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {server.bearer}":
            return JSONResponse({"code": 401, "message": "missing or wrong bearer token"}, 401)
        return None

    async def spec(request: Request) -> Response:
        return PlainTextResponse(server.spec_text(), media_type="application/yaml")

    async def relative_spec(request: Request) -> Response:
        return PlainTextResponse(server.spec_text("/"), media_type="application/yaml")

    async def pets(request: Request) -> Response:
        if (denied := need_key(request)) is not None:
            return denied
        if request.method == "POST":
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                return JSONResponse({"code": 400, "message": "name is required"}, 400)
            pet = {"id": server.next_id, "name": body["name"], "status": "available",
                   **({"tag": body["tag"]} if "tag" in body else {})}
            server.next_id += 1
            server.pets[pet["id"]] = pet
            return JSONResponse(pet, 201)
        items = list(server.pets.values())
        status = request.query_params.get("status")
        if status:
            items = [p for p in items if p.get("status") == status]
        limit = request.query_params.get("limit")
        if limit:
            items = items[: int(limit)]
        return JSONResponse(items)

    async def pet(request: Request) -> Response:
        if (denied := need_key(request)) is not None:
            return denied
        pet_id = int(request.path_params["petId"])
        if pet_id not in server.pets:
            return JSONResponse({"code": 404, "message": f"pet {pet_id} not found"}, 404)
        if request.method == "DELETE":
            del server.pets[pet_id]
            return Response(status_code=204)
        return JSONResponse(server.pets[pet_id],
                            headers={"X-Request-Id": request.headers.get("x-request-id", "")})

    async def inventory(request: Request) -> Response:
        if (denied := need_bearer(request)) is not None:
            return denied
        return JSONResponse(dict(Counter(p.get("status", "available")
                                         for p in server.pets.values())))

    async def orders(request: Request) -> Response:
        if (denied := need_bearer(request)) is not None:
            return denied
        body = await request.json()
        return JSONResponse({"id": 1, **body})

    async def echo(request: Request) -> Response:
        return JSONResponse({"method": request.method, "path": request.url.path,
                             "query": list(request.query_params.multi_items()),
                             "headers": dict(request.headers),
                             "cookies": dict(request.cookies)})

    async def bodies_spec(request: Request) -> Response:
        return PlainTextResponse(BODIES_SPEC.format(server=server.url),
                                 media_type="application/yaml")

    async def echo_body(request: Request) -> Response:
        raw = await request.body()
        return JSONResponse({"contentType": request.headers.get("content-type"),
                             "text": raw.decode("utf-8", errors="replace"),
                             "size": len(raw)})

    async def fail_500(request: Request) -> Response:
        return JSONResponse({"message": "the petstore fell over"}, 500)

    async def invalid_json(request: Request) -> Response:
        return Response(b'{"pets": [1, 2,', media_type="application/json")

    async def huge(request: Request) -> Response:
        chunk = b"x" * 65536

        async def body() -> Any:
            for _ in range(HUGE_BYTES // len(chunk)):
                if server.stopping:
                    return
                yield chunk

        return StreamingResponse(body(), media_type="text/plain")

    async def slow(request: Request) -> Response:
        async def body() -> Any:
            for _ in range(600):
                if server.stopping:
                    return
                yield b"."
                await asyncio.sleep(0.1)

        return StreamingResponse(body(), media_type="text/plain")

    async def loop(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/fail/redirect-loop"})

    async def text(request: Request) -> Response:
        return PlainTextResponse("just text")

    async def binary(request: Request) -> Response:
        return Response(bytes(range(256)), media_type="application/octet-stream")

    async def redirect_out(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": request.query_params["to"]})

    async def count(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            server.requests += 1
            server.paths[scope["path"]] += 1
        await inner(scope, receive, send)

    inner = Starlette(routes=[
        Route("/openapi.yaml", spec),
        Route("/relative/openapi.yaml", relative_spec),
        Route("/pets", pets, methods=["GET", "POST"]),
        Route("/pets/{petId}", pet, methods=["GET", "DELETE"]),
        Route("/store/inventory", inventory),
        Route("/store/orders", orders, methods=["POST"]),
        Route("/echo", echo),
        Route("/bodies/openapi.yaml", bodies_spec),
        Route("/echo-body", echo_body, methods=["POST"]),
        Route("/fail/500", fail_500),
        Route("/fail/invalid-json", invalid_json),
        Route("/fail/huge", huge),
        Route("/fail/slow", slow),
        Route("/fail/redirect-loop", loop),
        Route("/fail/text", text),
        Route("/fail/binary", binary),
        Route("/fail/redirect-out", redirect_out),
    ])
    return count


class PetstoreServer:
    """The petstore on a free loopback port; ``start()`` returns once it answers."""

    def __init__(self, api_key: str = API_KEY, bearer: str = BEARER) -> None:
        self.api_key = api_key
        self.bearer = bearer
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Rex", "status": "available", "tag": "dog"},
            2: {"id": 2, "name": "Tom", "status": "sold", "tag": "cat"},
        }
        self.next_id = 3
        self.requests = 0
        self.paths: Counter[str] = Counter()
        self.stopping = False
        self.extra_paths = ""  # YAML lines under ``paths:``, so a test can change the spec
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def spec_url(self) -> str:
        return f"{self.url}/openapi.yaml"

    @property
    def bodies_spec_url(self) -> str:
        return f"{self.url}/bodies/openapi.yaml"

    def spec_text(self, server: str | None = None) -> str:
        return SPEC.format(server=server or self.url, extra=self.extra_paths)

    def hits(self, path: str) -> int:
        return self.paths[path]

    def start(self, timeout_s: float = 10.0) -> PetstoreServer:
        import uvicorn

        config = uvicorn.Config(_app(self), host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="petstore", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the petstore upstream did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.stopping = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> PetstoreServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def petstore() -> Iterator[PetstoreServer]:
    """A fresh petstore for one test (its own pets and request counts)."""
    with PetstoreServer() as server:
        yield server
