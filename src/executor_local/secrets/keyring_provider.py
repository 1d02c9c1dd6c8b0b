"""The OS keychain through ``keyring``: service ``executor`` (or
``$EXECUTOR_KEYCHAIN_SERVICE_NAME``), account = item id, as Executor stores them.

``keyring`` is imported on first use (never on the boot path). Whether a keychain works is
probed once per process with a set-get-delete round trip on a random account: keyring's own
backend choice says nothing about a locked or absent Secret Service.
"""

from __future__ import annotations

import logging
import secrets
import threading

from executor_local.secrets.file_provider import SecretStoreError

log = logging.getLogger("executor.secrets")


class KeyringProvider:
    key = "keychain"
    label = "OS keychain"

    def __init__(self, service: str | None = None) -> None:
        if service is None:
            from executor_local.migrate.v1.keychain import service_base

            service = service_base()
        self.service = service
        self._probed: bool | None = None
        self._why = ""
        self._lock = threading.Lock()

    def available(self) -> bool:
        with self._lock:
            if self._probed is None:
                self._probed, self._why = self._probe()
                log.info("keychain %s%s", "available" if self._probed else "unavailable: ",
                         "" if self._probed else self._why)
            return self._probed

    @property
    def why_unavailable(self) -> str:
        return self._why

    def _probe(self) -> tuple[bool, str]:
        try:
            import keyring

            backend = keyring.get_keyring()
            if getattr(backend, "priority", 1) <= 0:
                return False, f"no usable keychain backend ({type(backend).__name__})"
            account = f"executor-local-probe-{secrets.token_hex(6)}"
            value = secrets.token_hex(8)
            keyring.set_password(self.service, account, value)
            try:
                got = keyring.get_password(self.service, account)
            finally:
                keyring.delete_password(self.service, account)
            if got != value:
                return False, "the keychain did not return what was stored"
            return True, ""
        except Exception as exc:  # any backend failure means: use the file provider
            return False, f"{type(exc).__name__}: {exc}"[:300]

    def get(self, item_id: str) -> str | None:
        import keyring

        try:
            return keyring.get_password(self.service, item_id)
        except Exception as exc:
            raise SecretStoreError(f"the keychain could not read item {item_id}",
                                   cause=exc) from None

    def set(self, item_id: str, value: str) -> None:
        import keyring

        try:
            keyring.set_password(self.service, item_id, value)
        except Exception as exc:
            raise SecretStoreError(f"the keychain could not store item {item_id}: "
                                   f"{type(exc).__name__}") from None

    def delete(self, item_id: str) -> bool:
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(self.service, item_id)
            return True
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:
            raise SecretStoreError(f"the keychain could not delete item {item_id}: "
                                   f"{type(exc).__name__}") from None

    def ids(self) -> list[str] | None:
        """A keychain cannot be enumerated portably: the catalog lists the ids it references."""
        return None
