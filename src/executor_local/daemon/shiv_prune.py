"""Old shiv extractions of this program: find them, measure them, prune them after READY.

shiv unpacks the bundle into ``$SHIV_ROOT/<file name>_<build id>/`` on first run and never cleans
up, so every upgrade leaves about 10 MB behind. After READY the daemon removes its own older
extractions in a background thread, best-effort, keeping the current one and the newest one before
it (an older build may still be running elsewhere, for instance a daemon not yet restarted).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from executor_local import fs

log = logging.getLogger("executor.shiv")

PACKAGE = "executor_local"


# `executor paths` reports the same two facts; one definition (here, below the CLI) serves both.
def shiv_root() -> Path:
    """Where shiv extracts this program (``SHIV_ROOT`` or ``~/.shiv``)."""
    return Path(os.environ.get("SHIV_ROOT") or Path.home() / ".shiv")


def current_extraction() -> Path | None:
    """The shiv extraction this process runs from, or None when not run from a pyz."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if parent.name == "site-packages" and parent.parent.parent == shiv_root().resolve():
            return parent.parent
    return None


def our_extractions(root: Path) -> list[Path]:
    """Complete extractions of this program in ``root``, newest first.

    Recognised by content, not by name: the pyz may be renamed (``executor-1.2.pyz``). shiv
    extracted into ``<name>.tmp`` and our bootstrap into ``.<name>.tmp-<pid>``, each renamed
    into place once complete, so a finished one never ends in ``.tmp`` nor starts with a dot;
    a first launch writing one in place marks it ``.incomplete`` until it is whole.
    """
    found: list[tuple[float, Path]] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        if (entry.name.endswith(".tmp") or entry.name.startswith(".") or entry.is_symlink()
                or (entry / ".incomplete").exists()):
            continue
        if (entry / "site-packages" / PACKAGE).is_dir():
            try:
                found.append((entry.stat().st_mtime, entry))
            except OSError:
                continue
    return [p for _, p in sorted(found, key=lambda x: x[0], reverse=True)]


def stale_extractions(root: Path, current: Path, keep_before: int = 1) -> list[Path]:
    """The extractions to prune: all but ``current`` and the ``keep_before`` newest others."""
    others = [p for p in our_extractions(root) if p.resolve() != current.resolve()]
    return others[keep_before:]


def tree_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def prune_old_extractions() -> list[Path]:
    """Remove stale extractions and their shiv lock files; never raises."""
    current = current_extraction()
    if current is None:
        return []
    removed: list[Path] = []
    for old in stale_extractions(current.parent, current):
        try:
            fs.rmtree(old)
            fs.remove(old.with_name(f".{old.name}_lock"))
            removed.append(old)
        except Exception as exc:  # best-effort: a failure here must never touch serving
            log.info("shiv: could not remove old extraction %s: %s", old, exc)
    if removed:
        log.info("shiv: removed %d old extraction(s): %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed


def unpack_compiled_libraries() -> None:
    """Have the bundle's bootstrap unpack the part held back at the first launch (the compiled
    libraries: MCP SDK, cryptography, JavaScript engine); a no-op when already done or when not
    run from a bundle. Never raises."""
    boot = sys.modules.get("_executor_pyz")
    if boot is None:
        return
    try:
        boot.ensure_later()
    except BaseException as exc:  # the bootstrap has said why on stderr; serving goes on
        log.info("shiv: could not unpack the compiled libraries: %r", exc)


def after_ready() -> None:
    unpack_compiled_libraries()
    prune_old_extractions()


def start_pruning() -> threading.Thread:
    """Unpack the rest and prune in a daemon thread: neither delays requests nor shutdown."""
    thread = threading.Thread(target=after_ready, name="shiv-prune", daemon=True)
    thread.start()
    return thread
