"""Connections: a connection IS the credential (reference §6.1).

Create takes exactly one credential origin: ``value`` (one secret), ``values`` (one per
variable of the auth method) or ``from {provider, id}`` (an item that already exists). Values go
to the secret provider; the row keeps ``item_ids`` only. The tools are listed through the plugin
before anything is written, so a connection whose tools cannot be listed is not stored and the
secrets minted for it are deleted again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from executor_local.catalog import listing_write, shapes
from executor_local.catalog.addresses import OWNERS
from executor_local.errors import Conflict, ExecutorError, InvalidInput, NotFound, UpstreamFailed
from executor_local.integrations.base import Credentials, Listing
from executor_local.store import tables
from executor_local.store.ids import now_ms
from executor_local.store.records import ConnectionRow, IntegrationRow
from executor_local.store.rows import dumps, loads, query_all

if TYPE_CHECKING:
    from executor_local.catalog.service import Catalog

log = logging.getLogger("executor.catalog")


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


def method_variables(method: dict[str, Any] | None) -> list[str]:
    """The secret variables an auth method needs (placements without a literal; an MCP
    ``stdio_env`` method names its environment variables in ``vars``, as Executor's does)."""
    if (method or {}).get("kind") == "stdio_env":
        return [v for v in dict.fromkeys((method or {}).get("vars") or []) if isinstance(v, str)]
    out: list[str] = []
    for place in (method or {}).get("placements") or []:
        if isinstance(place, dict) and place.get("literal") is None:
            var = place.get("variable") or "token"
            if var not in out:
                out.append(var)
    if (method or {}).get("kind") not in (None, "none") and not out:
        out.append("token")
    return out


def check_owner(owner: Any) -> str:
    if owner not in OWNERS:
        raise InvalidInput(f"owner must be org or user, not {owner!r}", code="invalid_owner")
    return owner


class ConnectionsMixin:
    async def _list(self: Catalog, plugin: Any, row: IntegrationRow, creds: Credentials,
                    pending_blobs: dict[str, str] | None = None) -> Listing:
        """List tools through the plugin; any failure becomes ``UpstreamFailed`` (no secret in
        the message: plugins never put one there, and we add only the exception type)."""
        env = self.plugin_env(row, pending_blobs)
        try:
            listing = await plugin.list_tools(self.plugin_integration(row), creds, env)
        except ExecutorError:
            raise
        except Exception as exc:
            raise UpstreamFailed(f"could not list the tools of {row.slug!r}: "
                                 f"{type(exc).__name__}: {exc}"[:600]) from None
        if not isinstance(listing, Listing):
            raise UpstreamFailed(f"the {row.plugin_id} plugin returned no listing")
        return listing

    def credentials(self: Catalog, integration: IntegrationRow,
                    connection: ConnectionRow) -> Credentials:
        config = loads(integration.config) or {}
        method = self.method_of(config, connection.template)
        ids = loads(connection.item_ids) or {}
        values: dict[str, str] = {}
        for var, item in (ids.items() if isinstance(ids, dict) else []):
            if isinstance(item, str):
                value = self.secrets.resolve(connection.provider, item)
                if value is not None:
                    values[str(var)] = value
        return Credentials(method, values)

    # -- reads ------------------------------------------------------------------------------

    def connections(self: Catalog, integration: str | None = None,
                    owner: str | None = None) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = tables.connections(conn, self.tenant, integration=integration, owner=owner)
        return [shapes.connection_json(r) for r in rows]

    def _connection_row(self: Catalog, owner: str, integration: str, name: str) -> ConnectionRow:
        check_owner(owner)
        with self.db.read() as conn:
            row = tables.connection(conn, self.tenant, owner, integration, name)
        if row is None:
            raise ConnectionNotFound(f"no connection {integration}.{owner}.{name}",
                                     hint="List them with: executor connections list")
        return row

    def connection(self: Catalog, owner: str, integration: str, name: str) -> dict[str, Any]:
        return shapes.connection_json(self._connection_row(owner, integration, name))

    # -- writes -----------------------------------------------------------------------------

    async def create_connection(self: Catalog, payload: dict[str, Any]) -> dict[str, Any]:
        from executor_local.catalog.service import check_name

        if not isinstance(payload, dict):
            raise InvalidInput("the body must be a JSON object")
        owner = check_owner(payload.get("owner", "org"))
        integ = self._integration_row(str(payload.get("integration") or ""))
        name = check_name("connection name", payload.get("name"))
        config = loads(integ.config) or {}
        template = payload.get("template")
        methods = [m for m in config.get("authenticationTemplate") or [] if isinstance(m, dict)]
        if template is None and len(methods) == 1:
            template = methods[0].get("slug")
        method = self.method_of(config, str(template)) if template else None
        if method is None and template != "none":
            known = ", ".join(str(m.get("slug")) for m in methods) or "none"
            raise InvalidInput(f"integration {integ.slug!r} has no auth method {template!r} "
                               f"(it has: {known})", code="invalid_template")
        variables = method_variables(method)
        origins = [k for k in ("value", "values", "from") if payload.get(k) is not None]
        if variables and len(origins) != 1:
            raise InvalidInput("give exactly one credential origin: value, values or from "
                               f"(got {', '.join(origins) or 'none'})",
                               code="invalid_connection_input")
        if not variables and origins:
            raise InvalidInput(f"auth method {template!r} takes no credentials",
                               code="invalid_connection_input")
        with self.db.read() as conn:
            if tables.connection(conn, self.tenant, owner, integ.slug, name) is not None:
                raise Conflict(f"a connection {integ.slug}.{owner}.{name} already exists",
                               code="connection_exists")
        values = self._credential_values(payload, origins, variables)
        minted: list[tuple[str, str]] = []
        try:
            if origins == ["from"]:
                ref = payload["from"]
                provider, item_ids = ref["provider"], {variables[0]: ref["id"]}
                self.secrets.provider(provider)  # unknown provider → 404, nothing stored
                creds = self.credentials(integ, _probe_row(integ, template, provider, item_ids))
                if not creds.values:
                    raise InvalidInput(f"provider {provider!r} has no item {ref['id']!r}",
                                       code="secret_not_found")
            else:
                provider = self.secrets.default_provider().key
                item_ids = {}
                for var, value in values.items():
                    prov, item = await asyncio.to_thread(self.secrets.store, value, provider)
                    minted.append((prov, item))
                    item_ids[var] = item
                if not variables:
                    provider = "file"
                creds = Credentials(method, values)
            listing = await self._list(self.registry.get(integ.plugin_id), integ, creds)
            now = now_ms()
            row = tables.new_connection(self.tenant, owner, integ.slug, name, str(template),
                                        provider, dumps(item_ids), now,
                                        identity_label=payload.get("identityLabel"))
            with self.db.write() as conn:
                tables.insert(conn, [row])
                for prov, item in minted:
                    conn.execute('INSERT OR IGNORE INTO "executor_local_secret_item" '
                                 "(provider, item_id, created_at) VALUES (?, ?, ?)",
                                 (prov, item, now)).close()
                listing_write.write_listing(
                    conn, self.index, tenant=self.tenant, owner=owner, integration=integ.slug,
                    plugin_id=integ.plugin_id, plugin=self.registry.get(integ.plugin_id),
                    connection=name, listing=listing, now=now)
        except BaseException:
            for prov, item in minted:
                self.secrets.forget(prov, item)
            raise
        log.info("created connection %s.%s.%s (%d tools)", integ.slug, owner, name,
                 len(listing.tools))
        out = shapes.connection_json(row)
        out["toolCount"] = len(listing.tools)
        return out

    @staticmethod
    def _credential_values(payload: dict[str, Any], origins: list[str],
                           variables: list[str]) -> dict[str, str]:
        if not variables or origins == ["from"]:
            if origins == ["from"]:
                ref = payload["from"]
                if (not isinstance(ref, dict) or not isinstance(ref.get("provider"), str)
                        or not isinstance(ref.get("id"), str)):
                    raise InvalidInput("from must be {provider, id}",
                                       code="invalid_connection_input")
                if len(variables) != 1:
                    raise InvalidInput("from names one item, but this auth method needs "
                                       f"{', '.join(variables)}: use values",
                                       code="invalid_connection_input")
            return {}
        if origins == ["value"]:
            value = payload["value"]
            if not isinstance(value, str) or not value:
                raise InvalidInput("value must be a non-empty string",
                                   code="invalid_connection_input")
            if len(variables) != 1:
                raise InvalidInput(f"this auth method needs {', '.join(variables)}: use values",
                                   code="invalid_connection_input")
            return {variables[0]: value}
        values = payload["values"]
        if not isinstance(values, dict) or not all(isinstance(v, str) and v
                                                   for v in values.values()):
            raise InvalidInput("values must map each variable to a non-empty string",
                               code="invalid_connection_input")
        unknown = sorted(set(values) - set(variables))
        missing = sorted(set(variables) - set(values))
        if unknown or missing:
            raise InvalidInput(f"values must name exactly {', '.join(variables)}"
                               + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                               + (f"; missing: {', '.join(missing)}" if missing else ""),
                               code="invalid_connection_input")
        return {str(k): str(v) for k, v in values.items()}

    def patch_connection(self: Catalog, owner: str, integration: str, name: str,
                         payload: dict[str, Any]) -> dict[str, Any]:
        self._connection_row(owner, integration, name)
        unknown = sorted(set(payload) - {"identityLabel", "description"})
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(unknown)} of a connection "
                               "(only identityLabel)", code="invalid_connection_input")
        if "identityLabel" in payload:
            label = payload["identityLabel"]
            if label is not None and not isinstance(label, str):
                raise InvalidInput("identityLabel must be a string or null")
            with self.db.write() as conn:
                tables.update(conn, "connection",
                              {"identity_label": label, "updated_at": now_ms()},
                              "tenant = ? AND owner = ? AND integration = ? AND name = ?",
                              (self.tenant, owner, integration, name))
        return self.connection(owner, integration, name)

    def remove_connection(self: Catalog, owner: str, integration: str,
                          name: str) -> dict[str, Any]:
        row = self._connection_row(owner, integration, name)
        integ = self._integration_row(integration)
        with self.db.write() as conn:
            listing_write.drop_connection_tools(conn, self.index, self.tenant, owner,
                                                integration, name)
            tables.delete(conn, "connection", "row_id = ?", (row.row_id,))
            listing_write.drop_unused_bindings(conn, self.tenant, owner, integration,
                                               integ.plugin_id)
            self.index.mark(conn)
        self.forget_minted([row])
        log.info("removed connection %s.%s.%s", integration, owner, name)
        return {"removed": True}

    def forget_minted(self: Catalog, removed: list[ConnectionRow]) -> None:
        """Delete the secret items we minted for these (removed) connections, unless another
        connection still points at one; items a connection only referenced stay."""
        wanted = {(r.provider, item) for r in removed
                  for item in ((loads(r.item_ids) or {}).values()
                               if isinstance(loads(r.item_ids), dict) else [])
                  if isinstance(item, str)}
        if not wanted:
            return
        with self.db.write() as conn:
            in_use = {(c.provider, item) for c in tables.select(conn, ConnectionRow)
                      for item in ((loads(c.item_ids) or {}).values()
                                   if isinstance(loads(c.item_ids), dict) else [])}
            minted = {(str(p), str(i)) for p, i in query_all(
                conn, 'SELECT provider, item_id FROM "executor_local_secret_item"')}
            gone = sorted((wanted & minted) - in_use)
            for prov, item in gone:
                conn.execute('DELETE FROM "executor_local_secret_item" WHERE provider = ? AND '
                             "item_id = ?", (prov, item)).close()
        for prov, item in gone:
            self.secrets.forget(prov, item)

    async def refresh_connection(self: Catalog, owner: str, integration: str,
                                 name: str) -> dict[str, Any]:
        row = self._connection_row(owner, integration, name)
        integ = self._integration_row(integration)
        plugin = self.registry.get(integ.plugin_id)
        creds = await asyncio.to_thread(self.credentials, integ, row)
        listing = await self._list(plugin, integ, creds)
        with self.db.write() as conn:
            count = listing_write.write_listing(
                conn, self.index, tenant=self.tenant, owner=owner, integration=integration,
                plugin_id=integ.plugin_id, plugin=plugin, connection=name, listing=listing,
                now=now_ms())
            listing_write.drop_unused_bindings(conn, self.tenant, owner, integration,
                                               integ.plugin_id)
            tables.update(conn, "connection", {"updated_at": now_ms()}, "row_id = ?",
                          (row.row_id,))
        return {**shapes.connection_json(row), "toolCount": count,
                "warnings": list(listing.warnings)}


def _probe_row(integ: IntegrationRow, template: Any, provider: str,
               item_ids: dict[str, str]) -> ConnectionRow:
    """A connection row not stored, to resolve the credentials of a ``from`` reference."""
    return tables.new_connection(integ.tenant, "org", integ.slug, "probe", str(template),
                                 provider, dumps(item_ids), 0)
