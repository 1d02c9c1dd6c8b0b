"""Which tenant a daemon serves, so the catalog never depends on the folder it was started from.

Executor partitions rows by ``tenant = <basename(scope dir)>-<8 hex of sha256(scope dir)>`` with
scope dir = ``EXECUTOR_SCOPE_DIR`` or the cwd, so a daemon started from another folder shows an
empty catalog (its pitfall). Ours decides from the data, in this order:

1. an explicit scope (``--scope`` or ``EXECUTOR_SCOPE_DIR``): a tenant id present in the data is
   used as is; otherwise the value is a folder and its Executor-style id is used (new or not);
2. the data holds exactly one tenant (a migrated v1 data set: the v1 scope id): that one;
3. several tenants: the one with the most integrations and connections, ties broken by name,
   with a warning that names the others and says how to pick (``--scope <tenant id>``);
4. no rows yet: the Executor-style id of the *data dir* (``tenant_for_dir(data_dir)``), which
   does not depend on the cwd; Executor 1.5.9 started with ``EXECUTOR_SCOPE_DIR=<data dir>``
   sees the same catalog.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from executor_local.store.rows import query_all

SCOPE_ENV = "EXECUTOR_SCOPE_DIR"
_TENANT_TABLES = ("integration", "connection", "tool_policy")


@dataclass(frozen=True)
class TenantChoice:
    tenant: str
    reason: str
    others: list[str] = field(default_factory=list)
    warning: str | None = None


def tenant_for_dir(path: Path | str) -> str:
    """Executor's tenant id for a scope dir: ``<basename>-<first 8 hex of sha256(path)>``."""
    text = os.path.realpath(path)
    base = os.path.basename(text) or "root"
    return f"{base}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def tenants_in(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per tenant over the tenant-partitioned tables that say "this catalog is used"."""
    counts: dict[str, int] = {}
    for table in _TENANT_TABLES:
        for tenant, n in query_all(conn, f'SELECT tenant, count(*) FROM "{table}" GROUP BY tenant'):
            counts[str(tenant)] = counts.get(str(tenant), 0) + int(n)
    return counts


def choose_tenant(conn: sqlite3.Connection, data_dir: Path, scope: str | None = None,
                  ) -> TenantChoice:
    """The tenant to serve (rules in the module docstring)."""
    scope = scope or os.environ.get(SCOPE_ENV) or None
    counts = tenants_in(conn)
    if scope:
        if scope in counts:
            return TenantChoice(scope, "named by --scope", sorted(set(counts) - {scope}))
        tenant = tenant_for_dir(scope)
        return TenantChoice(tenant, f"scope dir {scope}", sorted(set(counts) - {tenant}))
    if len(counts) == 1:
        (tenant,) = counts
        return TenantChoice(tenant, "the only tenant in data.db")
    if counts:
        tenant = sorted(counts, key=lambda t: (-counts[t], t))[0]
        others = sorted(set(counts) - {tenant})
        return TenantChoice(tenant, "the tenant with the most rows", others,
                            warning=f"data.db holds {len(counts)} tenants; serving {tenant!r} "
                                    f"(most rows), not {others}. Pick one with --scope <tenant> "
                                    f"or {SCOPE_ENV}.")
    return TenantChoice(tenant_for_dir(data_dir), "new data dir (derived from its path)")
