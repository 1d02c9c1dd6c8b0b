"""The state the planner's parts share while ``plan_migration`` reads a v1-final snapshot.

``PlannerState`` holds the snapshot, the auth file, the tenant, the clock and what each part has
found so far (owners, integrations, slot maps, inline credentials, spec blobs, counts, warnings);
the parts are mixins over it (``plan_integrations``, ``plan_credentials``, ``plan_policies``).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from executor_local.migrate.plan.configs import Credential
from executor_local.migrate.plan.connections import Secret, SlotMaps
from executor_local.migrate.rows import table_names
from executor_local.store.records import Owner

if TYPE_CHECKING:
    from executor_local.migrate.plan.integrations import SpecBlob

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


class PlannerState:
    """The planner's inputs and findings so far; ``plan._Planner`` and its mixins share it."""

    def __init__(
        self, src: sqlite3.Connection, auth: dict[str, Any] | None, tenant: str | None, now: int
    ) -> None:
        self.src = src
        self.auth = auth
        self.tenant_arg = tenant
        self.now = now
        self.tables = table_names(src)
        self.warnings: list[str] = []
        self.owners: dict[str, Owner] = {}
        self.tenant: str | None = tenant
        self.integrations: list[dict[str, Any]] = []
        self.sources: dict[tuple[str, str], dict[str, Any]] = {}
        self.slot_maps: dict[tuple[str, str], SlotMaps] = {}
        self.inline: dict[tuple[str, str], list[Credential]] = {}
        self.spec_blobs: list[SpecBlob] = []
        self.expected: dict[str, int] = dict.fromkeys(COUNTED_TABLES, 0)
        self._secrets_cache: dict[tuple[str, str], Secret] | None = None


def limited(items: list[Any], total: int | None = None) -> str:
    shown = [str(i) for i in items[:LIST_LIMIT]]
    more = (len(items) if total is None else total) - len(shown)
    return str(shown) + (f" and {more} more" if more > 0 else "")
