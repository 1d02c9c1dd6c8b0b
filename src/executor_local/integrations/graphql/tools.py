"""Introspection -> tools: one ``query.<field>`` / ``mutation.<field>`` per root field, its
arguments as a JSON Schema input (plus the optional ``select`` string), input objects and
enums as shared ``$defs``, and the operation binding the invoke step needs again.

Names, descriptions, input schemas and ``$defs`` follow Executor (``extract.ts``,
``plugin.ts``), so tool rows we write match the ones it writes. The default selection is
every scalar/enum field of the return type that needs no argument (Executor's rule); the
operation text keeps the anonymous form the migrated fixture holds
(``query($id: ID!) { book(id: $id) { id title } }``), which every GraphQL server accepts.
"""

from __future__ import annotations

from typing import Any

from executor_local.integrations.base import Listing, ToolSpec

COMPOSITE = ("OBJECT", "INTERFACE", "UNION")


def type_map(introspection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in introspection["__schema"].get("types") or [] if t.get("name")}


def unwrap(ref: dict[str, Any] | None) -> str:
    while ref is not None:
        if ref.get("name"):
            return str(ref["name"])
        ref = ref.get("ofType")
    return "Unknown"


def type_text(ref: dict[str, Any] | None) -> str:
    """``[String!]!`` notation of a type ref."""
    if ref is None:
        return "Unknown"
    if ref.get("kind") == "NON_NULL":
        return f"{type_text(ref.get('ofType'))}!"
    if ref.get("kind") == "LIST":
        return f"[{type_text(ref.get('ofType'))}]"
    return str(ref.get("name") or "Unknown")


def _scalar(name: str) -> dict[str, Any]:
    if name in ("String", "ID"):
        return {"type": "string"}
    if name == "Int":
        return {"type": "integer"}
    if name == "Float":
        return {"type": "number"}
    if name == "Boolean":
        return {"type": "boolean"}
    return {"type": "string", "description": f"Custom scalar: {name}"}


def json_schema(ref: dict[str, Any] | None) -> dict[str, Any]:
    """A type ref as JSON Schema; enums and input objects point into ``$defs``."""
    if ref is None:
        return {}
    kind = ref.get("kind")
    if kind == "NON_NULL":
        return json_schema(ref.get("ofType"))
    if kind == "LIST":
        return {"type": "array", "items": json_schema(ref.get("ofType"))}
    if kind == "SCALAR":
        return _scalar(ref.get("name") or "String")
    if kind in ("ENUM", "INPUT_OBJECT"):
        if ref.get("name"):
            return {"$ref": f"#/$defs/{ref['name']}"}
        return {"type": "string"} if kind == "ENUM" else {"type": "object"}
    if kind in COMPOSITE:
        return {"type": "object"}
    return {}


def definitions(types: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every input object and enum of the schema, as Executor stores them."""
    defs: dict[str, dict[str, Any]] = {}
    for name, t in types.items():
        if name.startswith("__"):
            continue
        if t.get("kind") == "INPUT_OBJECT" and t.get("inputFields") is not None:
            props: dict[str, Any] = {}
            required: list[str] = []
            for f in t["inputFields"]:
                s = json_schema(f.get("type"))
                if f.get("description"):
                    s["description"] = f["description"]
                props[f["name"]] = s
                if (f.get("type") or {}).get("kind") == "NON_NULL":
                    required.append(f["name"])
            d: dict[str, Any] = {"type": "object", "properties": props}
            if required:
                d["required"] = required
            if t.get("description"):
                d["description"] = t["description"]
            defs[name] = d
        elif t.get("kind") == "ENUM" and t.get("enumValues") is not None:
            d = {"type": "string", "enum": [v["name"] for v in t["enumValues"]
                                            if not v.get("isDeprecated")]}
            if t.get("description"):
                d["description"] = t["description"]
            defs[name] = d
    return defs


def _required_arg(field: dict[str, Any]) -> bool:
    return any((a.get("type") or {}).get("kind") == "NON_NULL" and a.get("defaultValue") is None
               for a in field.get("args") or [])


def default_selection(ref: dict[str, Any] | None, types: dict[str, dict[str, Any]]) -> str:
    """``{ a b c }`` of the scalar fields a caller gets without ``select``; ``""`` for a
    leaf return type; ``{ __typename }`` when a composite has no selectable leaf."""
    target = types.get(unwrap(ref))
    if not target or target.get("kind") not in COMPOSITE:
        return ""
    if not target.get("fields"):
        return "{ __typename }"
    leaves = [f["name"] for f in target["fields"]
              if not f["name"].startswith("__") and not _required_arg(f)
              and not f.get("isDeprecated")
              and (types.get(unwrap(f.get("type"))) or {}).get("kind") not in COMPOSITE]
    return f"{{ {' '.join(leaves)} }}" if leaves else "{ __typename }"


def build_binding(kind: str, field: dict[str, Any],
                  types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The operation binding: the default document, plus the prefix/suffix around the
    field's selection so a caller's ``select`` can be spliced in (Executor's shape)."""
    args = field.get("args") or []
    var_defs = ", ".join(f"${a['name']}: {type_text(a.get('type'))}" for a in args)
    passes = ", ".join(f"{a['name']}: ${a['name']}" for a in args)
    head = f"{kind}({var_defs})" if var_defs else kind
    call = f"{field['name']}({passes})" if passes else field["name"]
    prefix = f"{head} {{ {call}"
    suffix = " }"
    selection = default_selection(field.get("type"), types)
    return {
        "kind": kind,
        "fieldName": field["name"],
        "operationString": f"{prefix}{' ' + selection if selection else ''}{suffix}",
        "variableNames": [a["name"] for a in args],
        "operationPrefix": prefix,
        "operationSuffix": suffix,
    }


def input_schema(field: dict[str, Any], return_type: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for a in field.get("args") or []:
        s = json_schema(a.get("type"))
        if a.get("description"):
            s["description"] = a["description"]
        props[a["name"]] = s
        if (a.get("type") or {}).get("kind") == "NON_NULL":
            required.append(a["name"])
    if "select" not in props:
        props["select"] = {
            "type": "string",
            "description": (
                f"Optional GraphQL selection set for the `{return_type}` return type. "
                "Overrides the default, which selects only scalar fields. Provide the fields "
                "to return, with sub-selections for nested objects and arguments where "
                'required, e.g. "id name items { id title }". Omit for the default.'),
        }
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def root_fields(introspection: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, field) for every query and mutation root field, in schema order."""
    schema = introspection["__schema"]
    types = type_map(introspection)
    out: list[tuple[str, dict[str, Any]]] = []
    for kind, key in (("query", "queryType"), ("mutation", "mutationType")):
        name = (schema.get(key) or {}).get("name")
        root = types.get(name) if name else None
        for f in (root or {}).get("fields") or []:
            # Deprecated fields give no tool, as Executor's introspection leaves them out.
            if not f["name"].startswith("__") and not f.get("isDeprecated"):
                out.append((kind, f))
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("type"), str) and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def output_value(ref: dict[str, Any] | None, types: dict[str, dict[str, Any]],
                 nested: bool = False, nullable: bool = True) -> dict[str, Any]:
    """JSON Schema of what a field returns under the default selection. Objects list their
    scalar fields, none required and more allowed: a ``select`` may drop or add fields, and the
    schema stays true for any selection."""
    if ref is None:
        return {}
    if ref.get("kind") == "NON_NULL":
        return output_value(ref.get("ofType"), types, nested, nullable=False)
    kind = ref.get("kind")
    if kind == "LIST":
        out: dict[str, Any] = {"type": "array",
                               "items": output_value(ref.get("ofType"), types, nested)}
    elif kind == "SCALAR":
        out = _scalar(ref.get("name") or "String")
    elif kind == "ENUM":
        out = {"$ref": f"#/$defs/{ref['name']}"} if ref.get("name") else {"type": "string"}
    elif kind in COMPOSITE:
        target = types.get(unwrap(ref)) or {}
        props: dict[str, Any] = {}
        if not nested:
            for f in target.get("fields") or []:
                leaf = (types.get(unwrap(f.get("type"))) or {}).get("kind") not in COMPOSITE
                if (leaf and not f["name"].startswith("__") and not _required_arg(f)
                        and not f.get("isDeprecated")):
                    props[f["name"]] = output_value(f.get("type"), types, True)
        if not props:
            props["__typename"] = {"type": "string"}
        out = {"type": "object", "properties": props, "additionalProperties": True}
    else:
        return {}
    return _nullable(out) if nullable else out


def output_schema(field: dict[str, Any], types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``data`` of a successful call: ``{<field>: <value>}``."""
    return {"type": "object", "required": [field["name"]],
            "properties": {field["name"]: output_value(field.get("type"), types)}}


def tool_for(kind: str, field: dict[str, Any], types: dict[str, dict[str, Any]]) -> ToolSpec:
    return_type = unwrap(field.get("type"))
    annotations: dict[str, Any] = {}
    if kind == "mutation":
        annotations = {"requiresApproval": True,
                       "approvalDescription": f"mutation {field['name']}"}
    return ToolSpec(
        name=f"{kind}.{field['name']}",
        description=field.get("description") or f"GraphQL {kind}: {field['name']} -> {return_type}",
        input_schema=input_schema(field, return_type),
        output_schema=output_schema(field, types),
        annotations=annotations,
        binding=build_binding(kind, field, types),
    )


def listing(introspection: dict[str, Any]) -> Listing:
    """Every tool of the schema and the shared definitions they point into."""
    types = type_map(introspection)
    return Listing(tools=[tool_for(k, f, types) for k, f in root_fields(introspection)],
                   definitions=definitions(types))


def find_field(introspection: dict[str, Any], kind: str,
               name: str) -> dict[str, Any] | None:
    for k, f in root_fields(introspection):
        if k == kind and f["name"] == name:
            return f
    return None
