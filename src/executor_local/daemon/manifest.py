"""``server-control/server.json``: who owns the data dir, where it serves, and its bearer.

The manifest is a hint, never the truth: the owner lock is the gate (boot.own). A manifest is
trusted only while its pid is alive *and* has the recorded start time (a recycled pid must not
pass, TS failure class #10), and "ready" means it also answers ``GET /api/health``.

The owner writes it twice: ``starting`` right after taking the lock (so a second launch can name
the owner's pid even while a long migration runs), then ``ready`` once the port is bound. Only the
lock holder writes or removes it, so a reader can never delete a newer owner's manifest.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from executor_local import __version__, fs, procinfo
from executor_local.datadir import DataDir

FORMAT = 1
HEALTH_TIMEOUT_S = 1.0

STARTING = "starting"
READY = "ready"


def control_dir(data_dir: Path) -> Path:
    return DataDir(data_dir).control_dir


def manifest_path(data_dir: Path) -> Path:
    return DataDir(data_dir).manifest


@dataclass(frozen=True)
class Manifest:
    """One daemon's record. ``bearer`` is the secret clients need; never print it."""

    pid: int
    process_start_time: str | None
    state: str
    data_dir: str
    version: str
    started_at: str
    kind: str = "cli-daemon"
    host: str | None = None
    port: int | None = None
    origin: str | None = None
    bearer: str | None = None
    format: int = FORMAT

    @classmethod
    def for_this_process(cls, data_dir: Path, *, kind: str = "cli-daemon") -> Manifest:
        pid = os.getpid()
        return cls(
            pid=pid,
            process_start_time=procinfo.process_start_time(pid),
            state=STARTING,
            data_dir=str(data_dir),
            version=__version__,
            started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            kind=kind,
        )

    def serving(self, host: str, port: int, origin: str, bearer: str) -> Manifest:
        return replace(self, state=READY, host=host, port=port, origin=origin, bearer=bearer)

    @classmethod
    def from_json(cls, data: Any) -> Manifest | None:
        """Parse a manifest; None for anything that is not one of ours (then it is stale)."""
        if not isinstance(data, dict):
            return None
        try:
            m = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError:
            return None
        if not isinstance(m.pid, int) or m.state not in (STARTING, READY):
            return None
        if m.state == READY and not (isinstance(m.origin, str) and isinstance(m.port, int)):
            return None
        return m

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), indent=2) + "\n").encode()

    def public(self) -> dict[str, Any]:
        """The manifest without its secret, for status output and logs."""
        data = asdict(self)
        data.pop("bearer", None)
        return data

    def is_live(self) -> bool:
        """Its process still runs (same pid, same start time)."""
        return procinfo.same_process(self.pid, self.process_start_time)

    def answers_health(self, timeout: float = HEALTH_TIMEOUT_S) -> bool:
        return self.state == READY and self.origin is not None and health_ok(self.origin, timeout)


def read_manifest(data_dir: Path) -> tuple[Manifest | None, bool]:
    """``(manifest, present)``: ``present`` with a None manifest means an unreadable file."""
    path = manifest_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    try:
        return Manifest.from_json(json.loads(raw)), True
    except ValueError:
        return None, True


def live_manifest(data_dir: Path) -> Manifest | None:
    """The manifest if its process is alive, else None (a stale one is ignored, not trusted)."""
    m, _ = read_manifest(data_dir)
    return m if m is not None and m.is_live() else None


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    """Write atomically, 0600 (it holds the bearer), in a 0700 ``server-control``."""
    fs.make_private_dir(control_dir(data_dir))
    fs.write_atomic(manifest_path(data_dir), manifest.to_bytes())


def remove_manifest(data_dir: Path, *, pid: int | None = None) -> bool:
    """Remove the manifest; with ``pid``, only while it still names that pid."""
    if pid is not None:
        m, present = read_manifest(data_dir)
        if not present or (m is not None and m.pid != pid):
            return False
    return fs.remove(manifest_path(data_dir))


def health_ok(origin: str, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    """``GET <origin>/api/health`` answers ``ok``. Never sends the bearer (a wrong origin must
    not learn it), and stdlib-only so ``status``/``stop`` never import the server stack."""
    import http.client  # only when probing: the owner's boot path never needs it

    parts = urlsplit(origin)
    if parts.hostname is None or parts.port is None:
        return False
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", "/api/health")
        resp = conn.getresponse()
        return resp.status == 200 and resp.read(16).strip() == b"ok"
    except (OSError, http.client.HTTPException):
        return False
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def origin_for(host: str, port: int) -> str:
    """``http://127.0.0.1:4788``; an IPv6 literal gets brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
