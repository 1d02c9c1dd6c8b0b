"""The tools each mode offers: a small registry, so a mode brings its own tools.

Passthrough mode (``passthrough``: ``search``, ``invoke``) registers itself here; code mode
(``execute``, ``skills``, from ``executions/``) does the same with ``default=True`` once it
lands, and becomes what ``/mcp`` serves without ``?mode=``. ``resume`` is common to all modes
and shown or hidden per connection (``approvals``).

A tool is plain data plus an async ``run(ctx, args)`` returning a ``ToolResult`` or a
``Paused``; the server turns a ``Paused`` into native elicitation, a ``resume`` hint or an
approval link, so every mode gets approvals the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from executor_local.mcp.results import Paused, ToolResult
from executor_local.mcp.settings import DEFAULT_MODE, ConnectionOptions, TransportSettings

MAX_LISTED_INTEGRATIONS = 50


@dataclass
class ToolContext:
    """What a tool sees of the connection that called it.

    ``services`` is the daemon's ``Services`` (``catalog``, ``executions``;
    docs/catalog-contract.md) or None when this daemon has no catalog yet. ``can_elicit``:
    the client declared elicitation and the connection asked for ``native``.
    """

    services: Any
    options: ConnectionOptions
    origin: str
    can_elicit: bool = False
    settings: TransportSettings = field(default_factory=TransportSettings)
    session_id: str | None = None


Runner = Callable[[ToolContext, dict[str, Any]], Awaitable["ToolResult | Paused"]]


@dataclass(frozen=True)
class ToolDef:
    """One MCP tool. ``describe(integrations)`` builds the description per listing from the
    connected integration slugs (at most 50), as Executor's tool descriptions name them."""

    name: str
    input_schema: dict[str, Any]
    describe: Callable[[list[str]], str]
    run: Runner
    title: str | None = None
    read_only: bool = False
    visible: Callable[[ToolContext], bool] | None = None
    schema_for: Callable[[ToolContext], dict[str, Any]] | None = None  # per-connection schema

    def schema(self, ctx: ToolContext) -> dict[str, Any]:
        return self.schema_for(ctx) if self.schema_for is not None else self.input_schema


@dataclass
class _Mode:
    tools: Callable[[], list[ToolDef]]


_MODES: dict[str, _Mode] = {}
_COMMON: list[ToolDef] = []
_default: list[str] = []

# Modules that register a mode when imported; missing ones (not built yet) are skipped.
MODE_MODULES = ("executor_local.mcp.passthrough", "executor_local.mcp.code_mode")


def register_mode(name: str, tools: Callable[[], list[ToolDef]], *, default: bool = False,
                  ) -> None:
    """Offer ``tools()`` as ``?mode=<name>``; ``default`` makes it what ``/mcp`` serves."""
    _MODES[name] = _Mode(tools)
    if default:
        _default[:] = [name]


def register_common(tool: ToolDef) -> None:
    """A tool every mode offers (``resume``); registering the same name again replaces it."""
    _COMMON[:] = [t for t in _COMMON if t.name != tool.name] + [tool]


def load_modes() -> None:
    """Import the mode modules that exist; an import error in one that exists is a bug and
    propagates."""
    for module in MODE_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # its package does not exist yet
            found = False
        if found:
            importlib.import_module(module)


def known_modes() -> tuple[str, ...]:
    return tuple(_MODES)


def default_mode() -> str:
    if _default:
        return _default[0]
    return DEFAULT_MODE if DEFAULT_MODE in _MODES else next(iter(_MODES), DEFAULT_MODE)


def tools_for(ctx: ToolContext) -> list[ToolDef]:
    """The tools this connection sees, in order: its mode's, then the common ones it may use."""
    mode = _MODES.get(ctx.options.mode)
    tools = [*(mode.tools() if mode else []), *_COMMON]
    return [t for t in tools if t.visible is None or t.visible(ctx)]


def find(ctx: ToolContext, name: str) -> ToolDef | None:
    return next((t for t in tools_for(ctx) if t.name == name), None)


def integration_list(slugs: list[str]) -> str:
    """The '## Available integrations' block of a description (at most 50 slugs)."""
    if not slugs:
        return "## Available integrations\n(none connected yet)"
    shown = slugs[:MAX_LISTED_INTEGRATIONS]
    more = len(slugs) - len(shown)
    lines = ["## Available integrations", *(f"- {s}" for s in shown)]
    if more:
        lines.append(f"- … and {more} more (search finds them)")
    return "\n".join(lines)
