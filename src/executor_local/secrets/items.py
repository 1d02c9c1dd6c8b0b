"""Item ids for secret values, in the migrator's shape: ``secret_<43 base64url chars>``."""

from __future__ import annotations

import base64
import re
import secrets

ITEM_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def new_item_id() -> str:
    """A random item id: 32 random bytes as unpadded base64url (43 chars)."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return f"secret_{raw}"


def valid_item_id(item_id: str) -> bool:
    return bool(ITEM_ID_RE.match(item_id))
