"""The CLI's tool-path helpers: joining segments, the namespace tree, fuzzy matching."""

from __future__ import annotations

import pytest

from executor_local.cli import toolpaths

PATHS = ["pets.org.main.pets.listPets", "pets.org.main.pets.createPet",
         "pets.org.main.store.getInventory", "pets.org.main.store", "todo.org.x.todos.list"]


def test_segments_join_with_dots_and_drop_tools_prefix():
    assert toolpaths.join_segments(["tools.pets", "org", "main", "pets.listPets"]) == (
        "pets.org.main.pets.listPets")
    with pytest.raises(ValueError, match="not a tool path segment"):
        toolpaths.join_segments(["pets", "a b"])


def test_children_count_tools_and_groups():
    kids = toolpaths.children(PATHS, "pets.org.main")
    assert [(k.name, k.kind, k.count) for k in kids] == [
        ("pets.org.main.pets", "group", 2), ("pets.org.main.store", "tool+group", 2)]
    assert [k.name for k in toolpaths.children(PATHS, "")] == ["pets", "todo"]
    assert toolpaths.nearest_prefix(PATHS, "pets.org.nobody.x") == "pets.org"


def test_matching_splits_words_and_ignores_plurals():
    assert toolpaths.matches("list pet", "pets.org.main.pets.listPets")
    assert toolpaths.matches("inventories", "pets.org.main.store.getInventory")
    assert not toolpaths.matches("delete", "pets.org.main.pets.listPets", "List all pets")
    assert toolpaths.words("HTTPServer_error-code") == ["http", "server", "error", "code"]
