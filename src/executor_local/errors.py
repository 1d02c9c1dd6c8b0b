"""Error types that carry the facts a person needs: what failed, where, why, and what to do.

Every failure the program expects is an ``ExecutorError`` subclass whose class says the exit code
(design §8). Rendering is one function in ``cli.render``. A message is never empty: the TypeScript
Executor printed a placeholder instead of the cause because a wrapper had no message (its
#1209); ours always has one.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_OWNED = 4
EXIT_TOO_NEW = 5
EXIT_CORRUPT = 6
EXIT_LOCKED = 7
EXIT_NO_SPACE = 8
EXIT_PORT_IN_USE = 9
EXIT_CANNOT_WRITE = 10
# Raised by the bundle's bootstrap (pyzboot/), before any of this package can be imported.
EXIT_OLD_PYTHON = 11
EXIT_UNPACK = 12
EXIT_PAUSED = 13  # a tool call waits for approval: `executor resume` settles it

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_UNEXPECTED: "unexpected error (a bug: the message still names step, path and cause)",
    EXIT_USAGE: "usage error",
    EXIT_NOT_RUNNING: "daemon not running (a command that needs it found none to reach)",
    EXIT_OWNED: "data dir owned by another live process",
    EXIT_TOO_NEW: "data too new or of an unknown shape: refused, nothing written",
    EXIT_CORRUPT: "data corrupt: refused, nothing written",
    EXIT_LOCKED: "a file stayed locked by another program past the retry budget; nothing half-done",
    EXIT_NO_SPACE: "not enough free space (checked before writing)",
    EXIT_PORT_IN_USE: "the port is already in use by another program",
    EXIT_CANNOT_WRITE: "the data dir cannot be written safely (no permission, read-only, or a "
                       "disk I/O error): refused or rolled back, nothing half-done",
    EXIT_OLD_PYTHON: "this Python is older than 3.11 (the bundle says which one it found)",
    EXIT_UNPACK: "the bundle could not be unpacked: another launch kept unpacking it past "
                 "$EXECUTOR_UNPACK_TIMEOUT (default 120 s), or no folder to unpack into is "
                 "writable",
    EXIT_PAUSED: "the call waits for approval: approve in the browser or run the printed "
                 "`executor resume --execution-id ...`",
}


class ExecutorError(Exception):
    """A failure we expected and can explain.

    ``message`` says what failed; ``step`` is the boot step or command; ``path`` the file
    involved; ``hint`` what the person can do next; ``cause`` the OS or library error behind it.
    """

    exit_code = EXIT_UNEXPECTED
    default_hint = "Run again with --log-level debug for the full cause chain."

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        path: str | Path | None = None,
        hint: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message or type(self).__name__)
        self.message = message or type(self).__name__
        self.step = step
        self.path = str(path) if path is not None else None
        self.hint = hint or self.default_hint
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class UnexpectedError(ExecutorError):
    """Wraps an exception nobody anticipated, so it still renders with step and cause."""

    exit_code = EXIT_UNEXPECTED
    default_hint = "This is a bug. Run again with --log-level debug and report the output."


class BadArgument(ExecutorError):
    """A command was given something that does not exist (a backup name): a usage error."""

    exit_code = EXIT_USAGE
    default_hint = "Run the command with --help to see what it takes."


class DaemonNotRunning(ExecutorError):
    exit_code = EXIT_NOT_RUNNING
    default_hint = "Start it with: executor daemon run"


class DataDirOwned(ExecutorError):
    exit_code = EXIT_OWNED
    default_hint = "Stop the other executor process, or use another --data-dir."


class DataTooNew(ExecutorError):
    exit_code = EXIT_TOO_NEW
    default_hint = "Upgrade executor-local; nothing was written."


class UnsupportedLayout(DataTooNew):
    """The data set is arranged in a way the migration must not work on (a linked data.db)."""

    default_hint = "Make data.db a plain file in the data dir and run again; nothing was written."


class DataCorrupt(ExecutorError):
    exit_code = EXIT_CORRUPT


class FileLocked(ExecutorError):
    exit_code = EXIT_LOCKED
    default_hint = (
        "Close programs that may hold the file (another executor, an editor, a backup or "
        "antivirus scan) and run again; nothing was half-done."
    )


class NoSpace(ExecutorError):
    exit_code = EXIT_NO_SPACE
    default_hint = "Free some disk space and run again; nothing was written."


class NotWritable(ExecutorError):
    """A file or dir the migration must write is read-only to us, or owned by another user."""

    exit_code = EXIT_CANNOT_WRITE
    default_hint = (
        "Give your user write access to the data dir and its data.db files (a file owned by "
        "root often comes from a 'sudo' run) and run again; nothing was written."
    )


class DiskFailure(ExecutorError):
    """The OS reported an I/O error writing or flushing a file: what is on disk is unknown."""

    exit_code = EXIT_CANNOT_WRITE
    default_hint = (
        "The disk reported an I/O error. Check the disk (system log, SMART status) and free "
        "space, then run again: the next launch finishes or rolls back what was interrupted."
    )


class PortInUse(ExecutorError):
    exit_code = EXIT_PORT_IN_USE
    default_hint = "Pick another port with --port, or --port 0 for a free one."


# ------------------------------------------------------------------------------------------------
# Catalog and API errors: one type per answer, shared by the HTTP API (``server.errors`` maps
# ``http_status``/``code`` to ``{"error": {"code", "message", "hint"}}``) and the CLI renderer.
# ------------------------------------------------------------------------------------------------


class CatalogError(ExecutorError):
    """Bad input to the catalog or the API: nothing was changed."""

    exit_code = EXIT_USAGE
    code = "invalid_request"
    http_status = 400
    default_hint = "Fix the request and try again; nothing was changed."

    def __init__(self, message: str, *, code: str | None = None, details: object = None,
                 hint: str | None = None, **kw: object) -> None:
        super().__init__(message, hint=hint, **kw)  # type: ignore[arg-type]
        if code:
            self.code = code
        self.details = details


class NotFound(CatalogError):
    code = "not_found"
    http_status = 404
    default_hint = "List what exists (executor tools / integrations / connections) and retry."


class InvalidInput(CatalogError):
    code = "invalid_input"
    http_status = 400


class Conflict(CatalogError):
    code = "conflict"
    http_status = 409
    default_hint = "Remove or rename the existing one first; nothing was changed."


class UpstreamFailed(CatalogError):
    """A plugin could not reach or read the upstream while adding or refreshing."""

    code = "upstream_failed"
    http_status = 502
    default_hint = "Check that the upstream answers, then retry; nothing was stored."
