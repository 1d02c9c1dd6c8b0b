"""A refused run says exactly what it wrote: the names it created in the data dir.

A refusal (exit 4-10) changes no data, but the command took the owner lock (and the daemon
opened its log) before it found out; the message names those files instead of claiming that
nothing at all was written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from executor_local.datadir import CONTROL_DIR_NAME, LOG_DIR_NAME
from executor_local.errors import EXIT_OWNED, ExecutorError

SUBDIRS = (LOG_DIR_NAME, CONTROL_DIR_NAME)


def listing(data_dir: Path) -> set[str]:
    names: set[str] = set()
    with contextlib.suppress(OSError):
        names |= {p.name for p in data_dir.iterdir()}
    for sub in SUBDIRS:
        with contextlib.suppress(OSError):
            names |= {f"{sub}/{p.name}" for p in (data_dir / sub).iterdir()}
    return names


@contextlib.contextmanager
def say_what_a_refusal_created(data_dir: Path) -> Iterator[None]:
    existed = data_dir.exists()
    before = listing(data_dir)
    try:
        yield
    except ExecutorError as exc:
        if exc.exit_code >= EXIT_OWNED:
            created = sorted(listing(data_dir) - before)
            if not existed and data_dir.exists():
                created.insert(0, f"{data_dir} itself")
            if created:
                exc.hint = (f"{exc.hint} (This run changed no data; it created only "
                            f"{', '.join(created)}: its lock and log files.)")
        raise
