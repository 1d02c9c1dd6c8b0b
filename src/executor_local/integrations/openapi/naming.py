"""Tool names for operations, exactly as Executor derives them (its ``definitions.ts``).

A tool is ``group.leaf``: the group is the first tag in camelCase, else the first path segment
that is not a version (``v1``), ``api`` or a ``{param}``; the leaf is the operationId in camelCase
minus a leading group segment, else ``<method><PathSegments>``. ``x-executor-toolPath`` overrides
both. Clashes get the version segment, then a method suffix, then an 8-character hash, in that
order. The same spec must give the same addresses here and in Executor, since addresses are what
policies, code and agents refer to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_VERSION = re.compile(r"^v\d+(?:[._-]\d+)?$", re.IGNORECASE)
_IGNORED = {"api"}


_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z0-9]+)")
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
_OP_SPLIT = re.compile(r"[/.]+")


def split_words(value: str) -> list[str]:
    value = _LOWER_UPPER.sub(r"\1 \2", value)
    value = _ACRONYM.sub(r"\1 \2", value)
    return _NON_ALNUM.sub(" ", value).split()


def camel(value: str) -> str:
    words = [w.lower() for w in split_words(value)]
    if not words:
        return "tool"
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def pascal(value: str) -> str:
    c = camel(value)
    return c[:1].upper() + c[1:]


def _segments(path: str) -> list[str]:
    return [s.strip() for s in path.split("/") if s.strip()]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _group_segment(value: str | None) -> str | None:
    candidate = (value or "").strip()
    return camel(candidate) if candidate else None


def version_segment(path: str) -> str | None:
    for s in _segments(path):
        if _VERSION.match(s.lower()):
            return s.lower()
    return None


def path_group(path: str) -> str:
    for s in _segments(path):
        lower = s.lower()
        if _VERSION.match(lower) or lower in _IGNORED or _is_param(s):
            continue
        return _group_segment(s) or "root"
    return "root"


def _leaf_seed(operation_id: str, group: str) -> str:
    parts = [s.strip() for s in _OP_SPLIT.split(operation_id) if s.strip()]
    if len(parts) > 1 and (_group_segment(parts[0]) or parts[0]) == group:
        return " ".join(parts[1:])
    return operation_id


def _fallback_seed(method: str, path: str, group: str) -> str:
    relevant = [
        _group_segment(s) or s
        for s in _segments(path)
        if not _VERSION.match(s.lower()) and s.lower() not in _IGNORED and not _is_param(s)
    ]
    suffix = "".join(pascal(s) for s in relevant if s != group)
    return f"{method}{suffix or 'Operation'}"


def leaf_name(operation_id: str, method: str, path: str, group: str) -> str:
    preferred = camel(_leaf_seed(operation_id, group))
    if preferred and preferred != group:
        return preferred
    return camel(_fallback_seed(method, path, group))


def default_operation_id(method: str, path: str, operation_id: object) -> str:
    """The operationId, or ``<method>_<path words>`` when the spec has none."""
    if isinstance(operation_id, str) and operation_id:
        return operation_id
    derived = f"{method}_{_NON_ALNUM.sub('_', path)}".strip("_")
    return derived or f"{method}_operation"


def stable_hash(method: str, path: str, operation_id: str) -> str:
    """Executor's 32-bit string hash of ``{method, operationId, path}``, base 36, 8 wide."""
    text = json.dumps({"method": method, "operationId": operation_id, "path": path},
                      separators=(",", ":"), ensure_ascii=False)
    data = text.encode("utf-16-le", errors="surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        unit = data[i] | (data[i + 1] << 8)
        h = ((h << 5) - h + unit) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return _base36(abs(h)).rjust(8, "0")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if n == 0:
        return "0"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


@dataclass(frozen=True)
class PathInput:
    operation_id: str
    explicit: str | None
    method: str
    path: str
    tag0: str | None


@dataclass
class _Raw:
    tool_path: str
    group: str
    leaf: str
    version: str | None
    method: str
    path: str
    operation_id: str
    index: int

    @property
    def digest(self) -> str:  # only clashes that survive two rounds need it
        return stable_hash(self.method, self.path, self.operation_id)


def plan_tool_paths(inputs: Sequence[PathInput]) -> list[tuple[str, int]]:
    """``(tool name, index into inputs)`` for every operation, sorted by name."""
    staged: list[_Raw] = []
    for index, op in enumerate(inputs):
        version = version_segment(op.path)
        if op.explicit:
            parts = [p for p in op.explicit.split(".") if p]
            group = parts[0] if parts else "root"
            leaf = ".".join(parts[1:]) or group
            staged.append(_Raw(op.explicit, group, leaf, version, op.method, op.path,
                               op.operation_id, index))
            continue
        group = _group_segment(op.tag0) or path_group(op.path)
        leaf = leaf_name(op.operation_id, op.method, op.path, group)
        staged.append(_Raw(f"{group}.{leaf}", group, leaf, version, op.method, op.path,
                           op.operation_id, index))

    def apply(factory: Callable[[_Raw], str]) -> None:
        buckets: dict[str, list[_Raw]] = {}
        for item in staged:
            buckets.setdefault(item.tool_path, []).append(item)
        for bucket in buckets.values():
            if len(bucket) > 1:
                for item in bucket:
                    item.tool_path = factory(item)

    def prefix(d: _Raw) -> str:
        return f"{d.group}.{d.version}" if d.version else d.group

    apply(lambda d: f"{d.group}.{d.version}.{d.leaf}" if d.version else d.tool_path)
    apply(lambda d: f"{prefix(d)}.{d.leaf}{pascal(d.method)}")
    apply(lambda d: f"{prefix(d)}.{d.leaf}{pascal(d.method)}{d.digest[:8]}")
    return sorted(((d.tool_path, d.index) for d in staged), key=lambda p: (p[0].casefold(), p[0]))
