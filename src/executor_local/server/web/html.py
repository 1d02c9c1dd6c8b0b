"""A tiny escaping template helper: every interpolated value is HTML-escaped unless it is
``Markup`` (HTML this module or a page built itself from escaped parts).

``string.Template`` rather than Jinja2: the pages are small, the stdlib keeps the bundle free of
another dependency, and escaping by default is one function (``render``).
"""

from __future__ import annotations

import html
import json
import string
import time
from collections.abc import Iterable
from typing import Any


class Markup(str):
    """Text that is already safe HTML."""


def esc(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def render(template: str, /, **values: Any) -> Markup:
    """``$name`` placeholders filled with escaped values (a missing one is a bug: KeyError)."""
    return Markup(string.Template(template).substitute({k: esc(v) for k, v in values.items()}))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    return Markup(sep.join(esc(p) for p in parts))


def pretty_json(value: Any, limit: int = 20000) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "\n… (truncated)"


def when(ms: Any) -> str:
    """Milliseconds since the epoch as UTC ``YYYY-MM-DD HH:MM:SS``."""
    if not isinstance(ms, (int, float)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def options(choices: Iterable[tuple[str, str]], selected: str | None) -> Markup:
    return join(render('<option value="$v"$s>$label</option>', v=v, label=label,
                       s=Markup(" selected") if v == selected else Markup(""))
                for v, label in choices)


def rows_or(rows: Markup, columns: int, text: str) -> Markup:
    """Table rows, or one row saying there are none (an empty table reads as broken)."""
    if rows:
        return rows
    return render('<tr><td colspan="$n" class="muted">$t</td></tr>', n=columns, t=text)
