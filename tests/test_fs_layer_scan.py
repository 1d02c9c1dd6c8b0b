"""Every file-system mutation goes through executor_local.fs: nothing else may call these."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "executor_local"
FORBIDDEN = {("os", "replace"), ("os", "rename"), ("os", "remove"), ("os", "unlink"),
             ("os", "rmdir"), ("shutil", "rmtree"), ("shutil", "move"), ("os", "renames")}
# str.replace and friends share these names, so only the unambiguous pathlib ones are caught
PATH_METHODS = {"unlink", "rmdir"}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name) and (base.id, node.func.attr) in FORBIDDEN:
                found.append(f"{path.name}:{node.lineno} {base.id}.{node.func.attr}")
            elif node.func.attr in PATH_METHODS and not isinstance(base, ast.Name):
                # pathlib's Path(...).unlink()/.rename()/... bypass the layer just the same
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "shutil"):
            for alias in node.names:
                if (node.module, alias.name) in FORBIDDEN:
                    where = f"{path.name}:{node.lineno}"
                    found.append(f"{where} from {node.module} import {alias.name}")
    return found


def test_only_the_fs_layer_mutates_files() -> None:
    files = [p for p in SRC.rglob("*.py") if p != SRC / "fs.py"]
    assert files, "scanned nothing"
    violations = [v for f in files for v in _violations(f)]
    assert violations == []


def test_the_scanner_catches_a_direct_call(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os, shutil\nos.replace('a', 'b')\nshutil.rmtree('d')\n"
                   "from pathlib import Path\nPath('x').unlink()\n")
    assert len(_violations(bad)) == 3
    assert _violations(tmp_path / "bad.py") != []
