"""Arguments + binding -> the pieces of one HTTP request (URL, query, headers, body).

Pure and synchronous so it can be tested without a network. Problems a caller can fix (a
missing path parameter, bad base64) raise ``ArgumentProblem``; ``invoke`` turns that into an
``invalid_arguments`` envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

_RESERVED_SAFE = ":/?#[]@!$&'()*+,;="
_CONTAINERS = {
    "path": ("path", "pathParams", "params"),
    "query": ("query", "queryParams", "params"),
    "header": ("headers", "header"),
    "cookie": ("cookies", "cookie"),
}
OCTET = "application/octet-stream"


class ArgumentProblem(ValueError):
    """Arguments that cannot make a request; the message names the argument and why."""


@dataclass
class Prepared:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    content: bytes | None = None
    content_type: str | None = None
    files: list[tuple[str, tuple[None, str, str | None]]] | None = None


def text_of(value: Any) -> str:
    """A scalar as JavaScript's ``String()`` writes it (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def media(ct: str | None) -> str:
    return (ct or "").split(";")[0].strip().lower()


def is_json(ct: str | None) -> bool:
    m = media(ct)
    return bool(m) and (m == "application/json" or "+json" in m or "json" in m)


def read_param(args: dict[str, Any], param: dict[str, Any]) -> Any:
    if args.get(param["name"]) is not None:
        return args[param["name"]]
    for key in _CONTAINERS.get(param["location"], ()):
        box = args.get(key)
        if isinstance(box, dict) and box.get(param["name"]) is not None:
            return box[param["name"]]
    return None


def _query_values(value: Any, param: dict[str, Any]) -> list[tuple[str, str]]:
    name = param["name"]
    style = param.get("style") or "form"
    explode = param.get("explode", True) is not False
    if isinstance(value, list):
        if explode:
            return [(name, text_of(v)) for v in value]
        sep = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        return [(name, sep.join(text_of(v) for v in value))]
    if isinstance(value, dict):
        if style == "deepObject":
            return [(f"{name}[{k}]", text_of(v)) for k, v in value.items() if v is not None]
        if explode:
            return [(str(k), text_of(v)) for k, v in value.items() if v is not None]
        flat = [x for k, v in value.items() if v is not None for x in (str(k), text_of(v))]
        return [(name, ",".join(flat))]
    return [(name, text_of(value))]


def build_path(template: str, args: dict[str, Any], params: list[dict[str, Any]]) -> str:
    path = template
    for param in params:
        if param.get("location") != "path":
            continue
        value = read_param(args, param)
        if value is None:
            if param.get("required", True):
                raise ArgumentProblem(f"missing required path parameter {param['name']!r}")
            continue
        safe = _RESERVED_SAFE if param.get("allowReserved") else ""
        encoded = quote(text_of(value), safe=safe)
        path = path.replace(f"{{{param['name']}}}", encoded).replace(
            f"{{+{param['name']}}}", encoded)
    for name in re.findall(r"\{([^{}]+)\}", path):
        if args.get(name) is not None:
            path = path.replace(f"{{{name}}}", quote(text_of(args[name]), safe=""))
    left = sorted(set(re.findall(r"\{([^{}]+)\}", path)))
    if left:
        raise ArgumentProblem(f"unresolved path parameters: {', '.join(left)}")
    return path if path.startswith("/") else f"/{path}"


def _form(value: dict[str, Any], encoding: dict[str, Any] | None) -> bytes:
    parts: list[tuple[str, str]] = []
    for key, raw in value.items():
        if raw is None:
            continue
        enc = (encoding or {}).get(key) or {}
        parts.extend(_query_values(raw, {"name": key, "style": enc.get("style") or "form",
                                         "explode": enc.get("explode", True)}))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in parts).encode()


def _multipart(value: dict[str, Any], encoding: dict[str, Any] | None
               ) -> list[tuple[str, tuple[None, str, str | None]]]:
    files: list[tuple[str, tuple[None, str, str | None]]] = []
    for key, raw in value.items():
        if raw is None:
            continue
        part_ct = ((encoding or {}).get(key) or {}).get("contentType")
        items = raw if isinstance(raw, list) and not part_ct else [raw]
        for item in items:
            text = item if isinstance(item, str) else text_of(item)
            files.append((key, (None, text, part_ct)))
    return files


def _body(prep: Prepared, binding: dict[str, Any], args: dict[str, Any]) -> None:
    rb = binding.get("requestBody")
    if not isinstance(rb, dict):
        return
    contents = rb.get("contents") or [{"contentType": rb.get("contentType"),
                                       "schema": rb.get("schema")}]
    requested = args.get("contentType") if isinstance(args.get("contentType"), str) else None
    b64 = args.get("bodyBase64")
    body = args.get("body", args.get("input"))
    selected = next((c for c in contents if c.get("contentType") == requested), None)
    if requested and selected is None:
        allowed = ", ".join(str(c.get("contentType")) for c in contents)
        raise ArgumentProblem(f"contentType {requested!r} is not one of {allowed}")
    if selected is None and b64 is not None:
        selected = next((c for c in contents if media(c.get("contentType")) == OCTET), None)
    selected = selected or contents[0]
    ct = str(selected.get("contentType") or rb.get("contentType") or "application/json")
    encoding = selected.get("encoding")
    if b64 is not None:
        if not isinstance(b64, str):
            raise ArgumentProblem("bodyBase64 must be a base64 string")
        try:
            prep.content = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ArgumentProblem("bodyBase64 is not valid base64") from None
        prep.content_type = ct
        return
    if body is None:
        if rb.get("required"):
            raise ArgumentProblem("missing required request body 'body'")
        return
    m = media(ct)
    prep.content_type = ct
    if is_json(ct):
        prep.content = (body if isinstance(body, str)
                        else json.dumps(body, ensure_ascii=False)).encode()
    elif m == "application/x-www-form-urlencoded":
        prep.content = body.encode() if isinstance(body, str) else (
            _form(body, encoding) if isinstance(body, dict) else text_of(body).encode())
    elif m.startswith("multipart/"):
        if isinstance(body, dict):
            prep.files = _multipart(body, encoding)
            prep.content_type = None  # httpx writes the boundary
        else:
            prep.content = text_of(body).encode()
    elif isinstance(body, str):
        prep.content = body.encode()
    else:
        prep.content = json.dumps(body, ensure_ascii=False).encode()


def prepare(binding: dict[str, Any], args: dict[str, Any], *,
            static_headers: dict[str, str] | None = None,
            static_query: dict[str, str] | None = None) -> Prepared:
    params = [p for p in binding.get("parameters") or [] if isinstance(p, dict) and "name" in p]
    prep = Prepared(method=str(binding.get("method", "get")).upper(),
                    path=build_path(str(binding.get("pathTemplate", "/")), args, params))
    prep.query.extend((str(k), str(v)) for k, v in (static_query or {}).items())
    prep.headers.update({str(k): str(v) for k, v in (static_headers or {}).items()})
    missing = [p["name"] for p in params if p.get("required") and p.get("location") != "path"
               and read_param(args, p) is None]
    if missing:
        raise ArgumentProblem(f"missing required parameter(s): {', '.join(missing)}")
    for param in params:
        value = read_param(args, param)
        if value is None:
            continue
        where = param.get("location")
        if where == "query":
            prep.query.extend(_query_values(value, param))
        elif where == "header":
            prep.headers[param["name"]] = text_of(value)
        elif where == "cookie":
            prep.cookies.append((param["name"], text_of(value)))
    _body(prep, binding, args)
    return prep
