"""The ASGI app served on 127.0.0.1: the HTTP API (``server.app``) and MCP at /mcp.

Every request passes ``security.LocalSecurity`` first (Host, Origin, bearer), so routes added
in ``server.app`` are authenticated by default; only ``GET /api/health`` is public.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from executor_local.daemon.security import LocalSecurity


def create_app(store: sqlite3.Connection | None = None, *, token: str, port: int,
               allowed_hosts: Iterable[str] = (), info_payload: dict[str, Any] | None = None,
               ) -> LocalSecurity:
    """Build the app around an open v2 store, wrapped in the local security checks."""
    from executor_local.server.app import build_app

    services = None
    if store is not None:
        from pathlib import Path

        from executor_local.server.services import build_services

        data_dir = (info_payload or {}).get("data_dir")
        services = build_services(store, data_dir=Path(data_dir) if data_dir else None,
                                  scope=(info_payload or {}).get("scope"))
    app = build_app(services, info=info_payload or {})
    app.state.store = store
    return LocalSecurity(app, token=token, port=port, allowed_hosts=allowed_hosts)
