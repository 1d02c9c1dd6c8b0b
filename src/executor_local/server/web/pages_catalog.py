"""An integration's page (its tools, searchable, with the policy of each) and a tool's page
(its schema as TypeScript and JSON Schema, and the rule that decides it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from executor_local.catalog import policies
from executor_local.errors import NotFound
from executor_local.server.http import services, sync
from executor_local.server.web.guard import action, html_response, page, redirect
from executor_local.server.web.html import Markup, join, pretty_json, render, rows_or
from executor_local.server.web.internal import call_api, error_text
from executor_local.server.web.layout import csrf_field
from executor_local.server.web.layout import page as frame
from executor_local.server.web.sessions import Session

ACTION_TEXT = {"approve": "runs", "require_approval": "needs approval", "block": "blocked"}


def effective(rules: list[policies.Rule], tool: dict[str, Any]) -> policies.Effective:
    address = tool["address"].removeprefix("tools.")
    return policies.resolve(rules, address, bool(tool.get("requiresApproval")))


def policy_text(eff: policies.Effective) -> str:
    word = ACTION_TEXT.get(eff.action, eff.action)
    return f"{word} (rule {eff.pattern})" if eff.pattern else f"{word} (tool default)"


def integration_data(cat: Any, slug: str, query: str) -> dict[str, Any]:
    integ = cat.integration(slug)
    rules = cat.rules()
    every = cat.list_tools(integration=slug, include_blocked=True)
    shown = cat.list_tools(integration=slug, query=query or None)
    visible = {t["address"] for t in cat.list_tools(integration=slug)}
    blocked = [t for t in every if t["address"] not in visible]
    return {"integ": integ, "tools": [(t, effective(rules, t)) for t in shown],
            "blocked": blocked, "connections": cat.connections(slug), "total": len(visible)}


@page
async def integration(request: Request, session: Session) -> Response:
    slug = request.path_params["slug"]
    query = request.query_params.get("q", "").strip()
    try:
        d = await sync(integration_data, services(request).catalog, slug, query)
    except NotFound as exc:
        return html_response(frame("Integration", render('<p role="alert">$m</p>',
                                                         m=exc.message), session), 404)
    integ = d["integ"]
    rows = join(render(
        '<tr><th scope="row"><a href="/ui/tools/$qaddr">$name</a></th><td>$desc</td>'
        '<td>$conn</td><td class="policy-$act">$policy</td></tr>',
        qaddr=quote(t["address"], safe="."), name=t["name"], desc=t.get("description") or "",
        conn=f"{t['owner']}.{t['connection']}", act=eff.action, policy=policy_text(eff))
        for t, eff in d["tools"])
    methods = join(render("<li>$label</li>", label=m.get("label") or m.get("id"))
                   for m in integ.get("authMethods") or [])
    conns = join(render("<li>$a</li>", a=c["address"]) for c in d["connections"])
    blocked = join(render("<li><code>$a</code></li>", a=t["address"]) for t in d["blocked"])
    counted = (f"{len(d['tools'])} of {d['total']} tools match “{query}”" if query
               else f"{d['total']} tools")
    body = render(
        '<p>$desc</p><dl><dt>Kind</dt><dd>$kind</dd>$url</dl>'
        '<section aria-labelledby="h-auth"><h2 id="h-auth">Authentication</h2>'
        '<ul>$methods</ul><p>Connections:</p><ul>$conns</ul>'
        '<p><a href="/ui/connections#add-$slug">Add a connection</a></p></section>'
        '<section aria-labelledby="h-tools"><h2 id="h-tools">Tools</h2>'
        '<form method="get" action="/ui/integrations/$slug" role="search" class="inline">'
        '<label for="q">Search tools</label> <input id="q" name="q" type="search" value="$q" '
        'data-filter-table="tools-table" data-filter-count="tools-count"> '
        '<button type="submit">Search</button></form>'
        '<p id="tools-count" aria-live="polite">$counted</p>'
        '<table id="tools-table"><caption>Tools of $name</caption><thead><tr>'
        '<th scope="col">Tool</th><th scope="col">Description</th>'
        '<th scope="col">Connection</th><th scope="col">Policy</th></tr></thead>'
        '<tbody>$rows</tbody></table>'
        '<details><summary>$nblocked blocked by a policy</summary><ul>$blocked</ul>'
        '<p><a href="/ui/policies">Policies</a></p></details></section>'
        '<section aria-labelledby="h-remove"><h2 id="h-remove">Remove</h2>'
        '<form method="post" action="/ui/integrations/$slug/remove">$csrf'
        '<button type="submit" class="danger">Remove $name and its connections</button>'
        '</form></section>',
        desc=integ.get("description") or "", kind=integ.get("kind"),
        url=render("<dt>Address</dt><dd>$u</dd>", u=integ["displayUrl"])
        if integ.get("displayUrl") else Markup(""), methods=methods or Markup("<li>none</li>"),
        conns=conns or Markup("<li>none yet</li>"), slug=integ["slug"], q=query,
        counted=counted, name=integ["name"],
        rows=rows_or(rows, 4, "No tool matches." if query else "No tools (yet)."),
        nblocked=len(d["blocked"]),
        blocked=blocked, csrf=csrf_field(session))
    return html_response(frame(integ["name"], body, session))


@action
async def remove_integration(request: Request, session: Session,
                             _form: dict[str, str]) -> Response:
    slug = request.path_params["slug"]
    status, data = await call_api(request, "DELETE", f"/api/integrations/{quote(slug)}")
    if status >= 400:
        session.say(f"Could not remove {slug}: {error_text(data)}", "error")
        return redirect(f"/ui/integrations/{quote(slug)}")
    session.say(f"Removed {slug}.")
    return redirect("/")


def tool_data(cat: Any, address: str) -> dict[str, Any]:
    view = cat.schema_view(address)
    resolved = cat.resolve_tool(address)
    return {"view": view, "effective": resolved.effective}


@page
async def tool(request: Request, session: Session) -> Response:
    address = request.path_params["address"]
    try:
        d = await sync(tool_data, services(request).catalog, address)
    except NotFound as exc:
        return html_response(frame("Tool", render('<p role="alert">$m</p>', m=exc.message),
                                   session), 404)
    view, eff = d["view"], d["effective"]
    bare = view["address"].removeprefix("tools.")
    body = render(
        '<p><code>$address</code></p><p>$desc</p>'
        '<section aria-labelledby="h-policy"><h2 id="h-policy">Policy</h2>'
        '<p class="policy-$act">$policy</p>'
        '<p><a href="/ui/policies?pattern=$qbare">Write a rule for this tool</a></p></section>'
        '<section aria-labelledby="h-in"><h2 id="h-in">Input</h2><pre>$ints</pre>'
        '<details><summary>JSON Schema</summary><pre>$inschema</pre></details></section>'
        '<section aria-labelledby="h-out"><h2 id="h-out">Output</h2><pre>$outts</pre>'
        '<details><summary>JSON Schema</summary><pre>$outschema</pre></details></section>'
        '$defs',
        address=view["address"], desc=view.get("description") or "", act=eff.action,
        policy=policy_text(eff), qbare=quote(bare, safe=""),
        ints=view.get("inputTypeScript") or "(none)",
        inschema=pretty_json(view.get("inputSchema")),
        outts=view.get("outputTypeScript") or "(none)",
        outschema=pretty_json(view.get("outputSchema")),
        defs=render('<section aria-labelledby="h-defs"><h2 id="h-defs">Definitions</h2>'
                    '<pre>$d</pre></section>',
                    d="\n\n".join(str(v) for v in view["typeScriptDefinitions"].values()))
        if view.get("typeScriptDefinitions") else Markup(""))
    return html_response(frame(view["name"], body, session))
