"""The bearer token: ``server-control/auth.json`` (``{"token": ...}``, 0600), minted once.

A token never starts with ``-``: the TS desktop passed it as ``--auth-token <t>`` and about one
install in 64 got a token that the parser took for a flag, so the sidecar printed help and the app
said "crashed during startup" (its #1199). We mint without that prefix and still accept one given
as ``--auth-token=-...`` or in ``EXECUTOR_AUTH_TOKEN``.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

from executor_local import fs
from executor_local.datadir import TOKEN_NAME, DataDir
from executor_local.errors import EXIT_USAGE, ExecutorError

log = logging.getLogger("executor.auth")

AUTH_NAME = TOKEN_NAME
TOKEN_BYTES = 32  # 256 bits


class BadToken(ExecutorError):
    exit_code = EXIT_USAGE
    default_hint = "Pass a token of printable ASCII without spaces, or none to use auth.json."


def auth_path(data_dir: Path) -> Path:
    return DataDir(data_dir).token


def mint_token() -> str:
    """A fresh url-safe token that never starts with ``-``."""
    while True:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        if not token.startswith("-"):
            return token


def checked_override(token: str | None) -> str | None:
    """Validate a token given on the command line or in the environment (None: use auth.json)."""
    if token is None or token == "":
        return None
    if any(not (0x21 <= ord(c) <= 0x7E) for c in token):
        raise BadToken("the auth token must be printable ASCII without spaces or control "
                       "characters (it travels in an HTTP header)", step="serve")
    return token


def load_or_mint_token(data_dir: Path) -> str:
    """The stored token, or a new one written to ``auth.json``.

    A token file that others may read is treated as leaked: a new token replaces it (reliability
    matrix row 59), and so is an unreadable one, with a warning naming the file.
    """
    path = auth_path(data_dir)
    token = _read_token(path)
    if token is not None:
        return token
    token = mint_token()
    fs.make_private_dir(DataDir(data_dir).control_dir)
    fs.write_atomic(path, (json.dumps({"token": token}, indent=2) + "\n").encode())
    log.info("minted a new bearer token in %s", path)
    return token


def _read_token(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("auth: cannot read %s (%s); minting a new token", path, exc)
        return None
    if not fs.is_private_file(path):
        log.warning("auth: %s was readable by other users; replacing its token", path)
        return None
    try:
        token = json.loads(raw).get("token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        log.warning("auth: %s holds no token; minting a new one", path)
        return None
    return token
