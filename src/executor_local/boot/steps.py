"""Running one boot step: a log line with its duration, and errors that name the step."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from executor_local.errors import ExecutorError, UnexpectedError

log = logging.getLogger("executor.boot")


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Log ``step <name>: done in N ms``; tag escaping errors with the step's name.

    An ``ExecutorError`` keeps its own facts and gains the step; anything else becomes an
    ``UnexpectedError`` so it still renders with step and cause instead of a bare traceback.
    """
    started = time.perf_counter()
    try:
        yield
    except ExecutorError as exc:
        if exc.step is None:
            exc.step = name
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        raise UnexpectedError(f"the {name} step failed", step=name, cause=exc) from exc
    log.info("step %s: done in %.1f ms", name, (time.perf_counter() - started) * 1000)
