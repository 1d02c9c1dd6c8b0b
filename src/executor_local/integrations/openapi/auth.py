"""Auth methods from ``securitySchemes``, in Executor's ``authenticationTemplate`` format.

One method per security requirement (a set of schemes used together), as Executor's preview
derives them; a spec that declares schemes but no ``security`` gets one method per scheme. The
stored shape is Executor's, so 1.5.9 reads our configs: ``{"slug", "kind": "apikey", "label"?,
"placements": [{"carrier": "header"|"query", "name", "prefix"?, "variable"?}]}`` or
``{"slug", "kind": "oauth2", "authorizationUrl", "tokenUrl", "scopes"}``.

Better than Executor on purpose: a query API key becomes a ``query`` placement (Executor only
labels it, leaving a method that sends nothing); schemes used together each get their own input
variable instead of all rendering the one token. Cookie API keys and OpenID Connect cannot be
stored in Executor's format (its carriers are header and query), so they are reported, not stored.
OAuth 2 methods are recorded for a later issue and are not usable yet.
"""

from __future__ import annotations

from typing import Any

from executor_local.integrations.openapi.naming import camel
from executor_local.integrations.openapi.refs import Resolver

TOKEN = "token"


def security_schemes(doc: dict[str, Any], r: Resolver) -> list[dict[str, Any]]:
    """The declared schemes in Executor's preview shape (``name, type, scheme?, in?, ...``)."""
    raw = (doc.get("components") or {}).get("securitySchemes") or {}
    out = []
    for name, value in raw.items() if isinstance(raw, dict) else []:
        scheme = r.resolve(value, "security scheme")
        if not isinstance(scheme, dict) or scheme.get("type") not in (
                "http", "apiKey", "oauth2", "openIdConnect", "mutualTLS"):
            continue
        entry: dict[str, Any] = {"name": str(name), "type": scheme["type"]}
        for src, dst in (("scheme", "scheme"), ("bearerFormat", "bearerFormat"), ("in", "in"),
                         ("name", "headerName"), ("description", "description"),
                         ("openIdConnectUrl", "openIdConnectUrl")):
            if isinstance(scheme.get(src), str):
                entry[dst] = scheme[src].lower() if src == "scheme" else scheme[src]
        if scheme["type"] == "oauth2" and isinstance(scheme.get("flows"), dict):
            entry["flows"] = scheme["flows"]
        out.append(entry)
    return out


def strategies(doc: dict[str, Any], schemes: list[dict[str, Any]]) -> list[list[str]]:
    """The sets of schemes used together: the document's, every operation's, else each scheme."""
    known = {s["name"] for s in schemes}
    seen: list[list[str]] = []

    def add(requirements: Any) -> None:
        for req in requirements if isinstance(requirements, list) else []:
            if isinstance(req, dict):
                names = [n for n in req if n in known]
                if names and names not in seen:
                    seen.append(names)

    add(doc.get("security"))
    for item in (doc.get("paths") or {}).values():
        if isinstance(item, dict):
            for op in item.values():
                if isinstance(op, dict) and "security" in op:
                    add(op["security"])
    used = {n for names in seen for n in names}
    seen.extend([s["name"]] for s in schemes if s["name"] not in used)
    return seen


def _placement(scheme: dict[str, Any]) -> tuple[dict[str, Any] | None, str, str | None]:
    """A scheme's placement, its label, and why it cannot be used (None when it can)."""
    name, kind = scheme["name"], scheme["type"]
    if kind == "http":
        http = scheme.get("scheme", "")
        if http == "bearer":
            return ({"carrier": "header", "name": "Authorization", "prefix": "Bearer "},
                    f"Bearer token ({name})", None)
        if http == "basic":
            return ({"carrier": "header", "name": "Authorization", "prefix": "Basic "},
                    f"Basic auth ({name})", None)
        return None, f"{name} (HTTP {http or '?'})", f"HTTP auth scheme {http!r} is not supported"
    if kind == "apiKey":
        where, header = scheme.get("in"), scheme.get("headerName") or name
        if where == "header":
            return {"carrier": "header", "name": header}, f"API key {header} ({name})", None
        if where == "query":
            return ({"carrier": "query", "name": header},
                    f"API key ?{header}= ({name})", None)
        return (None, f"API key cookie {header} ({name})",
                f"API key in a {where or 'unknown place'} ({header}) cannot be stored as a "
                "connection method yet")
    if kind == "openIdConnect":
        return None, f"OpenID Connect ({name})", "OpenID Connect is not supported yet"
    return None, f"{name} ({kind})", f"security scheme type {kind!r} is not supported"


def _oauth_methods(scheme: dict[str, Any], base_url: str | None) -> list[dict[str, Any]]:
    from urllib.parse import urljoin

    flows = scheme.get("flows") or {}
    out = []
    for flow in ("authorizationCode", "clientCredentials"):
        f = flows.get(flow)
        if not isinstance(f, dict) or not isinstance(f.get("tokenUrl"), str):
            continue
        if flow == "authorizationCode" and not isinstance(f.get("authorizationUrl"), str):
            continue
        scopes = list((f.get("scopes") or {}).keys()) if isinstance(f.get("scopes"), dict) else []
        if flow == "authorizationCode":
            scopes += [s for s in ("openid", "email", "profile") if s not in scopes]

        def absolute(url: str) -> str:
            return urljoin(base_url, url) if url and base_url and "://" not in url else url

        both = isinstance(flows.get("authorizationCode"), dict)
        suffix = "-client-credentials" if flow == "clientCredentials" and both else ""
        out.append({
            "slug": f"oauth-{scheme['name']}{suffix}",
            "kind": "oauth2",
            "authorizationUrl": absolute(f.get("authorizationUrl") or ""),
            "tokenUrl": absolute(f["tokenUrl"]),
            "scopes": scopes,
        })
    return out


def derive_methods(doc: dict[str, Any], r: Resolver,
                   base_url: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """``(authenticationTemplate, warnings)`` for a document."""
    schemes = security_schemes(doc, r)
    by_name = {s["name"]: s for s in schemes}
    methods: list[dict[str, Any]] = []
    warnings: list[str] = []
    index = 0
    for names in strategies(doc, schemes):
        placements, labels, problems = [], [], []
        for name in names:
            scheme = by_name[name]
            if scheme["type"] == "oauth2":
                for m in _oauth_methods(scheme, base_url):
                    if all(m["slug"] != x["slug"] for x in methods):
                        methods.append(m)
                continue
            placement, label, problem = _placement(scheme)
            labels.append(label)
            if problem:
                problems.append(problem)
            elif placement:
                placements.append((name, placement))
        if problems:
            warnings.extend(f"auth {' + '.join(labels)}: {p}" for p in problems)
            continue
        if not placements:
            continue
        if len(placements) > 1:  # each scheme of a combination is its own input
            rendered = [{**p, "variable": camel(n)} for n, p in placements]
        else:
            rendered = [placements[0][1]]
        methods.append({"slug": f"apikey-{index}", "kind": "apikey",
                        "label": " + ".join(labels), "placements": rendered})
        index += 1
    return methods, warnings


def describe_method(method: dict[str, Any]) -> dict[str, Any]:
    """One ``authenticationTemplate`` entry as the API's ``authMethods`` shows it."""
    slug = str(method.get("slug", ""))
    kind = method.get("kind")
    if kind == "oauth2":
        return {"id": slug, "label": method.get("label") or "OAuth2", "kind": "oauth",
                "template": slug, "usable": False,
                "oauth": {"authorizationUrl": method.get("authorizationUrl"),
                          "tokenUrl": method.get("tokenUrl"),
                          "scopes": list(method.get("scopes") or [])}}
    if kind == "none":
        return {"id": slug, "label": "No authentication", "kind": "none", "template": slug}
    placements = [p for p in method.get("placements") or [] if isinstance(p, dict)]
    label = method.get("label")
    if not (isinstance(label, str) and label.strip()):
        first = next((p for p in placements if str(p.get("name", "")).strip()), None)
        label = f"API key ({first['name']})" if first else f"API key ({slug})"
    return {
        "id": slug,
        "label": label,
        "kind": "apikey",
        "template": slug,
        "placements": [
            {"carrier": p.get("carrier", "header"), "name": p.get("name"),
             "prefix": p.get("prefix") or "",
             **({"variable": p["variable"]} if p.get("variable") is not None else {}),
             **({"literal": p["literal"]} if p.get("literal") is not None else {})}
            for p in placements
        ],
    }


def describe_methods(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The integration's ``authMethods`` view from its config."""
    methods = config.get("authenticationTemplate") if isinstance(config, dict) else None
    return [describe_method(m) for m in methods or [] if isinstance(m, dict)]


def required_variables(method: dict[str, Any] | None) -> list[str]:
    """The credential inputs a method's placements need (an oauth method needs ``token``)."""
    if not method:
        return []
    if method.get("kind") == "oauth2":
        return [TOKEN]
    if method.get("kind") == "none":
        return []
    names: list[str] = []
    for p in method.get("placements") or []:
        if isinstance(p, dict) and p.get("literal") is None:
            v = p.get("variable") or TOKEN
            if v not in names:
                names.append(v)
    return names
