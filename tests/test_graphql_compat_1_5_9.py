"""Executor 1.5.9 reads the GraphQL integration our daemon added: the config, the snapshot blob
(``introspection/<sha256>`` in ``o:<tenant>/graphql``), the tool rows and the ``operation``
bindings, and calls one of the tools against the real GraphQL test server through its own
code mode."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path
from typing import Any

import peer
from catalog_util import Api, SourceDaemon
from test_compat_1_5_9 import _peer_env, executor_159  # noqa: F401 - the session fixture
from upstreams.graphql_server import running


def _post(port: int, path: str, token: str, body: Any) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_executor_159_reads_and_calls_our_graphql_integration(
    env: dict[str, str], tmp_path: Path, executor_159: Path  # noqa: F811
) -> None:
    data = tmp_path / "catalog-data"
    xdg = Path(env["XDG_DATA_HOME"])
    with running() as server:
        ours = SourceDaemon(data, {**env, "EXECUTOR_SECRET_PROVIDER": "file"}, cwd=tmp_path)
        with ours:
            api = Api(ours.wait_ready(), ours.token)
            added = api.post("/api/graphql/integrations", {"endpoint": server.url,
                                                           "slug": "library",
                                                           "name": "Library"})
            assert added["toolCount"] == 6
            our_tools = {t["address"] for t in api.get("/api/tools?integration=library")}
            sha = api.get("/api/graphql/integrations/library")["introspectionHash"]
            assert ours.terminate() == 0
        introspections = sum("__schema" in q for q in server.queries())

        token = "t" + secrets.token_urlsafe(24)
        args = ["daemon", "run", "--foreground", "--port", "0", "--hostname", "127.0.0.1",
                f"--auth-token={token}"]
        theirs = peer.Peer(executor_159, args, {**_peer_env(tmp_path, xdg, data),
                                                "EXECUTOR_SCOPE_DIR": str(data)}, cwd=data)
        try:
            theirs.wait_ready()
            status, integrations = theirs.get("/api/integrations", token)
            assert status == 200
            library = next(i for i in integrations if i["slug"] == "library")
            assert library["kind"] == "graphql"
            status, tools = theirs.get("/api/tools", token)
            assert {t["address"] for t in tools if t["integration"] == "library"} == our_tools
            status, config = theirs.get("/api/graphql/integrations/library/config", token)
            assert status == 200 and config["endpoint"] == server.url
            status, view = theirs.get("/api/tools/schema", token,
                                      address="tools.library.org.main.query.book")
            assert status == 200 and "id" in view["inputSchema"]["properties"]
            # 1.5.9 predates `select`: it sends the stored binding's default operation.
            code = "return await tools.library.org.main.query.book({id: 'b3'});"
            status, out = _post(theirs.port, "/api/executions", token, {"code": code})
            assert status == 200, out
            assert out["structured"]["result"] == {"ok": True, "data": {"book": {
                "id": "b3", "title": "The Left Hand of Darkness", "year": 1969,
                "genres": ["FICTION"], "review": "Winter."}}}, out
            assert server.queries()[-1] == (
                "query($id: ID!) { book(id: $id) { id title year genres review } }")
        finally:
            theirs.stop()
        # 1.5.9 used our snapshot: it did not introspect the endpoint again.
        assert sum("__schema" in q for q in server.queries()) == introspections
    assert sha
