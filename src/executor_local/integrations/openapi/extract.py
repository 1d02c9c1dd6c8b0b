"""Walk a document's paths into operations: parameters, request body, response and servers.

What is kept per operation is what ``invoke`` needs again (Executor's ``OperationBinding``:
method, servers, pathTemplate, parameters, requestBody) plus what naming and the schemas need.
Parameter and body schemas in the binding stay as the spec wrote them (refs to
``#/components/schemas`` included), as Executor stores them in ``plugin_storage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from executor_local.integrations.openapi.refs import Resolver

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
LOCATIONS = ("path", "query", "header", "cookie")
_EXACT_2XX = re.compile(r"^2\d\d$")


@dataclass
class Operation:
    method: str
    path: str  # the pathTemplate sent (``x-executor-pathTemplate`` or the paths key)
    key: str  # the paths key it came from
    operation_id: str | None
    explicit_tool_path: str | None
    tags: list[str]
    summary: str | None
    description: str | None
    deprecated: bool
    parameters: list[dict[str, Any]]
    request_body: dict[str, Any] | None
    response: dict[str, Any] | None
    servers: list[dict[str, Any]] = field(default_factory=list)


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def servers_of(raw: Any, spec_url: str | None) -> list[dict[str, Any]]:
    """Server objects as the binding keeps them; relative URLs resolved against the spec URL."""
    out: list[dict[str, Any]] = []
    for server in raw if isinstance(raw, list) else []:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        url = server["url"].strip()
        if not url:
            continue
        if spec_url and "://" not in url and not url.startswith("{"):
            url = urljoin(spec_url, url)
        entry: dict[str, Any] = {"url": url}
        if _str(server.get("description")):
            entry["description"] = server["description"]
        variables: dict[str, Any] = {}
        for name, var in (server.get("variables") or {}).items():
            if not isinstance(var, dict) or var.get("default") is None:
                continue
            item: dict[str, Any] = {"default": str(var["default"])}
            enum = [v for v in var.get("enum") or [] if isinstance(v, str)]
            if enum:
                item["enum"] = enum
            if isinstance(var.get("description"), str):
                item["description"] = var["description"]
            variables[str(name)] = item
        if variables:
            entry["variables"] = variables
        out.append(entry)
    return out


def _parameters(path_item: dict[str, Any], op: dict[str, Any], r: Resolver) -> list[dict]:
    merged: dict[str, dict[str, Any]] = {}
    for raw in [*(path_item.get("parameters") or []), *(op.get("parameters") or [])]:
        p = r.resolve(raw, "parameter")
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        if p.get("in") not in LOCATIONS:
            continue
        merged[f"{p['in']}:{p['name']}"] = p
    out = []
    for p in merged.values():
        param: dict[str, Any] = {
            "name": p["name"],
            "location": p["in"],
            "required": True if p["in"] == "path" else p.get("required") is True,
        }
        schema = p.get("schema")
        if schema is None and isinstance(p.get("content"), dict):
            # A parameter may carry its schema under ``content`` instead (OpenAPI 3 §4.8.12).
            first = next(iter(p["content"].values()), None)
            schema = first.get("schema") if isinstance(first, dict) else None
        if schema is not None:
            param["schema"] = schema
        # Only well-typed options: Executor decodes the stored binding strictly, and one bad
        # value would make the whole tool unusable there.
        for key, kind in (("style", str), ("explode", bool), ("allowReserved", bool),
                          ("description", str)):
            if isinstance(p.get(key), kind):
                param[key] = p[key]
        out.append(param)
    return out


def _request_body(op: dict[str, Any], r: Resolver) -> dict[str, Any] | None:
    if not op.get("requestBody"):
        return None
    body = r.resolve(op["requestBody"], "request body")
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        return None
    contents = []
    for media_type, media in body["content"].items():
        media = media if isinstance(media, dict) else {}
        entry: dict[str, Any] = {"contentType": media_type}
        if media.get("schema") is not None:
            entry["schema"] = media["schema"]
        if isinstance(media.get("encoding"), dict) and media["encoding"]:
            entry["encoding"] = media["encoding"]
        contents.append(entry)
    if not contents:
        return None
    out: dict[str, Any] = {"required": body.get("required") is True,
                           "contentType": contents[0]["contentType"]}
    if "schema" in contents[0]:
        out["schema"] = contents[0]["schema"]
    out["contents"] = contents
    return out


def _preferred_response_content(content: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(content, dict) or not content:
        return None
    items = [(k, v if isinstance(v, dict) else {}) for k, v in content.items()]
    for test in (lambda m: m == "application/json", lambda m: "+json" in m.lower(),
                 lambda m: "json" in m.lower()):
        for media_type, media in items:
            if test(media_type):
                return media_type, media
    return items[0]


def _response(op: dict[str, Any], r: Resolver) -> dict[str, Any] | None:
    responses = op.get("responses")
    if not isinstance(responses, dict):
        return None
    keys = [str(k) for k in responses]
    ordered = sorted(k for k in keys if _EXACT_2XX.match(k))
    ordered += [k for k in keys if k.lower() == "2xx"] + [k for k in keys if k == "default"]
    for status in ordered:
        raw = responses.get(status)
        if raw is None:
            raw = responses.get(int(status)) if status.isdigit() else None
        resp = r.resolve(raw, "response")
        if not isinstance(resp, dict):
            continue
        picked = _preferred_response_content(resp.get("content"))
        if picked and picked[1].get("schema") is not None:
            return {"contentType": picked[0], "schema": picked[1]["schema"]}
    return None


def extract(doc: dict[str, Any], r: Resolver, spec_url: str | None = None) -> list[Operation]:
    """Every operation of the document, paths in sorted order, methods in Executor's order."""
    doc_servers = servers_of(doc.get("servers"), spec_url)
    if not doc_servers and spec_url:
        # OpenAPI: no servers means "/" on the host the document was served from.
        doc_servers = [{"url": urljoin(spec_url, "/")}]
    paths = doc.get("paths") or {}
    ops: list[Operation] = []
    for key in sorted(paths, key=lambda k: (str(k).casefold(), str(k))):
        item = r.resolve(paths[key], "path item")
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            tags = [t for t in op.get("tags") or [] if isinstance(t, str) and t.strip()]
            servers = (servers_of(op.get("servers"), spec_url)
                       or servers_of(item.get("servers"), spec_url) or doc_servers)
            ops.append(Operation(
                method=method,
                path=_str(op.get("x-executor-pathTemplate")) or str(key),
                key=str(key),
                operation_id=op.get("operationId") if isinstance(op.get("operationId"), str)
                and op.get("operationId") else None,
                explicit_tool_path=_str(op.get("x-executor-toolPath")),
                tags=tags,
                summary=op.get("summary") if isinstance(op.get("summary"), str) else None,
                description=op.get("description") if isinstance(op.get("description"), str)
                else None,
                deprecated=op.get("deprecated") is True,
                parameters=_parameters(item, op, r),
                request_body=_request_body(op, r),
                response=_response(op, r),
                servers=servers,
            ))
    return ops
