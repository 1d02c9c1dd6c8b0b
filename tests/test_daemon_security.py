"""Local security (reliability matrix §5.6): loopback bind, Host and Origin checks, the bearer
checked before routing, CORS for loopback origins only, JSON bodies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon_util import request
from proc import Daemon, run_cli

TOKEN = "t0ken-for-the-security-tests"
ALLOWED = "executor.test"


@pytest.fixture(scope="module")
def port(pyz: Path, shiv_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One daemon for the whole module: each test only sends requests."""
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    env.update(HOME=str(home), SHIV_ROOT=str(shiv_root), EXECUTOR_AUTH_TOKEN=TOKEN)
    data_dir = tmp_path_factory.mktemp("security") / "data"
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                      "--port", "0", "--allowed-host", ALLOWED], env) as d:
        yield d.wait_ready()
        assert d.terminate() == 0


def test_listens_on_loopback_only(port: int) -> None:
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                listening.add(local.rsplit(":", 1)[0])
    if not listening:
        pytest.skip("no /proc/net/tcp here")
    assert listening == {"0100007F"}  # 127.0.0.1, and nothing else


def test_health_needs_no_token(port: int) -> None:
    assert request(port, "/api/health")[::2] == (200, "ok")


@pytest.mark.parametrize("path", ["/api/info", "/api/nothing-here", "/", "/mcp"])
def test_missing_token_is_401_before_routing(port: int, path: str) -> None:
    status, headers, _ = request(port, path)
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="executor"'


@pytest.mark.parametrize("auth", ["Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                  "Bearer", f"Bearer {TOKEN[:-1]}"])
def test_wrong_token_is_401(port: int, auth: str) -> None:
    assert request(port, "/api/info", headers={"Authorization": auth})[0] == 401


def test_right_token_reaches_routes(port: int) -> None:
    status, _, body = request(port, "/api/info", token=TOKEN)
    assert status == 200 and json.loads(body)["version"]
    assert request(port, "/api/nothing-here", token=TOKEN)[0] == 404


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1",
                                  "localhost", "127.0.0.1.evil.example:{port}"])
def test_foreign_host_is_403(port: int, host: str) -> None:
    status, _, body = request(port, "/api/info", token=TOKEN, host=host.format(port=port))
    assert status == 403, body
    assert request(port, "/api/health", host=host.format(port=port))[0] == 403


def test_missing_host_is_refused(port: int) -> None:
    # HTTP/1.1 requires Host: h11 answers 400 before our check could say 403
    assert request(port, "/api/health", host="")[0] in (400, 403)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}",
                                  "LOCALHOST:{port}", ALLOWED, f"{ALLOWED}:{{port}}"])
def test_loopback_and_allowed_hosts_pass(port: int, host: str) -> None:
    assert request(port, "/api/info", token=TOKEN, host=host.format(port=port))[0] == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.ex",
                                    "file://"])
def test_foreign_origin_is_403_without_cors(port: int, origin: str) -> None:
    status, headers, _ = request(port, "/api/info", token=TOKEN, headers={"Origin": origin})
    assert status == 403
    assert "access-control-allow-origin" not in headers
    preflight = request(port, "/api/info", method="OPTIONS", headers={"Origin": origin})
    assert preflight[0] == 403 and "access-control-allow-origin" not in preflight[1]


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000",
                                    "http://[::1]:8080", f"https://{ALLOWED}"])
def test_loopback_origin_gets_cors(port: int, origin: str) -> None:
    status, headers, _ = request(port, "/api/info", token=TOKEN, headers={"Origin": origin})
    assert status == 200
    assert headers["access-control-allow-origin"] == origin and headers["vary"] == "Origin"
    status, headers, _ = request(port, "/api/info", method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert status == 204
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-headers"] == "authorization"
    # a loopback origin still needs the token for the request itself
    assert request(port, "/api/info", headers={"Origin": origin})[0] == 401


def test_no_origin_with_token_is_fine(port: int) -> None:
    status, headers, _ = request(port, "/api/info", token=TOKEN)
    assert status == 200 and "access-control-allow-origin" not in headers


def test_body_must_be_json(port: int) -> None:
    status, _, _ = request(port, "/api/info", method="POST", token=TOKEN, body=b"x=1",
                           headers={"Content-Type": "text/plain"})
    assert status == 415
    status, _, _ = request(port, "/api/info", method="POST", token=TOKEN, body=b"{}",
                           headers={"Content-Type": "application/json"})
    assert status == 405  # past the checks, to the router (which has no POST there)


def test_non_loopback_bind_refused_unless_asked(pyz: Path, env: dict[str, str],
                                                data_dir: Path) -> None:
    refused = run_cli(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground",
                            "--port", "0", "--hostname", "0.0.0.0"], env)
    assert refused.returncode == 2, refused.stderr
    assert "not a loopback address" in refused.stderr and "--allow-remote" in refused.stderr
    assert not data_dir.exists(), "refused before touching anything"
    with Daemon(pyz, ["--data-dir", str(data_dir), "daemon", "run", "--foreground", "--port",
                      "0", "--hostname", "0.0.0.0", "--allow-remote"], env) as d:
        port = d.wait_ready()
        assert "WARNING: listening on 0.0.0.0" in d.err
        assert request(port, "/api/health")[0] == 200
        assert d.terminate() == 0


def test_token_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Matrix row 56: the comparison is hmac.compare_digest, on fixed-length digests."""
    from executor_local.daemon import security

    calls: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    gate = security.LocalSecurity(lambda *_: None, token=TOKEN, port=1)  # type: ignore[arg-type]
    assert gate.token_ok(f"Bearer {TOKEN}") and gate.token_ok(f"bearer  {TOKEN} ")
    assert not gate.token_ok("Bearer short")
    assert len(calls) == 3 and {len(a) for a, _ in calls} == {32}
