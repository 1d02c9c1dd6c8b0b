"""The web console in a real browser: headless Debian Chromium driven by Playwright, against a
daemon run from the source tree, the real petstore upstream and the CLI as subprocesses.

One scenario a person walks through (log in through the one-time link, add the petstore with a
preview, connect it, see and search its tools, refuse a pattern that can never match, block a
tool and watch it go, approve a CLI call paused on the page while the CLI waits for it), then the
attacks: a spent ticket, a cross-site form post (even one that knows the CSRF token), a
cross-origin read, and the cookie used on ``/api``. Screenshots of every page land in
``tests/artifacts/web/``.
"""

from __future__ import annotations

import json
import re

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("catalog_util")
import browser  # noqa: E402
from daemon_util import request  # noqa: E402
from proc import wait_for  # noqa: E402
from upstreams.petstore import API_KEY  # noqa: E402
from web_util import EvilSite, api  # noqa: E402

pytest_plugins = ["web_fixtures"]  # daemon, cli, context, chromium, petstore


def test_console_in_a_browser(daemon, cli, context, petstore) -> None:
    origin = f"http://127.0.0.1:{daemon.port}"
    page = context.new_page()
    expect = sync_api.expect

    # -- log in through the one-time link ---------------------------------------------------
    link = cli.run("web", "--no-open").strip()
    assert re.fullmatch(rf"{re.escape(origin)}/login\?ticket=[\w-]{{40,}}", link), link
    page.goto(link)
    assert page.url == origin + "/"  # the ticket is gone from the address bar
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    cookies = [c for c in context.cookies() if c["name"] == f"executor_console_{daemon.port}"]
    assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert daemon.token not in page.content() and daemon.token not in cookies[0]["value"]
    assert page.request.get(link).status == 401  # spent
    page.keyboard.press("Tab")  # the first stop is the skip link, for keyboard users
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    browser.shot(page, "01-overview-empty")

    # -- add the petstore with a preview first -------------------------------------------------
    page.get_by_role("link", name="Add integration").click()
    openapi = page.get_by_role("region", name="OpenAPI")
    openapi.get_by_label("Spec URL or document").fill(petstore.spec_url)
    openapi.get_by_label("Slug").fill("pets")
    openapi.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="OpenAPI").get_by_role("status")).to_contain_text(
        "15 tools")
    expect(page.locator(".preview")).to_contain_text("pets.listPets")
    assert api(daemon, "GET", "/api/integrations")[1] and "pets" not in json.dumps(
        api(daemon, "GET", "/api/integrations")[1])  # a preview stores nothing
    browser.shot(page, "02-add-preview")
    page.get_by_role("region", name="OpenAPI").get_by_role("button", name="Add").click()
    expect(page).to_have_url(f"{origin}/ui/integrations/pets")
    expect(page.locator("#flash")).to_contain_text("Added pets")

    # -- connect it: the secret once, never shown again ----------------------------------------
    page.get_by_role("link", name="Connections").click()
    form = page.locator("form:has(input[name=template][value='apikey-0'])")
    form.locator("input[type=password]").fill(API_KEY)
    browser.shot(page, "03-connections-form")
    form.get_by_role("button", name="Connect").click()
    expect(page).to_have_url(f"{origin}/ui/integrations/pets")
    expect(page.locator("#flash")).to_contain_text("Connected tools.pets.org.main (15 tools)")
    tools = page.locator("#tools-table")
    expect(tools).to_contain_text("pets.listPets")
    expect(tools).to_contain_text("pets.deletePet")
    browser.shot(page, "04-integration")
    page.get_by_role("link", name="Connections").click()
    expect(page.get_by_role("table", name="Connections")).to_contain_text("tools.pets.org.main")
    browser.shot(page, "05-connections")
    assert API_KEY not in page.content()

    # -- see and search its tools; one tool's schema and policy --------------------------------
    page.goto(f"{origin}/ui/integrations/pets")
    page.get_by_label("Search tools").fill("delete")  # live filter (JavaScript)
    expect(page.locator("#tools-count")).to_contain_text("of 15 tools shown")
    expect(page.get_by_role("row", name=re.compile("pets.listPets"))).to_be_hidden()
    page.get_by_label("Search tools").press("Enter")  # the server's search (no JavaScript)
    expect(page).to_have_url(re.compile(r"\?q=delete$"))
    expect(tools).to_contain_text("pets.deletePet")
    page.get_by_role("link", name="pets.deletePet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("pets.deletePet")
    expect(page.get_by_role("region", name="Input")).to_contain_text("petId")
    expect(page.get_by_role("region", name="Policy")).to_contain_text("needs approval")
    browser.shot(page, "06-tool")

    # -- policies: refuse a pattern that can never match, then block one tool -----------------
    page.get_by_role("link", name="Policies").click()
    pattern = page.get_by_label("Pattern")
    pattern.fill("pets.org.main")
    matches = page.locator("#pattern-matches")
    expect(matches).to_contain_text("can never match")
    expect(pattern).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#flash")).to_contain_text("The rule was refused")
    assert api(daemon, "GET", "/api/policies")[1] == []
    page.get_by_label("Pattern").fill("pets.org.main.pets.deletePet")
    expect(matches).to_contain_text("1 tool matches.")
    expect(matches).to_contain_text("pets.org.main.pets.deletePet")
    page.get_by_label("Action").select_option("block")
    browser.shot(page, "07-policies-live")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#flash")).to_contain_text("Added the rule")
    expect(page.get_by_role("table", name="Rules")).to_contain_text(
        "pets.org.main.pets.deletePet")
    browser.shot(page, "08-policies")
    page.goto(f"{origin}/ui/integrations/pets")
    expect(tools).to_contain_text("pets.listPets")
    expect(tools).not_to_contain_text("pets.deletePet")
    expect(page.locator("details")).to_contain_text("1 blocked by a policy")

    # -- a CLI call pauses; approve it on the page; the CLI's call completes -------------------
    waiting = cli.start("call", "--wait", "90", "pets.org.main.pets.createPet",
                        '{"body": {"name": "Kit"}}')
    try:
        def pending() -> bool:
            page.goto(origin + "/")
            return page.get_by_role("region", name="Waiting for approval").get_by_role(
                "link").count() == 1
        wait_for(pending, 30, "the paused call on the overview")
        browser.shot(page, "09-overview")
        page.get_by_role("region", name="Waiting for approval").get_by_role("link").click()
        eid = page.url.rsplit("/", 1)[1]
        expect(page.get_by_role("heading", level=1)).to_have_text("Approve this call?")
        expect(page.locator("dl")).to_contain_text("pets.org.main.pets.createPet")
        expect(page.get_by_role("region", name="Arguments")).to_contain_text('"Kit"')
        assert "Kit" not in {p["name"] for p in petstore.pets.values()}
        browser.shot(page, "10-resume")
        page.get_by_role("button", name="Accept").click()
        expect(page.locator("#flash")).to_contain_text("accepted; it ran")
        expect(page.locator("#result")).to_contain_text('"Kit"')
        browser.shot(page, "11-resume-done")
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 0, (out, err)
    assert json.loads(out)["name"] == "Kit" and f"/resume/{eid}" in err
    assert "Kit" in {p["name"] for p in petstore.pets.values()}
    status, settled = api(daemon, "GET", f"/api/executions/{eid}")
    assert status == 200 and settled["status"] == "completed" and settled["action"] == "accept"
    page.get_by_role("link", name="Executions").click()
    expect(page.get_by_role("table", name="Paused calls and their outcome")).to_contain_text(
        eid)
    browser.shot(page, "12-executions")

    # -- attacks ----------------------------------------------------------------------------
    page.goto(f"{origin}/ui/policies")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    evil = EvilSite(origin)
    try:
        for known in ("guessed", csrf):  # even with the real token, the Origin check refuses
            evil.csrf = known
            with page.expect_response(lambda r: r.url == f"{origin}/ui/policies") as answer:
                page.goto(f"{evil.url}/post")
            assert answer.value.status == 403
        page.goto(f"{evil.url}/read")
        read = page.evaluate("""async (url) => {
            try { const r = await fetch(url, {credentials: 'include'}); return await r.text(); }
            catch (e) { return 'refused: ' + e.name; } }""", f"{origin}/ui/json/matches?pattern=*")
        assert read.startswith("refused"), read
        page.get_by_role("link", name="the console").click()  # a link may be followed
        expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    finally:
        evil.close()
    rules = api(daemon, "GET", "/api/policies")[1]
    assert [r["pattern"] for r in rules] == ["pets.org.main.pets.deletePet"]
    cookie = f"executor_console_{daemon.port}={cookies[0]['value']}"
    for method, path in (("GET", "/api/policies"), ("POST", "/api/policies"), ("POST", "/mcp")):
        status, _h, _t = request(daemon.port, path, method=method, body=b"{}", headers={
            "Cookie": cookie, "Content-Type": "application/json", "Origin": origin})
        assert status == 401, (method, path)  # the cookie is no credential for the API
    status, _h, _t = request(daemon.port, "/ui/policies", method="POST",
                             body=b"pattern=%2A&action=block", headers={
                                 "Cookie": cookie, "Origin": origin,
                                 "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403  # the right Origin but no CSRF token
    assert [r["pattern"] for r in api(daemon, "GET", "/api/policies")[1]] == [
        "pets.org.main.pets.deletePet"]
    for text in [*cli.seen, daemon.err, daemon.out]:
        assert API_KEY not in text and daemon.token not in text
    assert link.split("ticket=")[1] not in daemon.err


def test_console_without_javascript(daemon, cli, chromium, tmp_path) -> None:
    """Every page reads and every form works with JavaScript off: the pattern check is a button
    that posts and redirects, and adding a rule is a plain form post."""
    origin = f"http://127.0.0.1:{daemon.port}"
    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile-nojs"), executable_path=chromium, headless=True,
            args=browser.ARGS, java_script_enabled=False)
        try:
            page = ctx.new_page()
            page.goto(cli.run("web", "--no-open", "/ui/policies").strip())
            assert page.url == f"{origin}/ui/policies"  # landed where the link asked
            page.get_by_label("Pattern").fill("pets.org.main")
            page.get_by_role("button", name="Check pattern").click()
            expect(page.locator("#pattern-matches")).to_contain_text("can never match")
            assert "csrf" not in page.url  # the check posts; the token stays out of URLs
            page.get_by_label("Pattern").fill("pets.*")
            page.get_by_role("button", name="Add rule").click()
            expect(page.locator("#flash")).to_contain_text("Added the rule pets.* → block")
            expect(page.get_by_role("table", name="Rules")).to_contain_text("pets.*")
            browser.shot(page, "20-policies-no-js")
            page.get_by_label("Pattern").fill("*")
            page.get_by_label("Action").select_option("approve")
            page.get_by_role("button", name="Add rule").click()
            order = page.locator("#rules tbody th")
            expect(order).to_have_text(["pets.*", "*"])  # the more specific rule first
            page.get_by_role("button", name="Move * up").click()
            expect(order).to_have_text(["*", "pets.*"])
            assert [r["pattern"] for r in sorted(api(daemon, "GET", "/api/policies")[1],
                                                 key=lambda r: r["position"])] == ["*", "pets.*"]
            page.get_by_role("button", name="Remove *", exact=True).click()
            page.get_by_role("button", name="Remove pets.*").click()
            expect(page.locator("#flash")).to_contain_text("Removed the rule")
            page.goto(f"{origin}/resume/exec_nothing")
            expect(page.get_by_role("alert")).to_contain_text("no execution exec_nothing")
            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Logged out")
            page.goto(f"{origin}/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Log in to the console")
        finally:
            ctx.close()
    assert api(daemon, "GET", "/api/policies")[1] == []


def test_tickets_expire_and_sessions_stay_with_their_host() -> None:
    from executor_local.server.web.sessions import TICKET_TTL_S, WebState

    now = [1000.0]
    state = WebState(clock=lambda: now[0])
    late, _ = state.mint_ticket("/")
    now[0] += TICKET_TTL_S + 1
    assert state.redeem(late, "127.0.0.1:1") is None  # expired
    ticket, _ = state.mint_ticket("/resume/x")
    sid, session, next_path = state.redeem(ticket, "127.0.0.1:1")
    assert next_path == "/resume/x" and state.redeem(ticket, "127.0.0.1:1") is None
    assert state.session(sid, "127.0.0.1:1") is session
    assert state.session(sid, "127.0.0.1:2") is None  # another port's page
    assert state.session(sid, "127.0.0.1:1") is session  # ...did not end it
    state.end(sid)
    assert state.session(sid, "127.0.0.1:1") is None
