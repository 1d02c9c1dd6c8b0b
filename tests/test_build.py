"""build.py: two builds of one commit from two folders give byte-identical bundles, per platform."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_other_platforms_build_byte_identical_from_two_folders(tmp_path: Path) -> None:
    """Per platform: the Windows and macOS arm64 bundles, each built in two folders."""
    names = ["executor-windows-amd64.pyz", "executor-macos-arm64.pyz"]
    digests: list[dict[str, str]] = []
    for folder in ("one", "two/deeper"):
        project = _copy_project(tmp_path / folder)
        result = subprocess.run([sys.executable, "build.py", "--platform", "win_amd64",
                                 "--platform", "macos-arm64"], cwd=project,
                                capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stdout + result.stderr
        found = {}
        for name in names:
            pyz = project / "bundle" / name
            found[name] = hashlib.sha256(pyz.read_bytes()).hexdigest()
            assert (project / "bundle" / f"{name}.sha256").read_text() == (
                f"{found[name]}  {name}\n")
        digests.append(found)
    assert digests[0] == digests[1]
    assert digests[0][names[0]] != digests[0][names[1]]
