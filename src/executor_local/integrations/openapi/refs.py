"""Local ``$ref`` resolution and the rewrite of schema refs to ``#/$defs/<Name>``.

Parameters, request bodies and responses are resolved (following chains of refs, a loop is an
error, not a hang). Schemas are not inlined: a ``#/components/schemas/X`` ref becomes
``#/$defs/X`` and ``X`` is served once per connection in ``Listing.definitions``, as Executor
stores them in the ``definition`` table. That keeps recursive schemas (a tree node that holds
nodes) finite. A ref to some other local place (``#/components/parameters/p/schema``) is inlined
with a guard so a cycle through it stops; a ref to another file cannot be followed offline and
becomes ``{}`` with a warning.
"""

from __future__ import annotations

from typing import Any

SCHEMA_PREFIX = "#/components/schemas/"
DEFS_PREFIX = "#/$defs/"
_MAX_CHAIN = 64


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class Resolver:
    """Resolves local JSON pointers in one document and collects what it could not follow."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._pointers: dict[str, Any] = {}

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warnings.append(message)

    def pointer(self, ref: str) -> Any:
        """The value at a local ``#/...`` pointer, or None (looked up once per pointer)."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        if ref not in self._pointers:
            self._pointers[ref] = self._walk(ref)
        return self._pointers[ref]

    def _walk(self, ref: str) -> Any:
        if ref in ("#", "#/"):
            return self.doc
        node: Any = self.doc
        for raw in ref[2:].split("/"):
            token = unescape(raw)
            if isinstance(node, dict):
                if token not in node:
                    return None
                node = node[token]
            elif isinstance(node, list):
                try:
                    node = node[int(token)]
                except (ValueError, IndexError):
                    return None
            else:
                return None
        return node

    def resolve(self, value: Any, what: str = "object") -> Any:
        """Follow a (chain of) ``$ref`` to the object it names; None when it cannot."""
        seen: list[str] = []
        while isinstance(value, dict) and isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if ref in seen or len(seen) > _MAX_CHAIN:
                self.warn(f"$ref cycle while resolving a {what}: {' -> '.join([*seen, ref])}")
                return None
            seen.append(ref)
            if not ref.startswith("#"):
                self.warn(f"external $ref {ref!r} in a {what} is not supported; it was skipped")
                return None
            target = self.pointer(ref)
            if target is None:
                self.warn(f"$ref {ref!r} in a {what} points at nothing; it was skipped")
                return None
            value = target
        return value

    def schema(self, node: Any, *, nullable_30: bool = False) -> Any:
        """A copy of a schema with component refs as ``#/$defs/...`` and other refs inlined."""
        return self._schema(node, (), nullable_30)

    def _schema(self, node: Any, stack: tuple[str, ...], nullable_30: bool) -> Any:
        if isinstance(node, list):
            return [self._schema(item, stack, nullable_30) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref.startswith(SCHEMA_PREFIX):
                rest = {k: self._schema(v, stack, nullable_30) for k, v in node.items()
                        if k != "$ref"}
                return {"$ref": DEFS_PREFIX + ref[len(SCHEMA_PREFIX):], **rest}
            if ref.startswith(DEFS_PREFIX):
                return dict(node)
            if not ref.startswith("#"):
                self.warn(f"external $ref {ref!r} is not supported; it became an open schema")
                return {}
            if ref in stack:
                self.warn(f"$ref cycle through {ref!r}; the inner reference became an open schema")
                return {}
            target = self.pointer(ref)
            if target is None:
                self.warn(f"$ref {ref!r} points at nothing; it became an open schema")
                return {}
            return self._schema(target, (*stack, ref), nullable_30)
        out = {k: self._schema(v, stack, nullable_30) for k, v in node.items()}
        if nullable_30:
            _nullable_to_type(out)
        return out


def _nullable_to_type(schema: dict[str, Any]) -> None:
    """OpenAPI 3.0's ``nullable`` and boolean exclusive bounds, as JSON Schema says them.

    The catalog validates arguments with JSON Schema; left as-is, ``nullable: true`` would make a
    null argument that the API accepts fail validation.
    """
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
        elif "enum" in schema and isinstance(schema["enum"], list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(bound)
        if isinstance(flag, bool):
            if flag and limit in schema:
                schema[bound] = schema.pop(limit)
            else:
                schema.pop(bound)
