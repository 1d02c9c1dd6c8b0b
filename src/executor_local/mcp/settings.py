"""What one MCP connection asked for (``?mode=``, ``?elicitation_mode=``) and the transport's
timing knobs. Stdlib only: the bridge and the CLI read these names too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PASSTHROUGH = "passthrough"
CODE = "code"
# The fallback default: code mode (``mcp.code_mode``) registers itself as the default
# when present, as in Executor; without it, passthrough. ``--mode`` / ``?mode=`` pick one.
DEFAULT_MODE = PASSTHROUGH

NATIVE = "native"  # MCP elicitation, when the client declares the capability
MODEL = "model"  # the model settles pauses with the ``resume`` tool
BROWSER = "browser"  # a person approves at <origin>/resume/<executionId>
ELICITATION_MODES = (NATIVE, MODEL, BROWSER)
DEFAULT_ELICITATION_MODE = MODEL

# Executor #1983: an idle GET /mcp stream was dropped after ~360 s. The SSE responses carry a
# comment every SSE_PING_S so no proxy or client read timeout sees an idle stream, and a session
# stays open for a working day without any request (the SDK's default is 30 min; the bridge
# re-initializes transparently when a session is gone anyway).
SSE_PING_S = 15.0
SESSION_IDLE_S = 24 * 3600.0
# Browser mode: how long ``resume`` waits for the approval page before answering with the link
# again (Executor: 4 min + 1 s).
BROWSER_WAIT_S = 241.0


class BadQuery(ValueError):
    """A ``?mode=`` or ``?elicitation_mode=`` value we do not know."""


@dataclass(frozen=True)
class ConnectionOptions:
    mode: str = DEFAULT_MODE
    elicitation_mode: str = DEFAULT_ELICITATION_MODE


def options_from_query(query: Mapping[str, str], known_modes: tuple[str, ...],
                       default_mode: str = DEFAULT_MODE) -> ConnectionOptions:
    """Parse the URL query of an ``/mcp`` request; unknown values are an error, not a default,
    so a typo does not silently hand an agent the wrong tools."""
    mode = (query.get("mode") or default_mode).strip().lower()
    if mode not in known_modes:
        raise BadQuery(f"unknown ?mode={mode!r}: use one of {', '.join(known_modes)}")
    elicitation = query.get("elicitation_mode")
    if elicitation is None and query.get("allow_model_resume") == "true":  # Executor's old name
        elicitation = MODEL
    elicitation = (elicitation or DEFAULT_ELICITATION_MODE).strip().lower()
    if elicitation not in ELICITATION_MODES:
        raise BadQuery(f"unknown ?elicitation_mode={elicitation!r}: use one of "
                       f"{', '.join(ELICITATION_MODES)}")
    return ConnectionOptions(mode, elicitation)


@dataclass(frozen=True)
class TransportSettings:
    sse_ping_s: float = SSE_PING_S
    session_idle_s: float = SESSION_IDLE_S
    browser_wait_s: float = BROWSER_WAIT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TransportSettings:
        """Defaults, overridden by ``EXECUTOR_MCP_SSE_PING_S``, ``EXECUTOR_MCP_SESSION_IDLE_S``,
        ``EXECUTOR_MCP_BROWSER_WAIT_S`` (tests shorten them to stay fast)."""
        env = os.environ if env is None else env
        return cls(
            sse_ping_s=_seconds(env, "EXECUTOR_MCP_SSE_PING_S", SSE_PING_S),
            session_idle_s=_seconds(env, "EXECUTOR_MCP_SESSION_IDLE_S", SESSION_IDLE_S),
            browser_wait_s=_seconds(env, "EXECUTOR_MCP_BROWSER_WAIT_S", BROWSER_WAIT_S),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
    return value
