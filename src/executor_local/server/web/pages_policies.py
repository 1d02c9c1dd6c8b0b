"""Policies: the ordered rules, a form to add one with the tools its pattern matches (live
with JavaScript through ``GET /ui/json/matches``, or with the *Check* button without), moving
a rule up or down, and removing one. A pattern that can never match is refused by the
catalog's own validation (``policies.pattern_problem``), before and after posting."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from executor_local.catalog import policies
from executor_local.server.http import services, sync
from executor_local.server.web.guard import action, html_response, page, redirect, secure
from executor_local.server.web.html import Markup, join, options, render, rows_or
from executor_local.server.web.internal import call_api, error_text
from executor_local.server.web.layout import csrf_field
from executor_local.server.web.layout import page as frame
from executor_local.server.web.sessions import Session

ACTIONS = (("block", "block"), ("require_approval", "require approval"), ("approve", "approve"))
MAX_SHOWN = 200


def matches(cat: Any, pattern: str) -> dict[str, Any]:
    problem = policies.pattern_problem(pattern) if pattern else None
    tools: list[str] = []
    if pattern and problem is None:
        tools = [t["address"].removeprefix("tools.")
                 for t in cat.list_tools(include_blocked=True)
                 if policies.match(pattern, t["address"].removeprefix("tools."))]
    return {"pattern": pattern, "problem": problem, "total": len(tools),
            "matches": tools[:MAX_SHOWN]}


def rules_data(cat: Any) -> dict[str, Any]:
    rules = cat.rules()
    addresses = [t["address"].removeprefix("tools.")
                 for t in cat.list_tools(include_blocked=True)]
    counts = {r.id: sum(1 for a in addresses if policies.match(r.pattern, a)) for r in rules}
    return {"rules": rules, "counts": counts}


def matches_html(found: dict[str, Any]) -> Markup:
    if found["problem"]:
        return render('<p class="flash error">$p</p>', p=found["problem"])
    if not found["pattern"]:
        return Markup("")
    items = join(render("<li><code>$a</code></li>", a=a) for a in found["matches"])
    return render("<p>$n tools match.</p><ul>$items</ul>", n=found["total"], items=items)


@page
async def policies_page(request: Request, session: Session) -> Response:
    cat = services(request).catalog
    pattern = request.query_params.get("pattern", "").strip()
    chosen = request.query_params.get("action", "block")
    d = await sync(rules_data, cat)
    found = await sync(matches, cat, pattern)
    rows = []
    for i, rule in enumerate(d["rules"]):
        rows.append(render(
            '<tr><td>$n</td><td>$owner</td><th scope="row"><code>$pattern</code></th>'
            '<td class="policy-$action">$action</td><td>$count</td><td class="buttons">'
            '<form method="post" action="/ui/policies/$qid/move">$csrf'
            '<input type="hidden" name="owner" value="$owner">'
            '<button type="submit" name="direction" value="up" aria-label="Move $pattern up">'
            'Up</button> <button type="submit" name="direction" value="down" '
            'aria-label="Move $pattern down">Down</button></form>'
            '<form method="post" action="/ui/policies/$qid/remove">$csrf'
            '<input type="hidden" name="owner" value="$owner">'
            '<button type="submit" class="danger" aria-label="Remove $pattern">Remove</button>'
            '</form></td></tr>', n=i + 1, owner=rule.owner, pattern=rule.pattern,
            action=rule.action, count=d["counts"][rule.id], qid=quote(rule.id, safe=""),
            csrf=csrf_field(session)))
    body = render(
        '<p>Rules are tried in this order (each owner’s first match counts; the strictest of '
        'org and user wins). A tool no rule matches keeps its default.</p>'
        '<table id="rules"><caption>Rules</caption><thead><tr><th scope="col">#</th>'
        '<th scope="col">Owner</th><th scope="col">Pattern</th><th scope="col">Action</th>'
        '<th scope="col">Tools matched</th><th scope="col"><span class="sr-only">Change'
        '</span></th></tr></thead><tbody>$rows</tbody></table>'
        '<section aria-labelledby="h-new"><h2 id="h-new">New rule</h2>'
        '<form method="post" action="/ui/policies" id="policy-form">$csrf'
        '<p><label for="pattern">Pattern</label><br><input id="pattern" name="pattern" '
        'size="50" value="$pattern" required aria-describedby="pattern-help pattern-matches" '
        'data-matches-url="/ui/json/matches" data-matches-target="pattern-matches"></p>'
        '<p id="pattern-help" class="muted">&lt;integration&gt;.&lt;owner&gt;.&lt;connection'
        '&gt;.&lt;tool&gt;; <code>*</code> is one whole segment, a trailing <code>*</code> '
        'everything below: <code>*</code>, <code>petstore.*</code>, '
        '<code>petstore.org.main.pets.*</code>.</p>'
        '<p><label for="action">Action</label><br><select id="action" name="action">$actions'
        '</select></p><p><label for="owner">Owner</label><br><select id="owner" name="owner">'
        '$owners</select></p>'
        '<p><button type="submit" name="step" value="check">Check pattern</button> '
        '<button type="submit" name="step" value="add" class="primary">Add rule</button></p>'
        '</form>'
        '<div id="pattern-matches" aria-live="polite">$found</div></section>',
        rows=rows_or(join(rows), 6, "No rules: every tool keeps its default."),
        csrf=csrf_field(session), pattern=pattern,
        actions=options(ACTIONS, chosen), owners=options([("org", "org"), ("user", "user")],
                                                         "org"),
        found=matches_html(found))
    return html_response(frame("Policies", body, session, "/ui/policies"))


@page
async def matches_json(request: Request, _session: Session) -> Response:
    found = await sync(matches, services(request).catalog,
                       request.query_params.get("pattern", "").strip())
    return secure(JSONResponse(found))


@action
async def create(request: Request, session: Session, form: dict[str, str]) -> Response:
    pattern = form.get("pattern", "").strip()
    if form.get("step") == "check":  # post, then redirect: the CSRF token stays out of the URL
        return redirect(f"/ui/policies?pattern={quote(pattern, safe='')}"
                        f"&action={quote(form.get('action', ''), safe='')}")
    body = {"pattern": pattern, "action": form.get("action", ""),
            "owner": form.get("owner", "org")}
    status, out = await call_api(request, "POST", "/api/policies", body)
    if status >= 400:
        session.say(f"The rule was refused: {error_text(out)}", "error")
        return redirect(f"/ui/policies?pattern={quote(pattern, safe='')}")
    session.say(f"Added the rule {pattern} → {body['action']}.")
    return redirect("/ui/policies")


def new_position(cat: Any, pid: str, owner: str, direction: str) -> str | None:
    mine = [r for r in cat.rules() if r.owner == owner]
    index = next((i for i, r in enumerate(mine) if r.id == pid), None)
    if index is None:
        return None
    if direction == "up":
        if index == 0:
            return None
        lo = mine[index - 2].position if index >= 2 else None
        hi = mine[index - 1].position
    else:
        if index == len(mine) - 1:
            return None
        lo = mine[index + 1].position
        hi = mine[index + 2].position if index + 2 < len(mine) else None
    if lo is not None and hi is not None and not lo < hi:
        return None
    return policies.key_between(lo, hi)


@action
async def move(request: Request, session: Session, form: dict[str, str]) -> Response:
    pid, owner = request.path_params["policy_id"], form.get("owner", "org")
    position = await sync(new_position, services(request).catalog, pid, owner,
                          form.get("direction", ""))
    if position is None:
        session.say("That rule cannot move further.")
        return redirect("/ui/policies")
    status, out = await call_api(request, "PATCH", f"/api/policies/{quote(pid, safe='')}",
                                 {"owner": owner, "position": position})
    session.say("Moved." if status < 400 else f"Could not move it: {error_text(out)}",
                "ok" if status < 400 else "error")
    return redirect("/ui/policies")


@action
async def remove(request: Request, session: Session, form: dict[str, str]) -> Response:
    pid = request.path_params["policy_id"]
    status, out = await call_api(request, "DELETE", f"/api/policies/{quote(pid, safe='')}",
                                 {"owner": form.get("owner", "org")})
    session.say("Removed the rule." if status < 400 else f"Could not remove it: "
                f"{error_text(out)}", "ok" if status < 400 else "error")
    return redirect("/ui/policies")
