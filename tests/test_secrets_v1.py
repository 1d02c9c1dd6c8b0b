"""v1 secrets: deterministic item ids, reading auth.json, and the flat v2 rewrite (string values
only, so Executor 1.5.9 can parse it; the old file is kept byte-identical as its backup)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import v1gen
from executor_local.errors import EXIT_CORRUPT, DataCorrupt
from executor_local.migrate.plan.planner import plan_migration
from executor_local.migrate.v1.forms import bring_to_v1_final
from executor_local.migrate.v1.secrets import (
    AuthFileCorrupt,
    format_auth_json,
    lookup_file_secret,
    migrated_item_id,
    nested_entries,
    read_auth_file,
    rewrite_flat_auth,
)

# The item ids Executor 1.5.9 wrote for the fixtures (shared/fixtures/README.md per-case tables).
KNOWN_ITEM_IDS = [
    ("project-a105cef1", "petstore-api-key", "secret_LaxSGjxE7bhg10nCLFUkYcn27qFM1PwYJCvhFv9q8Dk"),
    ("project-a105cef1", "todos-token", "secret_41lzjePCbQ7nDr1t1zUjAKH_SCx5CU2aNs3UMSnPLJM"),
    ("project-a105cef1", "graphql-token", "secret_1i5pL6PLD8HjeC_WEwsKAhQF_aSQmnjbZZOWkwTW7uI"),
    ("project-a105cef1", "mcp-remote-token", "secret_Tv8G-c3k57xYkfpZqKAKQAuu50zD9g4dFBaVT_g-bSI"),
    ("project-a105cef1", "unused-secret", "secret_-Bil-CzVTwsgcJVAGYlNe7-qSr05ALwou4qlVyQ61P8"),
    ("project-003f7744", "petstore-api-key", "secret_OUayaXTDPITE5MENy6RUpN_HL0hfIQDvYyRKL8MS2X0"),
    ("project-2d4db4d6", "petstore-api-key", "secret_uYtAvFWhZRInjrW6NHHzr9U5FBqr1bkGBc1hDPOnyjQ"),
    ("project-2d4db4d6", "unused-secret", "secret_QAmTqAUelYpeRn2kIwgvWAxNZhrBniV3xjBp8WsH-ps"),
]


def test_mixed_petstore_item_id_is_executors() -> None:
    assert (
        migrated_item_id("project-a105cef1", "petstore-api-key")
        == "secret_LaxSGjxE7bhg10nCLFUkYcn27qFM1PwYJCvhFv9q8Dk"
    )


@pytest.mark.parametrize(("scope", "secret", "item"), KNOWN_ITEM_IDS)
def test_item_ids_match_the_fixture_tables(scope: str, secret: str, item: str) -> None:
    assert migrated_item_id(scope, secret) == item


def test_item_id_shape_and_separator() -> None:
    item = migrated_item_id("a", "bc")
    assert item.startswith("secret_") and len(item) == len("secret_") + 43
    assert "=" not in item and "+" not in item and "/" not in item
    # The NUL separators keep ("a", "bc") and ("ab", "c") apart.
    assert item != migrated_item_id("ab", "c")


def test_read_missing_auth_file_is_none(tmp_path: Path) -> None:
    assert read_auth_file(tmp_path / "auth.json") is None


def test_read_scoped_and_flat_forms(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"scope-1": {"k": "scoped"}, "k": "flat", "other": "x"}))
    auth = read_auth_file(path)
    assert lookup_file_secret(auth, "scope-1", "k") == "scoped"  # the scoped entry wins
    assert lookup_file_secret(auth, "scope-2", "k") == "flat"
    assert lookup_file_secret(auth, "scope-1", "other") == "x"
    assert lookup_file_secret(auth, "scope-1", "absent") is None
    assert lookup_file_secret(None, "scope-1", "k") is None


def test_read_tolerates_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"s": {"k": "v"}}).encode())
    assert read_auth_file(path) == {"s": {"k": "v"}}


@pytest.mark.parametrize(
    "content", [b'{"scope": {"k": "v"', b"[1, 2]", b"\xff\xfe not utf8 \xff", b""]
)
def test_corrupt_auth_file_raises_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(content)
    with pytest.raises(AuthFileCorrupt) as info:
        read_auth_file(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert isinstance(info.value, DataCorrupt) and info.value.exit_code == EXIT_CORRUPT
    assert info.value.hint and "nothing was written" in info.value.hint


def test_rewrite_keeps_every_old_string_entry_and_adds_items() -> None:
    old = {"scope-1": {"k": "v"}, "flat": "f"}
    new = rewrite_flat_auth(old, {"secret_abc": "v"})
    # The nested v1 object is left out: 1.5.9 fails on the whole file when a value is an object
    # ("Failed to parse auth file"); the migration keeps it in the auth.json backup.
    assert new == {"flat": "f", "secret_abc": "v"}
    assert list(new) == ["flat", "secret_abc"]
    assert all(isinstance(v, str) for v in new.values())
    assert old == {"scope-1": {"k": "v"}, "flat": "f"}  # not mutated
    assert rewrite_flat_auth(None, {"secret_x": "1"}) == {"secret_x": "1"}
    # An item id already present (a previous run of the same migration) takes the new value.
    assert rewrite_flat_auth({"secret_x": "old"}, {"secret_x": "new"}) == {"secret_x": "new"}


def test_nested_entries_lists_scoped_values_only() -> None:
    auth = {"s1": {"a": "1", "b": "2"}, "flat": "x", "s2": {"c": "3"}}
    assert nested_entries(auth) == [("s1", "a"), ("s1", "b"), ("s2", "c")]
    assert nested_entries(None) == []


def test_format_matches_executors_file_layout() -> None:
    text = format_auth_json({"secret_a": "v", "é": "ü"})
    assert text == '{\n  "secret_a": "v",\n  "é": "ü"\n}\n'


def test_every_v1_file_secret_gets_an_item(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "data.db", auth_path=tmp_path / "auth.json")
    conn = sqlite3.connect(sample.path, isolation_level=None)
    try:
        bring_to_v1_final(conn)
        auth = read_auth_file(sample.auth_path)
        plan = plan_migration(conn, auth, now_ms=1)
    finally:
        conn.close()
    expected = {migrated_item_id(sample.scope_id, sid): v for sid, v in sample.secrets.items()}
    assert plan.secret_items == expected  # referenced or not (unused-secret included)
    assert plan.auth_json == expected  # the nested v1 object is dropped (kept in the backup)
    assert json.loads(plan.auth_content or b"") == plan.auth_json
    assert not any(v in json.dumps(plan.to_json()) for v in sample.secrets.values())


def test_unresolvable_and_unnamed_values_are_reported(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "data.db", sources=("graphql",))
    auth = {sample.scope_id: {"graphql-token": "g", "stray": "s"}}
    conn = sqlite3.connect(sample.path, isolation_level=None)
    try:
        bring_to_v1_final(conn)
        plan = plan_migration(conn, auth, now_ms=1)
    finally:
        conn.close()
    text = "\n".join(plan.warnings)
    assert 'Could not resolve local secret "unused-secret" from provider "file".' in text
    assert f"{sample.scope_id}/stray" in text
    assert "stay only in the old file" in text
    assert plan.auth_json == {migrated_item_id(sample.scope_id, "graphql-token"): "g"}


def test_nothing_to_write_leaves_auth_json_alone(tmp_path: Path) -> None:
    sample = v1gen.make_v1_final(tmp_path / "data.db", sources=("petstore",))
    conn = sqlite3.connect(sample.path, isolation_level=None)
    try:
        conn.execute("DELETE FROM secret")
        bring_to_v1_final(conn)
        plan = plan_migration(conn, {"flat": "x"}, now_ms=1)
    finally:
        conn.close()
    assert plan.secret_items == {}
    assert plan.auth_json is None and plan.auth_content is None


def test_remigrating_a_restored_v1_backup_finds_values_under_item_ids(tmp_path: Path) -> None:
    """After ``backups restore`` of the v1 data, auth.json is the rewritten flat file: the values
    are found under their migrated item ids, so nothing is reported missing and nothing changes."""
    sample = v1gen.make_v1_final(tmp_path / "data.db", auth_path=tmp_path / "auth.json")
    conn = sqlite3.connect(sample.path, isolation_level=None)
    try:
        bring_to_v1_final(conn)
        first = plan_migration(conn, read_auth_file(sample.auth_path), now_ms=1)
        assert first.auth_json is not None
        again = plan_migration(conn, dict(first.auth_json), now_ms=2)
    finally:
        conn.close()
    assert again.secret_items == first.secret_items
    assert not [w for w in again.warnings if "Could not resolve" in w]
    assert again.auth_json is None  # already the wanted content: left untouched
    scope, sid = sample.scope_id, next(iter(sample.secrets))
    assert lookup_file_secret(first.auth_json, scope, sid) == sample.secrets[sid]
