"""Executor v1 secrets: the deterministic v2 item ids, and the ``auth.json`` file store.

v1 kept file-provider secret values in ``auth.json`` next to (not inside) the data dir, nested per
scope: ``{"<scope id>": {"<secret id>": "<value>"}}``; some builds wrote flat ``{"<secret id>":
"<value>"}`` entries. v2 reads flat ``{"<item id>": "<value>"}`` entries, where a migrated item id
is derived from the v1 (scope, secret) pair, so a re-run of a crashed migration writes the very
same ids and the secret writes stay idempotent (reference §1.9).

The rewrite keeps only string values, as Executor 1.5.9's does: the old flat string entries plus
the new items. A nested per-scope object must not stay: v2's file provider reads ``auth.json`` as
``{string: string}`` and 1.5.9 refuses the whole file when one value is an object ("Failed to
parse auth file"), so no file secret would resolve. The nested v1 values are not lost: the
migration keeps the old file byte-identical as ``auth.json.v1-v2-<ms>-<nonce>``, and
``lookup_file_secret`` also finds a value under its migrated item id, so re-migrating a restored
v1 backup against the rewritten file resolves every secret again.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from executor_local.errors import DataCorrupt, NotWritable

ITEM_PREFIX = "secret_"


class AuthFileCorrupt(DataCorrupt):
    """``auth.json`` exists but is not a JSON object: refuse, so no secret is silently lost."""

    default_hint = (
        "Fix or move the file aside (it holds your v1 secret values) and run again; "
        "nothing was written."
    )


def migrated_item_id(scope_id: str, secret_id: str) -> str:
    """The v2 item id for a v1 secret: ``secret_`` + base64url (no padding) of
    sha256(scope NUL secret NUL).

    Deterministic so a re-run after a crash produces the same id (idempotent writes), and the
    NUL separators make ("a", "bc") and ("ab", "c") distinct.
    """
    digest = hashlib.sha256()
    for part in (scope_id, secret_id):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    return ITEM_PREFIX + encoded


def parse_auth_text(text: str, path: str | Path = "auth.json") -> dict[str, Any]:
    """Parse the text of an ``auth.json``; raise ``AuthFileCorrupt`` naming ``path`` if it is
    not a JSON object (the TS Executor fails the migration on a corrupt file too, §1.10)."""
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise AuthFileCorrupt(
            f"{path} is nested too deeply to be a file of secrets (JSON objects or arrays "
            "inside each other thousands of levels down)", path=path, cause=exc) from exc
    except json.JSONDecodeError as exc:
        raise AuthFileCorrupt(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}",
            path=path,
            cause=exc,
        ) from exc
    if not isinstance(data, dict):
        raise AuthFileCorrupt(
            f"{path} must hold a JSON object of secrets, found {type(data).__name__}", path=path
        )
    return data


def read_auth_file(path: str | Path) -> dict[str, Any] | None:
    """Read a v1 ``auth.json``; ``None`` when it does not exist (a v1 without file secrets)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise AuthFileCorrupt(f"{p} is a directory, not a file of secrets", path=p,
                              cause=exc) from exc
    except PermissionError as exc:
        from executor_local.migrate.preflight import _owner_note

        raise NotWritable(
            f"{p} cannot be read by this user{_owner_note(p)}; it holds the v1 file secrets "
            "the migration must carry over", path=p, cause=exc,
            hint=f"Give your user read access to {p} (a file owned by root often comes from a "
                 "'sudo' run) and run again; nothing was written.") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AuthFileCorrupt(f"{p} is not UTF-8 text", path=p, cause=exc) from exc
    return parse_auth_text(text, p)


def lookup_file_secret(auth: Mapping[str, Any] | None, scope_id: str, secret_id: str) -> str | None:
    """The value of a v1 file secret: the scoped entry first, then a flat one (as v1 read it),
    then the entry an earlier migration wrote under its item id (a restored v1 backup)."""
    if not auth:
        return None
    scoped = auth.get(scope_id)
    if isinstance(scoped, dict):
        value = scoped.get(secret_id)
        if isinstance(value, str):
            return value
    for key in (secret_id, migrated_item_id(scope_id, secret_id)):
        flat = auth.get(key)
        if isinstance(flat, str):
            return flat
    return None


def nested_entries(auth: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Every ``(scope id, secret id)`` pair stored in the nested (scoped) form."""
    if not auth:
        return []
    pairs: list[tuple[str, str]] = []
    for scope_id, entries in auth.items():
        if isinstance(entries, dict):
            pairs.extend((scope_id, secret_id) for secret_id in entries)
    return pairs


def rewrite_flat_auth(
    old: Mapping[str, Any] | None, new_items: Mapping[str, str]
) -> dict[str, Any]:
    """The v2 ``auth.json`` content: every old string entry kept in place, then the new items.

    Non-string entries (the nested v1 per-scope objects) are left out: v2 readers parse the file
    as ``{string: string}`` and fail on the whole file otherwise; the old file's backup keeps them.
    A new item replaces an old entry of the same key: item ids are ours (``secret_…``), so such an
    entry can only be a previous run's write of the same migration.
    """
    content: dict[str, Any] = {k: v for k, v in (old or {}).items() if isinstance(v, str)}
    for item_id, value in new_items.items():
        content[item_id] = value
    return content


def format_auth_json(content: Mapping[str, Any]) -> str:
    """Serialise auth.json as Executor does: two-space indent, non-ASCII kept, final newline."""
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"
