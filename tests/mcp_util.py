"""Helpers for the MCP server tests: the daemon's real app served by uvicorn on 127.0.0.1 in a
thread (lifespan on, as the daemon runs it), and the official ``mcp`` client pointed at it."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from executor_local.daemon.manifest import Manifest, origin_for, write_manifest
from proc import pythonpath_env

TOKEN = "test-bearer-0123456789abcdef0123456789abcdef"


@contextlib.contextmanager
def serve_app(services: Any, token: str = TOKEN, port: int = 0,
              timeout_keep_alive: float = 5) -> Iterator[int]:
    """The daemon's ``create_app`` with ``services``, on a real socket; yields the port."""
    import mcp  # noqa: F401  (here, before the server's prewarm thread imports it too)
    import uvicorn

    from executor_local.daemon.security import LocalSecurity

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    if services is not None:  # a test double: give it what the server's lifespans ask for
        from mcp_contract_services import NoIndex, NoPlugins

        if not hasattr(services, "registry"):
            services.registry = NoPlugins()
        if not hasattr(services.catalog, "index"):
            services.catalog.index = NoIndex()
    try:  # the catalog core's app (server.app), where /mcp is one of its MOUNTS
        from executor_local.server.app import build_app
    except ModuleNotFoundError:
        from executor_local.daemon.app import create_app

        app = create_app(None, token=token, port=bound, services=services)
    else:
        app = LocalSecurity(build_app(services, info={}), token=token, port=bound)
    config = uvicorn.Config(app, http="h11", ws="none", loop="asyncio", lifespan="on",
                            log_config=None, access_log=False, timeout_graceful_shutdown=1,
                            timeout_keep_alive=timeout_keep_alive)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        from proc import wait_for

        wait_for(lambda: server.started or not thread.is_alive(), 20, "uvicorn to start")
        assert server.started, "uvicorn did not start"
        yield bound
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def url(port: int, query: str = "") -> str:
    return f"http://127.0.0.1:{port}/mcp" + (f"?{query}" if query else "")


def with_passthrough(query: str) -> str:
    """``query`` selecting passthrough unless it names a mode (code mode becomes the default
    once it is merged; the passthrough tests must not depend on which is)."""
    from urllib.parse import parse_qs

    if "mode" in parse_qs(query):
        return query
    return "&".join(q for q in ("mode=passthrough", query) if q)


@contextlib.asynccontextmanager
async def client(port: int, *, query: str = "", token: str | None = TOKEN, mode: str = "auto",
                 elicitation: Any = None, read_timeout: float | None = None,
                 ) -> AsyncIterator[Any]:
    """An official ``mcp.Client`` over streamable HTTP with the bearer."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx2.Timeout(30, read=read_timeout if read_timeout is not None else 300)
    async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
        transport = streamable_http_client(url(port, query), http_client=http)
        async with Client(transport, mode=mode, elicitation_callback=elicitation) as c:
            yield c


def point_manifest_at(data_dir: Path, port: int) -> None:
    """Make this test process look like the daemon of ``data_dir``, serving on ``port``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    m = Manifest.for_this_process(data_dir).serving("127.0.0.1", port,
                                                    origin_for("127.0.0.1", port), TOKEN)
    write_manifest(data_dir, m)


@contextlib.asynccontextmanager
async def bridge(data_dir: Path, env: dict[str, str], *args: str, mode: str = "auto",
                 elicitation: Any = None, stderr: Any = None) -> AsyncIterator[Any]:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "executor_local", "--data-dir", str(data_dir), "mcp", "--port", "0", *args],
        env=pythonpath_env(env), cwd=str(data_dir.parent))
    transport = stdio_client(params, errlog=stderr or sys.stderr)
    async with Client(transport, mode=mode, elicitation_callback=elicitation) as c:
        yield c


def passthrough_client(port: int, *, query: str = "", **kw: Any) -> Any:
    """``client`` on passthrough mode (see ``with_passthrough``)."""
    return client(port, query=with_passthrough(query), **kw)


def passthrough_bridge(data_dir: Path, env: dict[str, str], *args: str, **kw: Any) -> Any:
    """``bridge`` with ``--mode passthrough`` unless ``args`` give a mode."""
    return bridge(data_dir, env, *(() if "--mode" in args else ("--mode", "passthrough")),
                  *args, **kw)
