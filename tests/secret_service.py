"""A real Secret Service for tests: a private D-Bus session bus and gnome-keyring-daemon on it,
unlocked with a known password, in a private HOME. Installs ``gnome-keyring`` with apt-get when
it is missing (and apt-get is there); skips with the reason only when it cannot start."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from proc import wait_for

PASSWORD = b"test-keyring-password\n"


def _ensure_installed() -> str | None:
    if shutil.which("gnome-keyring-daemon") and shutil.which("dbus-daemon"):
        return None
    if not shutil.which("apt-get"):
        return "gnome-keyring is not installed and there is no apt-get"
    proc = subprocess.run(["apt-get", "install", "-y", "-q", "gnome-keyring", "dbus"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if proc.returncode != 0 or not shutil.which("gnome-keyring-daemon"):
        return f"apt-get install gnome-keyring failed: {proc.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment variables that reach the keyring (``DBUS_SESSION_BUS_ADDRESS``...),
    also set in this process for the session."""
    why = _ensure_installed()
    if why:
        pytest.skip(why)
    home = tmp_path_factory.mktemp("keyring-home")
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    base = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(home / "share")}
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=base)
    keyring_proc = None
    saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")}
    try:
        address = bus.stdout.readline().strip() if bus.stdout else ""
        if not address:
            pytest.skip("dbus-daemon --session printed no address")
        env = {**base, "DBUS_SESSION_BUS_ADDRESS": address}
        keyring_proc = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        assert keyring_proc.stdin is not None
        keyring_proc.stdin.write(PASSWORD)
        keyring_proc.stdin.close()
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        from executor_local.secrets.keyring_provider import KeyringProvider

        def works() -> bool:
            return KeyringProvider("executor-test-probe").available()

        try:
            wait_for(lambda: keyring_proc.poll() is not None or _probe(works), 20,
                     "the Secret Service")
        except AssertionError:
            pytest.skip("gnome-keyring-daemon did not serve the Secret Service within 20 s")
        if keyring_proc.poll() is not None:
            pytest.skip(f"gnome-keyring-daemon exited {keyring_proc.returncode}")
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(runtime)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for proc in (keyring_proc, bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
        if bus.stdout is not None:
            bus.stdout.close()


def _probe(works) -> bool:  # type: ignore[no-untyped-def]
    return bool(works())


def keyring_home(env: dict[str, str]) -> Path:
    return Path(env.get("HOME", "/"))
