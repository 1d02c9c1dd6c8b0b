"""The migration journal: the one file that says how far a migration (or a restore) got.

It exists only while one is in flight. Each phase is written atomically (tmp, fsync, replace,
fsync dir) before the work it announces, so recovery after a crash at any instant knows whether
to roll back (``building``) or forward (``built`` and later).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from executor_local import fs

log = logging.getLogger("executor.migrate")

VERSION = 1
PHASES = ("building", "built", "canonical-moved", "committed")
KINDS = ("v1-v2", "restore")


class JournalUnreadable(Exception):
    """The journal exists but is not a journal we wrote (truncated, garbage, unknown shape)."""


@dataclass
class Journal:
    """One in-flight migration or restore. Paths are absolute strings."""

    kind: str
    nonce: str
    created_ms: int
    source: str  # the canonical data.db
    snapshot: str | None  # data.db.source-<nonce> (migration only)
    staging: str  # data.db.building-<nonce>: what becomes data.db
    backup: str  # where the canonical set goes at the flip
    auth_path: str | None = None
    auth_backup: str | None = None
    auth_existed: bool = False
    # The v2 form of auth.json, staged beside it and renamed over it only after the v2 data.db
    # is in place, so there is never a v1 data.db beside a v2 auth.json (issue 10 C).
    auth_next: str | None = None
    # The v1 set as the snapshot copied it, and as the flip checkpointed it (recorded under the
    # flip's lock, before the moves) (issue 10 B).
    source_fingerprint: dict | None = None  # type: ignore[type-arg]
    flip_fingerprint: dict | None = None  # type: ignore[type-arg]
    phase: str = "building"
    version: int = VERSION
    notes: list[str] = field(default_factory=list)


def write(path: Path, journal: Journal) -> None:
    fs.write_atomic(path, (json.dumps(asdict(journal), indent=2) + "\n").encode())
    log.debug("journal: phase %s", journal.phase)


def read(path: Path) -> Journal | None:
    """The journal, None when there is none; ``JournalUnreadable`` when it is not ours."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("unknown version")
        journal = Journal(**data)
        if journal.phase not in PHASES or journal.kind not in KINDS:
            raise ValueError(f"unknown phase {journal.phase!r} or kind {journal.kind!r}")
        for name in ("source", "staging", "backup"):
            if not isinstance(getattr(journal, name), str):
                raise ValueError(f"{name} is not a path")
    except (ValueError, TypeError) as exc:
        raise JournalUnreadable(f"{path}: {exc}") from exc
    return journal


def remove(path: Path) -> None:
    fs.remove(path)
    fs.fsync_dir(path.parent)
