"""v1 keychain secrets: copied to their v2 item ids where a keychain works, kept where not.

There is no OS keychain on a test machine, so a dict-backed stand-in plays ``keyring``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from executor_local.migrate.v1.keychain import copy_keychain_items


@dataclass
class Item:
    item_id: str
    scope_id: str
    secret_id: str


class KeyringError(Exception):
    pass


@pytest.fixture
def keychain(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    store: dict[tuple[str, str], str] = {}
    mod = types.ModuleType("keyring")
    errors = types.ModuleType("keyring.errors")
    errors.KeyringError = KeyringError  # type: ignore[attr-defined]
    mod.errors = errors  # type: ignore[attr-defined]
    mod.get_keyring = lambda: types.SimpleNamespace(priority=5)  # type: ignore[attr-defined]
    mod.get_password = lambda service, user: store.get((service, user))  # type: ignore[attr-defined]
    mod.set_password = lambda service, user, value: store.__setitem__((service, user), value)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", mod)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)
    monkeypatch.delenv("EXECUTOR_KEYCHAIN_SERVICE_NAME", raising=False)
    yield store


def test_copies_to_the_base_service_and_keeps_the_v1_item(keychain: dict) -> None:  # type: ignore[type-arg]
    keychain[("executor/scope-1", "gh-token")] = "ghp_x"
    warnings = copy_keychain_items([Item("secret_abc", "scope-1", "gh-token")])
    assert warnings == []
    assert keychain[("executor", "secret_abc")] == "ghp_x"
    assert keychain[("executor/scope-1", "gh-token")] == "ghp_x"  # never deleted


def test_a_missing_value_is_a_warning_naming_it(keychain: dict) -> None:  # type: ignore[type-arg]
    warnings = copy_keychain_items([Item("secret_abc", "scope-1", "gone")])
    assert len(warnings) == 1 and '"gone"' in warnings[0]


def test_no_keychain_keeps_everything_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    warnings = copy_keychain_items([Item("secret_a", "s", "one"), Item("secret_b", "s", "two")])
    assert len(warnings) == 1
    assert "one, two" in warnings[0] and "stay in the keychain" in warnings[0]


def test_nothing_to_copy_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    assert copy_keychain_items([]) == []
