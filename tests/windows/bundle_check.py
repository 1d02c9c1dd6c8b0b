"""The Windows bundle on a seeded v1 data dir, under a real Windows CPython on Wine.

Run by a Linux python (tests/windows/run.sh does, after ``winpy.sh setup`` for each version):

    python3 tests/windows/bundle_check.py migrate  --py 3.11 --py 3.12 --py 3.13
    python3 tests/windows/bundle_check.py negative --py 3.12

For each case it seeds a v1 data dir on Linux (tests/migration_env.py: v1gen + a live-WAL row),
launches ``winpy.sh python executor-windows-amd64.pyz --data-dir Z:\\... daemon run --foreground
--port 0``, reads stdout for ``EXECUTOR_READY:<port>``, GETs ``/api/health`` on 127.0.0.1 from
Linux, stops the daemon with SIGINT (Wine delivers it to the Windows process as Ctrl-C, so it
shuts down cleanly), and checks the files from Linux.

- ``migrate``: exit 0; a complete v2 (stamped, ``PRAGMA integrity_check`` ok, every table holds
  the rows the Linux dry run planned), one backup whose rows equal the seed's, the auth.json
  backup, and no ``.source-*``/``.building-*``/journal/temp file left.
- ``negative``: with ``EXECUTOR_TEST_MODE=1 EXECUTOR_TEST_LEAK_CURSOR=1`` (a cursor on data.db
  leaked in a reference cycle right before the flip moves it) the migration succeeds, and its
  debug log shows the WinError 32 the GC nudge got past; with ``EXECUTOR_TEST_NO_GC_NUDGE=1`` as
  well it exits 7 after the whole retry budget, naming winerror 32, with the v1 rows intact and
  no backup; a plain relaunch then completes the migration.

One ``PASS``/``FAIL`` line per case; exit status 1 if any failed. Env: ``WIN_BUNDLE`` (default
bundle/executor-windows-amd64.pyz), ``WIN_PIP_REQS`` as for winpy.sh, ``KEEP_WORK=1`` keeps the
temporary dirs (they are kept anyway when a case fails).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import dbcheck  # noqa: E402
from executor_local import fs  # noqa: E402
from executor_local.migrate.layout import JOURNAL_NAME  # noqa: E402
from executor_local.migrate.run import dry_run  # noqa: E402
from migration_env import SeededV1, assert_complete_v2, seed_v1  # noqa: E402

WINPY = HERE / "winpy.sh"
READY_DEADLINE_S = 120.0  # the first launch may start the wineserver and unpack the pyz
RETRY_BUDGET_S = sum(fs.RETRY_DELAYS_MS) / 1000  # 7.9 s
WINERROR_32 = re.compile(r"win ?error\W{0,3}32\b", re.IGNORECASE)


class CheckFailed(Exception):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise CheckFailed(what)


def win_path(path: Path) -> str:
    """A Linux path as the Windows process sees it (Wine maps Z: to /)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def default_win_reqs() -> str:
    """What run.sh installs: pytest plus the pinned runtime dependencies."""
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines()
             if "sys_platform == 'emscripten'" not in line]
    pins = re.findall(r"^([A-Za-z0-9_.-]+==\S+)", "\n".join(lines), re.M)
    return " ".join(["pytest", *pins])


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            out += [kid, *descendants(kid)]
    return out


class WinDaemon:
    """``winpy.sh python <pyz> ARGS`` with stdout/stderr read as they come."""

    def __init__(self, py: str, pyz: Path, args: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["bash", str(WINPY), "python", win_path(pyz), *args],
            env={**env, "WIN_PY": py}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out, True),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err, False),
                             daemon=True),
        ]
        for t in self.pumps:
            t.start()
        self.port: int | None = None

    def _pump(self, stream, sink: list[str], notify: bool) -> None:  # type: ignore[no-untyped-def]
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            sink.append(line)
            if notify:
                self.lines.put(line)
        if notify:
            self.lines.put(None)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_ready(self) -> int | None:
        """The READY port, or None if the process ended first."""
        end = time.monotonic() + READY_DEADLINE_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise CheckFailed(f"no READY line in {READY_DEADLINE_S:.0f} s") from None
            if line is None:
                return None
            if line.startswith("EXECUTOR_READY:"):
                self.port = int(line.strip().split(":", 1)[1])
                return self.port

    def health(self) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}/api/health"
        with urllib.request.urlopen(url, timeout=15) as resp:
            return resp.status, resp.read().decode()

    def stop(self) -> int:
        """SIGINT the Windows python (a Ctrl-C for it), wait for a clean exit."""
        exe = [p for p in descendants(self.proc.pid) if _is_python_exe(p)]
        check(bool(exe), "the Windows python.exe process was not found")
        os.kill(exe[0], signal.SIGINT)
        return self.wait(30)

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise CheckFailed(f"did not exit within {timeout:.0f} s") from None
        for t in self.pumps:
            t.join(10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _is_python_exe(pid: int) -> bool:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return argv0.lower().endswith(b"python.exe")


class Case:
    """One seeded data dir and the environment of the Windows process that migrates it."""

    def __init__(self, work: Path, name: str) -> None:
        self.root = work / name
        self.seed: SeededV1 = seed_v1(self.root)
        # what the migration must write, planned by the Linux code before anything runs
        self.counts: dict[str, int] = dry_run(self.seed.layout, self.seed.auth_path)["plan"][
            "counts"]
        keep = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
        self.env = {
            **keep,
            "WIN_PIP_REQS": os.environ.get("WIN_PIP_REQS") or default_win_reqs(),
            "EXECUTOR_AUTH_FILE": win_path(self.seed.auth_path),
            "SHIV_ROOT": win_path(work / "shiv"),
            "PYTHONIOENCODING": "utf-8",
        }

    def launch(self, py: str, pyz: Path, extra_env: dict[str, str] | None = None,
               log_level: str = "info") -> WinDaemon:
        return WinDaemon(py, pyz, ["--log-level", log_level, "--data-dir",
                                   win_path(self.seed.data_dir), "daemon", "run",
                                   "--foreground", "--port", "0"],
                         {**self.env, **(extra_env or {})})

    def serve_and_stop(self, d: WinDaemon) -> str:
        """READY, health ok, SIGINT, exit 0; returns a short note."""
        try:
            port = d.wait_ready()
            if port is None:
                rc = d.wait(30)
                raise CheckFailed(f"exited {rc} before READY; stderr:\n{d.stderr}")
            ready_s = d.elapsed
            status = d.health()
            check(status == (200, "ok"), f"GET /api/health -> {status}")
            rc = d.stop()
            check(rc == 0, f"exit {rc} after SIGINT (want 0); stderr:\n{d.stderr}")
        finally:
            d.kill()
        return f"READY on :{port} in {ready_s:.1f} s, health ok, clean stop"

    def assert_migrated(self) -> str:
        seed = self.seed
        try:
            assert_complete_v2(seed)
        except AssertionError as exc:
            raise CheckFailed(f"not a complete v2 + backup: {exc!r}") from None
        debris = sorted(p.name for p in seed.data_dir.iterdir()
                        if p.name.startswith(("data.db.source-", "data.db.building-"))
                        or p.name == JOURNAL_NAME or ".tmp-" in p.name)
        check(not debris, f"files left behind: {debris}")
        with tempfile.TemporaryDirectory() as tmp:
            copy = dbcheck.copy_set(seed.db, Path(tmp) / "copy.db")
            conn = sqlite3.connect(str(copy))
            try:
                integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                conn.close()
        check(integrity == "ok", f"PRAGMA integrity_check: {integrity}")
        wrong = {t: (dbcheck.count(seed.db, t), n) for t, n in self.counts.items()
                 if dbcheck.count(seed.db, t) != n}
        check(not wrong, f"row counts (got, planned) differ: {wrong}")
        (backup,) = seed.layout.backups()
        return (f"v2 ok ({sum(self.counts.values())} rows in {len(self.counts)} tables), "
                f"backup {backup.name}, no debris")

    def assert_v1_intact(self) -> str:
        seed = self.seed
        check(seed.db.exists(), "data.db is gone")
        check(not dbcheck.is_stamped_v2(seed.db), "data.db is stamped v2")
        check(dbcheck.row_checksum(seed.db) == seed.checksum, "v1 row checksum changed")
        check(seed.layout.backups() == [], f"backups made: {seed.layout.backups()}")
        return "v1 intact (row checksum equal, no backup)"


def run_case(label: str, fn) -> bool:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    try:
        note = fn()
    except CheckFailed as exc:
        print(f"FAIL  {label}: {exc}  [{time.monotonic() - started:.1f} s]", flush=True)
        return False
    except Exception:  # a bug in the check itself: still one clear FAIL line
        print(f"FAIL  {label}: {traceback.format_exc()}", flush=True)
        return False
    print(f"PASS  {label}: {note}  [{time.monotonic() - started:.1f} s]", flush=True)
    return True


def migrate_case(work: Path, py: str, pyz: Path) -> str:
    case = Case(work, f"migrate-{py}")
    served = case.serve_and_stop(case.launch(py, pyz))
    return f"{served}; {case.assert_migrated()}; {compiled_check(case, py, pyz)}"


def compiled_check(case: Case, py: str, pyz: Path) -> str:
    """``--version --verbose`` under the Windows python: every compiled module it carries for
    this CPython (pydantic-core, cryptography, pywin32, quickjs-ng, ...) imports."""
    proc = subprocess.run(["bash", str(WINPY), "python", win_path(pyz), "--version", "--verbose"],
                          env={**case.env, "WIN_PY": py}, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=600)
    out = proc.stdout.decode("utf-8", "replace")
    check(proc.returncode == 0, f"--version --verbose exit {proc.returncode}:\n{out}"
          f"{proc.stderr.decode('utf-8', 'replace')}")
    check("bundle: for windows-amd64" in out and "this computer: windows-amd64" in out,
          f"wrong platform report:\n{out}")
    if re.search(r"^ok: all \d+ compiled modules load", out, re.M) and "FAIL" not in out:
        return f"all {out.count(chr(10) + '  ok   ')} compiled modules import"
    # Wine 8 has no bcryptprimitives.dll (ProcessPrng), which every Rust-built module links
    # since Rust 1.78 (pydantic-core, rpds-py, cryptography): those, and only those, may fail
    # to load here, and only with "DLL load failed". Real Windows 8.1+ has the DLL.
    root = Path(case.env["SHIV_ROOT"][2:].replace("\\", "/"))
    rust = {p.name.split(".", 1)[0] for p in root.rglob("*.pyd")
            if b"bcryptprimitives.dll" in p.read_bytes().lower()}
    failed = re.findall(r"^  FAIL (\S+): (.*)$", out, re.M)
    other = [(n, why) for n, why in failed
             if n.rsplit(".", 1)[-1] not in rust or "DLL load failed" not in why]
    ok = out.count("\n  ok   ")
    check(not other and ok > 0, f"compiled modules that do not load:\n{out}")
    return (f"{ok} compiled modules import; {len(failed)} Rust-built ones need "
            f"bcryptprimitives.dll, which Wine 8 lacks ({', '.join(n for n, _ in failed)})")


def unpack_case(work: Path, py: str, pyz: Path) -> str:
    """The first-launch lock under Windows (msvcrt.locking): a launch that finds another one
    unpacking says so and gives up with exit 12 past its bound; once the unpacking process is
    killed (TerminateProcess) its lock is gone, and the next launch cleans up and unpacks."""
    root = work / f"unpack-{py}"
    marker = work / f"unpack-{py}.holding"
    keep = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env = {**keep, "WIN_PIP_REQS": os.environ.get("WIN_PIP_REQS") or default_win_reqs(),
           "SHIV_ROOT": win_path(root), "PYTHONIOENCODING": "utf-8", "WIN_PY": py}

    def run(args: list[str], extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(WINPY), "python", win_path(pyz), *args],
                              env={**env, **extra}, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600)

    holder = WinDaemon(py, pyz, ["--version"], {**env, "EXECUTOR_TEST_MODE": "1",
                                                "EXECUTOR_TEST_UNPACK_PAUSE": win_path(marker)})
    try:
        end = time.monotonic() + READY_DEADLINE_S
        while not marker.exists():
            check(holder.proc.poll() is None, f"the holder exited {holder.proc.returncode}: "
                                              f"{holder.stderr}")
            check(time.monotonic() < end, "the holder never took the unpack lock")
            time.sleep(0.1)  # polling for the marker file
        waiter = run(["--version"], {"EXECUTOR_UNPACK_TIMEOUT": "3"})
        check(waiter.returncode == 12, f"waiter exit {waiter.returncode} (want 12): "
                                       f"{waiter.stderr}")
        check("first start of this version: unpacking, waiting for pid" in waiter.stderr
              and "gave up after 3 s" in waiter.stderr, f"waiter said: {waiter.stderr}")
        exe = [p for p in descendants(holder.proc.pid) if _is_python_exe(p)]
        check(bool(exe), "the holder's python.exe was not found")
        os.kill(exe[0], signal.SIGKILL)
        holder.wait(60)
    finally:
        holder.kill()
    after = run(["--version", "--verbose"], {})
    # The compiled modules themselves are compiled_check's business (Wine 8 cannot load the
    # Rust-built ones); here the relaunch after the kill must unpack and run.
    check(after.returncode == 0 and "this computer: windows-amd64" in after.stdout,
          f"after the kill: exit {after.returncode}\n{after.stdout}{after.stderr}")
    left = [p.name for p in [*root.glob(".*.tmp-*"), *root.glob("*/.*.tmp-*")]]
    check(not left, f"half-unpacked folders left: {left}")
    return ("waiter said so and exited 12 after 3 s; holder killed; next launch unpacked, "
            "cleaned up and ran")


LEAK = {"EXECUTOR_TEST_MODE": "1", "EXECUTOR_TEST_LEAK_CURSOR": "1"}


def leak_with_nudge_case(work: Path, py: str, pyz: Path) -> str:
    case = Case(work, f"nudge-{py}")
    d = case.launch(py, pyz, LEAK, log_level="debug")
    served = case.serve_and_stop(d)
    # the leak must really have bitten, or this case proves nothing
    check(bool(WINERROR_32.search(d.stderr)),
          f"no winerror 32 retry in the debug log: the leaked cursor did not hold data.db; "
          f"stderr:\n{d.stderr}")
    return f"{served}; winerror 32 seen and retried past; {case.assert_migrated()}"


def leak_without_nudge_case(work: Path, py: str, pyz: Path) -> str:
    case = Case(work, f"no-nudge-{py}")
    d = case.launch(py, pyz, {**LEAK, "EXECUTOR_TEST_NO_GC_NUDGE": "1"})
    try:
        port = d.wait_ready()
        check(port is None, f"READY on :{port}: the migration succeeded without the nudge")
        rc = d.wait(60)
    finally:
        d.kill()
    elapsed = d.elapsed
    check(rc == 7, f"exit {rc} (want 7); stderr:\n{d.stderr}")
    check(bool(WINERROR_32.search(d.stderr)), f"stderr names no winerror 32:\n{d.stderr}")
    check(elapsed >= RETRY_BUDGET_S, f"failed after {elapsed:.1f} s, before the retry budget")
    intact = case.assert_v1_intact()
    line = next((ln.strip() for ln in d.err if WINERROR_32.search(ln)), "")
    # the next plain launch rolls the interrupted migration forward
    case.serve_and_stop(case.launch(py, pyz))
    return (f"exit 7 after {elapsed:.1f} s ({line}); {intact}; "
            f"relaunch: {case.assert_migrated()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["migrate", "negative"])
    parser.add_argument("--py", action="append", required=True,
                        choices=["3.11", "3.12", "3.13"], help="Windows CPython version(s)")
    args = parser.parse_args()
    pyz = Path(os.environ.get("WIN_BUNDLE") or ROOT / "bundle" / "executor-windows-amd64.pyz")
    if not pyz.is_file():
        print(f"FAIL  {args.part}: no bundle at {pyz} (python3 build.py --platform win_amd64)")
        return 1
    work = Path(tempfile.mkdtemp(prefix=f"executor-wincheck-{args.part}-"))
    results = []
    for py in args.py:
        if args.part == "migrate":
            results.append(run_case(f"bundle cp{py} v1->v2 migrate + serve",
                                    lambda py=py: migrate_case(work, py, pyz)))
            if py == args.py[-1]:
                results.append(run_case(f"bundle cp{py} first-launch lock, waiter, kill",
                                        lambda py=py: unpack_case(work, py, pyz)))
        else:
            results.append(run_case(f"negative cp{py} leaked cursor, GC nudge on",
                                    lambda py=py: leak_with_nudge_case(work, py, pyz)))
            results.append(run_case(f"negative cp{py} leaked cursor, GC nudge off",
                                    lambda py=py: leak_without_nudge_case(work, py, pyz)))
    if all(results) and os.environ.get("KEEP_WORK") != "1":
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"      work dir kept: {work}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
