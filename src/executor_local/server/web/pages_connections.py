"""Connections: the list, and one form per auth method of each integration.

A secret is typed once into a password field, posted to ``POST /api/connections`` (which puts
it in the keychain or the file store and keeps only the item id), and never shown again: the
page after the post is a redirect, and a refused form comes back without the value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from executor_local.catalog.connections import method_variables
from executor_local.server.http import services, sync
from executor_local.server.web.guard import action, html_response, page, redirect
from executor_local.server.web.html import Markup, join, options, render, rows_or
from executor_local.server.web.internal import call_api, error_text
from executor_local.server.web.layout import csrf_field
from executor_local.server.web.layout import page as frame
from executor_local.server.web.sessions import Session


def data(cat: Any) -> dict[str, Any]:
    integrations = [i for i in cat.integrations() if i.get("kind") != "built-in"]
    configs = {}
    for integ in integrations:
        row = cat._integration_row(integ["slug"])
        configs[integ["slug"]] = cat.plugin_integration(row).config or {}
    return {"integrations": integrations, "connections": cat.connections(),
            "configs": configs, "provider": cat.secrets.default_provider().key}


def method_form(session: Session, integ: dict[str, Any], method: dict[str, Any],
                taken: set[str]) -> Markup:
    slug, template = integ["slug"], str(method.get("slug"))
    variables = method_variables(method)
    name = "main" if "main" not in taken else f"{template}"
    uid = f"{slug}-{template}"
    fields = join(render(
        '<p><label for="v-$uid-$var">$var</label><br><input id="v-$uid-$var" '
        'name="value:$var" type="password" autocomplete="off" required></p>',
        uid=uid, var=var) for var in variables)
    label = next((m.get("label") for m in integ.get("authMethods") or []
                  if m.get("id") == template), template)
    return render(
        '<form method="post" action="/ui/connections" class="card">$csrf'
        '<input type="hidden" name="integration" value="$slug">'
        '<input type="hidden" name="template" value="$template">'
        '<h4>$label</h4>'
        '<p><label for="n-$uid">Connection name</label><br>'
        '<input id="n-$uid" name="name" value="$name" required></p>'
        '<p><label for="o-$uid">Owner</label><br><select id="o-$uid" name="owner">$owners'
        '</select></p>$fields<p><button type="submit" class="primary">Connect</button></p>'
        '</form>', csrf=csrf_field(session), slug=slug, template=template, label=label,
        uid=uid, name=name, owners=options([("org", "org"), ("user", "user")], "org"),
        fields=fields)


@page
async def connections(request: Request, session: Session) -> Response:
    d = await sync(data, services(request).catalog)
    rows = join(render(
        '<tr><th scope="row">$address</th><td>$template</td><td>$provider</td><td>'
        '<form method="post" action="/ui/connections/remove">$csrf'
        '<input type="hidden" name="owner" value="$owner">'
        '<input type="hidden" name="integration" value="$integ">'
        '<input type="hidden" name="name" value="$name">'
        '<button type="submit" class="danger" aria-label="Remove $address">Remove</button>'
        '</form></td></tr>', address=c["address"], template=c["template"],
        provider=c["provider"], csrf=csrf_field(session), owner=c["owner"],
        integ=c["integration"], name=c["name"]) for c in d["connections"])
    sections = []
    for integ in d["integrations"]:
        methods = [m for m in d["configs"][integ["slug"]].get("authenticationTemplate") or []
                   if isinstance(m, dict) and method_variables(m)]
        if not methods:
            continue
        taken = {c["name"] for c in d["connections"] if c["integration"] == integ["slug"]}
        forms = join(method_form(session, integ, m, taken) for m in methods)
        sections.append(render('<section id="add-$slug" aria-labelledby="h-add-$slug">'
                               '<h3 id="h-add-$slug">$name</h3>$forms</section>',
                               slug=integ["slug"], name=integ["name"], forms=forms))
    body = render(
        '<table><caption>Connections</caption><thead><tr><th scope="col">Address</th>'
        '<th scope="col">Auth method</th><th scope="col">Secret store</th>'
        '<th scope="col"><span class="sr-only">Actions</span></th></tr></thead>'
        '<tbody>$rows</tbody></table>'
        '<section aria-labelledby="h-new"><h2 id="h-new">New connection</h2>'
        '<p>A secret you enter here goes to the $provider secret store; the catalog keeps only '
        'its id, and it is never shown again.</p>$sections</section>',
        rows=rows_or(rows, 4, "No connections yet."), provider=d["provider"],
        sections=join(sections) or Markup("<p>No integration needs credentials.</p>"))
    return html_response(frame("Connections", body, session, "/ui/connections"))


@action
async def create(request: Request, session: Session, form: dict[str, str]) -> Response:
    values = {k.split(":", 1)[1]: v for k, v in form.items() if k.startswith("value:")}
    payload: dict[str, Any] = {"integration": form.get("integration", ""),
                               "name": form.get("name", "").strip(),
                               "owner": form.get("owner", "org"),
                               "template": form.get("template") or None}
    if values:
        payload["values"] = values
    status, out = await call_api(request, "POST", "/api/connections", payload)
    values.clear()
    if status >= 400:
        session.say(f"The connection was not made: {error_text(out)}", "error")
        return redirect("/ui/connections")
    count = (out or {}).get("toolCount")
    session.say(f"Connected {out.get('address')} ({count} tools). The secret is stored; it "
                "will not be shown again.")
    return redirect(f"/ui/integrations/{quote(payload['integration'])}")


@action
async def remove(request: Request, session: Session, form: dict[str, str]) -> Response:
    owner, integ, name = (form.get(k, "") for k in ("owner", "integration", "name"))
    path = f"/api/connections/{quote(owner, safe='')}/{quote(integ, safe='')}/" \
           f"{quote(name, safe='')}"
    status, out = await call_api(request, "DELETE", path)
    if status >= 400:
        session.say(f"Could not remove it: {error_text(out)}", "error")
    else:
        session.say(f"Removed {integ}.{owner}.{name}.")
    return redirect("/ui/connections")
