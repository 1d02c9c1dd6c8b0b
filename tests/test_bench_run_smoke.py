"""The benchmark scripts added for issues 13-15 answer ``--help``, and bench/run.py merges
repeated runs into medians and keeps the sections it did not re-measure (fast: no bench runs
here; ``bench/run.py --quick`` is the end-to-end smoke)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_run() -> ModuleType:
    """bench/run.py by its path: putting bench/ on sys.path would let its scripts shadow
    installed packages for every test in this worker."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", ["run", "call", "mcp_upstream", "codemode", "catalog"])
def test_script_answers_help(script: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_merge_takes_medians_and_keeps_shapes() -> None:
    run = load_run()

    merged = run.merge([{"a": {"p50": 1.0, "p99": 9}, "n": "x", "rss": [1]},
                        {"a": {"p50": 3.0, "p99": 1}, "n": "y", "rss": [2]},
                        {"a": {"p50": 2.0, "p99": 5}, "n": "z", "rss": [3]}])
    assert merged == {"a": {"p50": 2.0, "p99": 5}, "n": "x", "rss": [1]}


def test_old_sections_are_kept_by_title() -> None:
    run = load_run()

    text = ("# Benchmark results\n\nintro\n\n## Start to READY\n\n| a |\n\n## Migration\n\n"
            "| b |\n\n## Where the time goes (notes)\n\n- c\n")
    assert run.old_sections(text) == {"startup": "| a |", "migration": "| b |"}


def test_no_helper_script_shadows_an_installed_package() -> None:
    """A bench/ or tests/ script named like an installed package (bench/mcp.py once did)
    replaces that package for whoever puts the folder on sys.path; CI then fails by import
    order. Installed top-level names come from the venv's metadata."""
    import importlib.metadata

    installed = set(importlib.metadata.packages_distributions()) | set(sys.stdlib_module_names)
    clashes = [f"{folder}/{p.name}" for folder in ("bench", "tests")
               for p in sorted((ROOT / folder).glob("*.py")) if p.stem in installed]
    assert not clashes, f"rename these, they shadow installed or stdlib modules: {clashes}"
