"""One renderer for every failure; "Unknown error" is impossible, even for empty messages."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from executor_local.cli.render import render_json, render_text
from executor_local.errors import ExecutorError, FileLocked, UnexpectedError
from proc import pythonpath_env


def _winerror(exc: OSError, code: int) -> OSError:
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


CASES = [
    Exception(),
    RuntimeError(""),
    OSError(),
    UnexpectedError("", cause=Exception()),
    FileLocked("", path="/x/data.db",
               cause=_winerror(PermissionError(errno.EACCES, "Access is denied"), 32)),
]


@pytest.mark.parametrize("exc", CASES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("debug", [False, True])
def test_no_empty_or_unknown_message(exc: BaseException, debug: bool) -> None:
    text = render_text(exc, debug=debug)
    assert "Unknown error" not in text
    first = text.splitlines()[0]
    assert first.startswith("executor: error: ")
    assert len(first) > len("executor: error: ") + 3
    # The first line names the failure: its type, and for ours its (defaulted) message too.
    assert type(exc).__name__ in first
    if isinstance(exc, ExecutorError):
        assert exc.message and exc.message in first
    body = json.loads(render_json(exc))["error"]
    assert body["message"] and body["cause"]
    assert "Unknown error" not in json.dumps(body)


def test_os_error_facts_are_rendered() -> None:
    cause = _winerror(PermissionError(errno.EACCES, "The process cannot access the file"), 32)
    err = FileLocked("could not move data.db", step="migrate", path="/d/data.db", cause=cause)
    text = render_text(err)
    assert "step:  migrate" in text and "path:  /d/data.db" in text
    assert "errno 13 (EACCES)" in text and "winerror 32" in text
    assert "what to do:" in text and "exit code: 7" in text
    body = json.loads(render_json(err))["error"]
    assert (body["errno"], body["winerror"], body["exit_code"]) == (13, 32, 7)


def test_debug_adds_cause_chain() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise UnexpectedError("outer", step="serve") from inner
    except UnexpectedError as exc:
        text = render_text(exc, debug=True)
    assert "cause chain" in text and "KeyError" in text and "Traceback" in text


def test_cli_failure_is_rendered_with_step_path_and_code(tmp_path: Path,
                                                          env: dict[str, str]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "executor_local", "--data-dir", str(not_a_dir / "sub"),
         "daemon", "run", "--foreground", "--port", "0"],
        env=pythonpath_env(env), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "step:  locate" in result.stderr
    assert "NotADirectoryError" in result.stderr or "FileExistsError" in result.stderr
    assert "Unknown error" not in result.stderr
    assert "Traceback" not in result.stderr
