"""The one-file bundle on every CPython of this machine (issue 12).

Under each CPython from 3.11 up that is installed here (pyenv or ``python3.X`` on PATH; a version
that is absent is skipped, saying so), the Linux bundle: unpacks on a fresh root, migrates a seeded
v1 data dir, serves, has imported nothing compiled at READY, and loads every compiled module it
carries for that version. An older Python gets one line and exit 11, never a traceback. A bundle
built for another OS, run here, says which OS it is for instead of failing on an import.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import built_bundle, find_python
from migration_env import assert_complete_v2, seed_v1
from proc import Daemon, run_cli

# Nothing compiled (nor the libraries that pull it in) may be imported before READY.
COMPILED = ["pydantic", "pydantic_core", "mcp", "cryptography", "quickjs", "_quickjs", "yaml",
            "httpx", "graphql", "keyring", "rpds", "_cffi_backend", "jsonschema"]


def _python_or_skip(version: str) -> str:
    python = find_python(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine (pyenv, python{version} on PATH, or "
                    f"$EXECUTOR_TEST_PYTHON_{version.replace('.', '_')})")
    return python


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13", "3.14"])
def test_bundle_boots_migrates_serves_and_loads_its_compiled_modules(
        version: str, pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    python = _python_or_skip(version)
    seed = seed_v1(tmp_path / "v1")
    modules_file = tmp_path / "modules-at-ready.txt"
    env = {**env, "SHIV_ROOT": str(tmp_path / "shiv"), "EXECUTOR_AUTH_FILE": str(seed.auth_path),
           "EXECUTOR_TEST_MODE": "1", "EXECUTOR_TEST_MODULES_AT_READY": str(modules_file)}
    with Daemon(pyz, ["--data-dir", str(seed.data_dir), "daemon", "run", "--foreground",
                      "--port", "0"], env, python=python) as d:
        d.wait_ready()
        assert d.get("/api/health") == (200, "ok")
        assert d.terminate(timeout=10) == 0, d.err
    assert "Traceback" not in d.err
    assert_complete_v2(seed)
    loaded = modules_file.read_text().split()
    early = sorted({m for m in loaded if m.split(".")[0] in COMPILED})
    assert early == [], f"imported before READY under {version}: {early}"

    result = run_cli(pyz, ["--version", "--verbose"], env, python=python, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"CPython {version}." in out and python in out, out
    assert "this computer: linux-" in out and "bundle: for linux-" in out, out
    assert "FAIL" not in out, out
    match = re.search(r"^ok: all (\d+) compiled modules load$", out, re.M)
    assert match and int(match.group(1)) >= 6, out
    for name in ("pydantic_core._pydantic_core", "cryptography.hazmat.bindings._rust",
                 "_quickjs", "yaml._yaml", "rpds.rpds", "_cffi_backend"):
        assert f"ok   {name}" in out, out


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.8", "3.10"])
def test_an_older_python_is_refused_in_one_line(version: str, pyz: Path,
                                                env: dict[str, str]) -> None:
    python = _python_or_skip(version)
    result = run_cli(pyz, ["daemon", "run", "--foreground"], env, python=python)
    assert result.returncode == 11, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(rf"executor: needs Python 3\.11 or newer; this is Python {version}\.\d+ "
                        rf"at {re.escape(python)}", lines[0]), lines[0]


def test_a_bundle_for_another_os_says_so(env: dict[str, str], tmp_path: Path) -> None:
    """The Windows bundle run on Linux: a clear message, not an ImportError."""
    windows = built_bundle("windows-amd64")
    env = {**env, "SHIV_ROOT": str(tmp_path / "shiv")}
    result = run_cli(windows, ["--version", "--verbose"], env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert ("problem: this file is for windows-amd64, and you run it on linux-x86_64" in
            result.stdout), result.stdout
    assert "this file is for windows-amd64, and this computer is linux-" in result.stderr
    doctor = run_cli(windows, ["--data-dir", str(tmp_path / "data"), "doctor", "--json"], env,
                     timeout=180)
    assert doctor.returncode == 0, doctor.stderr
    (bundle,) = [f for f in json.loads(doctor.stdout)["findings"] if f["check"] == "bundle"]
    assert bundle["status"] == "problem"
    assert "this file is for windows-amd64" in bundle["summary"]


def test_the_bundle_names_its_platform(pyz: Path) -> None:
    info = json.loads(subprocess.run(
        ["python3", "-c", "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1])"
         ".read('bundle-info.json').decode())", str(pyz)],
        capture_output=True, text=True, check=True).stdout)
    assert info["platform"].startswith("linux-")
    assert info["pythons"] == ["3.11", "3.12", "3.13", "3.14"]
    assert set(info["compiled"]) == set(info["pythons"])
    assert re.fullmatch(r"[0-9a-f]{16}", info["build_id"])
