"""``Catalog``: the one object the server, MCP, code mode and the CLI's local path call.

Sync methods read and write the store (safe from a worker thread); the ones that need a plugin
(``add_integration``, ``create_connection``, ``refresh_connection``) are async because plugins
are. Every write is one transaction: a failure leaves nothing half-stored, and a secret minted
for a connection that could not be created is deleted again.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from executor_local.catalog import listing_write, shapes
from executor_local.catalog.connections import ConnectionsMixin
from executor_local.catalog.policy_service import PoliciesMixin
from executor_local.catalog.search_index import SearchIndex
from executor_local.catalog.tools import ToolsMixin
from executor_local.errors import Conflict, InvalidInput, NotFound
from executor_local.integrations.base import Credentials, Integration, Listing, PluginEnv
from executor_local.integrations.registry import Registry
from executor_local.secrets.providers import Secrets
from executor_local.store import tables
from executor_local.store.db import Database
from executor_local.store.ids import blob_namespace, now_ms
from executor_local.store.records import IntegrationRow
from executor_local.store.rows import dumps, loads

log = logging.getLogger("executor.catalog")

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Integrations with no auth get this connection when added here (Executor's migration calls
# the one it makes "workspace"; both are ordinary connections).
DEFAULT_CONNECTION = "main"


def check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise InvalidInput(f"invalid {kind} {value!r}: use 1-64 letters, digits, '_' or '-', "
                           "starting with a letter or digit (no dots)", code=f"invalid_{kind}")
    return value


class IntegrationNotFound(NotFound):
    code = "integration_not_found"


class Catalog(ToolsMixin, ConnectionsMixin, PoliciesMixin):
    def __init__(self, db: Database, tenant: str, secrets: Secrets,
                 registry: Registry | None = None) -> None:
        self.db = db
        self.tenant = tenant
        self.secrets = secrets
        self.registry = registry or Registry()
        self.index = SearchIndex(db)

    # -- plumbing for plugins ---------------------------------------------------------------

    def _integration_row(self, slug: str) -> IntegrationRow:
        with self.db.read() as conn:
            row = tables.integration(conn, self.tenant, slug)
        if row is None:
            raise IntegrationNotFound(f"no integration {slug!r}",
                                      hint="List them with: executor integrations list")
        return row

    @staticmethod
    def plugin_integration(row: IntegrationRow) -> Integration:
        config = loads(row.config) or {}
        return Integration(row.slug, row.plugin_id, row.description,
                           config if isinstance(config, dict) else {})

    def plugin_env(self, row: IntegrationRow, pending: dict[str, str] | None = None) -> PluginEnv:
        namespace = blob_namespace(self.tenant, "org", row.plugin_id)

        def blob(key: str) -> str | None:
            if pending and key in pending:
                return pending[key]
            with self.db.read() as conn:
                return tables.blob(conn, namespace, key)

        return PluginEnv(blob=blob)

    @staticmethod
    def method_of(config: dict[str, Any], template: str) -> dict[str, Any] | None:
        for method in config.get("authenticationTemplate") or []:
            if isinstance(method, dict) and method.get("slug") == template:
                return method
        return None

    # -- integrations -----------------------------------------------------------------------

    def integrations(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = tables.integrations(conn, self.tenant)
        return [dict(shapes.BUILTIN), *(shapes.integration_json(r) for r in rows)]

    def integration(self, slug: str) -> dict[str, Any]:
        if slug == "executor":
            return dict(shapes.BUILTIN)
        return shapes.integration_json(self._integration_row(slug))

    def patch_integration(self, slug: str, *, name: str | None = None,
                          description: str | None = None) -> dict[str, Any]:
        row = self._integration_row(slug)
        config = loads(row.config) or {}
        values: dict[str, Any] = {}
        if description is not None:
            if not isinstance(description, str):
                raise InvalidInput("description must be a string")
            values["description"] = description
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise InvalidInput("name must be a non-empty string")
            config = {**config, "name": name}
            values["config"] = dumps(config)
        if values:
            values["updated_at"] = now_ms()
            with self.db.write() as conn:
                tables.update(conn, "integration", values, "tenant = ? AND slug = ?",
                              (self.tenant, slug))
        return self.integration(slug)

    def remove_integration(self, slug: str) -> dict[str, Any]:
        if slug == "executor":
            raise Conflict("the built-in executor integration cannot be removed",
                           code="integration_removal_not_allowed")
        row = self._integration_row(slug)
        if not row.can_remove:
            raise Conflict(f"integration {slug!r} cannot be removed",
                           code="integration_removal_not_allowed")
        with self.db.write() as conn:
            removed = tables.connections(conn, self.tenant, integration=slug)
            for owner in ("org", "user"):
                rowids = listing_write.tool_rowids(conn, self.tenant, owner, slug)
                self.index.remove(conn, rowids)
            for table in ("tool", "definition", "connection"):
                tables.delete(conn, table, "tenant = ? AND integration = ?", (self.tenant, slug))
            like = slug.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
            tables.delete(conn, "plugin_storage",
                          "tenant = ? AND plugin_id = ? AND key LIKE ? ESCAPE '\\'",
                          (self.tenant, row.plugin_id, like))
            self._drop_unshared_blobs(conn, row)
            tables.delete(conn, "integration", "tenant = ? AND slug = ?", (self.tenant, slug))
            self.index.mark(conn)
        self.forget_minted(removed)
        log.info("removed integration %s", slug)
        return {"removed": True}

    def _drop_unshared_blobs(self, conn: Any, row: IntegrationRow) -> None:
        """Content-addressed blobs this integration's config names that no other uses."""
        config = loads(row.config) or {}
        namespace = blob_namespace(self.tenant, "org", row.plugin_id)
        others = [loads(r.config) or {} for r in tables.integrations(conn, self.tenant)
                  if r.slug != row.slug]
        for field in ("specHash", "introspectionHash"):
            digest = config.get(field) if isinstance(config, dict) else None
            if not isinstance(digest, str) or any(o.get(field) == digest for o in others):
                continue
            tables.delete(conn, "blob", "namespace = ? AND key LIKE ?",
                          (namespace, f"%/{digest}"))

    async def add_integration(self, slug: str, plugin_id: str, *, description: str,
                              config: dict[str, Any], blobs: dict[str, str] | None = None,
                              can_remove: bool = True, can_refresh: bool = False,
                              owner: str = "org", listing: Listing | None = None,
                              ) -> dict[str, Any]:
        """Store an integration a plugin built (config + blobs, e.g. ``spec/<sha256>``).

        Without auth methods (or with only ``none``) it also gets the connection ``main`` and
        its tools, listed now (or ``listing``, when the plugin built it already): if listing
        fails nothing is stored.
        """
        check_name("slug", slug)
        if slug == "executor":
            raise Conflict("'executor' is the built-in integration's slug", code="slug_taken")
        if not self.registry.known(plugin_id):
            raise InvalidInput(f"unknown integration kind {plugin_id!r}", code="unknown_plugin")
        with self.db.read() as conn:
            if tables.integration(conn, self.tenant, slug) is not None:
                raise Conflict(f"an integration {slug!r} already exists", code="slug_taken",
                               hint="Pick another slug, or remove the existing one first.")
        now = now_ms()
        row = tables.new_integration(self.tenant, slug, plugin_id, description, dumps(config),
                                     now, can_remove=can_remove, can_refresh=can_refresh)
        methods = [m for m in config.get("authenticationTemplate") or [] if isinstance(m, dict)]
        needs_auth = any(m.get("kind") != "none" for m in methods)
        if needs_auth:
            listing = None
        elif listing is None:
            plugin = self.registry.get(plugin_id)
            none = next((m for m in methods if m.get("kind") == "none"), None)
            listing = await self._list(plugin, row, Credentials(none, {}), blobs or {})
        namespace = blob_namespace(self.tenant, "org", plugin_id)
        with self.db.write() as conn:
            tables.insert(conn, [row])
            for key, value in (blobs or {}).items():
                tables.put_blob(conn, namespace, key, value)
            if listing is not None:
                none = next((m for m in methods if m.get("kind") == "none"), None)
                template = str(none["slug"]) if none else "none"
                tables.insert(conn, [tables.new_connection(
                    self.tenant, owner, slug, DEFAULT_CONNECTION, template, "file", "{}", now)])
                listing_write.write_listing(
                    conn, self.index, tenant=self.tenant, owner=owner, integration=slug,
                    plugin_id=plugin_id, plugin=self.registry.get(plugin_id),
                    connection=DEFAULT_CONNECTION, listing=listing, now=now)
        log.info("added integration %s (%s)", slug, plugin_id)
        out = shapes.integration_json(row)
        if listing is not None:
            out["connection"] = f"{slug}.{owner}.{DEFAULT_CONNECTION}"
            out["toolCount"] = len(listing.tools)
            out["warnings"] = list(listing.warnings)
        return out
