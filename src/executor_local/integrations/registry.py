"""``plugin_id`` → plugin instance, importing the plugin package on first use.

A plugin package (``executor_local.integrations.<id>``) exposes ``create_plugin() -> Plugin``
(or a module-level ``PLUGIN`` or ``plugin`` instance). Nothing here imports a plugin before it
is asked for, so the boot path never pays for httpx, yaml, mcp or graphql.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from executor_local.errors import NotFound
from executor_local.integrations.base import Plugin

PACKAGES = {
    "openapi": "executor_local.integrations.openapi",
    "mcp": "executor_local.integrations.mcp",
    "graphql": "executor_local.integrations.graphql",
}


class PluginUnavailable(NotFound):
    code = "plugin_unavailable"
    http_status = 501
    default_hint = "This kind of integration is listed but cannot be run by this build."


class Registry:
    """The plugins of one daemon; tests may ``register`` their own instance."""

    def __init__(self, packages: dict[str, str] | None = None) -> None:
        self._packages = dict(PACKAGES if packages is None else packages)
        self._plugins: dict[str, Plugin] = {}
        self._lock = threading.Lock()

    def register(self, plugin: Any) -> None:
        with self._lock:
            self._plugins[plugin.plugin_id] = plugin

    def known(self, plugin_id: str) -> bool:
        return plugin_id in self._plugins or plugin_id in self._packages

    def get(self, plugin_id: str) -> Plugin:
        with self._lock:
            if plugin_id in self._plugins:
                return self._plugins[plugin_id]
            name = self._packages.get(plugin_id)
            if name is None:
                raise PluginUnavailable(f"no plugin for integrations of kind {plugin_id!r}")
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                raise PluginUnavailable(f"the {plugin_id} plugin cannot be loaded: {exc}",
                                        cause=exc) from exc
            factory = getattr(module, "create_plugin", None)
            plugin = factory() if callable(factory) else getattr(module, "PLUGIN", None)
            if plugin is None and hasattr(getattr(module, "plugin", None), "plugin_id"):
                plugin = module.plugin
            if plugin is None:
                raise PluginUnavailable(f"the {plugin_id} plugin package {name} exposes no "
                                        "create_plugin() or PLUGIN")
            self._plugins[plugin_id] = plugin
            return plugin

    def peek(self, plugin_id: str) -> Plugin | None:
        """The plugin if already loaded (never imports): for optional, cheap questions."""
        return self._plugins.get(plugin_id)
