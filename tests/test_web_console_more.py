"""More of the web console: the other integration kinds added through the page, an agent's MCP
call approved on ``/resume/<id>``, every console path without a session, escaping, and the
console served by the shiv bundle."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("catalog_util")
import browser  # noqa: E402
from daemon_util import request  # noqa: E402
from upstreams.petstore import API_KEY  # noqa: E402
from web_util import api  # noqa: E402

pytest_plugins = ["web_fixtures"]  # daemon, cli, context, chromium, petstore


def test_add_mcp_and_graphql_with_a_preview(daemon, cli, context) -> None:
    """The other two kinds through the add page: an MCP server over streamable HTTP (the
    official SDK's) and a GraphQL endpoint introspected live, each previewed, then added."""
    from upstreams.graphql_server import running
    from upstreams.mcp_upstream import HttpUpstream

    origin = f"http://127.0.0.1:{daemon.port}"
    expect = sync_api.expect
    page = context.new_page()
    page.goto(cli.run("web", "--no-open", "/ui/add").strip())
    with HttpUpstream() as mcp, running() as library:
        region = page.get_by_role("region", name="MCP server")
        region.get_by_label("Server URL").fill(mcp.url)
        region.get_by_label("Slug").fill("upstream")
        region.get_by_role("button", name="Preview").click()
        preview = page.get_by_role("region", name="MCP server").locator(".preview")
        expect(preview).to_contain_text("echo")
        assert "upstream" not in json.dumps(api(daemon, "GET", "/api/integrations")[1])
        browser.shot(page, "21-add-mcp-preview")
        page.get_by_role("region", name="MCP server").get_by_role("button", name="Add").click()
        expect(page).to_have_url(f"{origin}/ui/integrations/upstream")
        expect(page.locator("#tools-table")).to_contain_text("echo")

        page.goto(f"{origin}/ui/add")
        region = page.get_by_role("region", name="GraphQL")
        region.get_by_label("Endpoint URL").fill(library.url)
        region.get_by_label("Slug").fill("library")
        region.get_by_role("button", name="Preview").click()
        preview = page.get_by_role("region", name="GraphQL").locator(".preview")
        expect(preview).to_contain_text("query.book")
        browser.shot(page, "22-add-graphql-preview")
        page.get_by_role("region", name="GraphQL").get_by_role("button", name="Add").click()
        expect(page).to_have_url(f"{origin}/ui/integrations/library")
        expect(page.locator("#tools-table")).to_contain_text("query.book")
        page.goto(f"{origin}/")
        overview = page.get_by_role("table", name="Integrations")
        expect(overview).to_contain_text("upstream")
        expect(overview).to_contain_text("library")
        browser.shot(page, "23-overview-three-kinds")


def test_an_agents_call_is_approved_on_the_page(daemon, cli, context, petstore) -> None:
    """MCP with ``elicitation_mode=browser``: the agent gets ``<origin>/resume/<id>``; the page
    (after the login the link's 401 page tells how to do) accepts; the agent's ``resume`` then
    returns the created pet."""
    import asyncio
    import concurrent.futures

    from mcp_util import passthrough_client

    assert api(daemon, "POST", "/api/openapi/specs", {"spec": petstore.spec_url,
                                                      "slug": "pets"})[0] == 200
    assert api(daemon, "POST", "/api/connections", {"integration": "pets", "name": "main",
                                                    "template": "apikey-0",
                                                    "value": API_KEY})[0] == 200

    async def call(tool: str, args: dict) -> dict:
        async with passthrough_client(daemon.port, query="elicitation_mode=browser",
                                      token=daemon.token) as c:
            return (await c.call_tool(tool, args)).structured_content

    def agent(tool: str, args: dict) -> dict:  # Playwright's sync API holds this thread's loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, call(tool, args)).result(timeout=120)

    paused = agent("invoke", {"path": "pets.org.main.pets.createPet",
                              "args": {"body": {"name": "Bo"}}})
    eid, link = paused["executionId"], paused["approvalUrl"]
    assert link == f"http://127.0.0.1:{daemon.port}/resume/{eid}"
    page = context.new_page()
    page.goto(link)
    expect = sync_api.expect
    expect(page.locator("main")).to_contain_text(f"executor web /resume/{eid}")
    page.goto(cli.run("web", "--no-open", f"/resume/{eid}").strip())
    assert page.url == link
    expect(page.get_by_role("region", name="Arguments")).to_contain_text('"Bo"')
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#result")).to_contain_text('"Bo"')
    done = agent("resume", {"executionId": eid})
    assert done["data"]["name"] == "Bo"
    assert "Bo" in {p["name"] for p in petstore.pets.values()}


def test_console_without_a_session(daemon) -> None:
    """No session: every console page is 401 (the route map stays private), a forged ticket
    too, and pages carry the headers that keep them out of frames and caches."""
    for path in ("/", "/ui/policies", "/ui/nothing", "/resume/abc"):
        status, headers, text = request(daemon.port, path)
        assert status == 401 and "executor web" in text, path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
    assert request(daemon.port, "/login?ticket=forged")[0] == 401
    status, _h, text = request(daemon.port, "/api/web/tickets", method="POST", body=b"{}",
                               headers={"Content-Type": "application/json"})
    assert status == 401  # minting a ticket needs the bearer
    status, body = api(daemon, "POST", "/api/web/tickets", {"next": "//evil.example/x"})
    assert status == 200 and body["expiresInSeconds"] <= 120
    status, headers, _t = request(daemon.port, body["url"].split(str(daemon.port), 1)[1])
    assert status == 303 and headers["location"] == "/"  # never off this daemon
    assert time.time() * 1000 < body["expiresAt"]


def test_every_value_is_escaped(daemon, petstore) -> None:
    """A name full of HTML comes out as text on the pages (the templates escape every value)."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    status, _out = api(daemon, "POST", "/api/openapi/specs",
                       {"spec": petstore.spec_url, "slug": "pets", "name": evil})
    assert status == 200
    link = api(daemon, "POST", "/api/web/tickets", {})[1]["url"]
    _s, headers, _t = request(daemon.port, link.split(str(daemon.port), 1)[1])
    cookie = headers["set-cookie"].split(";", 1)[0]
    for path in ("/", "/ui/integrations/pets", "/ui/connections"):
        status, _h, text = request(daemon.port, path, headers={"Cookie": cookie})
        assert status == 200, path
        assert evil not in text and "<script>alert" not in text, path
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text, path


def test_the_console_from_the_bundle(pyz, env, data_dir) -> None:
    """Served by the shiv bundle: the static files come out of the package (importlib
    resources inside the extraction), and the bundle's ``executor web`` mints a working link."""
    import executor_local.server.web as web
    from proc import Daemon, run_cli

    source = Path(web.__file__).parent / "static"  # the files the bundle must carry
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port",
                      "0"], env) as d:
        port = d.wait_ready()
        token = json.loads((data_dir / "server-control" / "auth.json").read_text())["token"]
        for name in ("console.css", "console.js"):
            status, headers, text = request(port, f"/ui/static/{name}")
            assert status == 200 and text == (source / name).read_text(), name
        done = run_cli(pyz, ["--data-dir", str(data_dir), "web", "--no-open", "/ui/policies"],
                       env)
        assert done.returncode == 0, done.stderr
        link = done.stdout.strip()
        status, headers, _t = request(port, link.split(str(port), 1)[1])
        assert status == 303 and headers["location"] == "/ui/policies"
        cookie = headers["set-cookie"].split(";", 1)[0]
        status, _h, text = request(port, "/", headers={"Cookie": cookie})
        assert status == 200 and "<h1>Overview</h1>" in text and token not in text
        assert request(port, "/", headers={"Cookie": cookie + "x"})[0] == 401
