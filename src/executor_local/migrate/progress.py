"""Progress on stderr, but only for a migration slow enough to need it (over about a second)."""

from __future__ import annotations

import sys
import threading
import time

QUIET_FOR_S = 1.0


class Progress:
    """Names the current phase; a ticker prints it every second once the first has passed."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.phase = "starting"
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True, name="progress")

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def set(self, phase: str) -> None:
        self.phase = phase

    def _tick(self) -> None:
        if self._stop.wait(QUIET_FOR_S):
            return
        while True:
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"executor: {self.label}: {self.phase} ({elapsed:.0f} s)\n")
            sys.stderr.flush()
            if self._stop.wait(1.0):
                return
