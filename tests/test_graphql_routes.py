"""The GraphQL HTTP routes and ``executor integrations add-graphql`` over real HTTP on 127.0.0.1,
against the real GraphQL test server.

Until the core catalog lands in main, the app here carries a small in-memory stand-in for
``services.catalog`` with the methods the routes call (``add_integration``,
``integration_config``, ``set_integration_config``) and a ``POST /api/connections`` that
lists tools with the given credentials, as the core catalog does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from executor_local.integrations.base import Credentials, Integration, Listing, PluginEnv
from executor_local.integrations.graphql import GraphqlPlugin
from executor_local.integrations.graphql.routes import routes
from upstreams.graphql_server import SDL, LibraryServer, running, serve_app

BEARER = "test-bearer-not-secret"
SECRET = "gql-secret-7c1e55"


class NotFoundError(Exception):
    http_status = 404
    code = "integration_not_found"


class StandInCatalog:
    """What the routes need of ``catalog.Catalog``, kept in memory."""

    def __init__(self) -> None:
        self.plugin = GraphqlPlugin()
        self.rows: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, str] = {}
        self.listings: dict[tuple[str, str], Listing] = {}
        self.secrets: dict[str, dict[str, str]] = {}

    async def add_integration(self, slug: str, plugin_id: str, *, description: str,
                              config: dict[str, Any], blobs: dict[str, str] | None = None,
                              can_refresh: bool = False) -> dict[str, Any]:
        if slug in self.rows:
            raise type("Conflict", (Exception,), {"http_status": 409, "code": "slug_taken"})(
                f"an integration {slug!r} already exists")
        self.blobs.update(blobs or {})
        row = {"slug": slug, "plugin_id": plugin_id, "description": description,
               "config": config}
        out: dict[str, Any] = {"slug": slug}
        if not any(m.get("kind") != "none" for m in config.get("authenticationTemplate", [])):
            listing = await self._list(row, Credentials())
            self.listings[(slug, "main")] = listing
            out["toolCount"] = len(listing.tools)
        self.rows[slug] = row
        return out

    async def _list(self, row: dict[str, Any], creds: Credentials) -> Listing:
        integ = Integration(row["slug"], row["plugin_id"], row["description"], row["config"])
        listing = await self.plugin.list_tools(integ, creds, PluginEnv(blob=self.blobs.get))
        if listing.config is not None:  # what the plugin learned: keep it
            self.blobs.update(listing.blobs)
            row["config"] = listing.config
        return listing

    def integration(self, slug: str) -> dict[str, Any]:
        if slug not in self.rows:
            raise NotFoundError(f"no integration {slug!r}")
        return {"slug": slug}

    def integration_config(self, slug: str) -> tuple[dict[str, Any], str]:
        if slug not in self.rows:
            raise NotFoundError(f"no integration {slug!r}")
        return self.rows[slug]["config"], self.rows[slug]["plugin_id"]

    def set_integration_config(self, slug: str, config: dict[str, Any]) -> None:
        self.rows[slug]["config"] = config

    async def create_connection(self, body: dict[str, Any]) -> dict[str, Any]:
        row = self.rows[body["integration"]]
        method = row["config"]["authenticationTemplate"][0]
        listing = await self._list(row, Credentials(method, body["values"]))
        self.listings[(row["slug"], body["name"])] = listing
        self.secrets[body["name"]] = body["values"]
        return {"name": body["name"], "toolCount": len(listing.tools)}


def make_app(catalog: StandInCatalog) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def connections(request: Request) -> JSONResponse:
        return JSONResponse(await catalog.create_connection(await request.json()))

    async def health(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[*routes(), Route("/api/connections", connections, methods=["POST"]),
                            Route("/api/health", health)])
    app.state.services = SimpleNamespace(catalog=catalog)
    return app


class Api:
    def __init__(self, origin: str, catalog: StandInCatalog, server: LibraryServer) -> None:
        self.origin, self.catalog, self.server = origin, catalog, server

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(self.origin + path, json=body, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.origin + path, timeout=30)


@pytest.fixture
def api() -> Iterator[Api]:
    catalog = StandInCatalog()
    with running() as server, serve_app(make_app(catalog)) as origin:
        yield Api(origin, catalog, server)


def test_add_by_introspection_then_read_config(api: Api) -> None:
    r = api.post("/api/graphql/integrations", {"endpoint": api.server.url, "slug": "library",
                                               "name": "Library GraphQL",
                                               "headers": {"X-Client": "tests"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"slug": "library", "name": "Library GraphQL", "toolCount": 6}
    row = api.catalog.rows["library"]
    sha = row["config"]["introspectionHash"]
    assert f"introspection/{sha}" in api.catalog.blobs
    assert api.server.requests[0]["headers"]["x-client"] == "tests"
    assert api.get("/api/graphql/integrations/library").json() == row["config"]
    assert api.get("/api/graphql/integrations/library/config").json() == {
        "endpoint": api.server.url, "name": "Library GraphQL", "headers": {"X-Client": "tests"},
        "authenticationTemplate": []}
    assert api.get("/api/graphql/integrations/nope/config").json() is None
    before = api.server.count
    again = api.post("/api/graphql/integrations", {"endpoint": api.server.url, "slug": "library"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "slug_taken"
    assert api.server.count == before  # refused before introspecting


def test_add_refusals_name_the_field_and_store_nothing(api: Api) -> None:
    for body, status, words in [
        ({}, 400, "endpoint is required"),
        ({"endpoint": "ftp://x"}, 400, "must be an http"),
        ({"endpoint": api.server.url, "slug": "Bad Slug"}, 400, "slug 'Bad Slug'"),
        ({"endpoint": api.server.url, "headers": {"a": 1}}, 400, "headers must be"),
        ({"endpoint": api.server.url, "schema": "type Query {"}, 400, "line 1"),
        ({"endpoint": api.server.url, "authenticationTemplate": [{"kind": "magic"}]}, 400,
         "authenticationTemplate[0].kind"),
    ]:
        r = api.post("/api/graphql/integrations", body)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"]["message"], (body, r.json())
    assert api.catalog.rows == {}


def test_introspection_disabled_then_schema_file(api: Api) -> None:
    api.server.introspection = False
    r = api.post("/api/graphql/integrations", {"endpoint": api.server.url, "slug": "lib"})
    assert r.status_code == 502
    err = r.json()["error"]
    assert "introspection has been disabled" in err["message"] and "schema" in err["hint"]
    assert api.catalog.rows == {}
    r = api.post("/api/graphql/integrations",
                 {"endpoint": api.server.url, "slug": "lib", "schema": SDL})
    assert r.status_code == 200 and r.json()["toolCount"] == 6


def test_configure_merges_and_replaces_auth_methods(api: Api) -> None:
    api.post("/api/graphql/integrations", {"endpoint": api.server.url, "slug": "library"})
    header = {"kind": "apikey", "placements": [{"carrier": "header", "name": "X-Key"}]}
    r = api.post("/api/graphql/integrations/library/config", {"authenticationTemplate": [header]})
    assert r.status_code == 200, r.text
    (added,) = r.json()["authenticationTemplate"]
    assert added["slug"].startswith("custom_") and added["placements"] == header["placements"]
    r = api.post("/api/graphql/integrations/library/config",
                 {"authenticationTemplate": [{**header, "slug": added["slug"]},
                                             {"kind": "none", "slug": "open"}]})
    assert [m["slug"] for m in r.json()["authenticationTemplate"]] == [added["slug"], "open"]
    r = api.post("/api/graphql/integrations/library/config",
                 {"mode": "replace", "authenticationTemplate": [header, header]})
    assert [m["slug"] for m in r.json()["authenticationTemplate"]] == ["header", "header_2"]
    assert api.catalog.rows["library"]["config"]["authenticationTemplate"] == r.json()[
        "authenticationTemplate"]
    r = api.post("/api/graphql/integrations/library/config", {"authenticationTemplate": "x"})
    assert r.status_code == 400
    r = api.post("/api/graphql/integrations/ghost/config", {"authenticationTemplate": []})
    assert r.status_code == 404


def _fake_daemon(data_dir: Path, origin: str) -> None:
    """A manifest naming this test process and the app above, as a live daemon writes it."""
    from executor_local.daemon.manifest import Manifest, write_manifest

    host, port = origin.removeprefix("http://").split(":")
    data_dir.mkdir(mode=0o700, exist_ok=True)
    write_manifest(data_dir, Manifest.for_this_process(data_dir).serving(
        host, int(port), origin, BEARER))


def test_cli_add_graphql_with_secret_header_from_stdin(tmp_path: Path) -> None:
    from executor_local.cli.app import cli

    catalog = StandInCatalog()
    with running(token=SECRET) as server, serve_app(make_app(catalog)) as origin:
        data_dir = tmp_path / "data"
        _fake_daemon(data_dir, origin)
        result = CliRunner().invoke(cli, [
            "--data-dir", str(data_dir), "--json", "integrations", "add-graphql", server.url,
            "--slug", "library", "--header", "Authorization:Bearer ", "--connection", "main",
            "--value-stdin"], input=f"{SECRET}\n")
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["integration"]["slug"] == "library"
        assert out["connection"] == {"name": "main", "toolCount": 6}
        config = catalog.rows["library"]["config"]
        assert config["authenticationTemplate"] == [{"slug": "header", "kind": "apikey",
                                                     "placements": [{"carrier": "header",
                                                                     "name": "Authorization",
                                                                     "prefix": "Bearer "}]}]
        # Introspected with the connection's credential, and the snapshot kept.
        assert server.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
        assert f"introspection/{config['introspectionHash']}" in catalog.blobs
        assert SECRET not in json.dumps(catalog.rows) and SECRET not in result.output


def test_cli_add_graphql_schema_file_and_refusals(tmp_path: Path) -> None:
    from executor_local.cli.app import cli

    catalog = StandInCatalog()
    with running(introspection=False) as server, serve_app(make_app(catalog)) as origin:
        data_dir = tmp_path / "data"
        _fake_daemon(data_dir, origin)
        base = ["--data-dir", str(data_dir), "integrations", "add-graphql", server.url]
        runner = CliRunner()
        result = runner.invoke(cli, [*base, "--slug", "lib"])
        assert result.exit_code == 1
        assert "introspection has been disabled" in str(result.exception)
        assert catalog.rows == {}
        schema = tmp_path / "library.graphql"
        schema.write_text(SDL)
        result = runner.invoke(cli, [*base, "--slug", "lib", "--schema-file", str(schema)])
        assert result.exit_code == 0, result.output
        assert "Added lib (6 tools)" in result.output
        for args, words in [
            (["--header", "Bad Header"], "not a valid HTTP header name"),
            (["--connection", "main"], "--connection needs"),
            (["--value-stdin"], "go with --connection"),
            (["--static-header", "X-A"], "must be NAME=VALUE"),
            (["--header", "X-Key", "--connection", "c"], "no secret given"),
        ]:
            result = runner.invoke(cli, [*base, *args])
            assert result.exit_code == 2 and words in result.output, (args, result.output)
        assert list(catalog.rows) == ["lib"]


def test_routes_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = ("import sys, executor_local.integrations.graphql, executor_local.cli.app;"
            "print([m for m in ('httpx', 'graphql', 'starlette') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"
