"""Words of a tool for search: camelCase and snake_case split, singular and plural folded.

``listPets`` → ``list pet listpet``; ``get_user_by_id`` → ``get user by id getuserbyid``;
``HTTPServers`` → ``http server httpserver``. The same function reads queries, so "pet" finds
``pets.listPets`` and "servers" finds ``getServer``.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def stem(word: str) -> str:
    """A crude singular: enough to fold English plurals in API names."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """Search words of ``text``, in order, deduplicated."""
    out: list[str] = []
    seen: set[str] = set()
    for chunk in _SPLIT.split(text or ""):
        if not chunk:
            continue
        parts = _CAMEL.findall(chunk) or [chunk]
        candidates = [stem(p) for p in parts]
        if len(parts) > 1:
            candidates.append(stem(chunk))
        for w in candidates:
            if w and w not in seen:
                seen.add(w)
                out.append(w)
    return out


def name_words(integration: str, connection: str, name: str) -> str:
    return " ".join(words(f"{integration} {connection} {name}"))


def text_words(description: str) -> str:
    return " ".join(words((description or "")[:2000]))
