"""Every file-system mutation goes through executor_local.fs: nothing else may call these."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "executor_local"
FORBIDDEN = {("os", "replace"), ("os", "rename"), ("os", "remove"), ("os", "unlink"),
             ("os", "rmdir"), ("shutil", "rmtree"), ("shutil", "move"), ("os", "renames"),
             # raw copies: a copy is a write, and the layer decides how it reaches the disk
             ("os", "sendfile"), ("os", "copy_file_range"), ("os", "link"),
             ("shutil", "copy"), ("shutil", "copy2"), ("shutil", "copyfile"),
             ("shutil", "copytree"), ("shutil", "copyfileobj")}
# pathlib's mutators; names no other type we call uses
PATH_METHODS = {"unlink", "rmdir", "rename", "symlink_to", "hardlink_to"}
# Path.replace(target) takes one argument; str.replace(old, new[, count]) takes two or three,
# so a one-argument ``.replace`` is a file move.
ONE_ARG_PATH_METHODS = {"replace"}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name) and (base.id, node.func.attr) in FORBIDDEN:
                found.append(f"{path.name}:{node.lineno} {base.id}.{node.func.attr}")
            elif node.func.attr in PATH_METHODS and not (
                    isinstance(base, ast.Name) and base.id in ("os", "shutil")):
                # pathlib's Path(...).unlink()/.rename()/... bypass the layer just the same
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
            elif (node.func.attr in ONE_ARG_PATH_METHODS and len(node.args) == 1
                  and not node.keywords):
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}(target)")
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
                   "from pathlib import Path\nPath('x').unlink()\n"
                   "p = Path('x')\np.rename('y')\np.replace('z')\nos.sendfile(1, 2, 0, 9)\n"
                   "shutil.copyfile('a', 'b')\nfrom shutil import copy2\n"
                   "'text'.replace('a', 'b')\n")
    assert len(_violations(bad)) == 8, _violations(bad)
    assert _violations(tmp_path / "bad.py") != []
