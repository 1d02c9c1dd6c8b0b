"""The argument preview shown with an approval: the caller's arguments, bounded in size."""

from __future__ import annotations

from typing import Any

MAX_STRING = 500
MAX_ITEMS = 50
MAX_DEPTH = 6


def preview(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + f"… ({len(value)} chars)"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): preview(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, list):
        out_list = [preview(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            out_list.append(f"… {len(value) - MAX_ITEMS} more items")
        return out_list
    return value
