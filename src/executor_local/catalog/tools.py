"""Tools: listing with filters, search, describe and the schema view, over the store.

Blocked tools (a ``block`` rule resolves for their address) never appear in listings or search
unless ``include_blocked`` is asked for explicitly (the API's ``includeBlocked``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from executor_local.catalog import approval, policies, shapes, typescript
from executor_local.catalog.addresses import Address, address_of, parse_address, strip_tools
from executor_local.errors import NotFound
from executor_local.store import tables
from executor_local.store.records import DefinitionRow, IntegrationRow, ToolRow
from executor_local.store.rows import loads, query_all

if TYPE_CHECKING:
    from executor_local.catalog.service import Catalog

_TOOL_COLS = ", ".join(f"t.{c}" for c in ToolRow.columns())


class ToolNotFound(NotFound):
    code = "tool_not_found"
    default_hint = "Search for it with: executor tools search <words>"


@dataclass
class ResolvedTool:
    """Everything an execution needs about one tool, read in one go."""

    address: Address
    tool: ToolRow
    integration: IntegrationRow
    binding: dict[str, Any] | None
    input_schema: dict[str, Any] | None
    requires_approval: bool
    approval_description: str | None
    effective: policies.Effective


def referenced(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The ``$defs`` a schema reaches through ``$ref`` (transitively), by name."""
    out: dict[str, Any] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name in defs and name not in out:
                    out[name] = defs[name]
                    stack.append(defs[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _defs(rows: list[DefinitionRow]) -> dict[str, Any]:
    return {r.name: loads(r.schema) for r in rows}


class ToolsMixin:
    def rules(self: Catalog) -> list[policies.Rule]:
        with self.db.read() as conn:
            rows = tables.policies(conn, self.tenant)
        return policies.sort_rules(policies.Rule(r.id, r.owner, r.pattern, r.action, r.position)
                                   for r in rows)

    def _blocked(self: Catalog, rules: list[policies.Rule], address: str) -> bool:
        return policies.resolve(rules, address, False).action == "block"

    # -- list ---------------------------------------------------------------------------------

    def list_tools(self: Catalog, integration: str | None = None, owner: str | None = None,
                   connection: str | None = None, query: str | None = None,
                   include_blocked: bool = False) -> list[dict[str, Any]]:
        where, params = ["t.tenant = ?"], [self.tenant]
        for col, val in (("integration", integration), ("owner", owner),
                         ("connection", connection)):
            if val:
                where.append(f"t.{col} = ?")
                params.append(val)
        src = '"tool" t'
        order = "t.integration, t.owner, t.connection, t.name"
        if query and query.strip():
            self.index.ensure_current()
            clause = self.index.match_clause(query, every=True)
            if clause is not None:
                table = self.index.table
                src = f'"{table}" CROSS JOIN "tool" t ON t.rowid = "{table}".rowid'  # FTS outer
                where.append(clause[0])
                params.extend(clause[1])
                order = f"{self.index.score_sql()}, {order}"
        sql = (f"SELECT {_TOOL_COLS}, {approval.BINDING_COLUMNS} FROM {src} "
               f"{approval.BINDING_JOIN} WHERE {' AND '.join(where)} ORDER BY {order}")
        rules = [] if include_blocked else self.rules()
        blocking = policies.can_block(rules)
        with self.db.read() as conn:
            rows = query_all(conn, sql, tuple(params))
        out = []
        n = len(ToolRow.columns())
        for raw in rows:
            row = ToolRow.from_row(raw[:n])
            addr = address_of(row.integration, row.owner, row.connection, row.name)
            if blocking and self._blocked(rules, addr):
                continue
            out.append(shapes.tool_json(row, approval.requires_approval(row.annotations,
                                                                        raw[n], raw[n + 1])))
        return out

    # -- search -------------------------------------------------------------------------------

    def search(self: Catalog, query: str = "", *, namespace: str | None = None, limit: int = 12,
               offset: int = 0, include_schema: bool = False) -> dict[str, Any]:
        limit = max(1, min(int(limit or 12), 100))
        offset = max(0, int(offset or 0))
        where, params = ["t.tenant = ?"], [self.tenant]
        if namespace and strip_tools(namespace):
            parts = strip_tools(namespace).split(".", 3)
            for col, val in zip(("integration", "owner", "connection"), parts, strict=False):
                where.append(f"t.{col} = ?")
                params.append(val)
            if len(parts) == 4:
                where.append("(t.name = ? OR substr(t.name, 1, ?) = ?)")
                params += [parts[3], len(parts[3]) + 1, parts[3] + "."]
        src, score = '"tool" t', "0"
        clause = self.index.match_clause(query or "")
        if clause is not None:
            self.index.ensure_current()
            table = self.index.table
            src = f'"{table}" CROSS JOIN "tool" t ON t.rowid = "{table}".rowid'  # FTS outer
            where.append(clause[0])
            params.extend(clause[1])
            score = self.index.score_sql()
        rules = self.rules()
        if (clause is not None and len(where) == 2 and not policies.can_block(rules)
                and self.index.fts and self.index.only_tenant() in (self.tenant, None)):
            return self._search_fts_only(clause, limit, offset, include_schema)
        base = f"FROM {src} WHERE {' AND '.join(where)}"
        cols = "t.integration, t.owner, t.connection, t.name, t.description, t.input_schema"
        order = ("ORDER BY " + (f"{score}, " if clause is not None else "")
                 + "t.integration, t.owner, t.connection, t.name")
        items: list[dict[str, Any]] = []
        with self.db.read() as conn:
            if not policies.can_block(rules):
                total = int(query_all(conn, f"SELECT count(*) {base}", tuple(params))[0][0])
                rows = query_all(conn, f"SELECT {cols}, {score} {base} {order} LIMIT ? OFFSET ?",
                                 (*params, limit, offset))
            else:
                rows, total = [], 0
                cur = conn.execute(f"SELECT {cols}, {score} {base} {order}", tuple(params))
                try:
                    for r in cur:
                        if self._blocked(rules, address_of(r[0], r[1], r[2], r[3])):
                            continue
                        if offset <= total < offset + limit:
                            rows.append(r)
                        total += 1
                finally:
                    cur.close()
        for integ, owner, conn_name, name, description, input_schema, rank in rows:
            item: dict[str, Any] = {
                "path": address_of(integ, owner, conn_name, name), "name": name,
                "description": description, "integration": integ,
                "score": round(-float(rank), 4) if clause is not None else 1.0,
            }
            if include_schema:
                item["inputSchema"] = loads(input_schema)
            items.append(item)
        end = offset + len(items)
        return {"items": items, "total": total, "hasMore": end < total,
                "nextOffset": end if end < total else None}

    def _search_fts_only(self: Catalog, clause: tuple[str, tuple[str, ...]], limit: int,
                         offset: int, include_schema: bool) -> dict[str, Any]:
        """The common case (one tenant, no namespace, no block rule): rank and count in the
        FTS table alone, then read just the page's tool rows (100k tools: ~5x faster)."""
        fts = f'"{self.index.table}"'
        with self.db.read() as conn:
            total = int(query_all(conn, f"SELECT count(*) FROM {fts} WHERE {clause[0]}",
                                  clause[1])[0][0])
            ranked = query_all(conn, f"SELECT rowid, {self.index.score_sql()} AS s FROM {fts} "
                                     f"WHERE {clause[0]} ORDER BY s, rowid LIMIT ? OFFSET ?",
                               (*clause[1], limit, offset))
            marks = ",".join("?" for _ in ranked)
            rows = {r[0]: r[1:] for r in query_all(
                conn, "SELECT rowid, integration, owner, connection, name, description, "
                      f'input_schema FROM "tool" WHERE rowid IN ({marks})',
                tuple(r[0] for r in ranked))} if ranked else {}
        items = []
        for rowid, rank in ranked:
            if rowid not in rows:
                continue
            integ, owner, conn_name, name, description, input_schema = rows[rowid]
            item: dict[str, Any] = {"path": address_of(integ, owner, conn_name, name),
                                    "name": name, "description": description,
                                    "integration": integ, "score": round(-float(rank), 4)}
            if include_schema:
                item["inputSchema"] = loads(input_schema)
            items.append(item)
        end = offset + len(items)
        return {"items": items, "total": total, "hasMore": end < total,
                "nextOffset": end if end < total else None}

    # -- one tool -----------------------------------------------------------------------------

    def _tool(self: Catalog, address: str) -> tuple[Address, ToolRow, list[DefinitionRow],
                                                    dict[str, Any] | None]:
        addr = parse_address(address)
        with self.db.read() as conn:
            row = tables.tool(conn, self.tenant, addr.owner, addr.integration, addr.connection,
                              addr.tool)
            if row is None:
                raise self._not_found(address)
            defs = tables.definitions(conn, self.tenant, addr.owner, addr.integration,
                                      addr.connection)
            binding = None
            for collection in ("operation", "binding"):
                data = tables.plugin_data(conn, self.tenant, addr.owner, row.plugin_id,
                                          collection, f"{addr.integration}.{addr.tool}")
                if data is not None:
                    doc = loads(data.data)
                    binding = doc.get("binding") if isinstance(doc, dict) else None
                    break
        return addr, row, defs, binding

    def _not_found(self: Catalog, address: str) -> ToolNotFound:
        words = strip_tools(address).replace(".", " ")
        try:
            suggestions = [i["path"] for i in self.search(words, limit=5)["items"]]
        except Exception:  # suggestions are a courtesy
            suggestions = []
        return ToolNotFound(f"no tool {strip_tools(address)!r}",
                            details={"suggestions": suggestions})

    def resolve_tool(self: Catalog, address: str) -> ResolvedTool:
        """The tool, its integration, binding, full input schema and effective policy."""
        addr, row, defs, binding = self._tool(address)
        integ = self._integration_row(addr.integration)
        schema = loads(row.input_schema) if row.input_schema else None
        if isinstance(schema, dict):
            used = referenced(schema, _defs(defs))
            if used:
                schema = {**schema, "$defs": {**used, **(schema.get("$defs") or {})}}
        needs = approval.from_binding(row.annotations, binding)
        effective = policies.resolve(self.rules(), str(addr), needs)
        return ResolvedTool(addr, row, integ, binding, schema, needs,
                            approval.approval_description(row.annotations), effective)

    def schema_view(self: Catalog, address: str) -> dict[str, Any]:
        """Executor's ``ToolSchemaView`` for ``GET /api/tools/schema``."""
        addr, row, defs, _binding = self._tool(address)
        all_defs = _defs(defs)
        input_schema = loads(row.input_schema) if row.input_schema else None
        output_schema = loads(row.output_schema) if row.output_schema else None
        used = referenced([input_schema, output_schema], all_defs)
        return {
            "address": "tools." + str(addr), "name": row.name, "description": row.description,
            "inputSchema": input_schema, "outputSchema": output_schema,
            "schemaDefinitions": used,
            "inputTypeScript": typescript.render(input_schema),
            "outputTypeScript": typescript.render(output_schema),
            "typeScriptDefinitions": typescript.definitions(used),
        }

    def describe(self: Catalog, path: str) -> dict[str, Any]:
        """The contract's ``describe``: the schema view plus policy facts, or an error dict."""
        try:
            resolved = self.resolve_tool(path)
            view = self.schema_view(path)
        except NotFound as exc:
            return {"error": {"code": exc.code, "message": exc.message,
                              "suggestions": (exc.details or {}).get("suggestions", [])}}
        if resolved.effective.action == "block":
            exc = self._not_found(path)
            return {"error": {"code": exc.code, "message": exc.message, "suggestions": []}}
        view.pop("address")
        return {"path": str(resolved.address), "integration": resolved.address.integration,
                **view, "requiresApproval": resolved.effective.action == "require_approval"}
