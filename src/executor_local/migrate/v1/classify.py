"""Say what a ``data.db`` holds: empty, v1, v2, stamped v2, too new for us, or unknown.

The boot path and the preflight ask this before anything else, on the file as it is; nothing here
writes. Bringing an older v1 to the v1-final form is ``v1.forms``' job.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from enum import StrEnum

from executor_local.migrate.rows import query_all, table_names
from executor_local.store.schema import V1_TO_V2_STAMP, table_columns


class DataKind(StrEnum):
    """What a ``data.db`` holds. A ``StrEnum``: it prints, compares and serialises as the word
    the JSON reports and older callers use."""

    EMPTY = "empty"
    V1 = "v1"
    V2 = "v2"
    V2_STAMPED = "v2-stamped"
    TOO_NEW = "too-new"
    UNKNOWN = "unknown"


EMPTY, V1, V2, V2_STAMPED = DataKind.EMPTY, DataKind.V1, DataKind.V2, DataKind.V2_STAMPED
TOO_NEW, UNKNOWN = DataKind.TOO_NEW, DataKind.UNKNOWN

# The v2 ledger names this program knows: the gate stamp plus what Executor 1.5.9 stamps.
KNOWN_LEDGER_NAMES = (
    V1_TO_V2_STAMP,
    "2026-06-05-auth-config-placements",
    "2026-06-11-openapi-output-envelope-unwrap",
    "2026-06-12-openapi-spec-to-blob",
    "2026-06-12-graphql-introspection-to-blob",
)
# The schema version Executor's local settings table carries; a higher one is a newer program.
KNOWN_SETTINGS_VERSION = (1, 0, 0)

_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


def classify(conn: sqlite3.Connection) -> DataKind:
    """Say what ``conn`` holds, so the boot path knows whether to migrate, serve or refuse.

    Returns one of ``empty`` (no tables), ``too-new``, ``v2-stamped``, ``v1``, ``v2`` (v2-shaped,
    no stamp yet) or ``unknown``, checked in that order. The stamp beats the shape (reference
    §1.4): residue that looks like v1 never re-triggers a migration once the gate is stamped.

    ``too-new`` rule: the ``data_migration`` ledger holds a name outside ``KNOWN_LEDGER_NAMES``
    whose ``YYYY-MM-DD-`` prefix is later than every known name's (Executor dates its entries and
    only appends them), or a ``private_executor_local_settings.version`` above 1.0.0. An unknown
    name dated on or before our newest (or undated) means a build we cannot place: ``unknown``.
    Both outcomes are refused by the caller; neither is ever migrated or downgraded.
    """
    tables = table_names(conn)
    if not tables:
        return EMPTY
    ledger = _ledger_names(conn) if "data_migration" in tables else set()
    foreign = ledger.difference(KNOWN_LEDGER_NAMES)
    if _newer_than_known(foreign) or _settings_too_new(conn, tables):
        return TOO_NEW
    if foreign:
        return UNKNOWN
    if V1_TO_V2_STAMP in ledger:
        return V2_STAMPED
    if is_v1_shape(conn, tables):
        return V1
    if _is_v2_shape(conn, tables):
        return V2
    return UNKNOWN


def is_v1_shape(conn: sqlite3.Connection, tables: set[str] | None = None) -> bool:
    """The TS gate's shape test: a ``source`` table with ``scope_id``, and no v2 ``connection``
    (``integration`` absent, or ``connection`` lacking ``tenant`` or having ``scope_id``)."""
    tables = table_names(conn) if tables is None else tables
    if "source" not in tables or "scope_id" not in table_columns(conn, "source"):
        return False
    if "integration" not in tables:
        return True
    columns = table_columns(conn, "connection")
    return "tenant" not in columns or "scope_id" in columns


def _is_v2_shape(conn: sqlite3.Connection, tables: set[str]) -> bool:
    if "integration" not in tables or "connection" not in tables:
        return False
    columns = table_columns(conn, "connection")
    return "tenant" in columns and "scope_id" not in columns


def _newer_than_known(names: Iterable[str]) -> bool:
    newest = max(_date_of(name) or "" for name in KNOWN_LEDGER_NAMES)
    return any((_date_of(name) or "") > newest for name in names)


def _date_of(name: str) -> str | None:
    match = _DATE_PREFIX.match(name)
    return match.group(1) if match else None


def _settings_too_new(conn: sqlite3.Connection, tables: set[str]) -> bool:
    if "private_executor_local_settings" not in tables:
        return False
    if "version" not in table_columns(conn, "private_executor_local_settings"):
        return False
    for (version,) in query_all(conn, "SELECT version FROM private_executor_local_settings"):
        if _version_tuple(str(version)) > KNOWN_SETTINGS_VERSION:
            return True
    return False


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.strip().split("."):
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group(0)) if digits else 0)
    return tuple(parts)


def _ledger_names(conn: sqlite3.Connection) -> set[str]:
    if "name" not in table_columns(conn, "data_migration"):
        return set()
    return {str(row[0]) for row in query_all(conn, "SELECT name FROM data_migration")}
