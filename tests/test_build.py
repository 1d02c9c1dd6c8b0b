"""build.py: two builds of one commit from two folders give byte-identical bundles."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["build.py", "pyproject.toml", "requirements.in", "requirements.lock", "README.md", "src",
           "pyzboot"]


def _copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def test_two_builds_from_two_folders_are_byte_identical(tmp_path: Path) -> None:
    digests = []
    for name in ("first-checkout", "somewhere else/second"):
        project = _copy_project(tmp_path / name)
        result = subprocess.run([sys.executable, "build.py"], cwd=project,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        pyz = project / "bundle" / "executor.pyz"
        digest = hashlib.sha256(pyz.read_bytes()).hexdigest()
        assert (project / "bundle" / "executor.pyz.sha256").read_text().split()[0] == digest
        assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
        digests.append(digest)
    assert digests[0] == digests[1]
