"""Packages import only downward (docs/architecture.md, "Layers"): an AST check over every module
of src/executor_local, imports inside functions included (they hide cycles as well as any other).

A module belongs to its package's layer, except the few listed in ``MODULE_LAYER``. A module may
import its own package and anything in a lower layer; never a higher layer, never a sibling of
its own layer. Strict layers leave no room for a package cycle, so this also fails on one.
Routers the server loads by name (``importlib``) are not imports and are not seen here.

    python3 tests/test_layers.py   # prints every cross-package import edge and any violation
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "executor_local"

# Top to bottom; one entry per layer (a tuple: packages of one layer, which may not import
# each other).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("selfcheck",),  # does the bundle fit this computer: doctor's finding, --version --verbose
    ("boot",),  # the first-launch sequence, the detached start and the doctor that checks it
    ("daemon",),  # the running process: session, socket, manifest, token, log, shiv pruning
    ("server",),  # the ASGI app, its routers, and the routers plugins contribute
    ("mcp",),  # the MCP server tools and the stdio bridge
    ("executions",),
    ("catalog",),
    ("integrations",),  # the plugins: the catalog calls them through integrations/base.py
    ("secrets",),
    ("migrate",),
    ("store",),
    ("fs", "procinfo"),  # every file-system mutation; facts about other processes
    ("datadir",),  # the data dir's file names (stdlib only; platformdirs lazily)
    ("errors", "__init__"),  # the error types and the version: they import nothing of ours
)

# A plugin's HTTP routes live in the plugin's folder (one place per plugin) but are the server's:
# only the server loads them (by name), and they use the server's helpers.
MODULE_LAYER = {
    "integrations.openapi.routes": "server",
    "integrations.mcp.routes": "server",
    "integrations.graphql.routes": "server",
    "mcp.routes": "server",
}


def _rank() -> dict[str, int]:
    return {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC / ROOT).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _owner(module: str) -> str:
    """The package (layer key) a module (relative to ``executor_local``) belongs to."""
    for prefix, layer in MODULE_LAYER.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return module.split(".")[0]


def _is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module relative to ``executor_local``) for every import of ours."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = [ROOT, *module.split(".")]
                if not is_pkg:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from executor_local.pkg import mod``: the submodule is what is imported.
            names = [f"{target}.{a.name}" for a in node.names] if target else []
            if target == ROOT:  # ``from executor_local import fs`` vs ``... import __version__``
                names = [n if _is_module(n) else ROOT for n in names]
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                out.append((node.lineno, name[len(ROOT) + 1:] or "__init__"))
    return out


def scan() -> tuple[dict[tuple[str, str], list[str]], list[str]]:
    """Every cross-package edge with where it is, and every violation as a sentence."""
    rank = _rank()
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    problems = []
    for path in sorted((SRC / ROOT).rglob("*.py")):
        src = _owner(_module_name(path))
        if src not in rank:
            problems.append(f"{path.relative_to(SRC)}: package {src!r} has no layer")
            continue
        for line, target in _imports(path, _module_name(path)):
            dst = _owner(target)
            if dst == src:
                continue
            where = f"{path.relative_to(SRC)}:{line}"
            edges[(src, dst)].append(where)
            if dst not in rank:
                problems.append(f"{where}: imports {target}, whose package has no layer")
            elif rank[dst] <= rank[src]:
                kind = "a sibling of its layer" if rank[dst] == rank[src] else "upward"
                problems.append(f"{where}: {src} imports {target} ({kind}: {dst} is not below "
                                f"{src})")
    return edges, problems


def test_packages_import_only_downward() -> None:
    _, problems = scan()
    assert problems == [], "\n".join(problems)


def test_the_check_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The scanner itself: a hidden import inside a function and a relative one are seen."""
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from executor_local.cli import app\n"
                    "def g():\n    from ..boot import own\n")
    assert _imports(fake, "store.probe") == [(2, "cli.app"), (4, "boot.own")]


def main() -> int:
    edges, problems = scan()
    for (src, dst), where in sorted(edges.items(), key=lambda e: (_rank()[e[0][0]], e[0][1])):
        print(f"{src:>12} -> {dst:<12} {len(where):3d}")
    print("\n".join(problems) if problems else "layers: no upward import, no cycle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
