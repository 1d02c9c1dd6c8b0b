"""Row ids, owners and timestamps for rows the catalog writes (design §9).

Row ids are the migrator's deterministic cuid-shaped ids over ``(table, tenant, owner,
subject, natural key...)`` (``store.rows.row_id``), so a row written by the catalog and the same
row written by a migration get the same id and a re-add never duplicates. Blob rows use
``row_id("blob", namespace, key)`` and ``id = JSON [namespace, key]`` as the migrator does.
Timestamps are integer milliseconds since the epoch, as Executor writes them.
"""

from __future__ import annotations

import secrets as _secrets
import time
import uuid

from executor_local.store.rows import dumps, row_id

OWNERS = ("org", "user")
# Executor's single local user: org rows have subject "", user rows subject "local".
SUBJECTS = {"org": "", "user": "local"}


def now_ms() -> int:
    return int(time.time() * 1000)


def subject_for(owner: str) -> str:
    return SUBJECTS[owner]


def owner_row_id(table: str, tenant: str, owner: str, *key: str) -> str:
    return row_id(table, tenant, owner, subject_for(owner), *key)


def integration_row_id(tenant: str, slug: str) -> str:
    return row_id("integration", tenant, slug)


def blob_namespace(tenant: str, owner: str, plugin_id: str) -> str:
    """``o:<tenant>/<plugin>`` or ``u:<tenant>:<subject>/<plugin>`` (as the migrator writes)."""
    part = f"o:{tenant}" if owner == "org" else f"u:{tenant}:{subject_for(owner)}"
    return f"{part}/{plugin_id}"


def blob_ids(namespace: str, key: str) -> tuple[str, str]:
    """``(row_id, id)`` of a blob row."""
    return row_id("blob", namespace, key), dumps([namespace, key])


def execution_id() -> str:
    """Executor's ``exec_<uuid>`` style."""
    return f"exec_{uuid.uuid4()}"


def policy_id() -> str:
    return f"pol_{_secrets.token_hex(8)}"
