"""A tool's input and output JSON Schemas, built from its operation as Executor builds them.

Input: every path, query, header and cookie parameter as a flat property; the request body as
``body`` (``bodyBase64`` for ``application/octet-stream``); ``contentType`` when the body has
several media types; ``server`` when there are several servers or server variables;
``additionalProperties: false`` so a misspelt argument is refused rather than dropped (#1388).
Output: the schema of the first 2xx (then ``2XX``, then ``default``) response.
"""

from __future__ import annotations

from typing import Any

from executor_local.integrations.openapi.extract import Operation
from executor_local.integrations.openapi.refs import Resolver

OCTET = "application/octet-stream"


def _media(ct: str) -> str:
    return ct.split(";")[0].strip().lower()


def server_property(servers: list[dict[str, Any]]) -> dict[str, Any] | None:
    variables: dict[str, dict[str, Any]] = {}
    for server in servers:
        for name, var in (server.get("variables") or {}).items():
            variables.setdefault(name, var)
    if len(servers) <= 1 and not variables:
        return None
    props: dict[str, Any] = {}
    if len(servers) > 1:
        props["url"] = {
            "type": "string",
            "enum": [s["url"] for s in servers],
            "default": servers[0]["url"],
            "description": "Which of the spec's servers to send the request to.",
        }
    if variables:
        props["variables"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: {"type": "string", "default": var["default"],
                       **({"enum": var["enum"]} if var.get("enum") else {}),
                       **({"description": var["description"]} if var.get("description") else {})}
                for name, var in variables.items()
            },
            "description": "Values for the server URL `{variables}`; spec defaults apply when "
                           "omitted.",
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "description": "Optional host selection and server-URL variables for this request.",
    }


def input_schema(op: Operation, r: Resolver, *, nullable_30: bool,
                 with_servers: bool = True) -> dict[str, Any] | None:
    props: dict[str, Any] = {}
    required: list[str] = []
    any_of = None
    for param in op.parameters:
        schema = param.get("schema")
        norm = r.schema(schema, nullable_30=nullable_30) if schema is not None else {
            "type": "string"}
        if param.get("description") and isinstance(norm, dict) and "description" not in norm \
                and "$ref" not in norm:
            norm = {**norm, "description": param["description"]}
        props[param["name"]] = norm
        if param["required"] and param["name"] not in required:
            required.append(param["name"])
    server = server_property(op.servers) if with_servers else None
    if server and "server" not in props:
        props["server"] = server
    body = op.request_body
    if body:
        contents = body.get("contents") or [body]
        default_octet = _media(body["contentType"]) == OCTET
        accepts_octet = default_octet or any(_media(c["contentType"]) == OCTET for c in contents)
        accepts_body = not default_octet or any(
            _media(c["contentType"]) != OCTET for c in contents)
        if accepts_body:
            schema = body.get("schema")
            props["body"] = (r.schema(schema, nullable_30=nullable_30) if schema is not None
                             else {"type": "object"})
        if accepts_octet:
            props["bodyBase64"] = {
                "type": "string",
                "contentEncoding": "base64",
                "contentMediaType": OCTET,
                "description": "Base64-encoded bytes for application/octet-stream request "
                               "bodies. When contentType is omitted, this selects "
                               "application/octet-stream.",
            }
        if body.get("required"):
            if accepts_octet and accepts_body:
                any_of = [{"required": ["body"]}, {"required": ["bodyBase64"]}]
            else:
                required.append("bodyBase64" if accepts_octet else "body")
        if len(contents) > 1:
            props["contentType"] = {
                "type": "string",
                "enum": [c["contentType"] for c in contents],
                "default": body["contentType"],
                "description": "Content-Type for the request body. Declared media types for "
                               "this operation, in spec order.",
            }
    if not props:
        return None
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if any_of:
        out["anyOf"] = any_of
    out["additionalProperties"] = False
    return out


def output_schema(op: Operation, r: Resolver, *, nullable_30: bool) -> Any:
    if not op.response or op.response.get("schema") is None:
        return None
    return r.schema(op.response["schema"], nullable_30=nullable_30)


def definitions(doc: dict[str, Any], r: Resolver, *, nullable_30: bool) -> dict[str, Any]:
    """``components.schemas`` as the ``$defs`` every tool's ``#/$defs/<Name>`` points into."""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    if not isinstance(schemas, dict):
        return {}
    out: dict[str, Any] = {}
    for name, schema in schemas.items():
        norm = r.schema(schema, nullable_30=nullable_30)
        out[str(name)] = norm if isinstance(norm, (dict, bool)) else {}
    return out
