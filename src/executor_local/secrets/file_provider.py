"""The file provider: the flat ``{itemId: value}`` JSON file Executor and our migrator share.

Its path is the migrator's (``migrate.auth_file.default_auth_path``: ``EXECUTOR_AUTH_FILE`` or
the platform data dir's ``executor/auth.json``). Writes are atomic through ``fs.write_atomic``
with mode 0600, under a lock so two requests never lose each other's item.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from executor_local import fs
from executor_local.errors import ExecutorError


class FileProvider:
    key = "file"
    label = "File (auth.json)"

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from executor_local.migrate.auth_file import default_auth_path

            path = default_auth_path()
        self.path = Path(path)
        self._lock = threading.Lock()

    def available(self) -> bool:
        return True

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretStoreError(f"cannot read the secrets file {self.path}",
                                   path=self.path, cause=exc) from exc
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # Never echo the text: it holds secrets.
            raise SecretStoreError(f"the secrets file {self.path} is not valid JSON "
                                   f"(line {exc.lineno})", path=self.path,
                                   hint="Fix or move the file aside; nothing was changed.",
                                   ) from None
        if not isinstance(data, dict):
            raise SecretStoreError(f"the secrets file {self.path} is not a JSON object",
                                   path=self.path)
        return {str(k): v for k, v in data.items() if isinstance(v, str)}

    def _write(self, data: dict[str, str]) -> None:
        fs.make_private_dir(self.path.parent)
        body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        fs.write_atomic(self.path, body, mode=0o600)

    def get(self, item_id: str) -> str | None:
        return self._read().get(item_id)

    def set(self, item_id: str, value: str) -> None:
        with self._lock:
            data = self._read()
            data[item_id] = value
            self._write(data)

    def delete(self, item_id: str) -> bool:
        with self._lock:
            data = self._read()
            if item_id not in data:
                return False
            del data[item_id]
            self._write(data)
            return True

    def ids(self) -> list[str]:
        return sorted(self._read())


class SecretStoreError(ExecutorError):
    """A secret provider failed; the message names the provider and file, never a value."""

    code = "secret_store_error"
    http_status = 500
