"""The desktop shell's contract: two stdout lines, byte for byte, written from here only.

``EXECUTOR_READY:<port>`` once the daemon serves; ``EXECUTOR_ATTACHED:<port>`` when a launch
finds a daemon already serving the data dir (printed only for ``EXECUTOR_CLIENT=desktop``).
Each is flushed at once: the shell reads it line by line while the process keeps running.
"""

from __future__ import annotations

import sys

READY = "EXECUTOR_READY"
ATTACHED = "EXECUTOR_ATTACHED"


def _line(key: str, port: int) -> None:
    sys.stdout.write(f"{key}:{port}\n")
    sys.stdout.flush()


def print_ready(port: int) -> None:
    _line(READY, port)


def print_attached(port: int) -> None:
    _line(ATTACHED, port)
