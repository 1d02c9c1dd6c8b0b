"""Shared fixtures: the built bundle (built once per test session) and isolated environments."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BUNDLE = ROOT / "bundle" / "executor.pyz"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _inputs_digest() -> str:
    """A digest of everything the bundle is built from, to know when a built pyz is stale."""
    h = hashlib.sha256()
    files = [ROOT / "build.py", ROOT / "pyproject.toml", ROOT / "requirements.lock"]
    # package data too (the console's CSS and script, the sandbox's JS), not only *.py
    files += sorted(f for f in (ROOT / "src").rglob("*")
                    if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
                    and ".egg-info" not in str(f))
    files += sorted((ROOT / "pyzboot").glob("*.py"))
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def pyz() -> Path:
    """The built ``bundle/executor.pyz``, rebuilt when its inputs changed.

    A file lock serialises the build across parallel workers; the others reuse the result.
    """
    import fcntl

    BUNDLE.parent.mkdir(exist_ok=True)
    stamp = BUNDLE.with_name("executor.pyz.inputs")
    with open(BUNDLE.with_name(".build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = _inputs_digest()
        if not (BUNDLE.exists() and stamp.exists() and stamp.read_text() == digest):
            subprocess.run(
                [sys.executable, str(ROOT / "build.py")], check=True, capture_output=True
            )
            stamp.write_text(digest)
    return BUNDLE


def built_bundle(platform: str) -> Path:
    """``bundle/executor-<platform>.pyz`` (build.py --platform), rebuilt when its inputs
    changed; serialised across workers like ``pyz``."""
    import fcntl

    target = ROOT / "bundle" / f"executor-{platform}.pyz"
    stamp = target.with_name(target.name + ".inputs")
    with open(ROOT / "bundle" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = _inputs_digest()
        if not (target.exists() and stamp.exists() and stamp.read_text() == digest):
            subprocess.run([sys.executable, str(ROOT / "build.py"), "--platform", platform],
                           check=True, capture_output=True)
            stamp.write_text(digest)
    return target


def find_python(version: str) -> str | None:
    """A CPython ``version`` ("3.12") on this machine: ``$EXECUTOR_TEST_PYTHON_3_12``,
    ``python3.12`` on PATH, or a pyenv install; None when there is none."""
    import glob
    import shutil

    explicit = os.environ.get("EXECUTOR_TEST_PYTHON_" + version.replace(".", "_"))
    if explicit:
        return explicit
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for path in sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"),
                       reverse=True):
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(f"python{version}")
    return found if found and ".pyenv/shims" not in found else None


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """One extraction root per worker, so warm starts are warm and nothing touches ~/.shiv.

    Unpacked once, both parts (``--version --verbose`` imports every compiled module): a daemon
    stopped right after READY abandons the compiled part's background unpacking, so without
    this every daemon of the suite unpacked 70 MB again, competing with the test for the CPU.
    """
    root = tmp_path_factory.mktemp("shiv")
    if sys.platform == "win32":  # the Wine part runs the fs and migrator tests, not the bundle
        return root
    pyz = request.getfixturevalue("pyz")
    subprocess.run([sys.executable, str(pyz), "--version", "--verbose"], capture_output=True,
                   env={**os.environ, "SHIV_ROOT": str(root)}, timeout=300, check=True)
    return root


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def env(tmp_path: Path, home: Path, shiv_root: Path) -> dict[str, str]:
    """An environment whose HOME, XDG dirs and SHIV_ROOT are private to the test."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "XDG_"))}
    return {
        **keep,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "SHIV_ROOT": str(shiv_root),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _processes_under(folder: Path) -> list[int]:
    """Live processes whose command line names ``folder`` (a test's own tmp_path)."""
    mark = str(folder).encode()
    found = []
    for entry in os.listdir("/proc") if sys.platform == "linux" else []:
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if mark in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A daemon a test started (often a background one a CLI command auto-started) must not
    run on after it: it would hold a port, a data dir and CPU for the rest of the suite. Any
    left is killed and named in a warning."""
    yield
    import contextlib
    import signal
    import warnings

    left = _processes_under(tmp_path)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if left:
        warnings.warn(f"processes outlived the test and were killed: {left}", stacklevel=1)
