"""The one way the MCP SDK is imported, by the upstream client and by our own server alike.

The ``mcp`` package imports itself circularly. When the daemon's server imports it in a worker
thread (after READY) while the upstream client imports it on the event loop, importlib sees the
would-be deadlock and hands one thread a half-initialized ``mcp.server`` ("cannot import name
'Server' from partially initialized module"). One lock around the whole import, taken by both,
makes the second caller wait for a complete package instead.

Run from the bundle, the SDK is in the part unpacked after READY: it is made ready first, outside
Python's import lock, so that a first import in a worker thread never stalls the imports of the
event loop for the length of an unpacking.
"""

from __future__ import annotations

import importlib
import sys
import threading

_LOCK = threading.Lock()
_MODULES = (
    "mcp",
    "mcp.types",
    "mcp.shared.exceptions",
    "mcp.client.session",
    "mcp.client.stdio",
    "mcp.client.sse",
    "mcp.client.streamable_http",
    "mcp.server",
    "mcp.server.streamable_http_manager",
)
_loaded = False


def load() -> None:
    """Import every SDK module we use, once, under one lock (cheap after the first call)."""
    global _loaded
    if _loaded:
        return
    with _LOCK:
        if not _loaded:
            boot = sys.modules.get("_executor_pyz")  # the bundle's bootstrap, when run from it
            if boot is not None:
                boot.ensure_later()
            for name in _MODULES:
                importlib.import_module(name)
            _loaded = True
