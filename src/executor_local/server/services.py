"""The services of one daemon, built once and reachable as ``request.app.state.services``."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executor_local.catalog import Catalog
from executor_local.executions import Executions
from executor_local.executions.sandbox.code_runner import attach_code_mode
from executor_local.integrations.registry import Registry
from executor_local.secrets.providers import Secrets
from executor_local.store.db import Database
from executor_local.store.tenant import TenantChoice, choose_tenant

log = logging.getLogger("executor.server")


@dataclass
class Services:
    db: Database
    tenant: TenantChoice
    secrets: Secrets
    registry: Registry
    catalog: Catalog
    executions: Executions
    data_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # other packages' services by name

    def close(self) -> None:
        runner = getattr(self.executions, "code_runner", None)
        if runner is not None:
            runner.close()  # the code-mode worker processes
        self.db.close()


def build_services(store: sqlite3.Connection | Path, *, data_dir: Path | None = None,
                   scope: str | None = None, secrets: Secrets | None = None,
                   registry: Registry | None = None) -> Services:
    """Open the catalog over ``store`` (the serve step's connection, adopted as the writer, or
    a path) and choose the tenant (``store.tenant``)."""
    db = Database.around(store) if isinstance(store, sqlite3.Connection) else Database(store)
    try:
        with db.read() as conn:
            choice = choose_tenant(conn, data_dir or db.path.parent, scope)
        if choice.warning:
            log.warning("%s", choice.warning)
        log.info("serving tenant %s (%s)", choice.tenant, choice.reason)
        secrets = secrets or Secrets.default()
        registry = registry or Registry()
        catalog = Catalog(db, choice.tenant, secrets, registry)
        executions = Executions(catalog, db)
        attach_code_mode(executions)
    except BaseException:
        db.close()
        raise
    return Services(db, choice, secrets, registry, catalog, executions, data_dir)
