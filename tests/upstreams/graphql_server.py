"""A real GraphQL server for the tests: graphql-core on starlette, served by uvicorn on
127.0.0.1 with port 0, in a thread of the test process.

The schema is a small library, shaped like the one Executor 1.4.7 was pointed at when the
``mixed`` fixture was written (books, authors, a ``Genre`` enum, a ``NewBook`` input,
``addBook``/``deleteBook`` mutations), plus what the tests need to see failures:

- ``Book.review`` raises for every book whose id is in ``broken_reviews`` -> partial data;
- ``Query.explode`` always raises -> ``errors`` with ``data: null`` for that field;
- ``introspection=False`` refuses ``__schema``/``__type`` (validation rule), as many
  production servers do;
- ``token="..."`` answers 401 unless ``Authorization: Bearer <token>`` is sent;
- ``delay_s`` answers late, after the request was recorded (it did reach the server).

Every POST is recorded in ``server.requests`` (query, variables, headers), so a test can assert
that nothing reached the upstream (a refused ``select``) or exactly what did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SDL = '''
"A tiny library."
schema { query: Query mutation: Mutation }

enum Genre { FICTION NONFICTION POETRY }

type Author {
  id: ID!
  name: String!
  books: [Book!]!
}

type Book {
  id: ID!
  title: String!
  author: Author
  year: Int
  genres: [Genre!]!
  "Fails for some books, so a query can come back with partial data."
  review: String
}

input NewBook {
  title: String!
  authorId: ID
  year: Int
}

type Query {
  "List books"
  books(limit: Int, genre: Genre): [Book!]!
  book(id: ID!): Book
  authors: [Author!]!
  explode: String
}

type Mutation {
  addBook(input: NewBook!): Book!
  deleteBook(id: ID!): Boolean!
}
'''


def _seed() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    authors = {
        "a1": {"id": "a1", "name": "Ursula K. Le Guin"},
        "a2": {"id": "a2", "name": "Mary Oliver"},
    }
    books = {
        "b1": {"id": "b1", "title": "The Dispossessed", "authorId": "a1", "year": 1974,
               "genres": ["FICTION"], "review": "An ambiguous utopia."},
        "b2": {"id": "b2", "title": "Dream Work", "authorId": "a2", "year": 1986,
               "genres": ["POETRY"], "review": "Luminous."},
        "b3": {"id": "b3", "title": "The Left Hand of Darkness", "authorId": "a1", "year": 1969,
               "genres": ["FICTION"], "review": "Winter."},
    }
    return authors, books


@dataclass
class LibraryServer:
    """The running server and what it saw."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    broken_reviews: set[str] = field(default_factory=set)
    introspection: bool = True
    token: str | None = None
    delay_s: float = 0.0  # answer this late (after recording the request): client timeouts
    schema: Any = None  # the served GraphQLSchema; ``evolve`` swaps it

    def evolve(self, extra_sdl: str) -> None:
        """Serve the library schema plus ``extra_sdl`` from now on (a changed upstream)."""
        self.schema = _build_schema(self, SDL + extra_sdl)

    @property
    def count(self) -> int:
        return len(self.requests)

    def queries(self) -> list[str]:
        return [r["query"] for r in self.requests]


def _build_schema(server: LibraryServer, sdl: str = SDL) -> Any:
    from graphql import build_schema

    schema = build_schema(sdl)
    authors, books = _seed()
    counter = {"n": len(books)}

    def book_view(b: dict[str, Any]) -> dict[str, Any]:
        return dict(b)

    def resolve_books(_root: Any, _info: Any, limit: int | None = None,
                      genre: str | None = None) -> list[dict[str, Any]]:
        out = [book_view(b) for b in books.values() if genre is None or genre in b["genres"]]
        return out[:limit] if limit is not None else out

    def resolve_review(book: dict[str, Any], _info: Any) -> str | None:
        if book["id"] in server.broken_reviews:
            raise RuntimeError(f"review service unavailable for {book['id']}")
        return book.get("review")

    def explode(_root: Any, _info: Any) -> str:
        raise RuntimeError("boom")

    def add_book(_root: Any, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        counter["n"] += 1
        bid = f"b{counter['n']}"
        books[bid] = {"id": bid, "title": input["title"], "authorId": input.get("authorId"),
                      "year": input.get("year"), "genres": [],
                      "review": None}
        return book_view(books[bid])

    def delete_book(_root: Any, _info: Any, id: str) -> bool:
        return books.pop(id, None) is not None

    q = schema.query_type.fields
    q["books"].resolve = resolve_books
    q["book"].resolve = lambda _r, _i, id: books.get(id)
    q["authors"].resolve = lambda _r, _i: list(authors.values())
    q["explode"].resolve = explode
    m = schema.mutation_type.fields
    m["addBook"].resolve = add_book
    m["deleteBook"].resolve = delete_book
    schema.type_map["Book"].fields["author"].resolve = (
        lambda b, _i: authors.get(b.get("authorId") or ""))
    schema.type_map["Book"].fields["review"].resolve = resolve_review
    schema.type_map["Author"].fields["books"].resolve = (
        lambda a, _i: [book_view(b) for b in books.values() if b["authorId"] == a["id"]])
    return schema


def _app(server: LibraryServer) -> Any:
    from graphql import (
        GraphQLError,
        execute,
        parse,
        specified_rules,
        validate,
    )
    from graphql.validation import NoSchemaIntrospectionCustomRule
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    server.schema = _build_schema(server)

    async def graphql_endpoint(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return JSONResponse({"errors": [{"message": "body is not JSON"}]}, status_code=400)
        server.requests.append({"query": body.get("query"), "variables": body.get("variables"),
                                "headers": dict(request.headers),
                                "params": dict(request.query_params)})
        if server.delay_s:
            await asyncio.sleep(server.delay_s)
        if server.token is not None and (
                request.headers.get("authorization") != f"Bearer {server.token}"):
            # Echoes what it got, as careless servers do: the client must not pass it on.
            got = request.headers.get("authorization")
            return JSONResponse({"errors": [{"message": f"unauthorized (got {got})"}]},
                                status_code=401)
        try:
            document = parse(body.get("query") or "")
        except GraphQLError as exc:
            return JSONResponse({"errors": [exc.formatted]}, status_code=400)
        rules = list(specified_rules)
        if not server.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        schema = server.schema
        errors = validate(schema, document, rules)
        if errors:
            return JSONResponse({"errors": [e.formatted for e in errors]}, status_code=400)
        result = execute(schema, document, variable_values=body.get("variables"),
                         operation_name=body.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(out)

    return Starlette(routes=[Route("/graphql", graphql_endpoint, methods=["POST"])])


@contextlib.contextmanager
def serve_app(app: Any, port: int = 0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:<port> in a thread; yields its origin."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    host, bound = sock.getsockname()
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(uv.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}"
    finally:
        uv.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextlib.contextmanager
def running(**options: Any) -> Iterator[LibraryServer]:
    """Serve the library on 127.0.0.1:<free port> in a thread; stop it on exit.

    ``port`` may be given to bind a fixed port (the fixture's 47902, say); default 0.
    """
    port = options.pop("port", 0)
    server = LibraryServer(**options)
    with serve_app(_app(server), port) as origin:
        server.url = f"{origin}/graphql"
        yield server
