"""The first launch of a bundle version (issue 10 A) never bricks the launches after it.

The bundle unpacks itself on its first launch (pyzboot/_executor_pyz.py). Killed at any instant
of that launch, nothing of it may survive (no process, no lock), and the next launch reaches READY
with no half-unpacked folder left behind. A launch that finds another one unpacking says so at
once and waits a bounded time (exit 12 past it). A root it cannot write falls back to a private
temp folder, saying so.
"""

from __future__ import annotations

import fcntl
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from proc import Daemon, run_cli, wait_for


def _args(data: Path) -> list[str]:
    return ["--data-dir", str(data), "daemon", "run", "--foreground", "--port", "0"]


def _session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (each launch is started as a session leader)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(int(entry))
    return found


def _locks_free(root: Path) -> list[str]:
    """The unpack lock files in ``root`` that someone still holds."""
    held = []
    for lock in root.glob(".*_lock"):
        with open(lock, "rb+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
            except OSError:
                held.append(lock.name)
    return held


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in [*root.glob(".*.tmp-*"),
                                                     *root.glob("*/.*.tmp-*")])


def _extraction(root: Path) -> Path:
    (target,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    return target


@pytest.mark.slow
def test_a_first_launch_killed_at_any_instant_never_bricks_the_next(
        pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    # How long a cold first launch takes here, to spread the kills over all of it.
    started = time.monotonic()
    with Daemon(pyz, _args(tmp_path / "probe-data"),
                {**env, "SHIV_ROOT": str(tmp_path / "probe-root")}) as d:
        d.wait_ready()
        ready_s = time.monotonic() - started
        assert d.terminate() == 0
    # 32 instants from the start to READY, then 4 more into the unpacking after READY
    instants = [ready_s * i / 31 for i in range(32)] + [ready_s + 0.15 * k for k in (1, 2, 4, 6)]
    for i, instant in enumerate(instants):
        root, data = tmp_path / f"root-{i}", tmp_path / f"data-{i}"
        cold = {**env, "SHIV_ROOT": str(root)}
        victim = subprocess.Popen([sys.executable, str(pyz), *_args(data)], env=cold,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(instant)  # the instant to kill at, not a wait for an event
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        what = f"kill #{i} at {instant * 1000:.0f} ms of a {ready_s * 1000:.0f} ms first launch"
        assert _session_members(victim.pid) == [], f"{what}: processes survive"
        if root.exists():
            assert _locks_free(root) == [], f"{what}: a lock is still held"
        with Daemon(pyz, _args(data), cold) as d:
            d.wait_ready(deadline_s=60)
            # after READY the rest is unpacked in the background: let it finish, then check
            try:
                wait_for(lambda root=root: (_extraction(root) / "later").is_dir(), 60,
                         f"{what}: later part")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; stderr:\n{d.err}") from None
            assert d.get("/api/health") == (200, "ok")
            assert d.terminate() == 0, d.err
        assert _leftovers(root) == [], f"{what}: half-unpacked folders left"
        assert not (_extraction(root) / ".incomplete").exists(), f"{what}: still marked"
        assert "Traceback" not in d.err, d.err


class _Stderr:
    """A child's stderr lines, each with the time it arrived."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.text: list[str] = []
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.text.append(line)
            self.lines.put((time.monotonic(), line))

    def first(self, deadline_s: float) -> tuple[float, str]:
        return self.lines.get(timeout=deadline_s)


def test_a_launch_waiting_for_another_says_so_and_its_wait_is_bounded(
        pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "root"
    marker = tmp_path / "holding"
    cold = {**env, "SHIV_ROOT": str(root)}
    holder = subprocess.Popen(
        [sys.executable, str(pyz), "--version"], stdin=subprocess.DEVNULL,
        env={**cold, "EXECUTOR_TEST_MODE": "1", "EXECUTOR_TEST_UNPACK_PAUSE": str(marker)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(marker.exists, 30, "the first launch to hold the unpack lock")
        started = time.monotonic()
        waiter = subprocess.Popen([sys.executable, str(pyz), "--version"], text=True,
                                  env={**cold, "EXECUTOR_UNPACK_TIMEOUT": "2"},
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        err = _Stderr(waiter)
        when, line = err.first(5)
        assert when - started < 1.0, f"said so only after {when - started:.2f} s"
        assert line.startswith(f"executor: first start of this version: unpacking, waiting "
                               f"for pid {holder.pid}"), line
        assert waiter.wait(30) == 12
        elapsed = time.monotonic() - started
        assert 2 <= elapsed < 15, elapsed
        text = "".join(err.text)
        assert f"gave up after 2 s waiting for pid {holder.pid}" in text, text
        assert f"kill {holder.pid}" in text and "Traceback" not in text, text

        # A patient launch goes on by itself once the holder is gone.
        patient = subprocess.Popen([sys.executable, str(pyz), "--version"], env=cold,
                                   text=True, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = _Stderr(patient)
        assert "waiting for pid" in err.first(5)[1]
        holder.kill()
        holder.wait(10)
        out, _ = patient.communicate(timeout=60)
        assert patient.returncode == 0, "".join(err.text)
        assert out.startswith("executor, version")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    assert _leftovers(root) == []
    # a command that never reaches READY finishes the unpacking at its exit
    assert not (_extraction(root) / ".incomplete").exists()
    assert run_cli(pyz, ["--version"], cold).returncode == 0


def test_an_unwritable_root_falls_back_to_a_private_temp_folder(
        pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    unwritable = Path("/sys/executor-shiv-test")  # EPERM even for root, unlike a chmod
    try:
        unwritable.mkdir()
    except OSError:
        pass
    else:
        unwritable.rmdir()
        pytest.skip("/sys is writable here: no unwritable folder to point SHIV_ROOT at")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    fallback_env = {**env, "SHIV_ROOT": str(unwritable), "TMPDIR": str(tmp)}
    result = run_cli(pyz, ["--json", "paths"], fallback_env)
    assert result.returncode == 0, result.stderr
    assert f"{unwritable} is not writable" in result.stderr and str(tmp) in result.stderr
    private = tmp / f"executor-shiv-{os.getuid()}"
    assert (private.stat().st_mode & 0o777) == 0o700
    assert f'"shiv_root": "{private}"' in result.stdout
    again = run_cli(pyz, ["--version"], fallback_env)
    assert again.returncode == 0 and again.stdout.startswith("executor, version")


def test_an_unpacked_root_is_used_without_writing(pyz: Path, env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """A shared root unpacked once (both parts) is only read by later launches."""
    root = tmp_path / "shared"
    cold = {**env, "SHIV_ROOT": str(root)}
    with Daemon(pyz, _args(tmp_path / "data"), cold) as d:
        d.wait_ready()
        wait_for(lambda: (_extraction(root) / "later").is_dir(), 60, "the later part")
        assert d.terminate() == 0
    def files() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}

    before = files()
    result = run_cli(pyz, ["--version"], {**cold, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0
    assert files() == before


def test_requests_are_served_while_the_later_part_unpacks(
        pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    """After READY the compiled libraries unpack in the background, and the MCP SDK's warm-up
    import waits for them. That wait must not happen under Python's import lock: it once did
    (inside the bootstrap's import hook), and every request that imported anything new hung
    until the unpacking ended (10 s and more on a loaded machine). Here the unpacking never
    ends, and the console's files, the health route and a clean stop must still work."""
    root, marker = tmp_path / "root", tmp_path / "holding-later"
    cold = {**env, "SHIV_ROOT": str(root), "EXECUTOR_TEST_MODE": "1",
            "EXECUTOR_TEST_UNPACK_PAUSE_LATER": str(marker)}
    with Daemon(pyz, _args(tmp_path / "data"), cold) as d:
        d.wait_ready()
        wait_for(marker.exists, 60, "the later part's unpacking to start (and hold)")
        assert marker.read_text().endswith("later")
        assert d.get("/ui/static/console.css", timeout=15)[0] == 200, d.err
        assert d.get("/api/health", timeout=15) == (200, "ok"), d.err
        assert d.terminate(timeout=15) == 0, d.err
    assert "Traceback" not in d.err, d.err
