"""``/mcp`` for the server's route table (``server.app.MOUNTS`` imports this after READY).

``routes()`` gives the ``/mcp`` route; its session manager needs the app's lifespan, so the
first call also adds one factory to ``server.app.LIFESPANS`` that enters the lifespan of every
``McpMount`` in the app being started (one per app, so several apps in one process, as in
tests, each run only their own).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from executor_local.mcp.mount import McpMount

PATH = "/mcp"


def routes() -> list[Any]:
    from starlette.routing import Route

    _register_lifespan()
    return [Route(PATH, McpMount())]  # every method: POST, GET (SSE), DELETE


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run the session managers of the ``McpMount`` routes of ``app``."""
    mounts = [r.app for r in getattr(app, "routes", []) if isinstance(getattr(r, "app", None),
                                                                      McpMount)]
    async with contextlib.AsyncExitStack() as stack:
        for mount in mounts:
            await stack.enter_async_context(mount.lifespan(app))
        yield


def _register_lifespan() -> None:
    try:
        from executor_local.server import app as server_app
    except ModuleNotFoundError:  # the daemon's own app wires McpMount itself
        return
    if lifespan not in server_app.LIFESPANS:
        server_app.LIFESPANS.append(lifespan)
