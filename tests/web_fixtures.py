"""Fixtures and helpers of the web console tests (``pytest_plugins = ["web_fixtures"]``): a
daemon run from the source tree, the CLI (``web_util.Cli``) and a headless Chromium context
(a new empty profile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import browser
import catalog_util
from upstreams import petstore as upstream
from web_util import Cli

petstore = upstream.petstore


@pytest.fixture(scope="session")
def chromium() -> str:
    why = browser.ensure_chromium()
    if why:
        pytest.skip(why)
    return browser.CHROMIUM


@pytest.fixture
def cli_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "EXECUTOR_AUTH_FILE": str(tmp_path / "secrets" / "auth.json"),
            "EXECUTOR_SECRET_PROVIDER": "file"}


@pytest.fixture
def daemon(data_dir: Path, cli_env: dict[str, str]) -> Iterator[catalog_util.SourceDaemon]:
    d = catalog_util.SourceDaemon(data_dir, cli_env)
    try:
        d.wait_ready()
        yield d
    finally:
        d.kill()


@pytest.fixture
def cli(data_dir: Path, cli_env: dict[str, str]) -> Cli:
    return Cli(data_dir, cli_env)


@pytest.fixture
def context(chromium: str, tmp_path: Path) -> Iterator[object]:
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=browser.ARGS)
        try:
            yield ctx
        finally:
            ctx.close()
