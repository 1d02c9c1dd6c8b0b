"""Headless Chromium for the web console tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download is not reachable here, so it drives the system Chromium
(``executable_path``); ``ensure_chromium`` installs the Debian package when it is missing and
we are root (a fresh CI machine), else the browser tests skip with the reason. Each test gets a
new empty user-data-dir. Screenshots go to ``tests/artifacts/web/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "web"


def ensure_chromium() -> str | None:
    """The Chromium path, installing Debian's package if missing; None (with why) otherwise."""
    if Path(CHROMIUM).exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and cannot be installed here (apt-get chromium as root)"
    import fcntl

    with open("/tmp/executor-tests-chromium.lock", "w") as lock:  # one installer per machine
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(CHROMIUM).exists():
            return None
        return _install()


def _install() -> str | None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True,
                   timeout=600)
    done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                          capture_output=True, text=True, timeout=1200)
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        return f"apt-get install chromium failed: {done.stderr[-500:]}"
    return None


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """A full-page screenshot kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
