#!/usr/bin/env python3
"""Prove a refactor left migration output byte-identical: migrate every input, digest the rows.

    python3 bench/migration_identity.py --save before.json     # with the old code
    (bench/migration_identity.baseline.json: saved before issue 11's refactor)
    python3 bench/migration_identity.py --compare before.json  # with the new code (exit 1: differs)

Inputs: every real Executor 1.4.7 fixture (private copies; $EXECUTOR_FIXTURES or
/work/shared/fixtures) and the data dirs tests/v1gen.py writes (final, early, mid, large).
Each is migrated in-process (recover + migrate_if_needed, what the daemon does at boot), then
every table of the new ``data.db``, every table of the v1 backup, the new ``auth.json`` and the
names of the files left are digested.

Normalised, and only these: the migration's wall-clock time in ms (rows stamp ``created_at`` /
``updated_at`` with it, upgraded older forms with it in whole seconds; any integer within the
run's time window becomes ``<now>``) and the
random 8-hex nonce plus that time in the backup's file names. Everything else a v1 row or the
planner decides (ids, item ids, JSON text, column order) is compared as written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]

import v1gen  # noqa: E402

FIXTURES = Path(os.environ.get("EXECUTOR_FIXTURES", "/work/shared/fixtures")) / "executor-1.4.7"
CASES = {"empty": "data", "openapi": "data", "mixed": "data", "wal-live": "data",
         "wal-live-after-clean-stop": "data-after-clean-stop"}
NAME_STAMP = re.compile(r"-\d{13}-[0-9a-f]{8}")


def _inputs(root: Path) -> list[tuple[str, Path, Path]]:
    """(name, data dir, auth.json) for every input, written under ``root``."""
    out = []
    for name, sub in CASES.items():
        base = FIXTURES / ("wal-live" if name.startswith("wal-live") else name)
        data, auth = root / name / "data", root / name / "xdg" / "auth.json"
        v1gen.copy_db_set(base / sub / "data.db", data / "data.db")
        auth.parent.mkdir(parents=True)
        if (base / "auth.json").exists():
            shutil.copyfile(base / "auth.json", auth)
        out.append((name, data, auth))
    makers = {"v1gen-final": v1gen.make_v1_final, "v1gen-early": v1gen.make_v1_early,
              "v1gen-mid": v1gen.make_v1_mid}
    for name, make in makers.items():
        data, auth = root / name / "data", root / name / "xdg" / "auth.json"
        data.mkdir(parents=True)
        auth.parent.mkdir(parents=True)
        make(data / "data.db", auth_path=auth)
        out.append((name, data, auth))
    data, auth = root / "v1gen-large" / "data", root / "v1gen-large" / "xdg" / "auth.json"
    data.mkdir(parents=True)
    auth.parent.mkdir(parents=True)
    v1gen.make_large_v1(data / "data.db", 400_000, auth_path=auth)
    out.append(("v1gen-large", data, auth))
    return out


def _norm(value: Any, window: tuple[int, int]) -> Any:
    if isinstance(value, int) and window[0] <= value <= window[1]:
        return "<now>"
    if isinstance(value, str):
        return re.sub(r"\b\d{13}\b", lambda m: _norm(int(m.group()), window)
                      if window[0] <= int(m.group()) <= window[1] else m.group(), value)
    return value


def _tables(db: Path, window: tuple[int, int]) -> dict[str, list]:
    """Per table: its CREATE statement, then every row (normalised) in a stable order."""
    with tempfile.TemporaryDirectory(prefix="identity-") as tmp:
        copy = v1gen.copy_db_set(db, Path(tmp) / "copy.db")
        conn = sqlite3.connect(copy)
        try:
            out: dict[str, list] = {}
            for name, sql in conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name"):
                rows = sorted(repr(tuple(_norm(v, window) for v in r))
                              for r in conn.execute(f'SELECT * FROM "{name}"'))
                out[name] = [sql, len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()]
            return out
        finally:
            conn.close()


def digest_all() -> dict[str, Any]:
    from executor_local.migrate.layout import Layout
    from executor_local.migrate.recover import recover
    from executor_local.migrate.run import migrate_if_needed

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="identity-run-") as tmp:
        for name, data, auth in _inputs(Path(tmp)):
            layout = Layout(data)
            start = int(time.time() * 1000)
            recover(layout)
            outcome = migrate_if_needed(layout, auth)
            # v1_forms stamps upgraded rows with whole seconds: the window starts on one.
            window = (start // 1000 * 1000, int(time.time() * 1000))
            entry: dict[str, Any] = {
                "status": outcome.status,
                "warnings": list(getattr(outcome, "warnings", []) or []),
                "files": sorted(NAME_STAMP.sub("-<stamp>", p.name) for p in data.iterdir()),
                "auth": sorted(NAME_STAMP.sub("-<stamp>", p.name) for p in auth.parent.iterdir()),
                "data.db": _tables(data / "data.db", window),
            }
            backups = sorted(p for p in data.iterdir()
                             if p.name.startswith("data.db.v1-v2-")
                             and not p.name.endswith(("-wal", "-shm")))
            entry["backups"] = [_tables(b, window) for b in backups]
            if auth.exists():
                entry["auth.json"] = hashlib.sha256(auth.read_bytes()).hexdigest()
            result[name] = entry
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path)
    group.add_argument("--compare", type=Path)
    args = parser.parse_args()
    now = digest_all()
    if args.save:
        args.save.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"saved digests of {len(now)} migrations to {args.save}")
        return 0
    before = json.loads(args.compare.read_text())
    now = json.loads(json.dumps(now))
    bad = [n for n in sorted(set(before) | set(now)) if before.get(n) != now.get(n)]
    for name in bad:
        print(f"DIFFERS: {name}")
        for key in sorted(set(before.get(name, {})) | set(now.get(name, {}))):
            if before.get(name, {}).get(key) != now.get(name, {}).get(key):
                print(f"  {key}: {before.get(name, {}).get(key)!r}\n   -> "
                      f"{now.get(name, {}).get(key)!r}"[:2000])
    tables = sum(len(e["data.db"]) for e in now.values())
    print(f"{len(now)} migrations, {tables} v2 tables: "
          + ("byte-identical" if not bad else f"{len(bad)} differ"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
