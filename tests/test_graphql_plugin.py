"""The GraphQL plugin in-process against a real GraphQL server (tests/upstreams/graphql_server.py
on 127.0.0.1): tools from introspection or a schema file, calls with arguments and ``select``,
refusals before sending, upstream errors and partial data, network failures."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from executor_local.integrations.base import Credentials, Integration, PluginEnv, ToolCall
from executor_local.integrations.graphql import GraphqlPlugin
from executor_local.integrations.graphql.add import (
    build_integration,
    header_template,
    load_schema,
    preview,
)
from executor_local.integrations.graphql.introspect import (
    GraphqlSchemaError,
    schema_from_file,
    snapshot,
)
from upstreams.graphql_server import SDL, LibraryServer, running

TOKEN = "tok-s3cr3t-graphql-9f81"


class Setup:
    """A plugin, an integration added the way the route adds it, and a caller."""

    def __init__(self, server: LibraryServer, *, schema_text: str | None = None,
                 credentials: Credentials | None = None) -> None:
        self.server = server
        self.credentials = credentials or Credentials()
        intro = asyncio.run(load_schema(server.url, schema_text=schema_text,
                                        credentials=self.credentials))
        row, self.blobs = build_integration(
            server.url, intro, slug="library",
            authentication_template=[self.credentials.method] if self.credentials.method else [])
        self.integration = Integration(row["slug"], "graphql", row["description"], row["config"])
        self.plugin = GraphqlPlugin()
        self.env = PluginEnv(blob=self.blobs.get, timeout_s=5)
        self.listing = asyncio.run(self.plugin.list_tools(self.integration, self.credentials,
                                                          self.env))
        self.tools = {t.name: t for t in self.listing.tools}

    def call(self, tool: str, args: dict[str, Any], **over: Any) -> dict[str, Any]:
        spec = self.tools.get(tool)
        call = ToolCall(over.get("integration", self.integration), "main", tool, args,
                        over.get("binding", spec.binding if spec else None),
                        spec.input_schema if spec else None, self.credentials)
        return asyncio.run(self.plugin.invoke(call, over.get("env", self.env)))


@pytest.fixture
def lib() -> Iterator[Setup]:
    with running() as server:
        yield Setup(server)


def test_tools_named_described_and_typed_like_executor(lib: Setup) -> None:
    assert sorted(lib.tools) == ["mutation.addBook", "mutation.deleteBook", "query.authors",
                                 "query.book", "query.books", "query.explode"]
    books = lib.tools["query.books"]
    assert books.description == "List books"
    assert lib.tools["query.book"].description == "GraphQL query: book -> Book"
    assert lib.tools["mutation.deleteBook"].description == (
        "GraphQL mutation: deleteBook -> Boolean")
    props = books.input_schema["properties"]
    assert props["limit"] == {"type": "integer"}
    assert props["genre"] == {"$ref": "#/$defs/Genre"}
    assert props["select"]["type"] == "string"
    assert lib.tools["query.book"].input_schema["required"] == ["id"]
    assert lib.tools["mutation.addBook"].input_schema["properties"]["input"] == {
        "$ref": "#/$defs/NewBook"}
    assert lib.listing.definitions["Genre"] == {
        "type": "string", "enum": ["FICTION", "NONFICTION", "POETRY"]}
    assert lib.listing.definitions["NewBook"] == {
        "type": "object", "required": ["title"],
        "properties": {"title": {"type": "string"}, "authorId": {"type": "string"},
                       "year": {"type": "integer"}}}
    # Mutations need approval; queries do not.
    assert lib.tools["mutation.addBook"].annotations["requiresApproval"] is True
    assert lib.tools["mutation.deleteBook"].annotations["requiresApproval"] is True
    assert not books.annotations.get("requiresApproval")
    # Default selection: the scalar fields, no composite ones (author, books).
    assert books.binding["operationString"] == (
        "query($limit: Int, $genre: Genre) { books(limit: $limit, genre: $genre) "
        "{ id title year genres review } }")
    assert lib.tools["query.authors"].binding["operationString"] == (
        "query { authors { id name } }")
    assert lib.tools["mutation.deleteBook"].binding["operationString"] == (
        "mutation($id: ID!) { deleteBook(id: $id) }")
    assert books.binding["variableNames"] == ["limit", "genre"]
    # Output: what the default selection returns; objects allow what a `select` adds.
    assert lib.tools["query.book"].output_schema == {
        "type": "object", "required": ["book"], "properties": {"book": {
            "type": ["object", "null"], "additionalProperties": True, "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "year": {"type": ["integer", "null"]},
                "genres": {"type": "array", "items": {"$ref": "#/$defs/Genre"}},
                "review": {"type": ["string", "null"]}}}}}
    assert lib.tools["mutation.deleteBook"].output_schema["properties"] == {
        "deleteBook": {"type": "boolean"}}


def test_query_with_arguments(lib: Setup) -> None:
    out = lib.call("query.books", {"limit": 1, "genre": "POETRY"})
    assert out["ok"] is True, out
    assert out["data"] == {"books": [{"id": "b2", "title": "Dream Work", "year": 1986,
                                      "genres": ["POETRY"], "review": "Luminous."}]}
    assert out["http"]["status"] == 200
    sent = lib.server.requests[-1]
    assert sent["variables"] == {"limit": 1, "genre": "POETRY"}
    out = lib.call("query.book", {"id": "b3"})
    assert out["data"]["book"]["title"] == "The Left Hand of Darkness"


def test_query_with_select_reaches_nested_fields(lib: Setup) -> None:
    out = lib.call("query.book", {"id": "b1", "select": "title author { name books { id } }"})
    assert out["ok"] is True, out
    assert out["data"] == {"book": {"title": "The Dispossessed", "author": {
        "name": "Ursula K. Le Guin", "books": [{"id": "b1"}, {"id": "b3"}]}}}
    assert "select" not in (lib.server.requests[-1]["variables"] or {})


@pytest.mark.parametrize("select,why", [
    ("id nope", "Cannot query field 'nope' on type 'Book'"),
    ("id author", "must have a selection of subfields"),
    ("id {", "not a valid GraphQL selection set"),
    ('id } } mutation { deleteBook(id: "b1") { x', "must stay inside the books field"),
    ('id } evil: books { id', "must stay inside the books field"),
])
def test_bad_select_refused_before_sending(lib: Setup, select: str, why: str) -> None:
    before = lib.server.count
    out = lib.call("query.books", {"select": select})
    assert out["ok"] is False
    assert out["error"]["code"] == "graphql_invalid_selection"
    assert why in out["error"]["message"]
    assert lib.server.count == before  # nothing reached the upstream


def test_bad_arguments_refused_before_sending(lib: Setup) -> None:
    before = lib.server.count
    out = lib.call("query.books", {"genre": "SCIFI"})
    assert out["error"]["code"] == "invalid_arguments"
    assert "SCIFI" in out["error"]["message"]
    out = lib.call("query.book", {})
    assert out["error"]["code"] == "invalid_arguments"
    assert "$id" in out["error"]["message"]
    out = lib.call("query.books", {"limt": 2})
    assert out["error"]["code"] == "invalid_arguments"
    assert "'limt'" in out["error"]["message"]
    out = lib.call("mutation.addBook", {"input": {"year": 2000}})
    assert out["error"]["code"] == "invalid_arguments"
    assert "title" in out["error"]["message"]
    assert lib.server.count == before


def test_mutation_with_input_object(lib: Setup) -> None:
    out = lib.call("mutation.addBook", {"input": {"title": "Always Coming Home",
                                                  "authorId": "a1", "year": 1985},
                                        "select": "id title author { name }"})
    assert out["ok"] is True, out
    added = out["data"]["addBook"]
    assert added["title"] == "Always Coming Home" and added["author"]["name"] == (
        "Ursula K. Le Guin")
    assert lib.call("mutation.deleteBook", {"id": added["id"]})["data"] == {"deleteBook": True}
    assert lib.call("query.book", {"id": added["id"]})["data"] == {"book": None}


def test_upstream_errors_keep_partial_data(lib: Setup) -> None:
    lib.server.broken_reviews.add("b2")
    out = lib.call("query.books", {"select": "id review"})
    assert out["ok"] is False
    err = out["error"]
    assert err["code"] == "graphql_errors"
    assert err["message"] == "review service unavailable for b2"
    assert err["details"]["errors"][0]["path"] == ["books", 1, "review"]
    assert err["details"]["data"]["books"] == [
        {"id": "b1", "review": "An ambiguous utopia."}, {"id": "b2", "review": None},
        {"id": "b3", "review": "Winter."}]
    out = lib.call("query.explode", {})
    assert out["error"]["code"] == "graphql_errors" and out["error"]["message"] == "boom"
    assert out["error"]["details"]["data"] == {"explode": None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_network_failures_are_clean_envelopes(lib: Setup) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/graphql"
    gone = Integration("library", "graphql", "", {**lib.integration.config, "endpoint": dead})
    out = lib.call("query.books", {}, integration=gone)
    assert out["ok"] is False
    assert out["error"]["code"] == "upstream_unreachable"
    assert out["error"]["retryable"] is True
    assert dead in out["error"]["message"]
    out = lib.call("mutation.deleteBook", {"id": "b1"}, integration=gone)
    assert out["error"]["code"] == "upstream_unreachable"
    assert out["error"]["retryable"] is True  # nothing was sent: safe to retry


def test_response_too_large(lib: Setup) -> None:
    small = PluginEnv(blob=lib.blobs.get, max_response_bytes=50)
    out = lib.call("query.books", {}, env=small)
    assert out["error"]["code"] == "response_too_large"


def test_introspection_disabled_falls_back_to_schema_file() -> None:
    with running(introspection=False) as server:
        with pytest.raises(GraphqlSchemaError) as info:
            asyncio.run(load_schema(server.url))
        assert "introspection has been disabled" in str(info.value)
        assert "schema file" in str(info.value)
        setup = Setup(server, schema_text=SDL)
        assert "query.books" in setup.tools
        before = server.count
        out = setup.call("query.books", {"limit": 1})
        assert out["ok"] is True, out
        assert server.count == before + 1  # the call itself; no introspection attempt
        # The same schema as introspection JSON works too, in the shapes people keep it.
        intro = schema_from_file(SDL)
        for text in (json.dumps({"data": intro}), json.dumps(intro)):
            assert Setup(server, schema_text=text).tools.keys() == setup.tools.keys()


@pytest.mark.parametrize("text,why", [
    ("", "empty"),
    ("type Query { books: [Book }", "line 1, column"),
    ("{not json", "not valid JSON"),
    ('{"data": {}}', "no __schema"),
    ("type Book { id: ID }", "no Query type"),
])
def test_bad_schema_files_named_clearly(text: str, why: str) -> None:
    with pytest.raises(GraphqlSchemaError) as info:
        schema_from_file(text, source="lib.graphql")
    assert why in str(info.value) and "lib.graphql" in str(info.value)


def test_header_credentials_reach_introspection_and_calls() -> None:
    method = header_template(["Authorization:Bearer "])[0]
    assert method == {"slug": "header", "kind": "apikey", "placements": [
        {"carrier": "header", "name": "Authorization", "prefix": "Bearer "}]}
    creds = Credentials(method=method, values={"token": TOKEN})
    with running(token=TOKEN) as server:
        setup = Setup(server, credentials=creds)
        out = setup.call("query.authors", {})
        assert out["ok"] is True, out
        assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}"
                   for r in server.requests)
        # A wrong token: the upstream's 401 as connection_rejected, without the secret.
        setup.credentials = Credentials(method=method, values={"token": "wrong-token"})
        out = setup.call("query.authors", {})
        assert out["error"]["code"] == "connection_rejected" and out["error"]["status"] == 401
        assert "wrong-token" not in json.dumps(out)  # the server echoed it; we do not
        assert "[redacted]" in json.dumps(out)
        with pytest.raises(GraphqlSchemaError) as info:
            asyncio.run(load_schema(server.url, credentials=setup.credentials))
        assert "wrong-token" not in str(info.value) and "HTTP 401" in str(info.value)
        # No value at all: refused before sending.
        before = server.count
        setup.credentials = Credentials(method=method, values={})
        out = setup.call("query.authors", {})
        assert out["error"]["code"] == "missing_credentials" and server.count == before
        assert TOKEN not in json.dumps(setup.integration.config)
        assert TOKEN not in repr(creds)


def test_snapshot_is_content_addressed(lib: Setup) -> None:
    (key, text), = lib.blobs.items()
    intro = json.loads(text)["data"]
    assert snapshot(intro) == (text, key.removeprefix("introspection/"))
    assert lib.integration.config["introspectionHash"] == key.removeprefix("introspection/")
    summary = preview(intro)
    assert summary["toolCount"] == 6
    assert {"name": "mutation.addBook", "description": "GraphQL mutation: addBook -> Book",
            "requiresApproval": True} in summary["tools"]


def test_build_integration_refuses_bad_input(lib: Setup) -> None:
    intro = json.loads(next(iter(lib.blobs.values())))["data"]
    with pytest.raises(ValueError, match="must be an http"):
        build_integration("ftp://x/graphql", intro)
    with pytest.raises(ValueError, match="slug 'Bad Slug'"):
        build_integration(lib.server.url, intro, slug="Bad Slug")
    with pytest.raises(ValueError, match="not a valid HTTP header name"):
        header_template(["Bad Header"])


REDUCED_QUERY = """{ __schema { queryType { name } mutationType { name } types { kind name
  fields { name args { name type { ...T } defaultValue } type { ...T } }
  inputFields { name type { ...T } defaultValue } enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""


def test_executor_reduced_snapshot_still_validates_select(lib: Setup) -> None:
    """Executor keeps a reduced introspection (no directives, interfaces, deprecation):
    a blob it wrote must still let us refuse a bad select locally."""
    import httpx

    reduced = httpx.post(lib.server.url, json={"query": REDUCED_QUERY}).json()["data"]
    text, sha = snapshot(reduced)
    config = {"endpoint": lib.server.url, "name": "library", "introspectionHash": sha,
              "authenticationTemplate": []}
    integration = Integration("library", "graphql", "library", config)
    env = PluginEnv(blob={f"introspection/{sha}": text}.get)
    before = lib.server.count
    out = lib.call("query.books", {"select": "id nope"}, integration=integration, env=env)
    assert out["error"]["code"] == "graphql_invalid_selection"
    assert "Cannot query field 'nope'" in out["error"]["message"]
    assert lib.server.count == before
    out = lib.call("query.books", {"select": "id author { name }", "limit": 1},
                   integration=integration, env=env)
    assert out["data"] == {"books": [{"id": "b1", "author": {"name": "Ursula K. Le Guin"}}]}


RICH_SDL = '''
scalar DateTime
interface Node { id: ID! }
type User implements Node { id: ID! login: String! joined: DateTime old: String @deprecated }
type Bot implements Node { id: ID! model: String }
union Actor = User | Bot
enum Sort { NEW OLD @deprecated(reason: "use NEW") }
input Filter { ids: [[ID!]!] sort: Sort = NEW }
type Query {
  node(id: ID!): Node
  actors(filter: Filter, first: Int = 10): [Actor!]!
  me: User
  legacy: String @deprecated
  grid: [[Int]]
}
'''


def test_interfaces_unions_scalars_nested_lists_deprecations() -> None:
    from executor_local.integrations.graphql import tools as gtools

    listing = gtools.listing(schema_from_file(RICH_SDL))
    tools = {t.name: t for t in listing.tools}
    assert sorted(tools) == ["query.actors", "query.grid", "query.me", "query.node"]
    assert tools["query.node"].binding["operationString"] == (
        "query($id: ID!) { node(id: $id) { id } }")
    assert tools["query.actors"].binding["operationString"] == (
        "query($filter: Filter, $first: Int) { actors(filter: $filter, first: $first) "
        "{ __typename } }")
    assert tools["query.me"].binding["operationString"] == "query { me { id login joined } }"
    assert tools["query.grid"].binding["operationString"] == "query { grid }"
    assert listing.definitions["Filter"]["properties"]["ids"] == {
        "type": "array", "items": {"type": "array", "items": {"type": "string"}}}
    assert listing.definitions["Sort"]["enum"] == ["NEW"]
    assert "required" not in tools["query.actors"].input_schema
    assert tools["query.me"].description == "GraphQL query: me -> User"


def test_query_placed_key_and_static_headers() -> None:
    method = {"slug": "query", "kind": "apikey",
              "placements": [{"carrier": "query", "name": "api_key"}]}
    creds = Credentials(method=method, values={"token": TOKEN})
    with running() as server:
        setup = Setup(server, credentials=creds)
        config = {**setup.integration.config, "headers": {"X-Client": "tests"},
                  "queryParams": {"v": "2"}}
        integration = Integration("library", "graphql", "", config)
        out = setup.call("query.authors", {}, integration=integration)
        assert out["ok"] is True
        sent = server.requests[-1]
        assert sent["params"] == {"api_key": TOKEN, "v": "2"}
        assert sent["headers"]["x-client"] == "tests"
        assert server.requests[0]["params"] == {"api_key": TOKEN}  # introspection too


def test_timeouts_retryable_for_queries_not_for_mutations(lib: Setup) -> None:
    lib.server.delay_s = 1.5
    quick = PluginEnv(blob=lib.blobs.get, timeout_s=0.2)
    out = lib.call("query.authors", {}, env=quick)
    assert out["error"]["code"] == "upstream_timeout" and out["error"]["retryable"] is True
    out = lib.call("mutation.deleteBook", {"id": "b1"}, env=quick)
    assert out["error"]["code"] == "upstream_timeout"
    assert out["error"]["retryable"] is False  # it reached the server: it may have run
    assert "may have run" in out["error"]["message"]
    assert lib.server.queries()[-1].startswith("mutation(")


def test_no_endpoint_is_a_clear_refusal(lib: Setup) -> None:
    broken = Integration("library", "graphql", "", {**lib.integration.config, "endpoint": ""})
    out = lib.call("query.authors", {}, integration=broken)
    assert out["error"]["code"] == "invalid_config" and "no endpoint" in out["error"]["message"]


def test_introspection_size_is_bounded() -> None:
    from executor_local.integrations.graphql.introspect import introspect

    with running() as server:
        with pytest.raises(GraphqlSchemaError) as info:
            asyncio.run(introspect(server.url, max_bytes=1000))
        assert info.value.code == "response_too_large"
        assert asyncio.run(introspect(server.url))["__schema"]["queryType"]["name"] == "Query"
