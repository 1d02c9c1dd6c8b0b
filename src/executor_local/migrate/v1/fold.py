"""The per-plugin backfills of the v1 fold: older v1 tables folded into the v1-final form.

``Fold`` reads each per-plugin table of an older v1 (OpenAPI, GraphQL, MCP, Google Discovery,
legacy 0003/0007 side tables, OAuth sessions), writes what legacy 0008/0011 made of it into
``plugin_storage`` and ``credential_binding`` (through ``v1_fold_rows.FoldRows``), and drops the
tables it folded. ``v1.forms.bring_to_v1_final`` runs it inside its savepoint.
"""

from __future__ import annotations

from typing import Any

from executor_local.migrate.rows import dumps, query_all
from executor_local.migrate.v1.fold_rows import FoldRows, json_column
from executor_local.store.schema import table_columns

# Per-plugin tables that legacy 0006/0011 dropped after folding them (the session tables are
# short-lived OAuth handshakes, replaced by `oauth2_session`).
SESSION_TABLES = ("openapi_oauth_session", "mcp_oauth_session", "google_discovery_oauth_session")

# Legacy 0007's one-row-per-header tables, folded back into the sources' JSON.
ENTRY_TABLES = (
    "openapi_source_header",
    "openapi_source_query_param",
    "openapi_source_spec_fetch_header",
    "openapi_source_spec_fetch_query_param",
    "graphql_source_header",
    "graphql_source_query_param",
    "mcp_source_header",
    "mcp_source_query_param",
)


class Fold(FoldRows):
    """Fold the per-plugin tables of an older v1 into plugin_storage and credential_binding.

    Shapes follow what legacy 0008/0011 produced on the fixtures: plugin_storage ids are the
    JSON ``[plugin, collection, key]``, binding ids ``[plugin, scope, source, slot]``, slots
    ``header:<lower-case name>`` / ``query_param:<name>`` / ``auth:header``.
    """

    def run(self) -> None:
        self._openapi()
        self._graphql()
        self._mcp()
        self._operations("openapi_operation", "openapi")
        self._operations("graphql_operation", "graphql")
        self._mcp_bindings()
        self._google_auth_columns()
        self._early_bindings()
        self._sessions()
        self._orphan_entries()
        for table in self.folded:
            self.conn.execute(f'DROP TABLE IF EXISTS "{table}"')

    # -- sources ---------------------------------------------------------------------------------

    def _openapi(self) -> None:
        table = "openapi_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "spec", "base_url", "headers", "query_params", "oauth2")
        self._warn_unread(table, {*cols, "invocation_config"})
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            headers = self._merged(row["headers"], "openapi_source_header", scope, sid)
            query = self._merged(row["query_params"], "openapi_source_query_param", scope, sid)
            config: dict[str, Any] = {"spec": row["spec"]}
            if row["base_url"]:
                config["baseUrl"] = row["base_url"]
            headers = self._placements(headers, "header", "openapi", scope, sid)
            query = self._placements(query, "query_param", "openapi", scope, sid)
            if headers:
                config["headers"] = headers
            if query:
                config["queryParams"] = query
            spec_fetch = self._spec_fetch(scope, sid)
            if spec_fetch:
                config["specFetchCredentials"] = spec_fetch
            oauth2 = json_column(row["oauth2"])
            if oauth2:
                config["oauth2"] = oauth2
            data = {"namespace": sid, "scope": scope, "name": row["name"], "config": config}
            self._storage("openapi", "source", sid, scope, data, self.now)
        self.folded.append(table)

    def _spec_fetch(self, scope: str, sid: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for suffix, key, slot in (
            ("header", "headers", "spec_fetch_header"),
            ("query_param", "queryParams", "spec_fetch_query_param"),
        ):
            values = self._merged(None, f"openapi_source_spec_fetch_{suffix}", scope, sid)
            values = self._placements(values, slot, "openapi", scope, sid)
            if values:
                out[key] = values
        return out

    def _graphql(self) -> None:
        table = "graphql_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "endpoint", "headers", "query_params", "auth")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            headers = self._merged(row["headers"], "graphql_source_header", scope, sid)
            query = self._merged(row["query_params"], "graphql_source_query_param", scope, sid)
            auth = json_column(row["auth"])
            data = {
                "namespace": sid,
                "scope": scope,
                "name": row["name"],
                "endpoint": row["endpoint"],
                "headers": self._placements(headers, "header", "graphql", scope, sid),
                "queryParams": self._placements(query, "query_param", "graphql", scope, sid),
                "auth": self._source_auth(auth, "graphql", scope, sid),
            }
            self._storage("graphql", "source", sid, scope, data, self.now)
        self.folded.append(table)

    def _mcp(self) -> None:
        table = "mcp_source"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "name", "config")
        self._warn_unread(table, {*cols, "created_at"})
        for row in self._rows(table, cols):
            scope, sid = row["scope_id"], row["id"]
            config = json_column(row["config"])
            if not isinstance(config, dict):
                config = {}
            headers = self._merged(config.get("headers"), "mcp_source_header", scope, sid)
            query = self._merged(config.get("queryParams"), "mcp_source_query_param", scope, sid)
            if headers:
                config["headers"] = self._placements(headers, "header", "mcp", scope, sid)
            if query:
                config["queryParams"] = self._placements(query, "query_param", "mcp", scope, sid)
            if "auth" in config:
                config["auth"] = self._source_auth(config["auth"], "mcp", scope, sid)
            data = {"namespace": sid, "scope": scope, "name": row["name"], "config": config}
            self._storage("mcp", "source", sid, scope, data, self.now)
        self.folded.append(table)

    # -- tool metadata ---------------------------------------------------------------------------

    def _operations(self, table: str, plugin: str) -> None:
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "source_id", "binding")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            data = {
                "toolId": row["id"],
                "sourceId": row["source_id"],
                "binding": json_column(row["binding"]),
            }
            self._storage(plugin, "operation", row["id"], row["scope_id"], data, self.now)
        self.folded.append(table)

    def _mcp_bindings(self) -> None:
        table = "mcp_binding"
        if table not in self.tables:
            return
        cols = ("id", "scope_id", "source_id", "binding", "created_at")
        self._warn_unread(table, set(cols))
        for row in self._rows(table, cols):
            data = {
                "namespace": row["source_id"],
                "toolId": row["id"],
                "binding": json_column(row["binding"]),
            }
            created = row["created_at"] if row["created_at"] is not None else self.now
            self._storage("mcp", "binding", row["id"], row["scope_id"], data, created)
        self.folded.append(table)

    def _google_auth_columns(self) -> None:
        """Move ``config.auth`` of google_discovery_source into the ``auth_*`` columns."""
        if "google_discovery_source" not in self.tables:
            return
        updates = []
        for row in self._rows("google_discovery_source", ("id", "scope_id", "config")):
            config = json_column(row["config"])
            if not isinstance(config, dict) or "auth" not in config:
                continue
            auth = config.pop("auth")
            auth = auth if isinstance(auth, dict) else {}
            scopes = auth.get("scopes")
            updates.append(
                (
                    dumps(config),
                    str(auth.get("kind") or "none"),
                    auth.get("connectionId"),
                    auth.get("clientIdSecretId"),
                    auth.get("clientSecretSecretId"),
                    dumps(scopes) if scopes is not None else None,
                    row["scope_id"],
                    row["id"],
                )
            )
        self.conn.executemany(
            "UPDATE google_discovery_source SET config = ?, auth_kind = ?, auth_connection_id = ?,"
            " auth_client_id_secret_id = ?, auth_client_secret_secret_id = ?, auth_scopes = ?"
            " WHERE scope_id = ? AND id = ?",
            updates,
        )
        self.rows += len(updates)

    def _early_bindings(self) -> None:
        """Legacy 0003's ``openapi_source_binding``, folded when its columns are recognisable."""
        table = "openapi_source_binding"
        if table not in self.tables:
            return
        cols = table_columns(self.conn, table)
        if not {"scope_id", "source_id", "slot_key", "secret_id"} <= cols:
            ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"v1 table {table} has a layout this upgrade does not know; its rows {ids} "
                    "were left in place and are not migrated."
                )
            return
        wanted = ("scope_id", "source_id", "slot_key", "secret_id", "connection_id")
        self._warn_unread(table, {*wanted, "id", "created_at", "updated_at", "source_scope_id"})
        for row in self._rows(table, wanted):
            kind = "connection" if row["connection_id"] else "secret"
            self._binding(
                "openapi",
                row["scope_id"],
                row["source_id"],
                row["slot_key"],
                kind,
                secret_id=row["secret_id"],
                connection_id=row["connection_id"],
            )
        self.folded.append(table)

    def _orphan_entries(self) -> None:
        """Name legacy-0007 header/query rows whose source row does not exist (never folded)."""
        for table in ENTRY_TABLES:
            if table not in self.tables:
                continue
            source_table = table.split("_source_")[0] + "_source"
            if source_table in self.tables:
                sql = (
                    f'SELECT e.id FROM "{table}" e WHERE NOT EXISTS (SELECT 1 FROM '
                    f'"{source_table}" s WHERE s.scope_id = e.scope_id AND s.id = e.source_id)'
                )
                ids = [str(r[0]) for r in query_all(self.conn, sql)]
            else:
                ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"v1 table {table} rows {ids} belong to no {source_table} row; "
                    "they are not migrated."
                )
            if table not in self.folded:
                self.folded.append(table)

    def _sessions(self) -> None:
        for table in SESSION_TABLES:
            if table not in self.tables:
                continue
            ids = self._ids(table)
            if ids:
                self.warnings.append(
                    f"dropped {len(ids)} in-flight OAuth session row(s) of v1 table {table} "
                    f"({ids}); sessions are short-lived, start the sign-in again."
                )
            self.folded.append(table)
