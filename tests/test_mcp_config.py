"""Building and reading MCP integration configs: Executor's shapes, secrets named not carried."""

from __future__ import annotations

import pytest

from executor_local.integrations.base import Credentials
from executor_local.integrations.mcp.add import build_integration, credentials_for
from executor_local.integrations.mcp.config import (
    McpConfigError,
    RemoteTarget,
    StdioTarget,
    target_for,
)


def test_remote_with_a_secret_header_uses_executors_method_shape() -> None:
    built = build_integration({"endpoint": "https://mcp.example.com/mcp", "name": "Example",
                               "auth": {"kind": "header", "headerName": "Authorization",
                                        "prefix": "Bearer "}})
    assert built["slug"] == "example" and built["template"] == "header"
    assert built["config"] == {
        "transport": "remote", "endpoint": "https://mcp.example.com/mcp",
        "remoteTransport": "auto",
        "authenticationTemplate": [{"slug": "header", "kind": "apikey", "placements": [
            {"carrier": "header", "name": "Authorization", "prefix": "Bearer "}]}]}
    assert built["variables"] == ["token"]
    target = target_for(built["config"], credentials_for(built["config"], {"token": "abc"}))
    assert isinstance(target, RemoteTarget)
    assert target.headers == {"Authorization": "Bearer abc"}
    assert "abc" not in repr(target)


def test_query_secrets_join_the_endpoint_and_are_redacted_in_repr() -> None:
    built = build_integration({"endpoint": "http://127.0.0.1:1/mcp?x=1", "slug": "q",
                               "secretQueryParams": ["token"], "queryParams": {"v": "2"}})
    target = target_for(built["config"], credentials_for(built["config"], {"token": "zz9"}))
    assert target.url == "http://127.0.0.1:1/mcp?x=1&v=2&token=zz9"
    assert "zz9" not in repr(target)


def test_stdio_secret_env_is_a_stdio_env_method() -> None:
    built = build_integration({"command": "/usr/bin/node", "args": ["s.mjs"], "slug": "n",
                               "env": {"MODE": "x"}, "envVars": ["API_KEY"], "cwd": "/tmp"})
    assert built["config"]["authenticationTemplate"] == [
        {"slug": "env", "kind": "stdio_env", "vars": ["API_KEY"]}]
    assert built["variables"] == ["API_KEY"]
    creds = credentials_for(built["config"], {"API_KEY": "k-1"})
    target = target_for(built["config"], creds)
    assert isinstance(target, StdioTarget)
    assert target.env == {"MODE": "x", "API_KEY": "k-1"} and target.cwd == "/tmp"
    assert "k-1" not in repr(target)


@pytest.mark.parametrize(("request_", "field"), [
    ({}, "endpoint"),
    ({"endpoint": "ftp://x/mcp"}, "endpoint"),
    ({"endpoint": "http://x/mcp", "remoteTransport": "websocket"}, "remoteTransport"),
    ({"endpoint": "http://x/mcp", "command": "srv"}, "body"),
    ({"command": "srv", "env": {"BAD NAME": "1"}}, "env"),
    ({"command": "srv", "env": {"K": "1"}, "secretEnv": ["K"]}, "secretEnv"),
    ({"endpoint": "http://x/mcp", "secretHeaders": ["Bad Header"]}, "secretHeaders"),
    ({"command": "srv", "slug": "Has Spaces"}, "slug"),
])
def test_bad_add_requests_name_the_field(request_: dict, field: str) -> None:
    with pytest.raises(McpConfigError) as raised:
        build_integration(request_)
    assert raised.value.field == field


def test_missing_secret_values_are_named() -> None:
    built = build_integration({"command": "srv", "secretEnv": ["A", "B"], "slug": "s"})
    with pytest.raises(McpConfigError, match="B"):
        credentials_for(built["config"], {"A": "1"})


def test_a_stdio_config_without_a_command_says_how_to_fix_it() -> None:
    with pytest.raises(McpConfigError, match="add-mcp --command"):
        target_for({"transport": "stdio", "auth": {"kind": "none"}}, Credentials())
