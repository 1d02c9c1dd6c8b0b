"""Pure parts of the catalog: the policy grammar and resolution (reference §6.4), position
keys, search words, addresses and the TypeScript rendering."""

from __future__ import annotations

import pytest

from executor_local.catalog import policies, typescript
from executor_local.catalog.addresses import parse_address
from executor_local.catalog.words import words
from executor_local.errors import InvalidInput

A = "petstore.org.main.pets.createPet"


@pytest.mark.parametrize(("pattern", "hit"), [
    ("*", True), (A, True), ("petstore.*", True), ("petstore.org.main.pets.*", True),
    ("petstore.*.*.pets.createPet", True), ("petstore.*.*.pets.listPets", False),
    ("petstore.org.main.pets", False), ("other.*", False), ("petstore.user.*", False),
])
def test_match(pattern: str, hit: bool) -> None:
    assert policies.pattern_problem(pattern) is None or pattern == "petstore.org.main.pets"
    assert policies.match(pattern, A) is hit


@pytest.mark.parametrize("bad", ["", "*.org.main.x", "pets.o*", "pets..x", ".pets.*",
                                 "pets.*.", "petstore.org.main", "petstore", "a.team.c.d"])
def test_refused_patterns(bad: str) -> None:
    with pytest.raises(InvalidInput):
        policies.validate_pattern(bad)


def rule(pid: str, owner: str, pattern: str, action: str, pos: str) -> policies.Rule:
    return policies.Rule(pid, owner, pattern, action, pos)


def test_resolution_first_match_per_owner_then_most_restrictive() -> None:
    rules = policies.sort_rules([
        rule("1", "org", "petstore.*", "approve", "b"),
        rule("2", "org", A, "block", "c"),  # shadowed by the org's first match
        rule("3", "user", A, "require_approval", "a"),
    ])
    eff = policies.resolve(rules, A, requires_approval=False)
    assert (eff.action, eff.policy_id, eff.source) == ("require_approval", "3", "user")
    assert policies.resolve([], A, True).action == "require_approval"
    assert policies.resolve([], A, False).source == "plugin-default"
    user_block = [rule("9", "user", "*", "block", "a"), rule("8", "org", "*", "approve", "a")]
    assert policies.resolve(policies.sort_rules(user_block), A, False).action == "block"


def test_positions_sort_between_and_by_specificity() -> None:
    keys = ["V"]
    for _ in range(30):
        keys.append(policies.key_between(keys[-1], None))
        keys.insert(0, policies.key_between(None, keys[0]))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    mid = policies.key_between("a", "b")
    assert "a" < mid < "b"
    existing = [rule("1", "org", A, "block", "M"), rule("2", "org", "*", "approve", "k")]
    pos = policies.position_for("petstore.*", existing)
    assert "M" < pos < "k"


def test_words_split_and_fold() -> None:
    assert words("listPets") == ["list", "pet", "listpet"]
    assert "server" in words("HTTPServers") and "user" in words("get_users_by_id")
    assert words("categories") == ["category"]


def test_addresses() -> None:
    a = parse_address("tools.petstore.org.main.pets.listPets")
    assert (a.integration, a.owner, a.connection, a.tool) == ("petstore", "org", "main",
                                                              "pets.listPets")
    for bad in ("petstore.org.main", "petstore.team.main.x", ""):
        with pytest.raises(InvalidInput):
            parse_address(bad)


def test_typescript_rendering_handles_refs_and_cycles() -> None:
    schema = {"type": "object", "required": ["body"], "properties": {
        "body": {"$ref": "#/$defs/Pet"}, "limit": {"type": "integer"},
        "status": {"enum": ["a", "b"]}}}
    text = typescript.render(schema)
    assert "body: Pet;" in text and "limit?: number;" in text and '"a" | "b"' in text
    defs = typescript.definitions({"Pet": {"type": "object", "properties": {
        "owner": {"$ref": "#/$defs/Owner"}}}, "Owner": {"type": "object", "properties": {
            "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}}}})
    assert "Array<Pet>" in defs["Owner"] and "owner?: Owner;" in defs["Pet"]


def test_tenant_choice(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from executor_local.store import tables
    from executor_local.store.open import open_store
    from executor_local.store.tenant import choose_tenant, tenant_for_dir

    monkeypatch.delenv("EXECUTOR_SCOPE_DIR", raising=False)
    conn = open_store(tmp_path / "data.db")
    try:
        new = choose_tenant(conn, tmp_path)
        assert new.tenant == tenant_for_dir(tmp_path) and new.tenant.startswith(tmp_path.name)
        tables.insert(conn, [tables.new_integration("proj-1", "a", "openapi", "A", "{}", 1)])
        assert choose_tenant(conn, tmp_path).tenant == "proj-1"
        tables.insert(conn, [tables.new_integration("proj-2", s, "openapi", s, "{}", 1)
                             for s in ("b", "c")])
        several = choose_tenant(conn, tmp_path)
        assert several.tenant == "proj-2" and several.others == ["proj-1"]
        assert "--scope" in (several.warning or "")
        assert choose_tenant(conn, tmp_path, "proj-1").tenant == "proj-1"
        monkeypatch.setenv("EXECUTOR_SCOPE_DIR", str(tmp_path / "elsewhere"))
        assert choose_tenant(conn, tmp_path).tenant == tenant_for_dir(tmp_path / "elsewhere")
    finally:
        conn.close()


@pytest.mark.parametrize("fts", [True, False], ids=["fts5", "like-fallback"])
def test_search_with_and_without_fts5(tmp_path, monkeypatch, fts: bool) -> None:  # type: ignore[no-untyped-def]
    from executor_local.catalog import Catalog, search_index
    from executor_local.secrets.file_provider import FileProvider
    from executor_local.secrets.keyring_provider import KeyringProvider
    from executor_local.secrets.providers import Secrets
    from executor_local.store import tables
    from executor_local.store.db import Database
    from executor_local.store.open import open_store

    if not fts:
        monkeypatch.setattr(search_index, "has_fts5", lambda conn: False)
    writer = open_store(tmp_path / "data.db")
    db = Database.around(writer)
    try:
        with db.write() as w:
            tables.insert(w, [tables.new_integration("t", "zoo", "openapi", "Zoo", "{}", 1)])
            tables.insert(w, [tables.new_tool("t", "org", "zoo", "main", "openapi", name, desc,
                                              None, None, None, 1)
                              for name, desc in [("pets.listPets", "List all pets"),
                                                 ("pets.createPet", "Create a pet"),
                                                 ("store.getInventory", "Returns inventories"),
                                                 ("users.getUserById", "Find one person")]])
        cat = Catalog(db, "t", Secrets(FileProvider(tmp_path / "a.json"), KeyringProvider("x")))
        assert cat.index.fts is fts
        found = cat.search("pets")
        assert {i["name"] for i in found["items"]} == {"pets.listPets", "pets.createPet"}
        assert found["total"] == 2 and found["hasMore"] is False
        assert cat.search("inventory")["items"][0]["name"] == "store.getInventory"
        assert cat.search("user by id")["items"][0]["name"] == "users.getUserById"
        page = cat.search("", namespace="zoo", limit=3)
        assert page["total"] == 4 and page["hasMore"] and page["nextOffset"] == 3
        assert len(cat.search("", namespace="zoo", limit=3, offset=3)["items"]) == 1
        assert [t["name"] for t in cat.list_tools(query="list pets")] == ["pets.listPets"]
        cat.create_policy("org", "zoo.org.main.pets.*", "block")
        assert {i["name"] for i in cat.search("pets")["items"]} == set()
        assert cat.search("", namespace="zoo")["total"] == 2
        assert len(cat.list_tools(include_blocked=True)) == 4
    finally:
        db.close()
        writer.close()
