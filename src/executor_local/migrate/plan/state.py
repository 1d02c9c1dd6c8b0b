"""The planner's read-only context, and the small helpers its phases share.

Every phase of ``plan_migration`` is a function of a ``PlanContext`` (the snapshot, the auth
file, the tenant argument, the clock, the tables present) and of what the earlier phases
returned; none of them writes into shared state. Each returns its findings and its warnings,
and ``planner.plan_migration`` joins them in one fixed order.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from executor_local.migrate.rows import table_names

COUNTED_TABLES = (
    "integration",
    "connection",
    "oauth_client",
    "tool",
    "definition",
    "tool_policy",
    "plugin_storage",
    "blob",
)
LIST_LIMIT = 20


@dataclass(frozen=True)
class PlanContext:
    """What every phase reads; never written after it is made."""

    src: sqlite3.Connection
    auth: dict[str, Any] | None
    tenant_arg: str | None
    now: int
    tables: frozenset[str]

    @classmethod
    def of(cls, src: sqlite3.Connection, auth: dict[str, Any] | None, tenant: str | None,
           now: int) -> PlanContext:
        return cls(src, auth, tenant, now, frozenset(table_names(src)))


def limited(items: list[Any], total: int | None = None) -> str:
    shown = [str(i) for i in items[:LIST_LIMIT]]
    more = (len(items) if total is None else total) - len(shown)
    return str(shown) + (f" and {more} more" if more > 0 else "")
