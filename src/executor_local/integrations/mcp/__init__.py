"""MCP servers as integrations (plugin_id ``mcp``, plugin_storage collection ``binding``).

Import after READY: the submodules import the ``mcp`` SDK (pydantic, httpx2, anyio) when they
open a session. Public: :func:`plugin` (the daemon's instance), :class:`McpPlugin`,
:func:`build_integration` / :func:`preview` for the add routes and the CLI.
"""

from __future__ import annotations

from executor_local.integrations.mcp.add import build_integration, preview
from executor_local.integrations.mcp.plugin import McpListError, McpPlugin, plugin

__all__ = ["McpListError", "McpPlugin", "build_integration", "create_plugin", "plugin",
           "preview"]


def create_plugin() -> McpPlugin:
    """What ``integrations/registry.py`` calls: one plugin (one session pool) per registry,
    so each daemon (or test app) owns and closes its own sessions."""
    return McpPlugin()
