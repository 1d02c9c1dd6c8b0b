"""Real parts for the code-mode tests: a petstore upstream over HTTP, and a Host over it.

``Petstore`` is a starlette app under uvicorn in a thread on ``127.0.0.1:0`` that counts every
request by ``METHOD /path``, so a test can prove a replayed call never reached it again.
``PetstoreHost`` is a real ``Host``: each tool call is an HTTP request made with httpx, with
the policy Executor applies to OpenAPI tools (POST/DELETE need approval unless approved), and
search/describe over the same tool table. It stands in for the daemon's catalog until the
executions service is merged; ``CodeMode`` talks to both through the same ``Host`` protocol.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from executor_local.executions.sandbox.code_runner import CodeMode
from executor_local.executions.sandbox.host import NeedsApproval


class Petstore:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Rex", "status": "available"},
            2: {"id": 2, "name": "Tom", "status": "sold"},
            3: {"id": 3, "name": "Kit", "status": "available"},
        }
        self.delay_s = 0.0
        app = Starlette(routes=[
            Route("/pets", self._list, methods=["GET"]),
            Route("/pets", self._create, methods=["POST"]),
            Route("/pets/{pet_id:int}", self._show, methods=["GET"]),
            Route("/pets/{pet_id:int}", self._delete, methods=["DELETE"]),
        ])

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.hits[f"{scope['method']} {scope['path']}"] += 1
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
            await app(scope, receive, send)

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(counted, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("petstore did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    async def _list(self, request: Request) -> Response:
        status = request.query_params.get("status")
        pets = [p for p in self.pets.values() if status is None or p["status"] == status]
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse(pets[:limit])

    async def _show(self, request: Request) -> Response:
        pet = self.pets.get(request.path_params["pet_id"])
        if pet is None:
            return JSONResponse({"message": "no such pet"}, status_code=404)
        return JSONResponse(pet)

    async def _create(self, request: Request) -> Response:
        body = await request.json()
        pet_id = max(self.pets) + 1
        self.pets[pet_id] = {"id": pet_id, "name": body["name"], "status": "available"}
        return JSONResponse(self.pets[pet_id], status_code=201)

    async def _delete(self, request: Request) -> Response:
        self.pets.pop(request.path_params["pet_id"], None)
        return Response(status_code=204)


PREFIX = "petstore.org.main."
TOOLS: dict[str, dict[str, Any]] = {
    "pets.listPets": {"method": "GET", "path": "/pets", "description": "List all pets",
                      "query": ("limit", "status")},
    "pets.showPetById": {"method": "GET", "path": "/pets/{petId}",
                         "description": "Info for a specific pet"},
    "pets.createPet": {"method": "POST", "path": "/pets", "description": "Create a pet"},
    "pets.deletePet": {"method": "DELETE", "path": "/pets/{petId}",
                       "description": "Delete a pet"},
}


class PetstoreHost:
    """A ``Host`` whose tools are HTTP calls to a ``Petstore``."""

    def __init__(self, store: Petstore) -> None:
        self.store = store
        self.calls: list[str] = []
        self.slow_s = 0.0
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        """One client per event loop (each test runs its own loop), as a daemon keeps one."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient()
            self._client_loop = loop
        return self._client

    async def call_tool(self, path: str, args: dict[str, Any], *,
                        approved: bool) -> dict[str, Any] | NeedsApproval:
        self.calls.append(path)
        if self.slow_s:
            await asyncio.sleep(self.slow_s)
        if not path.startswith(PREFIX) or path[len(PREFIX):] not in TOOLS:
            return {"ok": False, "error": {"code": "tool_not_found",
                                           "message": f"no tool tools.{path}"}}
        spec = TOOLS[path[len(PREFIX):]]
        if spec["method"] in ("POST", "DELETE") and not approved:
            return NeedsApproval({"kind": "form", "message": f"Approve tools.{path}?",
                                  "address": f"tools.{path}", "args": args})
        url = self.store.url + spec["path"].replace("{petId}", str(args.get("petId", "")))
        query = {k: args[k] for k in spec.get("query", ()) if k in args}
        body = args.get("body") if spec["method"] == "POST" else None
        resp = await self.client().request(spec["method"], url, params=query, json=body)
        data = resp.json() if resp.content else None
        http = {"status": resp.status_code, "headers": {"content-type":
                                                        resp.headers.get("content-type", "")}}
        if resp.status_code >= 400:
            return {"ok": False, "error": {"code": "upstream_error", "status": resp.status_code,
                                           "message": f"HTTP {resp.status_code}",
                                           "details": data}}
        return {"ok": True, "data": data, "http": http}

    async def search(self, query: str, *, namespace: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
        words = query.lower().split()
        items = []
        for name, spec in TOOLS.items():
            text = f"{name} {spec['description']}".lower()
            score = sum(text.count(w) for w in words) if words else 1
            if score and (namespace is None or namespace == "petstore"):
                items.append({"path": PREFIX + name, "name": name,
                              "description": spec["description"], "integration": "petstore",
                              "score": score})
        items.sort(key=lambda i: (-i["score"], i["path"]))
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        return {"items": page, "total": len(items), "hasMore": more,
                "nextOffset": offset + limit if more else None}

    async def describe(self, path: str) -> dict[str, Any]:
        name = path[len(PREFIX):] if path.startswith(PREFIX) else None
        if name not in TOOLS:
            return {"error": {"code": "tool_not_found", "message": f"no tool tools.{path}",
                              "suggestions": [PREFIX + n for n in TOOLS][:3]}}
        return {"path": path, "name": name, "inputTypeScript": "{ petId?: number }",
                "outputTypeScript": "unknown", "typeScriptDefinitions": ""}

    async def connections(self, *, integration: str | None = None,
                          owner: str | None = None) -> list[dict[str, Any]]:
        return [{"address": "tools.petstore.org.main", "integration": "petstore",
                 "owner": "org", "name": "main"}]


def run(mode: CodeMode, code: str, **kw: Any) -> dict[str, Any]:
    return asyncio.run(mode.run(code, execution_id="exec_test", **kw))


def resume(mode: CodeMode, payload: Any, action: str) -> dict[str, Any]:
    return asyncio.run(mode.resume(payload, action, None, execution_id="exec_test"))
