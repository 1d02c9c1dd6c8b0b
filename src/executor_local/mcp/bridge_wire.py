"""The bridge's side of the wire: which era a message belongs to, the HTTP headers it travels
with, and reading stdin (a thread, the same on Windows pipes). Stdlib only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
import threading
from typing import Any, BinaryIO

PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def modern_version(message: dict[str, Any]) -> str | None:
    """The 2026-07-28-era version a request carries in ``_meta``; None in the handshake era."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(PROTOCOL_VERSION_META) if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version not in HANDSHAKE_VERSIONS else None


def post_headers(message: dict[str, Any], bearer: str, session_id: str | None,
                 version: str | None) -> dict[str, str]:
    """Headers for POSTing ``message``: a modern request names its version, method and tool
    (the server checks them against the body); a handshake-era one rides the session."""
    headers = {"Authorization": f"Bearer {bearer}",
               "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}
    modern = modern_version(message)
    if modern:
        headers["MCP-Protocol-Version"] = modern
        method = message.get("method")
        if isinstance(method, str):
            headers["Mcp-Method"] = method
            key = NAME_BEARING.get(method)
            name = (message.get("params") or {}).get(key) if key else None
            if isinstance(name, str):
                headers["Mcp-Name"] = header_value(name)
        return headers
    if session_id and message.get("method") != "initialize":
        headers["Mcp-Session-Id"] = session_id
    if version and message.get("method") != "initialize":
        headers["MCP-Protocol-Version"] = version
    return headers


def header_value(value: str) -> str:
    """The SDK's header encoding: verbatim when plain printable ASCII, else base64-wrapped."""
    plain = value.isascii() and value.isprintable() and value == value.strip()
    if plain and not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode()}?="


def read_stdin(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None],
               stream: BinaryIO | None = None) -> threading.Thread:
    """Read stdin lines on a thread (works the same on Windows pipes); ``None`` at EOF."""
    source = stream or sys.stdin.buffer

    def pump() -> None:
        try:
            for line in iter(source.readline, b""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(queue.put_nowait, None)

    thread = threading.Thread(target=pump, name="executor-mcp-stdin", daemon=True)
    thread.start()
    return thread
