"""The overview, the history of executions and the approval page ``/resume/<id>``."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from executor_local.server.http import services, sync
from executor_local.server.web.guard import action, html_response, page, redirect
from executor_local.server.web.html import Markup, join, pretty_json, render, rows_or, when
from executor_local.server.web.internal import call_api, error_text
from executor_local.server.web.layout import csrf_field
from executor_local.server.web.layout import page as frame
from executor_local.server.web.sessions import Session


def health(integ: dict[str, Any], tools: int, connections: int) -> str:
    """A one-word state a person can act on."""
    needs_auth = any(m.get("kind") != "none" for m in integ.get("authMethods") or [])
    if tools:
        return "ok"
    if needs_auth and not connections:
        return "needs a connection"
    return "no tools"


def overview_data(svc: Any) -> dict[str, Any]:
    cat = svc.catalog
    integrations = [i for i in cat.integrations() if i.get("kind") != "built-in"]
    tools = Counter(t["integration"] for t in cat.list_tools())
    every = Counter(t["integration"] for t in cat.list_tools(include_blocked=True))
    connections = cat.connections()
    per = Counter(c["integration"] for c in connections)
    pending = svc.executions.history(status="paused", limit=100)
    return {"integrations": integrations, "tools": tools, "every": every, "per": per,
            "connections": connections, "pending": pending}


def pending_list(pending: list[dict[str, Any]]) -> Markup:
    if not pending:
        return Markup("<p>Nothing waits for your approval.</p>")
    rows = join(render('<li><a href="/resume/$id">$address</a> <span class="muted">since '
                       '$when</span></li>', id=p["executionId"], address=p.get("address") or
                       p["executionId"], when=when(p.get("createdAt"))) for p in pending)
    return render('<ul class="pending">$rows</ul>', rows=rows)


@page
async def overview(request: Request, session: Session) -> Response:
    d = await sync(overview_data, services(request))
    rows = join(render(
        '<tr><th scope="row"><a href="/ui/integrations/$slug">$name</a></th><td>$kind</td>'
        '<td>$tools</td><td>$blocked</td><td>$conns</td><td class="health-$hc">$health</td>'
        '</tr>', slug=i["slug"], name=i["name"], kind=i["kind"], tools=d["tools"][i["slug"]],
        blocked=d["every"][i["slug"]] - d["tools"][i["slug"]], conns=d["per"][i["slug"]],
        health=(h := health(i, d["tools"][i["slug"]], d["per"][i["slug"]])),
        hc=h.replace(" ", "-")) for i in d["integrations"])
    table = render(
        '<table><caption>Integrations</caption><thead><tr><th scope="col">Name</th>'
        '<th scope="col">Kind</th><th scope="col">Tools</th><th scope="col">Blocked</th>'
        '<th scope="col">Connections</th><th scope="col">Health</th></tr></thead>'
        '<tbody>$rows</tbody></table>', rows=rows) if d["integrations"] else Markup(
        '<p>No integrations yet. <a href="/ui/add">Add one</a>.</p>')
    conns = join(render('<li>$address <span class="muted">($template, $provider)</span></li>',
                        address=c["address"], template=c["template"], provider=c["provider"])
                 for c in d["connections"])
    body = render(
        '<section aria-labelledby="h-pending"><h2 id="h-pending">Waiting for approval</h2>'
        '$pending</section>'
        '<section aria-labelledby="h-integrations"><h2 id="h-integrations">Integrations</h2>'
        '$table</section>'
        '<section aria-labelledby="h-connections"><h2 id="h-connections">Connections</h2>'
        '$conns</section>',
        pending=pending_list(d["pending"]), table=table,
        conns=render("<ul>$c</ul>", c=conns) if d["connections"] else Markup(
            '<p>No connections. <a href="/ui/connections">Add one</a>.</p>'))
    return html_response(frame("Overview", body, session, "/"))


@page
async def executions(request: Request, session: Session) -> Response:
    svc = services(request)
    stored = await sync(svc.executions.history, limit=200)
    known = {e["executionId"] for e in stored}
    memory = [e for e in svc.executions.recent() if e.get("executionId") not in known]

    def outcome(e: dict[str, Any]) -> str:
        result = e.get("result")
        if isinstance(result, dict) and "ok" in result:
            return "ok" if result["ok"] else f"failed: {(result.get('error') or {}).get('code')}"
        return e.get("status") or ""

    rows = join(render(
        '<tr><td><a href="/resume/$id">$id</a></td><td>$kind</td><td>$address</td>'
        '<td>$state</td><td>$action</td><td>$outcome</td><td>$origin</td><td>$when</td></tr>',
        id=e["executionId"], kind=e.get("kind", ""), address=e.get("address", ""),
        state=e.get("state", ""), action=e.get("action") or "", outcome=outcome(e),
        origin=e.get("origin", ""), when=when(e.get("updatedAt"))) for e in stored)
    mem_rows = join(render('<tr><td>$id</td><td>$outcome</td></tr>', id=e["executionId"],
                           outcome=outcome(e)) for e in memory)
    body = render(
        '<p>Every call that paused for approval is kept (a week after it settles); calls that '
        'ran at once are listed below while this daemon runs.</p>'
        '<table><caption>Paused calls and their outcome</caption><thead><tr>'
        '<th scope="col">Execution</th><th scope="col">Kind</th><th scope="col">Tool</th>'
        '<th scope="col">State</th><th scope="col">Answer</th><th scope="col">Outcome</th>'
        '<th scope="col">From</th><th scope="col">Updated</th></tr></thead><tbody>$rows'
        '</tbody></table>'
        '<table><caption>Calls that ran at once (this daemon run)</caption><thead><tr>'
        '<th scope="col">Execution</th><th scope="col">Outcome</th></tr></thead>'
        '<tbody>$mem</tbody></table>', rows=rows_or(rows, 8, "No call has paused yet."),
        mem=rows_or(mem_rows, 2, "None since this daemon started."))
    return html_response(frame("Executions", body, session, "/ui/executions"))


@page
async def resume_page(request: Request, session: Session) -> Response:
    eid = request.path_params["execution_id"]
    found = await sync(services(request).executions.get, eid)
    if found is None:
        body = render('<p role="alert">There is no execution $id (it may have expired or '
                      'belong to another data dir).</p>', id=eid)
        return html_response(frame("Approval", body, session), 404)
    interaction = found.get("interaction") or {}
    args = interaction.get("args") if "args" in interaction else None
    parts = [render('<dl><dt>Execution</dt><dd><code>$id</code></dd><dt>Tool</dt>'
                    '<dd><code>$address</code></dd><dt>State</dt><dd id="state">$state</dd>'
                    '<dt>Asked</dt><dd>$created</dd><dt>Expires</dt><dd>$expires</dd></dl>',
                    id=eid, address=found.get("address") or interaction.get("address") or "",
                    state=found.get("state") or found.get("status"),
                    created=when(found.get("createdAt")),
                    expires=when(found.get("expiresAt")))]
    if found.get("status") == "paused":
        parts.append(render('<p class="message">$m</p>', m=interaction.get("message") or
                            "This call needs your approval."))
        if args is not None:
            parts.append(render('<section aria-labelledby="h-args"><h2 id="h-args">Arguments'
                                '</h2><pre>$a</pre></section>', a=pretty_json(args)))
        parts.append(render(
            '<form method="post" action="/resume/$id" class="decide">$csrf'
            '<button type="submit" name="action" value="accept" class="primary">Accept'
            '</button> <button type="submit" name="action" value="decline">Decline</button>'
            '</form>', id=eid, csrf=csrf_field(session)))
    else:
        parts.append(render('<section aria-labelledby="h-result"><h2 id="h-result">Outcome'
                            '</h2><pre id="result">$r</pre></section>',
                            r=pretty_json(found.get("result"))))
    title = "Approve this call?" if found.get("status") == "paused" else "Execution"
    return html_response(frame(title, join(parts), session))


@action
async def resume_post(request: Request, session: Session, form: dict[str, str]) -> Response:
    eid = request.path_params["execution_id"]
    choice = form.get("action", "")
    if choice not in ("accept", "decline"):
        session.say("Choose Accept or Decline.", "error")
        return redirect(f"/resume/{quote(eid, safe='')}")
    before = await sync(services(request).executions.get, eid)
    if before is not None and before.get("status") != "paused":
        session.say("This call was already answered; its outcome is below.")
        return redirect(f"/resume/{quote(eid, safe='')}")
    status, data = await call_api(request, "POST", f"/api/executions/{quote(eid, safe='')}"
                                  "/resume", {"action": choice})
    if status >= 400:
        session.say(f"Could not {choice}: {error_text(data)}", "error")
    else:
        result = (data or {}).get("result") or {}
        verdict = "accepted" if choice == "accept" else "declined"
        ok = "it ran" if result.get("ok") else "it did not succeed"
        session.say(f"The call was {verdict}; {ok}.")
    return redirect(f"/resume/{quote(eid, safe='')}")
