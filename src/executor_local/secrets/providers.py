"""The secret providers of one daemon and the one place values are stored and resolved.

Writes go to the keychain when its probe passes, else to the file provider; the choice can be
forced with ``EXECUTOR_SECRET_PROVIDER=file|keychain``. Reads go to the provider the connection
row names (``connection.provider``), so migrated ``file`` connections keep working.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from executor_local.secrets.file_provider import FileProvider, SecretStoreError
from executor_local.secrets.items import new_item_id
from executor_local.secrets.keyring_provider import KeyringProvider

PROVIDER_ENV = "EXECUTOR_SECRET_PROVIDER"


class Provider(Protocol):
    key: str
    label: str

    def available(self) -> bool: ...
    def get(self, item_id: str) -> str | None: ...
    def set(self, item_id: str, value: str) -> None: ...
    def delete(self, item_id: str) -> bool: ...
    def ids(self) -> list[str] | None: ...


@dataclass
class Secrets:
    file: FileProvider
    keychain: KeyringProvider

    @classmethod
    def default(cls, auth_file: Path | None = None, service: str | None = None) -> Secrets:
        return cls(FileProvider(auth_file), KeyringProvider(service))

    def provider(self, key: str) -> Provider:
        if key == "file":
            return self.file
        if key == "keychain":
            return self.keychain
        raise UnknownProvider(key)

    def keys(self) -> list[str]:
        """The providers usable here, the writable default first."""
        keys = ["keychain"] if self.keychain.available() else []
        return [*keys, "file"]

    def default_provider(self) -> Provider:
        forced = os.environ.get(PROVIDER_ENV, "").strip().lower()
        if forced in ("file", "keychain"):
            return self.provider(forced)
        return self.keychain if self.keychain.available() else self.file

    def store(self, value: str, provider: str | None = None) -> tuple[str, str]:
        """Store ``value`` under a new item id; returns ``(provider key, item id)``."""
        prov = self.provider(provider) if provider else self.default_provider()
        item_id = new_item_id()
        prov.set(item_id, value)
        return prov.key, item_id

    def resolve(self, provider: str, item_id: str) -> str | None:
        return self.provider(provider).get(item_id)

    def forget(self, provider: str, item_id: str) -> None:
        with contextlib.suppress(SecretStoreError):
            self.provider(provider).delete(item_id)


class UnknownProvider(SecretStoreError):
    code = "provider_not_found"
    http_status = 404

    def __init__(self, key: str) -> None:
        super().__init__(f"no secret provider {key!r} (known: keychain, file)",
                         hint="Use one of the keys GET /api/providers lists.")
