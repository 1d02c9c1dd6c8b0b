"""Secrets: the keychain through a real Secret Service (gnome-keyring on a private D-Bus), the
file provider, and a secret value found in no response, log, database page or doctor output."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_util import Api, SourceDaemon
from executor_local.secrets.file_provider import FileProvider, SecretStoreError
from executor_local.secrets.items import new_item_id
from executor_local.secrets.keyring_provider import KeyringProvider
from executor_local.secrets.providers import Secrets
from proc import pythonpath_env

pytest_plugins = ["secret_service"]  # the real Secret Service fixture


def test_item_ids_have_the_migrators_shape() -> None:
    ids = {new_item_id() for _ in range(50)}
    assert len(ids) == 50
    for item in ids:
        assert item.startswith("secret_") and len(item) == len("secret_") + 43
        assert set(item[7:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_")


def test_file_provider_is_private_atomic_and_never_echoes(tmp_path: Path) -> None:
    path = tmp_path / "x" / "auth.json"
    prov = FileProvider(path)
    assert prov.get("nope") is None and prov.ids() == []
    prov.set("secret_a", "value-one")
    prov.set("secret_b", "value-two")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"secret_a": "value-one", "secret_b": "value-two"}
    assert prov.delete("secret_a") and not prov.delete("secret_a")
    assert prov.ids() == ["secret_b"]
    assert not list(path.parent.glob("*.tmp*"))
    path.write_text('{"secret_b": "value-two", broken')
    with pytest.raises(SecretStoreError) as info:
        prov.get("secret_b")
    assert "value-two" not in str(info.value) and str(path) in str(info.value)


def test_keychain_round_trip(secret_service: dict[str, str], tmp_path: Path) -> None:
    chain = KeyringProvider("executor-test")
    assert chain.available(), chain.why_unavailable
    secrets = Secrets(FileProvider(tmp_path / "auth.json"), chain)
    assert secrets.keys() == ["keychain", "file"]
    provider, item = secrets.store("kc-value-31337")
    assert provider == "keychain" and item.startswith("secret_")
    assert secrets.resolve("keychain", item) == "kc-value-31337"
    assert not (tmp_path / "auth.json").exists()
    secrets.forget("keychain", item)
    assert secrets.resolve("keychain", item) is None


def test_no_keychain_falls_back_to_the_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.delenv("EXECUTOR_SECRET_PROVIDER", raising=False)
    chain = KeyringProvider("executor-test-none")
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    secrets = Secrets(FileProvider(tmp_path / "auth.json"), chain)
    assert secrets.keys() == ["file"] and not chain.available()
    provider, item = secrets.store("file-value")
    assert provider == "file" and secrets.resolve("file", item) == "file-value"


def test_daemon_keeps_connection_secrets_in_the_keychain(
        secret_service: dict[str, str], env: dict[str, str], data_dir: Path,
        tmp_path: Path) -> None:
    pytest.importorskip("executor_local.integrations.openapi")
    petstore_mod = pytest.importorskip("upstreams.petstore")
    secret = "kc-" + new_item_id()[7:]
    auth_file = tmp_path / "auth.json"
    denv = {**env, **secret_service, "EXECUTOR_AUTH_FILE": str(auth_file)}
    with petstore_mod.PetstoreServer(api_key=secret) as petstore:
        daemon = SourceDaemon(data_dir, denv)
        with daemon:
            api = Api(daemon.wait_ready(), daemon.token)
            assert api.get("/api/providers") == ["keychain", "file"]
            api.post("/api/openapi/specs", {"spec": {"kind": "url", "url": petstore.spec_url},
                                            "slug": "pets"})
            conn = api.post("/api/connections", {"owner": "org", "integration": "pets",
                                                 "name": "main", "template": "apikey-0",
                                                 "value": secret})
            assert conn["provider"] == "keychain"
            out = api.post("/api/executions", {"tool": "pets.org.main.pets.listPets",
                                               "args": {}})
            assert out["result"]["ok"] is True, out
            # a wrong key upstream: the error names the status, never the key
            api.post("/api/connections", {"owner": "org", "integration": "pets",
                                          "name": "bad", "template": "apikey-0",
                                          "value": secret + "-wrong"})
            bad = api.post("/api/executions", {"tool": "pets.org.bad.pets.listPets",
                                               "args": {}})
            assert bad["result"]["ok"] is False
            items = api.get("/api/providers/keychain/items")
            assert len(items) == 2 and all(i["id"].startswith("secret_") for i in items)
            for path in ("/api/connections", "/api/tools", "/api/integrations",
                         "/api/connections/org/pets/main", "/api/search?query=pet"):
                api.get(path)
            assert daemon.terminate() == 0
        doctor = subprocess.run([sys.executable, "-m", "executor_local", "--data-dir",
                                 str(data_dir), "doctor"], env=pythonpath_env(denv),
                                capture_output=True, text=True, timeout=60)
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").rglob("*")
                   if p.is_file())
    db_bytes = b"".join(p.read_bytes() for p in data_dir.glob("data.db*"))
    for text in (*api.seen, daemon.err, daemon.out, logs, doctor.stdout, doctor.stderr):
        assert secret not in text
    assert secret.encode() not in db_bytes
    assert not auth_file.exists() or secret not in auth_file.read_text()
