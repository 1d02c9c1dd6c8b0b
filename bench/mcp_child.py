"""The bench's MCP server process: the daemon's real app (uvicorn, lifespan on) with the
contract-shaped Services of tests/mcp_contract_services.py over a real HTTP upstream, and
``tools`` synthetic extra tools in its catalog. Prints ``PORT <n>`` and serves until killed."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from mcp_contract_services import ContractServices, tools_for  # noqa: E402
from mcp_util import serve_app  # noqa: E402
from upstreams.tinypets import serve as serve_pets  # noqa: E402

WORDS = ["list", "create", "update", "delete", "get", "search", "issue", "repo", "pet", "user",
         "order", "invoice", "ticket", "page", "file", "event", "calendar", "message"]


def synthetic(n: int, base_url: str) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        verb, noun = WORDS[i % 6], WORDS[6 + (i // 6) % 12]
        out.append({"path": f"int{i % 50}.org.default.{noun}.{verb}{i}", "name": f"{verb}{i}",
                    "description": f"{verb} {noun} number {i}", "method": "GET",
                    "url": f"{base_url}/pets",
                    "inputSchema": {"type": "object", "properties": {
                        "id": {"type": "string"}, "limit": {"type": "integer"}}}})
    return out


def main() -> None:
    extra, db = int(sys.argv[1]), Path(sys.argv[2])
    with serve_pets() as pets:
        tools = tools_for(pets.base_url) + synthetic(extra, pets.base_url)
        with serve_app(ContractServices(pets.base_url, db, tools)) as port:
            print(f"PORT {port}", flush=True)
            threading.Event().wait()


if __name__ == "__main__":
    main()
