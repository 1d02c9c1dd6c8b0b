"""Policy CRUD over ``tool_policy`` (the API's ``/policies``); the grammar is ``policies``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from executor_local.catalog import policies, shapes
from executor_local.catalog.connections import check_owner
from executor_local.errors import InvalidInput, NotFound
from executor_local.store import tables
from executor_local.store.ids import now_ms, policy_id

if TYPE_CHECKING:
    from executor_local.catalog.service import Catalog


class PolicyNotFound(NotFound):
    code = "policy_not_found"


class PoliciesMixin:
    def policies(self: Catalog) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = tables.policies(conn, self.tenant)
        return [shapes.policy_json(r) for r in rows]

    def create_policy(self: Catalog, owner: str, pattern: str, action: str,
                      position: str | None = None) -> dict[str, Any]:
        check_owner(owner)
        policies.validate_pattern(pattern)
        policies.validate_action(action)
        if position is not None and (not isinstance(position, str) or not position):
            raise InvalidInput("position must be a non-empty string", code="invalid_position")
        with self.db.write() as conn:
            existing = [policies.Rule(r.id, r.owner, r.pattern, r.action, r.position)
                        for r in tables.policies(conn, self.tenant) if r.owner == owner]
            pos = position or policies.position_for(pattern, existing)
            row = tables.new_policy(self.tenant, owner, policy_id(), pattern, action, pos,
                                    now_ms())
            tables.insert(conn, [row])
        return shapes.policy_json(row)

    def update_policy(self: Catalog, pid: str, owner: str, *, pattern: str | None = None,
                      action: str | None = None, position: str | None = None) -> dict[str, Any]:
        check_owner(owner)
        values: dict[str, Any] = {}
        if pattern is not None:
            values["pattern"] = policies.validate_pattern(pattern)
        if action is not None:
            values["action"] = policies.validate_action(action)
        if position is not None:
            if not isinstance(position, str) or not position:
                raise InvalidInput("position must be a non-empty string", code="invalid_position")
            values["position"] = position
        with self.db.write() as conn:
            if tables.policy(conn, self.tenant, owner, pid) is None:
                raise PolicyNotFound(f"no {owner} policy {pid!r}")
            if values:
                values["updated_at"] = now_ms()
                tables.update(conn, "tool_policy", values,
                              "tenant = ? AND owner = ? AND id = ?", (self.tenant, owner, pid))
            row = tables.policy(conn, self.tenant, owner, pid)
        assert row is not None
        return shapes.policy_json(row)

    def remove_policy(self: Catalog, pid: str, owner: str | None = None) -> dict[str, Any]:
        with self.db.write() as conn:
            where, params = "tenant = ? AND id = ?", [self.tenant, pid]
            if owner is not None:
                check_owner(owner)
                where += " AND owner = ?"
                params.append(owner)
            removed = tables.delete(conn, "tool_policy", where, params)
        if not removed:
            raise PolicyNotFound(f"no policy {pid!r}")
        return {"removed": True}
