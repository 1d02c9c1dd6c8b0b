"""``executor doctor``: what state the data dir and the daemon are in, and what to do about it.

Read-only: it never creates the data dir, takes no lock and removes nothing, so it is safe to run
next to a daemon that is starting or migrating. Each finding has a status (ok, info, warning,
problem) and, when something can be done, the action to take.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from executor_local import fs, procinfo
from executor_local.boot.locate import DataDirChoice
from executor_local.boot.own import LOCK_NAME
from executor_local.daemon import shiv_prune
from executor_local.daemon.logfile import log_path
from executor_local.daemon.manifest import STARTING, Manifest, manifest_path, read_manifest
from executor_local.daemon.server import bind_socket
from executor_local.datadir import DEFAULT_PORT, DataDir
from executor_local.errors import ExecutorError, PortInUse
from executor_local.migrate.layout import Layout

MIB = 1024 * 1024


@dataclass
class Finding:
    check: str
    status: str  # "ok" | "info" | "warning" | "problem"
    summary: str
    action: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def diagnose(choice: DataDirChoice, port: int | None = None) -> list[Finding]:
    """Every finding for the data dir ``choice`` (resolved, never created)."""
    data_dir = Path(os.path.realpath(choice.path))
    findings = [_data_dir(choice, data_dir)]
    if not data_dir.is_dir():
        return [*findings, _shiv()]
    m, present = read_manifest(data_dir)
    live = m if m is not None and m.is_live() else None
    findings += [
        _writable(data_dir),
        _database(data_dir),
        _owner(data_dir, live),
        _manifest(data_dir, m, present, live),
        _port(port or (live.port if live and live.port else DEFAULT_PORT), live),
        _journal(data_dir),
        _leftovers(data_dir),
        _backups(data_dir),
        _free_space(data_dir),
        _handles(data_dir, live),
        _shiv(),
        _log(data_dir),
    ]
    return findings


def _data_dir(choice: DataDirChoice, real: Path) -> Finding:
    details = {"path": str(real), "source": choice.source, "reason": choice.reason}
    if not real.is_dir():
        return Finding("data dir", "info", f"{real} does not exist yet ({choice.reason})",
                       "It is created (mode 0700) by the first `executor daemon run`.", details)
    mode = stat.S_IMODE(real.stat().st_mode)
    details["mode"] = f"{mode:04o}"
    if os.name != "nt" and mode & 0o077:
        return Finding("data dir", "warning", f"{real} ({choice.reason}) is mode {mode:04o}: "
                       "other users can look inside", f"chmod 700 {real}", details)
    return Finding("data dir", "ok", f"{real} ({choice.reason}), mode {mode:04o}", None, details)


def _writable(data_dir: Path) -> Finding:
    """Can this user write the data dir: the mount, the permissions, the owner."""
    from executor_local.migrate.preflight import (
        check_dir_writable,
        check_owner,
        read_only_mount,
    )

    details: dict[str, Any] = {"read_only_file_system": read_only_mount(data_dir)}
    for check in (check_dir_writable, check_owner):
        try:
            check(data_dir)
        except ExecutorError as exc:
            return Finding("writable", "problem", exc.message, exc.hint, details)
    return Finding("writable", "ok", f"{data_dir} can be written by this user", None, details)


def _database(data_dir: Path) -> Finding:
    """A read-only ``PRAGMA quick_check`` of data.db (what `migrate` would refuse as corrupt)."""
    import sqlite3

    from executor_local.migrate.run import open_read_only
    from executor_local.migrate.sqlite_files import query_one

    db = DataDir(data_dir).db
    details: dict[str, Any] = {"path": str(db)}
    if not db.exists():
        return Finding("database", "ok", "no data.db yet (a fresh data dir)", None, details)
    if not db.is_file():
        return Finding("database", "problem", f"{db} is not a regular file",
                       f"Move {db} out of {data_dir}.", details)
    if db.stat().st_size == 0:
        return Finding("database", "info", f"{db} is empty", None, details)
    try:
        conn = open_read_only(db)
        try:
            row = query_one(conn, "PRAGMA quick_check")
        finally:
            conn.close()
        answer = str(row[0]) if row else "no answer"
    except sqlite3.DatabaseError as exc:
        answer = str(exc) or type(exc).__name__
    details["quick_check"] = answer
    if answer == "ok":
        return Finding("database", "ok", f"{db} passes quick_check", None, details)
    if "unable to open" in answer or "readonly" in answer:
        return Finding("database", "info", f"{db} cannot be checked read-only here ({answer})",
                       None, details)
    return Finding("database", "problem", f"{db} is corrupt: {answer}",
                   "Restore a backup ('executor backups list', then 'executor backups restore "
                   f"NAME'), or move {db.name} aside to start fresh; migrate and the daemon "
                   "refuse it (exit 6) and never change it.", details)


def _leftovers(data_dir: Path) -> Finding:
    """Files an interrupted run left: temp files of atomic writes, snapshot/staging sets."""
    layout = Layout(data_dir)
    found = [p.name for p in layout.temp_files()]
    if not layout.journal.exists():
        found += [p.name for p in layout.leftovers()]
    details: dict[str, Any] = {"files": found}
    if not found:
        return Finding("leftovers", "ok", "no leftovers of interrupted runs", None, details)
    return Finding("leftovers", "warning", f"left by an interrupted run: {', '.join(found)}",
                   "The next `executor daemon run` (or `executor migrate`) removes them.",
                   details)


def _owner(data_dir: Path, live: Manifest | None) -> Finding:
    lock = data_dir / LOCK_NAME
    holders = procinfo.lock_holders(lock) if lock.exists() else []
    details: dict[str, Any] = {"lock": str(lock), "lock_holders": holders,
                               "manifest_pid": live.pid if live else None}
    if live is not None:
        return Finding("owner", "ok", f"owned by pid {live.pid} ({live.kind} {live.version})",
                       None, details)
    if holders:
        cmd = procinfo.command_line(holders[0]) or "unknown command"
        return Finding("owner", "warning",
                       f"owned by pid {holders[0]} ({cmd}), which advertises no server",
                       f"If it is stuck, stop it (kill {holders[0]}); `executor daemon run` "
                       "waits for it otherwise.", details)
    if holders is None:
        return Finding("owner", "info", "no live daemon advertised; this OS cannot list lock "
                       "holders", None, details)
    return Finding("owner", "ok", "not owned: no executor process holds the data dir", None,
                   details)


def _manifest(data_dir: Path, m: Manifest | None, present: bool, live: Manifest | None,
              ) -> Finding:
    path = manifest_path(data_dir)
    details: dict[str, Any] = {"path": str(path), "manifest": m.public() if m else None}
    if not present:
        return Finding("manifest", "info", "no manifest: no daemon is running", None, details)
    if m is None:
        return Finding("manifest", "warning", f"{path} is unreadable",
                       "It is replaced by the next `executor daemon run`.", details)
    if live is None:
        return Finding("manifest", "warning",
                       f"stale: pid {m.pid} is gone (or its pid now belongs to another program)",
                       "Harmless; `executor daemon status` or the next start removes it.", details)
    if live.state == STARTING:
        return Finding("manifest", "info", f"pid {live.pid} is still starting (since "
                       f"{live.started_at})", "Wait; `executor daemon status` shows when ready.",
                       details)
    healthy = live.answers_health()
    details["health"] = healthy
    if healthy:
        return Finding("manifest", "ok", f"pid {live.pid} answers at {live.origin}", None,
                       details)
    return Finding("manifest", "problem",
                   f"pid {live.pid} owns the data dir but does not answer {live.origin}/api/health",
                   f"Restart it: `executor daemon restart` (or kill {live.pid}).", details)


def _port(port: int, live: Manifest | None) -> Finding:
    details: dict[str, Any] = {"port": port}
    if not _port_taken(port):
        return Finding("port", "ok", f"127.0.0.1:{port} is free", None, details)
    pids = procinfo.port_listeners(port)
    details["listeners"] = pids
    if live is not None and live.port == port and (pids is None or live.pid in pids):
        return Finding("port", "ok", f"127.0.0.1:{port} is used by the daemon (pid {live.pid})",
                       None, details)
    who = ", ".join(f"pid {p} ({procinfo.command_line(p) or '?'})" for p in pids or []) \
        or "a process this OS does not name"
    return Finding("port", "warning", f"127.0.0.1:{port} is taken by {who}",
                   "Stop that program, or start the daemon with --port N (0 picks a free one).",
                   details)


def _port_taken(port: int) -> bool:
    """Try to bind it exactly as the daemon would, and let go at once."""
    try:
        bind_socket("127.0.0.1", port).close()
    except PortInUse:
        return True
    except ExecutorError:
        return False  # e.g. a privileged port: not taken, just not ours to use
    return False


def _journal(data_dir: Path) -> Finding:
    journal = Layout(data_dir).journal
    if not journal.exists():
        return Finding("migration", "ok", "no migration in flight (no journal)", None,
                       {"journal": str(journal), "exists": False})
    phase = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        phase = json.loads(journal.read_bytes()).get("phase")
    return Finding("migration", "warning",
                   f"a migration was interrupted (journal {journal.name}, phase {phase or '?'})",
                   "The next `executor daemon run` (or `executor migrate`) finishes or rolls it "
                   "back; do not delete the journal or the data.db.* files by hand.",
                   {"journal": str(journal), "exists": True, "phase": phase})


def _backups(data_dir: Path) -> Finding:
    found = Layout(data_dir).backups()
    sizes = {p.name: _set_size(p) for p in found}
    total = sum(sizes.values())
    if not found:
        return Finding("backups", "ok", "no data.db backups", None, {"backups": {}})
    return Finding("backups", "info", f"{len(found)} backup(s) of data.db, {total / MIB:.1f} MiB",
                   "Kept on purpose (`executor backups list`); remove old ones once you no "
                   "longer need them.", {"backups": sizes, "total_bytes": total})


def _set_size(base: Path) -> int:
    total = 0
    for member in fs.sqlite_set(base):
        with contextlib.suppress(OSError):
            total += member.stat().st_size
    return total


def _free_space(data_dir: Path) -> Finding:
    usage = shutil.disk_usage(data_dir)
    db = _set_size(DataDir(data_dir).db)
    # A migration holds the v1 set, its snapshot and the v2 being built at once.
    needed = 2 * db + 50 * MIB
    details = {"free_bytes": usage.free, "data_db_bytes": db, "recommended_bytes": needed}
    summary = f"{usage.free / MIB:.0f} MiB free (data.db is {db / MIB:.1f} MiB)"
    if usage.free < needed:
        return Finding("free space", "warning", summary,
                       f"Free at least {needed / MIB:.0f} MiB on this disk.", details)
    return Finding("free space", "ok", summary, None, details)


def _handles(data_dir: Path, live: Manifest | None) -> Finding:
    files = DataDir(data_dir).db_files.members
    handles = procinfo.open_handles(files)
    if handles is None:
        return Finding("open handles", "info", "cannot list other processes' open files on "
                       "this OS", None, {})
    others = [h for h in handles if live is None or h.pid != live.pid]
    details = {"handles": [asdict(h) for h in others]}
    if not others:
        return Finding("open handles", "ok", "no other process has data.db open", None, details)
    who = "; ".join(f"pid {h.pid} ({h.command or '?'}) has {Path(h.path).name}" for h in others)
    return Finding("open handles", "warning", who,
                   "Close those programs (a database browser, a sync or backup tool) before a "
                   "migration or restore.", details)


def _shiv() -> Finding:
    current = shiv_prune.current_extraction()
    root = current.parent if current is not None else None
    if root is None:
        return Finding("shiv", "info", "not running from a pyz: no extractions to prune", None, {})
    stale = shiv_prune.stale_extractions(root, current)  # type: ignore[arg-type]
    sizes = {p.name: shiv_prune.tree_size(p) for p in stale}
    total = sum(sizes.values())
    details = {"root": str(root), "current": str(current), "old": sizes, "old_bytes": total}
    if not stale:
        return Finding("shiv", "ok", f"no old extractions in {root}", None, details)
    return Finding("shiv", "info",
                   f"{len(stale)} old extraction(s) in {root}, {total / MIB:.1f} MiB",
                   "Removed automatically once the daemon is ready; or delete: "
                   + " ".join(str(p) for p in stale), details)


def _log(data_dir: Path) -> Finding:
    path = log_path(data_dir)
    size = path.stat().st_size if path.exists() else 0
    if not size:
        return Finding("log", "info", f"{path} (not written yet)", None, {"path": str(path)})
    return Finding("log", "info", f"{path} ({size / 1024:.0f} KiB)",
                   f"After a failed start, its last lines say why: tail -n 40 '{path}'",
                   {"path": str(path), "bytes": size})


def render(findings: list[Finding]) -> str:
    width = max(len(f.status) for f in findings) + 2
    lines = []
    for f in findings:
        lines.append(f"{'[' + f.status + ']':<{width}} {f.check}: {f.summary}")
        if f.action:
            lines.append(f"{'':<{width}}   -> {f.action}")
    return "\n".join(lines)
