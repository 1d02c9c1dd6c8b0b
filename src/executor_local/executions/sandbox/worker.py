"""The worker process: runs programs for the daemon, one at a time, over a pipe.

Why a process: QuickJS enforces its heap and stack limits, but an engine bug (or a limit we
did not think of) must end only this process, never the daemon. The daemon keeps warm
workers (``pool``), so a program pays for a process start only when a worker died.

Protocol: one JSON object per line. stdin carries ``run``, then ``result``/``error``/``stop``
messages; stdout carries ``calls``, ``wait``, and a final ``done`` or ``stopped``. The
process writes nothing else to stdout: ``sys.stdout`` is pointed at stderr before anything
else runs. Started as ``python -c`` with the daemon's ``sys.path`` (see ``pool``), so it works
from a venv, a wheel, and an extracted shiv bundle alike.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any, BinaryIO

_THREAD_STACK = 16 * 1024 * 1024  # QuickJS's 1 MiB JS stack needs a real C stack well above it


def serve(reader: BinaryIO, writer: BinaryIO) -> None:
    """Answer ``run`` requests until stdin closes."""
    from executor_local.executions.sandbox.engine import Engine
    from executor_local.executions.sandbox.limits import Limits

    def send(msg: dict[str, Any]) -> None:
        writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        writer.flush()

    def recv() -> dict[str, Any]:
        line = reader.readline()
        if not line:
            raise EOFError
        return json.loads(line)

    engine = Engine()
    if os.environ.get("EXECUTOR_SANDBOX_PRELOAD") == "1":
        engine.strip("", Limits())  # load sucrase before the first program asks
    send({"op": "ready", "pid": os.getpid()})
    while True:
        try:
            msg = recv()
        except EOFError:
            return
        if msg.get("op") == "modules":  # what this process has loaded (a test checks it)
            send({"op": "modules", "names": sorted(m for m in sys.modules
                                                   if m.startswith("executor_local"))})
            continue
        if msg.get("op") != "run":
            continue
        try:
            final = engine.run(msg["code"], msg["replay"], Limits.from_json(msg["limits"]),
                               send, recv)
        except EOFError:
            return
        send(final)


def main() -> None:
    proto_in = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    threading.stack_size(_THREAD_STACK)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            serve(proto_in, proto_out)
        except BaseException as exc:  # reported on stderr, which the daemon logs
            errors.append(exc)
            raise

    thread = threading.Thread(target=target, name="quickjs")
    thread.start()
    thread.join()
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
