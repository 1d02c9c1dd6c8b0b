"""A seeded v1 data dir for migration tests, and the invariant every test checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dbcheck
import v1gen
from executor_local.migrate.layout import Layout


@dataclass
class SeededV1:
    data_dir: Path
    auth_path: Path
    checksum: dict[str, tuple[int, str]]
    auth_bytes: bytes

    @property
    def layout(self) -> Layout:
        return Layout(self.data_dir)

    @property
    def db(self) -> Path:
        return self.data_dir / "data.db"


def seed_v1(root: Path, *, early: bool = False, live_wal: bool = True) -> SeededV1:
    """A v1 data dir (final form, or the 1.4.7 form) with file secrets and a live WAL row."""
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    auth_path = root / "xdg" / "executor" / "auth.json"
    auth_path.parent.mkdir(parents=True)
    db = data_dir / "data.db"
    make = v1gen.make_v1_early if early else v1gen.make_v1_final
    sample = make(db, auth_path=auth_path)
    if not auth_path.exists():
        auth_path.write_text("{}")
    if live_wal:
        dbcheck.write_live_wal_row(db, sample.scope_id)
    return SeededV1(data_dir, auth_path, dbcheck.row_checksum(db), auth_path.read_bytes())


def launch(seed: SeededV1):  # type: ignore[no-untyped-def]
    """One launch: recover, then migrate (what the daemon and `executor migrate` do)."""
    from executor_local.migrate.recover import recover
    from executor_local.migrate.run import migrate_if_needed

    recover(seed.layout)
    return migrate_if_needed(seed.layout, seed.auth_path)


def assert_untouched_v1(seed: SeededV1) -> None:
    layout = seed.layout
    assert seed.db.exists()
    assert dbcheck.row_checksum(seed.db) == seed.checksum
    assert layout.backups() == []
    assert seed.auth_path.read_bytes() == seed.auth_bytes


def assert_complete_v2(seed: SeededV1) -> None:
    """v2 in place, exactly one v1 backup whose rows equal the original's, no debris."""
    layout = seed.layout
    assert dbcheck.is_stamped_v2(seed.db)
    backups = layout.backups()
    assert len(backups) == 1, backups
    assert dbcheck.row_checksum(backups[0]) == seed.checksum
    assert not layout.journal.exists()
    assert layout.leftovers() == []
    wal = Path(f"{backups[0]}-wal")  # the backup holds everything in its base file
    assert not wal.exists() or wal.stat().st_size == 0
    auth_backups = list(seed.auth_path.parent.glob("auth.json.v1-v2-*"))
    if seed.auth_bytes != b"{}":
        assert [p.read_bytes() for p in auth_backups] == [seed.auth_bytes]


def assert_invariant(seed: SeededV1) -> str:
    """Either the untouched v1 or a complete v2 plus its backup; says which."""
    if dbcheck.is_stamped_v2(seed.db) if seed.db.exists() else False:
        assert_complete_v2(seed)
        return "v2"
    assert_untouched_v1(seed)
    return "v1"
