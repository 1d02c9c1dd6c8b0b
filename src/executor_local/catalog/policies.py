"""Tool policies: Executor's pattern grammar and resolution (reference §6.4), and their CRUD.

They live in the catalog (not in ``executions/``) because listings and search must hide blocked
tools and packages only import downward; ``executions`` applies them to calls.

Grammar, matched against ``<integration>.<owner>.<connection>.<tool>``: ``*`` (everything), an
exact address, a trailing ``*`` (the subtree under a literal prefix), a non-trailing ``*`` (exactly
one segment). Partial-segment wildcards (``me*``), a leading ``*.``, empty segments: invalid.

We also refuse a pattern that can never match a tool: without a trailing ``*`` it must have at
least four segments (integration, owner, connection and one tool segment), and its owner
segment, when literal, must be ``org`` or ``user``. Executor accepts ``petstore.org.main``, lists
it as active, and it blocks nothing (its #2047). A pattern naming an integration that does not
exist (yet) is accepted: an integration of that name may be added later, and the rule then
applies from the start; the listing shows such rules with ``matches: 0``.

Resolution: rules sorted by owner then position (id breaks ties); each owner contributes its
first match; the most restrictive action across owners wins (block > require_approval >
approve). No match → the tool's default (``requiresApproval``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from executor_local.errors import InvalidInput

ACTIONS = ("approve", "require_approval", "block")
_RANK = {"approve": 0, "require_approval": 1, "block": 2}


@dataclass(frozen=True)
class Rule:
    id: str
    owner: str
    pattern: str
    action: str
    position: str


@dataclass(frozen=True)
class Effective:
    action: str  # approve | require_approval | block
    source: str  # "user" (a rule matched) | "plugin-default"
    pattern: str | None = None
    policy_id: str | None = None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused, or None when it is valid and can match a tool."""
    if not isinstance(pattern, str) or not pattern:
        return "the pattern is empty"
    if pattern == "*":
        return None
    if pattern.startswith(".") or pattern.endswith(".") or ".." in pattern:
        return "a pattern has no empty segments (no leading, trailing or doubled dots)"
    if pattern.startswith("*"):
        return "a pattern may not start with '*.'; use '*' alone for everything"
    segments = pattern.split(".")
    for seg in segments:
        if "*" in seg and seg != "*":
            return f"'{seg}': a '*' must be a whole segment (no partial wildcards)"
    if segments[-1] != "*" and len(segments) < 4:
        return (f"'{pattern}' has {len(segments)} segments and no trailing '*', so it can never "
                "match a tool address <integration>.<owner>.<connection>.<tool>; add the tool "
                f"or end it with '.*' (e.g. '{pattern}.*')")
    if len(segments) >= 2 and segments[1] not in ("*", "org", "user"):
        return (f"the owner segment '{segments[1]}' must be org, user or '*' "
                "(addresses are <integration>.<owner>.<connection>.<tool>)")
    return None


def validate_pattern(pattern: str) -> str:
    problem = pattern_problem(pattern)
    if problem:
        raise InvalidInput(f"invalid policy pattern {pattern!r}: {problem}",
                           code="invalid_pattern",
                           hint="Patterns: '*', 'petstore.*', 'petstore.org.main.pets.*', "
                                "'petstore.*.*.pets.createPet'.")
    return pattern


def validate_action(action: str) -> str:
    if action not in ACTIONS:
        raise InvalidInput(f"invalid policy action {action!r}: use one of {', '.join(ACTIONS)}",
                           code="invalid_action")
    return action


def match(pattern: str, address: str) -> bool:
    """Executor's ``matchPattern`` on a full address (tool names with dots are more segments)."""
    if pattern == "*":
        return True
    pat = pattern.split(".")
    segs = address.split(".")
    last = len(pat) - 1
    for i, seg in enumerate(pat):
        if seg == "*":
            if i == last:
                return len(segs) >= i
            if i >= len(segs):
                return False
            continue
        if i >= len(segs) or segs[i] != seg:
            return False
    return len(pat) == len(segs)


def sort_rules(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.owner, r.position, r.id))


def resolve(rules: Sequence[Rule], address: str, requires_approval: bool) -> Effective:
    """The effective action for one tool (``rules`` already sorted by ``sort_rules``)."""
    best: Rule | None = None
    seen: set[str] = set()
    for rule in rules:
        if rule.owner in seen or not match(rule.pattern, address):
            continue
        seen.add(rule.owner)
        if best is None or _RANK[rule.action] > _RANK[best.action]:
            best = rule
    if best is not None:
        return Effective(best.action, "user", best.pattern, best.id)
    return Effective("require_approval" if requires_approval else "approve", "plugin-default")


def can_block(rules: Sequence[Rule]) -> bool:
    return any(r.action == "block" for r in rules)


# -- positions (fractional keys: lexically lower = higher precedence) ------------------------

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def key_between(lo: str | None, hi: str | None) -> str:
    """A key strictly between ``lo`` and ``hi`` (None = open end), over base-62 digits."""
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"{lo!r} is not below {hi!r}")
    lo = lo or ""
    out = []
    i = 0
    while True:
        a = _DIGITS.index(lo[i]) if i < len(lo) else 0
        b = _DIGITS.index(hi[i]) if hi is not None and i < len(hi) else len(_DIGITS)
        if b - a > 1:
            out.append(_DIGITS[(a + b) // 2])
            return "".join(out)
        out.append(_DIGITS[a])
        if b - a == 1:
            hi = None  # anything after this prefix stays below hi
        i += 1


def specificity(pattern: str) -> int:
    """Executor's ordering score: more literal segments = more specific."""
    if pattern == "*":
        return 0
    segs = pattern.split(".")
    literal = sum(1 for s in segs if s != "*")
    return literal * 2 + (0 if segs[-1] == "*" else 1)


def position_for(pattern: str, existing: Sequence[Rule]) -> str:
    """Place a new rule below every more specific rule of its owner, above the rest."""
    ordered = sorted(existing, key=lambda r: (r.position, r.id))
    spec = specificity(pattern)
    lo = None
    hi = None
    for rule in ordered:
        if specificity(rule.pattern) >= spec:
            lo = rule.position
        else:
            hi = rule.position
            break
    if hi is not None and lo is not None and not lo < hi:
        hi = None
    return key_between(lo, hi)
