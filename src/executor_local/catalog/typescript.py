"""JSON Schema → TypeScript type text, for ``describe`` (``inputTypeScript`` and friends).

Small and total: any schema renders to something (``unknown`` when nothing better), ``$ref``s to
``#/$defs/Name`` (or ``#/components/schemas/Name``) become the type's name, cycles are safe
because references are never expanded inline.
"""

from __future__ import annotations

import json
import re
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
MAX_DEPTH = 12


def ref_name(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_$]", "_", name) or "Unknown"


def render(schema: Any, depth: int = 0) -> str:
    if depth > MAX_DEPTH:
        return "unknown"
    if schema is True or schema is None or schema == {}:
        return "unknown"
    if schema is False:
        return "never"
    if not isinstance(schema, dict):
        return "unknown"
    if isinstance(schema.get("$ref"), str):
        return ref_name(schema["$ref"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if isinstance(schema.get("enum"), list):
        return " | ".join(json.dumps(v) for v in schema["enum"]) or "never"
    for key, sep in (("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")):
        if isinstance(schema.get(key), list) and schema[key]:
            return "(" + sep.join(render(s, depth + 1) for s in schema[key]) + ")"
    typ = schema.get("type")
    if isinstance(typ, list):
        return " | ".join(render({**schema, "type": t}, depth + 1) for t in typ)
    if typ == "string":
        return "string"
    if typ in ("integer", "number"):
        return "number"
    if typ == "boolean":
        return "boolean"
    if typ == "null":
        return "null"
    if typ == "array" or "items" in schema:
        inner = render(schema.get("items"), depth + 1)
        return f"Array<{inner}>"
    if typ == "object" or "properties" in schema:
        return _object(schema, depth)
    return "unknown"


def _object(schema: dict[str, Any], depth: int) -> str:
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    pad = "  " * (depth + 1)
    lines = []
    for name, sub in props.items():
        key = name if _IDENT.match(name) else json.dumps(name)
        opt = "" if name in required else "?"
        doc = sub.get("description") if isinstance(sub, dict) else None
        if isinstance(doc, str) and doc.strip():
            lines.append(f"{pad}/** {doc.strip()[:200].replace('*/', '* /')} */")
        lines.append(f"{pad}{key}{opt}: {render(sub, depth + 1)};")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        lines.append(f"{pad}[key: string]: {render(extra, depth + 1)};")
    if not lines:
        return "Record<string, unknown>" if extra is not False else "{}"
    return "{\n" + "\n".join(lines) + "\n" + "  " * depth + "}"


def definitions(defs: dict[str, Any]) -> dict[str, str]:
    return {name: render(schema) for name, schema in defs.items()}
