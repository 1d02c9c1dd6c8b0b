"""Fixtures and helpers shared by the code-mode sandbox tests: one worker pool per module,
the petstore upstream and a Host over it (``pytest_plugins = ["codemode_fixtures"]``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codemode_parts import Petstore, PetstoreHost
from executor_local.executions.sandbox.pool import Pool


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    p = Pool(idle=1)
    yield p
    p.close()


@pytest.fixture
def store() -> Iterator[Petstore]:
    s = Petstore()
    yield s
    s.close()


@pytest.fixture
def host(store: Petstore) -> PetstoreHost:
    return PetstoreHost(store)
