"""Tool addresses for the CLI: joining ``call`` segments, the namespace tree and fuzzy matching.

Pure functions (no HTTP), so ``call --help`` behaves the same whatever the catalog's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


def strip_tools(path: str) -> str:
    return path[len("tools."):] if path.startswith("tools.") else path


def join_segments(segments: Iterable[str]) -> str:
    """``call petstore org main pets.listPets`` -> ``petstore.org.main.pets.listPets``."""
    parts = [s for s in segments if s != ""]
    for s in parts:
        if not _SEGMENT.match(s):
            raise ValueError(f"{s!r} is not a tool path segment (letters, digits, '.', '_', '-')")
    return strip_tools(".".join(p.strip(".") for p in parts))


def words(text: str) -> list[str]:
    """camelCase, snake_case and punctuation split into lowercase words."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z0-9]+)", r"\1 \2", text)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def _variants(word: str) -> set[str]:
    out = {word}
    if word.endswith("ies") and len(word) > 4:
        out.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.add(word[:-2])
    if word.endswith("s") and len(word) > 2:
        out.add(word[:-1])
    if not word.endswith("s"):
        out.add(word + "s")
    return out


def matches(query: str, path: str, description: str = "") -> bool:
    """Every query word is (a prefix of) some word of the path or description, plural or not."""
    have = words(path) + words(description)
    for q in words(query):
        if not any(h.startswith(v) or (v.startswith(h) and len(h) >= 3)
                   for v in _variants(q) for h in have):
            return False
    return True


@dataclass(frozen=True)
class Child:
    name: str  # the full path of the child
    kind: str  # tool | group | tool+group
    count: int  # tools at or under it


def children(paths: Iterable[str], prefix: str) -> list[Child]:
    """The next level under ``prefix`` (``""`` is the root)."""
    head = f"{prefix}." if prefix else ""
    tools: dict[str, int] = {}
    is_tool: set[str] = set()
    is_group: set[str] = set()
    for path in paths:
        if not path.startswith(head) or path == prefix:
            continue
        rest = path[len(head):]
        seg, dot, _ = rest.partition(".")
        name = head + seg
        tools[name] = tools.get(name, 0) + 1
        (is_group if dot else is_tool).add(name)
    return [Child(n, "tool+group" if n in is_tool and n in is_group else
                  "tool" if n in is_tool else "group", c) for n, c in sorted(tools.items())]


def nearest_prefix(paths: list[str], prefix: str) -> str:
    """The longest leading part of ``prefix`` that something lives under."""
    parts = prefix.split(".") if prefix else []
    while parts:
        candidate = ".".join(parts)
        if any(p == candidate or p.startswith(candidate + ".") for p in paths):
            return candidate
        parts.pop()
    return ""
