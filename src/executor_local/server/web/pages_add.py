"""Adding an OpenAPI, MCP or GraphQL integration, with a preview first.

Each kind has one form with two buttons: *Preview* asks the API's preview (``/api/openapi/
preview``, ``/api/mcp/probe``) or, for GraphQL, loads the schema through the plugin's own
``load_schema``/``preview``; nothing is stored. *Add* posts to the API's add route. Either way
the form comes back filled in, with the preview or the API's error beside it.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from executor_local.server.web.guard import action, html_response, page, redirect
from executor_local.server.web.html import Markup, join, render
from executor_local.server.web.internal import call_api, error_text
from executor_local.server.web.layout import csrf_field
from executor_local.server.web.layout import page as frame
from executor_local.server.web.sessions import Session

KINDS = ("openapi", "mcp", "graphql")

FORMS = {
    "openapi": """<section aria-labelledby="h-openapi"><h2 id="h-openapi">OpenAPI</h2>
<form method="post" action="/ui/add/openapi">$csrf
<p><label for="openapi-spec">Spec URL or document (JSON or YAML)</label><br>
<textarea id="openapi-spec" name="spec" rows="3" cols="70" required>$spec</textarea></p>
<p><label for="openapi-slug">Slug (optional: one address segment)</label><br>
<input id="openapi-slug" name="slug" value="$slug"></p>
<p><label for="openapi-name">Display name (optional)</label><br>
<input id="openapi-name" name="name" value="$name"></p>
<p><button type="submit" name="step" value="preview">Preview</button>
<button type="submit" name="step" value="add" class="primary">Add</button></p>
</form>$result</section>""",
    "mcp": """<section aria-labelledby="h-mcp"><h2 id="h-mcp">MCP server</h2>
<form method="post" action="/ui/add/mcp">$csrf
<p><label for="mcp-endpoint">Server URL (streamable HTTP)</label><br>
<input id="mcp-endpoint" name="endpoint" size="60" value="$endpoint"></p>
<p><label for="mcp-command">or a command to run (stdio), e.g. <code>npx -y some-server</code>
</label><br><input id="mcp-command" name="command" size="60" value="$command"></p>
<p><label for="mcp-slug">Slug (optional)</label><br>
<input id="mcp-slug" name="slug" value="$slug"></p>
<p><button type="submit" name="step" value="preview">Preview</button>
<button type="submit" name="step" value="add" class="primary">Add</button></p>
</form>$result</section>""",
    "graphql": """<section aria-labelledby="h-graphql"><h2 id="h-graphql">GraphQL</h2>
<form method="post" action="/ui/add/graphql">$csrf
<p><label for="graphql-endpoint">Endpoint URL</label><br>
<input id="graphql-endpoint" name="endpoint" size="60" value="$endpoint" required></p>
<p><label for="graphql-schema">Schema (optional: SDL or introspection JSON; else the endpoint
is introspected)</label><br>
<textarea id="graphql-schema" name="schema" rows="3" cols="70">$schema</textarea></p>
<p><label for="graphql-slug">Slug (optional)</label><br>
<input id="graphql-slug" name="slug" value="$slug"></p>
<p><label for="graphql-name">Display name (optional)</label><br>
<input id="graphql-name" name="name" value="$name"></p>
<p><button type="submit" name="step" value="preview">Preview</button>
<button type="submit" name="step" value="add" class="primary">Add</button></p>
</form>$result</section>""",
}
FIELDS = {"openapi": ("spec", "slug", "name"), "mcp": ("endpoint", "command", "slug"),
          "graphql": ("endpoint", "schema", "slug", "name")}


def form_of(kind: str, session: Session, values: dict[str, str], result: Markup) -> Markup:
    return render(FORMS[kind], csrf=csrf_field(session), result=result,
                  **{f: values.get(f, "") for f in FIELDS[kind]})


def add_page(session: Session, kind: str | None = None, values: dict[str, str] | None = None,
             result: Markup | None = None) -> str:
    body = join(form_of(k, session, (values or {}) if k == kind else {},
                        (result or Markup("")) if k == kind else Markup("")) for k in KINDS)
    intro = Markup("<p>Preview shows what would be added; nothing is stored until Add.</p>")
    return frame("Add an integration", join([intro, body]), session, "/ui/add")


@page
async def add_form(_request: Request, session: Session) -> Response:
    return html_response(add_page(session))


def preview_box(title: str, tools: list[dict[str, Any]], extra: Markup | None = None) -> Markup:
    items = join(render("<li><code>$n</code> $d</li>", n=t.get("name"),
                        d=(t.get("description") or "")[:160]) for t in tools[:200])
    return render('<div class="preview" role="status" aria-live="polite"><h3>$title</h3>$extra'
                  '<p>$count tools</p><ul>$items</ul></div>', title=title,
                  extra=extra or Markup(""), count=len(tools), items=items)


def error_box(text: str) -> Markup:
    return render('<p class="flash error" role="alert">$t</p>', t=text)


def _clean(form: dict[str, str], kind: str) -> dict[str, str]:
    return {f: form.get(f, "").strip() for f in FIELDS[kind]}


def _openapi_body(v: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": v["spec"]}
    if v["slug"]:
        out["slug"] = v["slug"]
    if v["name"]:
        out["name"] = v["name"]
    return out


def _mcp_body(v: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if v["endpoint"]:
        out["endpoint"] = v["endpoint"]
    if v["command"]:
        try:
            argv = shlex.split(v["command"])
        except ValueError as exc:
            raise ValueError(f"the command cannot be split into words: {exc}") from None
        out["command"], out["args"] = argv[0], argv[1:]
    if v["slug"]:
        out["slug"] = v["slug"]
    return out


def _graphql_body(v: dict[str, str]) -> dict[str, Any]:
    return {k: v[k] for k in FIELDS["graphql"] if v[k]}


async def _preview(request: Request, kind: str, data: dict[str, Any]) -> Markup:
    if kind == "openapi":
        status, out = await call_api(request, "POST", "/api/openapi/preview", data)
        if status >= 400:
            return error_box(error_text(out))
        methods = join(render("<li>$m</li>", m=m.get("label") or m.get("kind"))
                       for m in out.get("authMethods") or [])
        extra = render("<p>Base URL: <code>$b</code></p><p>Authentication:</p><ul>$m</ul>",
                       b=out.get("baseUrl") or "", m=methods or Markup("<li>none</li>"))
        return preview_box(out.get("title") or "Preview", out.get("tools") or [], extra)
    if kind == "mcp":
        status, out = await call_api(request, "POST", "/api/mcp/probe", data)
        if status >= 400:
            return error_box(error_text(out))
        if not out.get("connected"):
            return error_box("The server did not accept the connection"
                             + (" (it needs authentication)" if out.get("requiresAuthentication")
                                else "") + ".")
        return preview_box(out.get("name") or out.get("serverName") or "Preview",
                           out.get("tools") or [],
                           render("<p>Slug: <code>$s</code></p>", s=out.get("slug") or ""))
    return await _graphql_preview(data)


async def _graphql_preview(data: dict[str, Any]) -> Markup:
    try:
        from executor_local.integrations.graphql import add as gadd
    except ImportError:
        return error_box("The GraphQL plugin is not in this build.")
    try:
        endpoint = gadd.check_endpoint(data.get("endpoint", ""))
        introspection = await gadd.load_schema(endpoint, schema_text=data.get("schema"),
                                               schema_source="schema")
        shown = gadd.preview(introspection)
    except Exception as exc:  # the plugin's refusal, shown to the person
        return error_box(str(getattr(exc, "message", None) or exc))
    return preview_box(data.get("name") or endpoint, shown["tools"])


ADD_ROUTES = {"openapi": "/api/openapi/specs", "mcp": "/api/mcp/servers",
              "graphql": "/api/graphql/integrations"}
BODIES = {"openapi": _openapi_body, "mcp": _mcp_body, "graphql": _graphql_body}


@action
async def add_post(request: Request, session: Session, form: dict[str, str]) -> Response:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        return html_response(add_page(session), 404)
    values = _clean(form, kind)
    try:
        data = BODIES[kind](values)
    except ValueError as exc:
        return html_response(add_page(session, kind, values, error_box(str(exc))), 400)
    if form.get("step") != "add":
        return html_response(add_page(session, kind, values, await _preview(request, kind,
                                                                            data)))
    status, out = await call_api(request, "POST", ADD_ROUTES[kind], data)
    if status >= 400:
        return html_response(add_page(session, kind, values, error_box(error_text(out))),
                             400)
    slug = (out or {}).get("slug")
    session.say(f"Added {slug}." + ("" if (out or {}).get("toolCount") else
                                     " Add a connection to list its tools."))
    return redirect(f"/ui/integrations/{quote(str(slug))}")
