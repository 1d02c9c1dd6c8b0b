#!/usr/bin/env python3
"""Build ``bundle/executor.pyz``: one file holding the CLI, the daemon and the migrator.

    python3 build.py                      # for this machine's OS
    python3 build.py --platform win_amd64 # for another OS (any pip platform tag)

It needs only Python and the package registries. It makes its own build environment, builds a
wheel of the project, stages the pinned dependencies (``requirements.lock``) and the wheel into a
``site-packages`` folder without ``bin/`` scripts, then runs shiv with ``--reproducible
--compile-pyc``. Two builds of one commit, from any two folders, give byte-identical files:
nothing in the output depends on where it was built (pip's console scripts and
``direct_url.json`` would carry the build path, so neither is made).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHIV_VERSION = "1.0.8"
# The oldest Python we support: pure-Python dependencies resolved for it work on every newer one.
OLDEST_PYTHON = "3.10"
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest a zip can say


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def build_env(work: Path) -> Path:
    """A private venv with the pinned build tools; returns its python."""
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run([str(python), "-m", "pip", "install", "-q", f"shiv=={SHIV_VERSION}"])
    return python


def build_wheel(python: Path, work: Path) -> Path:
    wheels = work / "wheels"
    run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    (wheel,) = wheels.glob("executor_local-*.whl")
    return wheel


def stage_site_packages(python: Path, work: Path, wheel: Path, platform: str | None) -> Path:
    """Install the locked dependencies and our wheel into a bare site-packages folder."""
    site = work / "site-packages"
    target = ["--target", str(site), "--no-compile", "--no-deps", "--only-binary=:all:"]
    if platform:
        target += ["--platform", platform, "--python-version", OLDEST_PYTHON,
                   "--implementation", "cp"]
    # Our wheel joins the hash-checked lock, by name through --find-links, so pip writes no
    # direct_url.json carrying this folder's path.
    version = wheel.name.split("-")[1]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = work / "requirements.txt"
    requirements.write_text(
        (ROOT / "requirements.lock").read_text()
        + f"\nexecutor-local=={version} --hash=sha256:{digest}\n"
    )
    run([str(python), "-m", "pip", "install", "-q", *target, "--require-hashes",
         "--find-links", str(wheel.parent), "-r", str(requirements)])
    # Console scripts carry the build venv's path in their shebang, and RECORD their hashes.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for record in site.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith("../../bin/")))
    return site


def run_shiv(python: Path, site: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    run([str(python), "-m", "shiv", "--reproducible", "--compile-pyc",
         "-p", "/usr/bin/env python3", "-e", "executor_local.cli:main",
         "--site-packages", str(site), "-o", str(tmp)],
        env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    os.replace(tmp, output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", help="pip platform tag to build for, e.g. win_amd64")
    parser.add_argument("--output", type=Path, help="where to write the pyz")
    args = parser.parse_args()

    default_name = f"executor-{args.platform}.pyz" if args.platform else "executor.pyz"
    output = (args.output or ROOT / "bundle" / default_name).resolve()
    with tempfile.TemporaryDirectory(prefix="executor-build-") as tmp:
        work = Path(tmp)
        python = build_env(work)
        wheel = build_wheel(python, work)
        site = stage_site_packages(python, work, wheel, args.platform)
        run_shiv(python, site, output)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    print(f"built {output} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
