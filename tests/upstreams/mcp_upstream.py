"""A real upstream MCP server for tests, built with the official SDK (``MCPServer``).

Runs as a stdio command (``python tests/upstreams/mcp_upstream.py --stdio``) or over HTTP on
127.0.0.1 (``--http`` prints ``{"url", "sse_url", "port"}`` on one line; or in-process with
``serve_http()``), serving streamable HTTP at ``/mcp`` and legacy SSE at ``/sse``.

Tools: ``echo``, ``add``, ``delete_item`` (destructiveHint), ``get_item`` (readOnlyHint),
``fail`` (isError), ``add_tool`` (adds a tool at runtime and sends ``tools/list_changed``),
``crash`` (the process exits: restart tests), ``sleep``, ``env_digest`` (sha256 of an env
var, so a test can check a secret arrived without the secret appearing in a result),
``leak_env_to_stderr``, ``spam_stderr``, ``stats`` (request counts and pid). Over HTTP,
``required_headers`` / ``required_query`` make every request without them a 401, and
``GET /_stats`` answers the counts. ``state.fail_list`` makes ``tools/list`` fail (a failed
refresh).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations


@dataclass
class UpstreamState:
    """What a test can change and observe on a running upstream."""

    required_headers: dict[str, str] = field(default_factory=dict)
    required_query: dict[str, str] = field(default_factory=dict)
    fail_list: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    sessions: set[str] = field(default_factory=set)
    rejected: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "sessions": len(self.sessions),
                "rejected": self.rejected, "pid": os.getpid()}


def build_server(state: UpstreamState, *, name: str = "test-upstream") -> Any:
    """The MCPServer with the test tools; ``state`` is shared with the caller."""
    class CountingServer(MCPServer):
        async def list_tools(self):  # type: ignore[override]
            state.counts["tools/list"] += 1
            if state.fail_list:
                raise ToolError("tools/list is failing on purpose (fail_list)")
            return await super().list_tools()

        async def call_tool(self, name, arguments, context=None):  # type: ignore[override]
            state.counts["tools/call"] += 1
            state.counts[f"call:{name}"] += 1
            return await super().call_tool(name, arguments, context)

    server = CountingServer(name, version="1.2.3", instructions="A test upstream.")

    @server.tool(description="Echo the given text back")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two numbers")
    def add(a: float, b: float) -> float:
        return a + b

    @server.tool(description="Delete an item (destructive)",
                 annotations=ToolAnnotations(destructive_hint=True, title="Delete an item"))
    def delete_item(id: str) -> str:
        return f"deleted {id}"

    @server.tool(description="Read an item", annotations=ToolAnnotations(read_only_hint=True))
    def get_item(id: str) -> dict[str, Any]:
        return {"id": id, "name": f"item {id}"}

    @server.tool(description="Always fails with the given message")
    def fail(message: str = "it failed") -> str:
        raise ToolError(message)

    @server.tool(description="Add a tool named NAME at runtime and announce it")
    async def add_tool(name: str, ctx: Context) -> str:
        def added(text: str = "") -> str:
            return f"{name}:{text}"

        server.add_tool(added, name=name, description=f"Added at runtime: {name}")
        await ctx.session.send_tool_list_changed()
        return f"added {name}"

    @server.tool(description="Exit the process (stdio only) so a client must restart it")
    def crash(code: int = 3) -> str:
        if os.environ.get("MCP_UPSTREAM_STDIO") != "1":
            raise ToolError("crash is only allowed on the stdio server")
        sys.stderr.write("crashing on request\n")
        sys.stderr.flush()
        os._exit(code)

    @server.tool(description="sha256 of an environment variable, or null when unset")
    def env_digest(name: str) -> str | None:
        value = os.environ.get(name)
        return None if value is None else hashlib.sha256(value.encode()).hexdigest()

    @server.tool(description="Print N lines to stderr (log bounds tests)")
    def spam_stderr(lines: int = 10, width: int = 80) -> int:
        for i in range(lines):
            sys.stderr.write(f"line {i} " + "x" * width + "\n")
        sys.stderr.flush()
        return lines

    @server.tool(description="Write an env var's value to stderr (secret scrubbing tests)")
    def leak_env_to_stderr(name: str) -> bool:
        sys.stderr.write(f"the value of {name} is {os.environ.get(name)}\n")
        sys.stderr.flush()
        return True

    @server.tool(description="Sleep SECONDS, then answer (timeouts, concurrency)")
    async def sleep(seconds: float) -> float:
        import anyio

        await anyio.sleep(seconds)
        return seconds

    @server.tool(description="Request counts and the process id")
    def stats() -> dict[str, Any]:
        return state.snapshot()

    return server


def http_app(state: UpstreamState, server: Any | None = None) -> Any:
    """One ASGI app: streamable HTTP at /mcp, SSE at /sse + /messages/, GET /_stats,
    wrapped in the header/query check and the request counter."""
    import contextlib
    from urllib.parse import parse_qs

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    server = server or build_server(state)
    streamable = server.streamable_http_app(streamable_http_path="/mcp")
    sse = server.sse_app(sse_path="/sse", message_path="/messages/")

    async def stats(_request: Any) -> Any:
        return JSONResponse(state.snapshot())

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any):
        async with server.session_manager.run():
            yield

    inner = Starlette(routes=[Route("/_stats", stats), *streamable.routes, *sse.routes],
                      lifespan=lifespan)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == "/_stats":
            await inner(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        missing = [n for n, v in state.required_headers.items() if headers.get(n.lower()) != v]
        missing += [n for n, v in state.required_query.items() if query.get(n) != v]
        state.counts[f"http:{scope['method']}"] += 1
        if missing:
            state.rejected += 1
            response = JSONResponse({"error": "unauthorized", "missing": sorted(missing)}, 401)
            await response(scope, receive, send)
            return
        if headers.get("mcp-session-id"):
            state.sessions.add(headers["mcp-session-id"])
        await inner(scope, receive, send)

    return app


class HttpUpstream:
    """The upstream served by uvicorn in a thread on 127.0.0.1, port 0."""

    def __init__(self, state: UpstreamState | None = None, port: int = 0) -> None:
        import uvicorn

        self.state = state or UpstreamState()
        self.server_obj = build_server(self.state)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(http_app(self.state, self.server_obj), log_level="warning",
                                lifespan="on", timeout_graceful_shutdown=1)
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uvicorn.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def sse_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sse"

    def start(self, timeout: float = 15.0) -> HttpUpstream:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the MCP upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> HttpUpstream:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_http(state: UpstreamState | None = None, port: int = 0) -> HttpUpstream:
    """Start one; ``port`` reuses a stopped upstream's port (a server restart)."""
    return HttpUpstream(state, port).start()


def stdio_command() -> tuple[str, list[str]]:
    """``(command, args)`` that start this file as a stdio server with the current Python."""
    return sys.executable, [os.path.abspath(__file__), "--stdio"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stdio", action="store_true")
    mode.add_argument("--http", action="store_true")
    parser.add_argument("--require-header", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    state = UpstreamState()
    for item in args.require_header:
        name, _, value = item.partition("=")
        state.required_headers[name] = value
    if args.stdio:
        import anyio

        os.environ["MCP_UPSTREAM_STDIO"] = "1"
        sys.stderr.write(f"mcp upstream (stdio) pid {os.getpid()} ready\n")
        sys.stderr.flush()
        anyio.run(build_server(state).run_stdio_async)
        return 0
    upstream = serve_http(state)
    print(json.dumps({"url": upstream.url, "sse_url": upstream.sse_url, "port": upstream.port}),
          flush=True)
    try:
        upstream.thread.join()
    except KeyboardInterrupt:
        upstream.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
