"""The OpenAPI plugin against a real petstore upstream on 127.0.0.1 (in-process, no daemon)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from executor_local.integrations.base import Credentials, Integration, PluginEnv, ToolCall
from executor_local.integrations.openapi import (
    SpecError,
    build_integration,
    describe_auth_methods,
    plugin,
    preview,
)
from executor_local.integrations.openapi.source import sha256_hex
from upstreams import petstore as upstream
from upstreams.petstore import API_KEY, BEARER, PetstoreServer

petstore = upstream.petstore  # the fixture, under the name the tests ask for


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def env_for(blobs: dict[str, str], **kw: Any) -> PluginEnv:
    return PluginEnv(blob=blobs.get, **kw)


def method(config: dict[str, Any], header: str) -> dict[str, Any]:
    return next(m for m in config["authenticationTemplate"]
                if m["kind"] == "apikey" and m["placements"][0]["name"] == header)


class Added:
    """An integration built from the petstore, plus a way to call its tools."""

    def __init__(self, source: str, **kw: Any) -> None:
        self.built = run(build_integration(source, **kw))
        self.integration = Integration(self.built.slug, "openapi", self.built.description,
                                       self.built.config)
        self.tools = {t.name: t for t in self.built.listing.tools}

    def call(self, tool: str, args: dict[str, Any] | None = None, *, header: str | None =
             "X-API-Key", value: str | None = API_KEY, **env: Any) -> dict[str, Any]:
        creds = Credentials()
        if header:
            creds = Credentials(method=method(self.built.config, header),
                                values={"token": value} if value is not None else {})
        spec = self.tools[tool]
        call = ToolCall(self.integration, "main", tool, args or {}, spec.binding,
                        spec.input_schema, creds)
        return run(plugin.invoke(call, env_for(self.built.blobs, **env)))


def test_spec_from_url_gives_named_tools_defs_and_a_content_addressed_blob(petstore):
    added = Added(petstore.spec_url, slug="pets")
    built = added.built
    assert sorted(added.tools) == sorted([
        "pets.listPets", "pets.createPet", "pets.showPetById", "pets.deletePet",
        "store.getInventory", "store.placeOrder", "echo.getOperation",  # leaf == group
        "failures.serverError",
        "failures.invalidJson", "failures.hugeBody", "failures.slowBody",
        "failures.redirectLoop", "failures.plainText", "failures.binaryBody",
        "failures.redirectOut"])
    text = petstore.spec_text()
    assert built.config["specHash"] == sha256_hex(text)
    assert built.blobs == {f"spec/{sha256_hex(text)}": text}
    assert built.config["sourceUrl"] == petstore.spec_url and built.can_refresh
    assert built.description == "A petstore for tests."

    list_pets = added.tools["pets.listPets"]
    assert list_pets.description == "List all pets"
    assert list_pets.input_schema == {
        "type": "object",
        "properties": {
            "limit": {"type": "integer", "maximum": 100,
                      "description": "How many pets to return at most"},
            "status": {"type": "string", "enum": ["available", "pending", "sold"]},
        },
        "additionalProperties": False,
    }
    assert list_pets.output_schema == {"type": "array", "items": {"$ref": "#/$defs/Pet"}}
    assert list_pets.annotations == {}
    create = added.tools["pets.createPet"]
    assert create.input_schema["properties"]["body"] == {"$ref": "#/$defs/NewPet"}
    assert create.input_schema["required"] == ["body"]
    assert create.annotations == {"requiresApproval": True, "approvalDescription": "POST /pets"}
    # The binding is what Executor keeps in plugin_storage "operation" (raw spec refs).
    assert create.binding["requestBody"]["schema"] == {"$ref": "#/components/schemas/NewPet"}
    assert added.tools["pets.showPetById"].binding["parameters"][0] == {
        "name": "petId", "location": "path", "required": True, "schema": {"type": "integer"}}
    assert added.tools["store.getInventory"].input_schema is None
    # The Pet <-> Owner cycle stays a pair of refs, served once as definitions.
    defs = built.listing.definitions
    assert defs["Owner"]["properties"]["pets"] == {"type": "array",
                                                   "items": {"$ref": "#/$defs/Pet"}}
    assert defs["Pet"]["properties"]["owner"] == {"$ref": "#/$defs/Owner"}
    json.dumps(defs)  # finite


def test_auth_methods_from_security_schemes_in_executor_format(petstore):
    built = run(build_integration(petstore.spec_text()))
    assert built.config["authenticationTemplate"] == [
        {"slug": "apikey-0", "kind": "apikey", "label": "API key X-API-Key (apiKey)",
         "placements": [{"carrier": "header", "name": "X-API-Key"}]},
        {"slug": "apikey-1", "kind": "apikey", "label": "Bearer token (bearerAuth)",
         "placements": [{"carrier": "header", "name": "Authorization", "prefix": "Bearer "}]},
    ]
    assert describe_auth_methods(built.config)[1] == {
        "id": "apikey-1", "label": "Bearer token (bearerAuth)", "kind": "apikey",
        "template": "apikey-1",
        "placements": [{"carrier": "header", "name": "Authorization", "prefix": "Bearer "}]}
    assert "sourceUrl" not in built.config and not built.can_refresh


def test_preview_shows_title_servers_auth_tools_and_warnings(petstore):
    shown = run(preview(petstore.spec_url))
    assert shown["title"] == "Test Petstore" and shown["version"] == "1.2.0"
    assert shown["baseUrl"] == petstore.url
    assert shown["operationCount"] == 15 and len(shown["tools"]) == 15
    assert {m["label"] for m in shown["authMethods"]} == {
        "API key X-API-Key (apiKey)", "Bearer token (bearerAuth)"}
    assert shown["warnings"] == []
    assert shown["tags"] == ["failures", "pets", "store"]


def test_calls_map_path_query_header_and_body_and_place_credentials(petstore):
    added = Added(petstore.spec_url)
    listed = added.call("pets.listPets", {"limit": 1})
    assert listed["ok"] is True and [p["name"] for p in listed["data"]] == ["Rex"]
    assert listed["http"]["status"] == 200
    assert listed["http"]["headers"]["content-type"] == "application/json"
    assert added.call("pets.listPets", {"status": "sold"})["data"][0]["name"] == "Tom"

    shown = added.call("pets.showPetById", {"petId": 2, "X-Request-Id": "r-1"})
    assert shown["data"]["name"] == "Tom" and shown["http"]["headers"]["x-request-id"] == "r-1"

    created = added.call("pets.createPet", {"body": {"name": "Kit", "tag": "cat"}})
    assert created["ok"] and created["http"]["status"] == 201
    assert petstore.pets[created["data"]["id"]]["name"] == "Kit"

    inventory = added.call("store.getInventory", header="Authorization", value=BEARER)
    assert inventory["data"] == {"available": 2, "sold": 1}

    gone = added.call("pets.deletePet", {"petId": 1})
    assert gone == {"ok": True, "data": None, "http": gone["http"]} and 1 not in petstore.pets


def test_echo_shows_arrays_booleans_cookies_and_scrubs_a_reflected_secret(petstore):
    added = Added(petstore.spec_url)
    echoed = added.call("echo.getOperation", {"q": ["a", "b c"], "flag": True, "session": "s1"})
    data = echoed["data"]
    assert data["query"] == [["q", "a"], ["q", "b c"], ["flag", "true"]]
    assert data["cookies"] == {"session": "s1"}
    # The upstream echoed the API key back: it never leaves the plugin.
    assert data["headers"]["x-api-key"] == "***"
    assert API_KEY not in json.dumps(echoed)


def test_upstream_refusals_are_clear_and_retryable_only_when_they_should_be(petstore):
    added = Added(petstore.spec_url)
    wrong = added.call("pets.listPets", value="not-the-key")
    assert wrong["ok"] is False and wrong["error"]["code"] == "connection_rejected"
    assert wrong["error"]["status"] == 401 and wrong["error"]["retryable"] is False
    assert "missing or wrong X-API-Key" in wrong["error"]["message"]
    missing = added.call("pets.showPetById", {"petId": 99})
    assert missing["error"]["code"] == "upstream_error" and missing["error"]["status"] == 404
    assert "pet 99 not found" in missing["error"]["message"]
    boom = added.call("failures.serverError")
    assert boom["error"]["status"] == 500 and boom["error"]["retryable"] is True
    assert "the petstore fell over" in boom["error"]["message"]


def test_arguments_and_credentials_problems_never_reach_the_upstream(petstore):
    added = Added(petstore.spec_url)
    before = petstore.requests
    no_value = added.call("pets.listPets", value=None)
    assert no_value["error"]["code"] == "missing_credentials"
    no_path = added.call("pets.showPetById", {})
    assert no_path["error"]["code"] == "invalid_arguments" and "petId" in no_path["error"][
        "message"]
    no_body = added.call("pets.createPet", {})
    assert no_body["error"]["code"] == "invalid_arguments"
    assert petstore.requests == before


def test_every_network_failure_is_an_envelope(petstore):
    added = Added(petstore.spec_url)
    bad_json = added.call("failures.invalidJson")
    assert bad_json["error"]["code"] == "invalid_response"
    assert "not valid JSON" in bad_json["error"]["message"]
    huge = added.call("failures.hugeBody", max_response_bytes=1024 * 1024)
    assert huge["error"]["code"] == "response_too_large"
    assert huge["error"]["retryable"] is False
    slow = added.call("failures.slowBody", timeout_s=1.0)
    assert slow["error"]["code"] == "upstream_timeout" and slow["error"]["retryable"] is True
    loop = added.call("failures.redirectLoop")
    assert loop["error"]["code"] == "too_many_redirects"
    assert petstore.hits("/fail/redirect-loop") == 6

    text = added.call("failures.plainText")
    assert text["data"] == "just text"
    binary = added.call("failures.binaryBody")["data"]
    assert binary["contentType"] == "application/octet-stream" and binary["size"] == 256
    assert binary["encoding"] == "base64"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_and_tls_errors_say_what_happened(petstore):
    refused = Added(petstore.spec_url, base_url=f"http://127.0.0.1:{_closed_port()}")
    out = refused.call("pets.listPets")
    assert out["error"]["code"] == "upstream_unreachable" and out["error"]["retryable"] is True
    assert "could not connect" in out["error"]["message"]
    tls = Added(petstore.spec_url, base_url=f"https://127.0.0.1:{petstore.port}")
    out = tls.call("pets.listPets")
    assert out["error"]["code"] == "upstream_unreachable"
    assert "TLS" in out["error"]["message"] and out["error"]["retryable"] is False
    for envelope in (out,):
        assert API_KEY not in json.dumps(envelope)


def test_credentials_do_not_follow_a_redirect_to_another_origin(petstore):
    with PetstoreServer() as other:
        added = Added(petstore.spec_url)
        out = added.call("failures.redirectOut", {"to": f"{other.url}/echo"})
        assert out["ok"] and out["data"]["path"] == "/echo"
        assert "x-api-key" not in out["data"]["headers"]
        same = added.call("failures.redirectOut", {"to": "/echo"})
        assert same["data"]["headers"]["x-api-key"] == "***"  # same origin: kept (and scrubbed)


def test_relative_servers_resolve_against_the_spec_url(petstore):
    added = Added(f"{petstore.url}/relative/openapi.yaml")
    assert added.tools["pets.listPets"].binding["servers"] == [{"url": f"{petstore.url}/"}]
    assert added.call("pets.listPets")["ok"] is True


FIXTURE_DB = Path("/work/shared/fixtures/executor-1.5.9-migrated/mixed/data/data.db")


def _fixture_rows(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The petstore integration's config and its pets.listPets binding, as 1.5.9 left them."""
    if not FIXTURE_DB.exists():
        pytest.skip("the Executor 1.5.9 fixtures are not here")
    for suffix in ("", "-wal", "-shm"):  # a copy: opening the fixture would checkpoint it
        src = FIXTURE_DB.with_name(FIXTURE_DB.name + suffix)
        if src.exists():
            shutil.copy(src, tmp_path / ("data.db" + suffix))
    conn = sqlite3.connect(tmp_path / "data.db")
    try:
        config = json.loads(conn.execute(
            "SELECT config FROM integration WHERE slug = 'petstore'").fetchone()[0])
        data = json.loads(conn.execute(
            "SELECT data FROM plugin_storage WHERE collection = 'operation' AND "
            "key = 'petstore.pets.listPets'").fetchone()[0])
    finally:
        conn.close()
    return config, data["binding"]


def test_a_migrated_integration_whose_blob_is_the_spec_url_is_callable(petstore, tmp_path):
    """1.5.9's migration stored the spec URL as the blob; its bindings carry no servers."""
    config, binding = _fixture_rows(tmp_path)
    assert "servers" not in binding and "baseUrl" not in config
    # The fixture's blob names the upstream of its recording (port 47901); ours stands in.
    blobs = {f"spec/{config['specHash']}": petstore.spec_url}
    integration = Integration("petstore", "openapi", "Fixture Petstore", config)
    listing = run(plugin.list_tools(integration, Credentials(), env_for(blobs)))
    assert "pets.listPets" in {t.name for t in listing.tools}
    creds = Credentials(method={"slug": "apiKey"}, values={"token": API_KEY})
    call = ToolCall(integration, "petstoreApiKey", "pets.listPets", {"limit": 1}, binding, None,
                    creds)
    out = run(plugin.invoke(call, env_for(blobs)))
    assert out["ok"] is True and out["data"][0]["name"] == "Rex"


def test_bad_specs_are_refused_with_clear_messages(petstore):
    with pytest.raises(SpecError, match=r"Swagger 2\.0 is not supported; convert it to OpenAPI 3"):
        run(preview('{"swagger": "2.0", "info": {}, "paths": {}}'))
    with pytest.raises(SpecError, match="not OpenAPI: it has no 'openapi' version"):
        run(preview("title: hello\n"))
    with pytest.raises(SpecError, match="neither JSON nor YAML"):
        run(preview("openapi: [3.1\n  - x: {"))
    with pytest.raises(SpecError, match=r"HTTP 404"):
        run(preview(f"{petstore.url}/nope.yaml"))
    with pytest.raises(SpecError) as caught:
        run(preview(f"http://127.0.0.1:{_closed_port()}/openapi.yaml"))
    assert caught.value.code == "openapi_fetch_failed" and "Could not fetch" in str(caught.value)
    with pytest.raises(SpecError, match="declares no operations"):
        run(build_integration('{"openapi": "3.0.3", "info": {"title": "x"}, "paths": {}}'))
    with pytest.raises(SpecError, match=r"cannot contain '\.'"):
        run(build_integration(petstore.spec_text(), slug="a.b"))


def test_query_api_keys_and_basic_auth_are_placed(petstore):
    added = Added(petstore.spec_url)
    spec = added.tools["echo.getOperation"]

    def echo(method: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
        call = ToolCall(added.integration, "main", "echo.getOperation", {}, spec.binding, None,
                        Credentials(method=method, values=values))
        return run(plugin.invoke(call, env_for(added.built.blobs)))

    out = echo({"slug": "q", "kind": "apikey", "placements": [
        {"carrier": "query", "name": "api_key"}]}, {"token": "query-secret-1"})
    assert ["api_key", "***"] in out["data"]["query"]
    assert "query-secret-1" not in json.dumps(out)
    basic = {"slug": "b", "kind": "apikey", "placements": [
        {"carrier": "header", "name": "Authorization", "prefix": "Basic "}]}
    out = echo(basic, {"token": "ann:pa55word"})
    assert out["data"]["headers"]["authorization"] == "Basic ***"
    assert "pa55word" not in json.dumps(out)


def test_auth_derivation_covers_query_cookie_oauth_and_combined_schemes():
    doc = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "security": [{"key": [], "app": []}, {"cookie": []}],
        "components": {"securitySchemes": {
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "app": {"type": "apiKey", "in": "header", "name": "X-App"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "sid"},
            "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token", "scopes": {"read": "r"}}}},
        }},
    }
    from executor_local.integrations.openapi.auth import derive_methods
    from executor_local.integrations.openapi.refs import Resolver

    methods, warnings = derive_methods(doc, Resolver(doc), "https://api.example.com/v1")
    assert methods[0] == {"slug": "apikey-0", "kind": "apikey",
                          "label": "API key ?api_key= (key) + API key X-App (app)",
                          "placements": [
                              {"carrier": "query", "name": "api_key", "variable": "key"},
                              {"carrier": "header", "name": "X-App", "variable": "app"}]}
    assert methods[1] == {"slug": "oauth-oauth", "kind": "oauth2", "authorizationUrl": "",
                          "tokenUrl": "https://api.example.com/oauth/token",
                          "scopes": ["read"]}
    assert len(methods) == 2
    assert warnings == ["auth API key cookie sid (cookie): API key in a cookie (sid) cannot be "
                        "stored as a connection method yet"]
    assert describe_auth_methods({"authenticationTemplate": methods})[1]["usable"] is False


def test_ref_loops_end_with_a_warning_not_a_hang():
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
           "components": {"parameters": {"A": {"$ref": "#/components/parameters/B"},
                                         "B": {"$ref": "#/components/parameters/A"}},
                          "schemas": {"Node": {"type": "object", "properties": {
                              "children": {"type": "array",
                                           "items": {"$ref": "#/components/schemas/Node"}}}}}},
           "paths": {"/n": {"get": {
               "parameters": [{"$ref": "#/components/parameters/A"}],
               "responses": {"200": {"description": "ok", "content": {"application/json": {
                   "schema": {"$ref": "#/paths/~1n/get/responses/200/content/"
                                      "application~1json/schema"}}}}}}}},
    }
    from executor_local.integrations.openapi.compile import compile_spec

    listing = compile_spec(doc).listing
    assert listing.tools[0].input_schema is None
    assert listing.tools[0].output_schema == {}
    assert any("cycle" in w for w in listing.warnings)
    assert listing.definitions["Node"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Node"}


def test_a_migrated_url_blob_that_does_not_answer_is_a_clear_envelope(tmp_path):
    config, binding = _fixture_rows(tmp_path)
    url = f"http://127.0.0.1:{_closed_port()}/openapi.json"
    blobs = {f"spec/{config['specHash']}": url}
    integration = Integration("petstore", "openapi", "Fixture Petstore", config)
    creds = Credentials(method={"slug": "apiKey"}, values={"token": API_KEY})
    call = ToolCall(integration, "petstoreApiKey", "pets.listPets", {}, binding, None, creds)
    out = run(plugin.invoke(call, env_for(blobs)))
    assert out["ok"] is False and out["error"]["code"] == "invalid_configuration"
    assert f"Could not fetch the OpenAPI document from {url}" in out["error"]["message"]
    assert out["error"]["retryable"] is True


def test_request_bodies_of_every_declared_media_type(petstore):
    added = Added(petstore.bodies_spec_url)
    tool = added.tools["bodies.echoBody"]
    props = tool.input_schema["properties"]
    assert props["contentType"]["enum"] == ["application/x-www-form-urlencoded",
                                            "multipart/form-data", "application/octet-stream",
                                            "text/plain"]
    assert tool.input_schema["anyOf"] == [{"required": ["body"]}, {"required": ["bodyBase64"]}]

    def send(args: dict[str, Any]) -> dict[str, Any]:
        out = added.call("bodies.echoBody", args, header=None)
        assert out["ok"], out
        return out["data"]

    form = send({"body": {"name": "Rex Jr", "tags": ["a", "b"], "n": 2, "ok": True}})
    assert form["contentType"] == "application/x-www-form-urlencoded"
    assert form["text"] == "name=Rex%20Jr&tags=a%2Cb&n=2&ok=true"
    multi = send({"contentType": "multipart/form-data",
                  "body": {"meta": {"k": 1}, "note": "hi"}})
    assert multi["contentType"].startswith("multipart/form-data; boundary=")
    assert 'name="meta"' in multi["text"] and "Content-Type: application/json" in multi["text"]
    assert '{"k":1}' in multi["text"] and 'name="note"' in multi["text"]
    octets = send({"bodyBase64": "AAEC/w=="})
    assert octets["contentType"] == "application/octet-stream" and octets["size"] == 4
    text = send({"contentType": "text/plain", "body": "plain words"})
    assert text == {"contentType": "text/plain", "text": "plain words", "size": 11}
    bad = added.call("bodies.echoBody", {"bodyBase64": "not base64!"}, header=None)
    assert bad["error"]["code"] == "invalid_arguments"
    wrong = added.call("bodies.echoBody", {"contentType": "image/png", "body": "x"}, header=None)
    assert wrong["error"]["code"] == "invalid_arguments" and "image/png" in wrong["error"][
        "message"]


def test_server_variables_and_choices_pick_the_base_url():
    from executor_local.integrations.openapi.request import ArgumentProblem
    from executor_local.integrations.openapi.servers import pick_base_url

    servers = [{"url": "https://{region}.example.com/v1",
                "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}},
               {"url": "https://backup.example.com"}]
    assert pick_base_url(None, servers, None) == "https://eu.example.com/v1"
    assert pick_base_url(None, servers, {"variables": {"region": "us"}}) == (
        "https://us.example.com/v1")
    assert pick_base_url(None, servers, {"url": "https://backup.example.com"}) == (
        "https://backup.example.com")
    assert pick_base_url("http://override", servers, None) == "http://override"
    with pytest.raises(ArgumentProblem, match="is not one of eu, us"):
        pick_base_url(None, servers, {"variables": {"region": "mars"}})
    with pytest.raises(ArgumentProblem, match="is not one of"):
        pick_base_url(None, servers, {"url": "https://elsewhere"})


def test_the_fixture_todos_spec_gives_exactly_the_tool_rows_executor_stored(tmp_path):
    """Names, descriptions, schemas, $defs and bindings equal the 1.5.9 fixture's rows."""
    _fixture_rows(tmp_path)  # copies the fixture database
    conn = sqlite3.connect(tmp_path / "data.db")
    try:
        config = json.loads(conn.execute(
            "SELECT config FROM integration WHERE slug = 'fixture_todos'").fetchone()[0])
        text = conn.execute("SELECT value FROM blob WHERE key = ?",
                            (f"spec/{config['specHash']}",)).fetchone()[0]
        rows = conn.execute("SELECT name, description, input_schema, output_schema FROM tool "
                            "WHERE integration = 'fixture_todos' ORDER BY name").fetchall()
        defs = dict(conn.execute("SELECT name, schema FROM definition "
                                 "WHERE integration = 'fixture_todos'").fetchall())
        ops = {json.loads(d)["toolName"]: json.loads(d)["binding"] for (d,) in conn.execute(
            "SELECT data FROM plugin_storage WHERE key LIKE 'fixture_todos.%'")}
    finally:
        conn.close()
    integration = Integration("fixture_todos", "openapi", "Todos", config)
    listing = run(plugin.list_tools(integration, Credentials(),
                                    env_for({f"spec/{config['specHash']}": text})))
    ours = [(t.name, t.description, t.input_schema, t.output_schema) for t in listing.tools]
    theirs = [(n, d, json.loads(i) if i else None, json.loads(o) if o else None)
              for n, d, i, o in rows]
    assert ours == theirs
    assert listing.definitions == {k: json.loads(v) for k, v in defs.items()}
    for tool in listing.tools:
        binding = dict(tool.binding)
        if "requestBody" in binding:  # ours also lists every media type (Executor's `contents`)
            binding["requestBody"] = {k: v for k, v in binding["requestBody"].items()
                                      if k != "contents"}
        assert binding == ops[tool.name]
