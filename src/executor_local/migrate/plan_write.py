"""Write a ``MigrationPlan`` into a v2 staging database, copying the big v1 tables inside SQLite.

Tools, definitions, plugin_storage and blobs go across in one ``INSERT OR IGNORE ... SELECT``
each, straight from the v1 snapshot, which the driver attaches to the staging connection
(``attach_source``) before it opens its transaction. Fan-out and ownership come from two small
temp tables built from the plan. What SQL cannot do byte-for-byte like Python (row ids, JSON
re-shaping, BLOB or oddly typed cells) is done by SQL functions registered for the length of the
call, running the same Python rules as before and only on the rows that need them, so the rows
written are exactly what the per-row Python writer produced, in the same order. Nothing is read
whole into Python: memory stays flat however big the file is.

A caller whose transaction was already open when it came here (tests drive ``write_plan``
directly), so that nothing could be attached, gets the same SQL over raw copies of those v1
tables in the temp schema. Inserts are ``INSERT OR IGNORE`` on v2's unique keys and the counts
returned are the rows really written, for the driver to check against the plan. Every cursor is
closed by whoever opened it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from executor_local.migrate.rows import as_int, as_text, dumps, loads, query_all, row_id
from executor_local.migrate.v1_forms import KNOWN_LEDGER_NAMES
from executor_local.migrate.v2_connections import Owner
from executor_local.store.schema import V1_TO_V2_STAMP, stamp, table_columns

if TYPE_CHECKING:
    from executor_local.migrate.plan import MigrationPlan

# The data is written already in the form these 1.5.9 ledger entries produce; stamping them says
# so, and keeps Executor from re-running them should it ever open the file.
POST_FORM_STAMPS = tuple(name for name in KNOWN_LEDGER_NAMES if name != V1_TO_V2_STAMP)

# The schema name the v1 snapshot is attached under on the staging connection.
SOURCE_SCHEMA = "v1"

# The v1 tables the SQL copies read (the others are small and read through ``src``).
_COPIED_TABLES = ("tool", "definition", "plugin_storage", "blob")

# ------------------------------------------------------------------------------------------------
# Writer
# ------------------------------------------------------------------------------------------------


def attach_source(dst: sqlite3.Connection, snapshot: Path) -> None:
    """Attach the v1 snapshot to the staging connection, so ``write_plan`` copies inside SQLite.

    ATTACH is refused inside a transaction: call it before BEGIN.
    """
    dst.execute(f"ATTACH DATABASE ? AS {SOURCE_SCHEMA}", (str(snapshot),)).close()


def detach_source(dst: sqlite3.Connection) -> None:
    dst.execute(f"DETACH DATABASE {SOURCE_SCHEMA}").close()


def write_plan(
    plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection
) -> dict[str, int]:
    """Insert the plan into ``dst`` (v2 schema already created) and stamp the ledger.

    Runs inside the caller's open transaction: no BEGIN or COMMIT here. ``src`` is the v1-final
    snapshot; attached to ``dst`` as ``SOURCE_SCHEMA`` its big tables are copied by SQLite alone.
    Returns the rows actually written per table, for the caller to compare with
    ``plan.expected_counts``.
    """
    with _Source(plan, src, dst) as source:
        counts = {
            "integration": _insert(dst, "integration", plan.integrations),
            "oauth_client": _insert(dst, "oauth_client", plan.oauth_clients),
            "connection": _insert(dst, "connection", plan.connections),
            "tool_policy": _insert(dst, "tool_policy", plan.tool_policies),
            "tool": _tools(source),
            "definition": _definitions(source),
            "plugin_storage": _plugin_storage(source),
            "blob": _blobs(source),
        }
    for name in (V1_TO_V2_STAMP, *POST_FORM_STAMPS):
        stamp(dst, name, plan.now_ms)
    return counts


_OWNERS = 'temp."_v1v2_owner"'
_TARGETS = 'temp."_v1v2_target"'


class _Source:
    """The v1 tables as ``dst`` sees them, plus the plan's lookups and row rules, for one call.

    Entering registers the SQL functions and fills the temp tables; leaving drops both, whether
    the writing worked or not (a failed write is rolled back by the caller anyway).
    """

    def __init__(self, plan: MigrationPlan, src: sqlite3.Connection, dst: sqlite3.Connection):
        self.plan = plan
        self.src = src
        self.dst = dst
        self.attached = _is_attached(src, dst)
        self.columns = {t: table_columns(src, t) for t in _COPIED_TABLES}
        self._temp: list[str] = []
        self._functions: list[tuple[str, int]] = []
        self._op_cache: tuple[Any, tuple[str, str] | None] = (None, None)
        self.failure: BaseException | None = None

    def table(self, name: str) -> str:
        """The qualified name ``dst`` reads the v1 table ``name`` under."""
        if self.attached:
            return f'{SOURCE_SCHEMA}."{name}"'
        return f'temp."_v1v2_src_{name}"'

    def run(self, sql: str) -> int:
        """Execute one INSERT ... SELECT on ``dst``; the rows it wrote."""
        try:
            cur = self.dst.execute(sql, {"now": self.plan.now_ms})
        except sqlite3.OperationalError:
            if self.failure is not None:
                raise self.failure  # noqa: B904 (SQLite's error stays attached as the context)
            raise
        try:
            return max(cur.rowcount, 0)
        finally:
            cur.close()

    # -- set-up and tear-down --------------------------------------------------------------------

    def __enter__(self) -> _Source:
        try:
            self._register()
            self._lookups()
            if not self.attached:
                for name in _COPIED_TABLES:
                    self._copy_raw(name)
        except BaseException:
            self._close(quietly=True)
            raise
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self._close(quietly=kind is not None)

    def _close(self, *, quietly: bool) -> None:
        """Drop the temp tables; the functions are replaced by ``None`` (sqlite3 cannot remove
        one), which releases the plan they reference and makes a stray later call fail."""
        try:
            for name in reversed(self._temp):
                self._exec(f"DROP TABLE IF EXISTS {name}")
        except sqlite3.Error:
            if not quietly:
                raise
        finally:
            self._temp.clear()
            for fname, nargs in self._functions:
                self.dst.create_function(fname, nargs, None)
            self._functions.clear()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.dst.execute(sql, params).close()

    def _register(self) -> None:
        owners = self.plan.owners
        functions: dict[str, tuple[int, Callable[..., Any]]] = {
            "v1v2_row_id": (-1, row_id),
            "v1v2_text": (1, as_text),
            "v1v2_text_or": (2, lambda value, fallback: as_text(value) or fallback),
            "v1v2_or_empty": (1, lambda value: value or ""),
            "v1v2_plugin": (1, lambda value: normalize_plugin(str(value or ""), "")),
            "v1v2_int": (2, as_int),
            "v1v2_unwrap": (1, unwrap_output_envelope),
            "v1v2_mcp": (2, mcp_annotations),
            "v1v2_op": (2, self._operation),
            "v1v2_op_row_id": (7, self._operation_row_id),
            "v1v2_pair": (2, lambda a, b: dumps([a, b])),
            "v1v2_blob_ns": (1, lambda ns: v2_blob_namespace(str(ns), owners)),
        }
        for fname, (nargs, func) in functions.items():
            self.dst.create_function(fname, nargs, self._kept(func), deterministic=True)
            self._functions.append((fname, nargs))

    def _kept(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func``, keeping what it raises: SQLite reports only "user-defined function raised
        exception", ``run`` re-raises the real error (what the Python writer raised)."""

        def call(*args: Any) -> Any:
            try:
                return func(*args)
            except BaseException as exc:
                if self.failure is None:
                    self.failure = exc
                raise

        return call

    def _moved(self, text: str) -> tuple[str, str] | None:
        """``_operation_row`` of an operation row's data: (new key, new data), or None when
        the row stays as it is. SQL asks for several fields of one row in turn, so the last
        answer is kept for the next question."""
        last, moved = self._op_cache
        if last is None or text != last:
            moved = _operation_row(loads(text))
            self._op_cache = (text, moved)
        return moved

    def _operation(self, text: str, field: int) -> str | None:
        """Field ``field`` (0 key, 1 data) of the re-keyed operation row, None when it stays."""
        moved = self._moved(text)
        return None if moved is None else moved[field]

    def _operation_row_id(
        self,
        tenant: str,
        owner: str,
        subject: str,
        plugin: str,
        collection: str,
        key: str,
        text: str,
    ) -> str:
        """The row id of an operation row: a re-keyed one is org-owned under its new key."""
        moved = self._moved(text)
        if moved is not None:
            owner, subject, key = "org", "", moved[0]
        return row_id("plugin_storage", tenant, owner, subject, plugin, collection, key)

    def _lookups(self) -> None:
        """Two small temp tables: each v1 scope's v2 owner, and each source's fan-out."""
        self._temp.append(_OWNERS)
        self._exec(
            f"CREATE TEMP TABLE {_OWNERS[5:]} (scope TEXT PRIMARY KEY, tenant TEXT, owner TEXT, "
            "subject TEXT, part TEXT)"
        )
        self._temp.append(_TARGETS)
        self._exec(
            f"CREATE TEMP TABLE {_TARGETS[5:]} (scope TEXT, sid TEXT, ord INTEGER, tenant TEXT, "
            "owner TEXT, subject TEXT, connection TEXT, PRIMARY KEY (scope, sid, ord))"
        )
        owners = (
            (scope, o.tenant, o.owner, o.subject, _blob_partition(o))
            for scope, o in self.plan.owners.items()
        )
        _insert_many(self.dst, f"INSERT INTO {_OWNERS} VALUES (?, ?, ?, ?, ?)", owners)
        targets = (
            (scope, sid, i, owner.tenant, owner.owner, owner.subject, connection)
            for (scope, sid), fan in self.plan.targets.items()
            for i, (owner, connection) in enumerate(fan)
        )
        _insert_many(self.dst, f"INSERT INTO {_TARGETS} VALUES (?, ?, ?, ?, ?, ?, ?)", targets)

    def _copy_raw(self, name: str) -> None:
        """Copy a v1 table as it is (rowids, declared types, values) into the temp schema."""
        info = query_all(self.src, f'PRAGMA table_info("{name}")')
        if not info:
            return
        table = self.table(name)
        self._temp.append(table)
        decl = ", ".join(f'"{col}" {ctype}' for _, col, ctype, *_ in info)
        self._exec(f"CREATE TEMP TABLE {table[5:]} ({decl})")
        cols = ", ".join(f'"{col}"' for _, col, *_ in info)
        marks = ", ".join("?" for _ in range(len(info) + 1))
        cur = self.src.execute(f'SELECT rowid, {cols} FROM "{name}" ORDER BY rowid')
        try:
            _insert_many(self.dst, f"INSERT INTO {table} (rowid, {cols}) VALUES ({marks})", cur)
        finally:
            cur.close()
        if name == "plugin_storage" and any(col == "key" for _, col, *_ in info):
            index = 'temp."_v1v2_src_plugin_storage_key"'
            self._exec(f"CREATE INDEX {index} ON {table[5:]} (key)")


def _is_attached(src: sqlite3.Connection, dst: sqlite3.Connection) -> bool:
    """Whether ``dst`` has ``src``'s main database attached as ``SOURCE_SCHEMA`` (and ``src``
    has nothing uncommitted that ``dst`` would not see)."""
    if src.in_transaction:
        return False
    files = {name: path for _, name, path in query_all(dst, "PRAGMA database_list")}
    attached = files.get(SOURCE_SCHEMA)
    main = {name: path for _, name, path in query_all(src, "PRAGMA database_list")}.get("main")
    if not attached or not main:
        return False
    try:
        return os.path.samefile(attached, main)
    except OSError:
        return False


# -- SQL for the Python cell rules: a fast path for the usual type, the Python rule otherwise ----


def _text(col: str) -> str:
    """``as_text(col)``."""
    return f"(CASE WHEN typeof({col}) IN ('text', 'null') THEN {col} ELSE v1v2_text({col}) END)"


def _text_or(col: str, fallback: str) -> str:
    """``as_text(col) or fallback``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN (CASE WHEN {col} = '' THEN '{fallback}' ELSE "
        f"{col} END) WHEN 'null' THEN '{fallback}' ELSE v1v2_text_or({col}, '{fallback}') END)"
    )


def _or_empty(col: str) -> str:
    """``col or ""``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN {col} WHEN 'null' THEN '' "
        f"ELSE v1v2_or_empty({col}) END)"
    )


def _plugin(col: str) -> str:
    """``normalize_plugin(str(col or ""), "")``."""
    return (
        f"(CASE typeof({col}) WHEN 'text' THEN (CASE {col} WHEN 'graphql-greenfield' THEN "
        f"'graphql' ELSE {col} END) WHEN 'null' THEN '' ELSE v1v2_plugin({col}) END)"
    )


def _int(col: str) -> str:
    """``as_int(col, plan.now_ms)``."""
    return (
        f"(CASE typeof({col}) WHEN 'integer' THEN {col} WHEN 'null' THEN :now "
        f"ELSE v1v2_int({col}, :now) END)"
    )


# -- the big tables ------------------------------------------------------------------------------


def _tools(s: _Source) -> int:
    """Each tool once per connection of its source, in v1 row order; OpenAPI output schemas
    lose the retired envelope, MCP tools get their upstream binding's annotations."""
    cols = s.columns["tool"]
    if not cols:
        return 0

    def opt(name: str) -> str:
        return f"t.{name}" if name in cols else "NULL"

    output = _text(opt("output_schema"))
    notes = _text(opt("annotations"))
    # An MCP tool's binding row, found through the key index (the unary + keeps SQLite from
    # preferring the plugin/collection index, which would scan every binding for every tool).
    # Two binding rows of one tool would collide in v2's plugin_storage, so the plan's count
    # check fails such a file whichever row is read here.
    binding = (
        f"(SELECT b.data FROM {s.table('plugin_storage')} b WHERE b.key = t.source_id || '.' "
        "|| t.name AND +b.scope_id = t.scope_id AND +b.plugin_id = 'mcp' "
        "AND +b.collection = 'binding' LIMIT 1)"
    )
    return s.run(
        "INSERT OR IGNORE INTO main.tool (integration, connection, plugin_id, name, description, "
        "input_schema, output_schema, annotations, created_at, updated_at, row_id, tenant, owner, "
        f"subject) SELECT t.source_id, g.connection, {_plugin('t.plugin_id')}, t.name, "
        f"{_or_empty('t.description')}, {_text(opt('input_schema'))}, "
        f"(CASE WHEN t.plugin_id = 'openapi' AND instr({output}, '\"headers\"') > 0 "
        f"AND instr({output}, '\"status\"') > 0 THEN v1v2_unwrap({output}) ELSE {output} END), "
        f"(CASE WHEN t.plugin_id = 'mcp' THEN v1v2_mcp({notes}, {binding}) ELSE {notes} END), "
        f"{_int('t.created_at')}, {_int('t.updated_at')}, "
        "v1v2_row_id('tool', g.tenant, g.owner, g.subject, t.source_id, g.connection, t.name), "
        f"g.tenant, g.owner, g.subject FROM {s.table('tool')} t CROSS JOIN {_TARGETS} g "
        "ON g.scope = t.scope_id AND g.sid = t.source_id ORDER BY t.rowid, g.ord"
    )


def _definitions(s: _Source) -> int:
    cols = s.columns["definition"]
    if not cols:
        return 0
    body = _text_or("d.schema" if "schema" in cols else "NULL", "{}")
    return s.run(
        "INSERT OR IGNORE INTO main.definition (integration, connection, plugin_id, name, "
        "schema, created_at, row_id, tenant, owner, subject) "
        f"SELECT d.source_id, g.connection, {_plugin('d.plugin_id')}, d.name, {body}, "
        f"{_int('d.created_at')}, v1v2_row_id('definition', g.tenant, g.owner, g.subject, "
        "d.source_id, g.connection, d.name), g.tenant, g.owner, g.subject "
        f"FROM {s.table('definition')} d CROSS JOIN {_TARGETS} g "
        "ON g.scope = d.scope_id AND g.sid = d.source_id ORDER BY d.rowid, g.ord"
    )


def _plugin_storage(s: _Source) -> int:
    """Every non-source row under its scope's owner; OpenAPI/GraphQL operation rows re-keyed to
    ``<integration>.<toolName>`` and org-owned (``_operation_row``); then Google Discovery
    bindings as ``googleDiscovery`` operation rows."""
    data = _text_or("ps.data", "{}")
    is_op = (
        "(ps.collection = 'operation' "
        "AND ps.plugin_id IN ('openapi', 'graphql', 'graphql-greenfield'))"
    )
    moved = f"({is_op} AND v1v2_op({data}, 0) IS NOT NULL)"
    plugin = _plugin("ps.plugin_id")
    written = s.run(
        "INSERT OR IGNORE INTO main.plugin_storage (plugin_id, collection, key, data, "
        "created_at, updated_at, row_id, tenant, owner, subject) "
        f"SELECT {plugin}, ps.collection, "
        f"(CASE WHEN {is_op} THEN coalesce(v1v2_op({data}, 0), ps.key) ELSE ps.key END), "
        f"(CASE WHEN {is_op} THEN coalesce(v1v2_op({data}, 1), {data}) ELSE {data} END), "
        f"{_int('ps.created_at')}, {_int('ps.updated_at')}, "
        f"(CASE WHEN {is_op} THEN v1v2_op_row_id(o.tenant, o.owner, o.subject, {plugin}, "
        f"ps.collection, ps.key, {data}) ELSE v1v2_row_id('plugin_storage', o.tenant, o.owner, "
        f"o.subject, {plugin}, ps.collection, ps.key) END), o.tenant, "
        f"(CASE WHEN {moved} THEN 'org' ELSE o.owner END), "
        f"(CASE WHEN {moved} THEN '' ELSE o.subject END) "
        f"FROM {s.table('plugin_storage')} ps CROSS JOIN {_OWNERS} o ON o.scope = ps.scope_id "
        "WHERE ps.collection != 'source' ORDER BY ps.rowid"
    )
    if table_columns(s.src, "google_discovery_binding"):
        plan = s.plan
        sql = (
            "SELECT scope_id, source_id, id, binding, created_at FROM google_discovery_binding "
            "ORDER BY rowid"
        )

        def google(cursor: Iterable[tuple]) -> Iterator[tuple]:
            for scope, sid, tool_id, binding, created in cursor:
                owner = plan.owners[scope]
                tool = strip_tool_prefix(str(sid), str(tool_id))
                data = dumps({"integration": sid, "toolName": tool, "binding": loads(binding)})
                when = as_int(created, plan.now_ms)
                yield _storage_tuple(
                    "googleDiscovery",
                    "operation",
                    f"{sid}.{tool}",
                    data,
                    when,
                    when,
                    Owner(owner.tenant, "org", ""),
                )

        written += _stream(s.dst, _STORAGE_INSERT, s.src, sql, google)
    return written


_STORAGE_INSERT = (
    "INSERT OR IGNORE INTO plugin_storage (plugin_id, collection, key, data, created_at, "
    "updated_at, row_id, tenant, owner, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _storage_tuple(
    plugin: str, collection: str, key: str, data: str, created: int, updated: int, owner: Owner
) -> tuple:
    return (
        plugin,
        collection,
        key,
        data,
        created,
        updated,
        row_id("plugin_storage", owner.tenant, owner.owner, owner.subject, plugin, collection, key),
        owner.tenant,
        owner.owner,
        owner.subject,
    )


def _operation_row(data: Any) -> tuple[str, str] | None:
    """Re-key an OpenAPI/GraphQL operation row to ``<integration>.<toolName>`` (1.5.9's shape)."""
    if not isinstance(data, dict) or "binding" not in data:
        return None
    integration, tool = data.get("integration"), data.get("toolName")
    if not (isinstance(integration, str) and isinstance(tool, str)):
        sid, tool_id = data.get("sourceId"), data.get("toolId")
        if not (isinstance(sid, str) and isinstance(tool_id, str)):
            return None
        integration, tool = sid, strip_tool_prefix(sid, tool_id)
    body = {"integration": integration, "toolName": tool, "binding": data["binding"]}
    return f"{integration}.{tool}", dumps(body)


_BLOB_INSERT = (
    "INSERT OR IGNORE INTO blob (namespace, key, value, row_id, id) VALUES (?, ?, ?, ?, ?)"
)


def _blobs(s: _Source) -> int:
    """Spec texts the configs moved out (read again from their v1 source rows), then the v1
    blobs whose namespace names a known scope, under the v2 namespace."""
    plan, src = s.plan, s.src

    def specs() -> Iterator[tuple]:
        seen: set[tuple[str, str]] = set()
        for blob in plan.spec_blobs:
            if (blob.namespace, blob.key) in seen:
                continue
            seen.add((blob.namespace, blob.key))
            value: Any = source_data(src, blob.scope_id, blob.source_id, blob.plugin_id)
            for step in blob.path:
                value = value.get(step) if isinstance(value, dict) else None
            if isinstance(value, str):
                yield _blob_tuple(blob.namespace, blob.key, value)

    written = _insert_many(s.dst, _BLOB_INSERT, specs())
    if not s.columns["blob"]:
        return written
    # v2_blob_namespace in SQL for text namespaces: `<scope>/<plugin>` with a known scope.
    slash = "instr(b.namespace, '/')"
    namespace = (
        "(CASE WHEN typeof(b.namespace) = 'text' THEN "
        f"(CASE WHEN o.scope IS NOT NULL THEN o.part || substr(b.namespace, {slash}) END) "
        "ELSE v1v2_blob_ns(b.namespace) END)"
    )
    return written + s.run(
        "INSERT OR IGNORE INTO main.blob (namespace, key, value, row_id, id) "
        f"SELECT {namespace}, b.key, {_text_or('b.value', '')}, "
        f"v1v2_row_id('blob', {namespace}, b.key), v1v2_pair({namespace}, b.key) "
        f"FROM {s.table('blob')} b LEFT JOIN {_OWNERS} o ON typeof(b.namespace) = 'text' "
        f"AND {slash} > 1 AND {slash} < length(b.namespace) "
        f"AND o.scope = substr(b.namespace, 1, {slash} - 1) "
        f"WHERE {namespace} IS NOT NULL ORDER BY b.rowid"
    )


def _blob_tuple(namespace: str, key: str, value: str) -> tuple:
    return (namespace, key, value, row_id("blob", namespace, key), dumps([namespace, key]))


def _blob_partition(owner: Owner) -> str:
    return f"o:{owner.tenant}" if owner.owner == "org" else f"u:{owner.tenant}:{owner.subject}"


# ------------------------------------------------------------------------------------------------
# Row rules shared by planner and writer
# ------------------------------------------------------------------------------------------------


def v2_blob_namespace(namespace: str, owners: dict[str, Owner]) -> str | None:
    """``<scope>/<plugin>`` -> ``o:<tenant>/<plugin>`` or ``u:<tenant>:<subject>/<plugin>``."""
    scope, sep, plugin = namespace.partition("/")
    if not sep or not scope or not plugin or scope not in owners:
        return None
    return f"{_blob_partition(owners[scope])}/{plugin}"


def mcp_annotations(annotations: str | None, binding_data: Any) -> str | None:
    """Stamp an MCP tool with its upstream binding (``mcp.toolName``, ``upstream``), as 1.5.9."""
    base = loads(annotations) if annotations else None
    if isinstance(base, dict) and isinstance(base.get("mcp"), dict):
        return annotations
    data = loads(binding_data)
    binding = data.get("binding") if isinstance(data, dict) else None
    tool = binding.get("toolName") if isinstance(binding, dict) else None
    if not isinstance(tool, str) or not tool:
        return annotations
    upstream = binding.get("annotations") if isinstance(binding.get("annotations"), dict) else None
    base = dict(base) if isinstance(base, dict) else {}
    destructive = bool(upstream) and upstream.get("destructiveHint") is True
    out = dict(base)
    out["requiresApproval"] = (
        base["requiresApproval"] if base.get("requiresApproval") is not None else destructive
    )
    if destructive and "approvalDescription" not in base:
        title = upstream.get("title") if upstream else None
        out["approvalDescription"] = title if title is not None else tool
    out["mcp"] = {"toolName": tool, **({"upstream": upstream} if upstream is not None else {})}
    return dumps(out)


def unwrap_output_envelope(schema: str | None) -> str | None:
    """Drop the retired ``{status, headers, data}`` envelope from an OpenAPI output schema
    (what the 2026-06-11-openapi-output-envelope-unwrap ledger entry does)."""
    if not schema or '"headers"' not in schema or '"status"' not in schema:
        return schema
    value = loads(schema)
    if not isinstance(value, dict) or value.get("type") != "object":
        return schema
    props = value.get("properties")
    required = value.get("required")
    if (
        value.get("additionalProperties") is not False
        or not isinstance(props, dict)
        or not isinstance(required, list)
        or sorted(map(str, required)) != ["data", "headers", "status"]
        or "data" not in props
    ):
        return schema
    if props.get("status") != {"type": "integer"} or props.get("headers") != {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }:
        return schema
    data = props["data"]
    return None if isinstance(data, dict) and not data else dumps(data)


def source_data(src: sqlite3.Connection, scope: str, sid: str, plugin_id: str) -> Any:
    """The parsed ``plugin_storage[source]`` data of one v1 source (its own plugin's row first)."""
    rows = query_all(
        src,
        "SELECT data FROM plugin_storage WHERE scope_id = ? AND collection = 'source'"
        " AND key = ? ORDER BY (plugin_id = ?) DESC, rowid LIMIT 1",
        (scope, sid, plugin_id),
    )
    return loads(rows[0][0]) if rows else None


def _insert(dst: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    columns = list(rows[0])
    sql = (
        f'INSERT OR IGNORE INTO "{table}" ({", ".join(columns)}) '
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    return _insert_many(dst, sql, (tuple(_cell(r[c]) for c in columns) for r in rows))


def _cell(value: Any) -> Any:
    return dumps(value) if isinstance(value, (dict, list)) else value


def _insert_many(dst: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> int:
    cur = dst.cursor()
    try:
        cur.executemany(sql, rows)
        return max(cur.rowcount, 0)
    finally:
        cur.close()


def _stream(
    dst: sqlite3.Connection,
    insert: str,
    src: sqlite3.Connection,
    select: str,
    transform: Callable[[Iterable[tuple]], Iterator[tuple]],
) -> int:
    """Feed ``select``'s rows, transformed, into ``insert`` without materialising them."""
    cur = src.cursor()
    try:
        cur.execute(select)
        return _insert_many(dst, insert, transform(cur))
    finally:
        cur.close()


def normalize_plugin(plugin_id: str, kind: str) -> str:
    """v1 plugin ids as v2 knows them (``graphql-greenfield`` became ``graphql``)."""
    return "graphql" if plugin_id == "graphql-greenfield" else (plugin_id or kind)


def strip_tool_prefix(sid: str, tool_id: str) -> str:
    return tool_id[len(sid) + 1 :] if tool_id.startswith(f"{sid}.") else tool_id
