"""``executor integrations add-mcp``: the request it builds, secrets kept off argv."""

from __future__ import annotations

import click
import pytest

from executor_local.cli.mcp_cmd import build_request, variables_for


def test_remote_request_names_secret_headers_without_values() -> None:
    request, secret = build_request(
        "https://x.example/mcp", None, headers=("Authorization", "X-Static=1"),
        queries=("team",), transport="sse", args=(), envs=(), cwd=None, slug="x", name=None)
    assert request["secretHeaders"] == ["Authorization"] and request["headers"] == {
        "X-Static": "1"}
    assert request["secretQueryParams"] == ["team"] and request["remoteTransport"] == "sse"
    assert secret == ["Authorization", "team"]
    variables, labels = variables_for(request)
    assert variables == ["authorization", "team"]
    assert labels["authorization"] == "header Authorization"


def test_stdio_request_takes_dash_args_and_secret_env() -> None:
    request, secret = build_request(
        None, "python", headers=(), queries=(), transport="auto", args=("srv.py", "--stdio"),
        envs=("API_KEY", "MODE=fast"), cwd="/tmp", slug=None, name=None)
    assert request["args"] == ["srv.py", "--stdio"] and request["env"] == {"MODE": "fast"}
    assert secret == ["API_KEY"] and variables_for(request)[0] == ["API_KEY"]


def test_url_and_command_together_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError):
        build_request("http://x/mcp", "srv", headers=(), queries=(), transport="auto",
                      args=(), envs=(), cwd=None, slug=None, name=None)
