#!/usr/bin/env python3
"""The one-file bundle: size per platform, and start-to-READY warm and cold, for this build and
(optionally) an older one measured in the same run.

    python3 bench/bundle.py [--runs N] [--before OLD.pyz]

Sizes are of the bundles present in bundle/ (``python3 build.py --platform all`` makes them all).
"cold" is a fresh ``SHIV_ROOT``: the first launch of a version, unpacking included. "cold, all
unpacked" waits until the compiled part (unpacked after READY in the background) is in place too:
what the first launch costs in all. Each run uses its own empty data dir.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from common import ROOT, base_env, ensure_bundle, median, scratch, time_to_line

READY = "EXECUTOR_READY:"


def _cmd(pyz: Path, data: Path) -> list[str]:
    return [sys.executable, str(pyz), "--data-dir", str(data), "--log-level", "warning",
            "daemon", "run", "--foreground", "--port", "0"]


def _tree_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def sizes() -> list[tuple[str, float, int]]:
    """(file, MB, member count of its payloads) for each bundle in bundle/."""
    out = []
    for pyz in sorted((ROOT / "bundle").glob("executor*.pyz")):
        with zipfile.ZipFile(pyz) as z:
            names = z.namelist()
            members = 0
            for payload in ("payload.zip", "payload-later.zip"):
                if payload in names:
                    import io

                    members += len(zipfile.ZipFile(io.BytesIO(z.read(payload))).namelist())
            platform = (json.loads(z.read("bundle-info.json"))["platform"]
                        if "bundle-info.json" in names else "shiv (before)")
        out.append((f"{pyz.name} ({platform})", pyz.stat().st_size / 1e6, members))
    return out


def _cpu_ms(pid: int) -> float:
    """User + system CPU of a live process so far (Linux), in ms: less swayed by other load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _ready(pyz: Path, data: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU ms) from spawn to READY; the daemon is then stopped."""
    started = time.perf_counter()
    proc = subprocess.Popen(_cmd(pyz, data), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if READY in line:
                return time.perf_counter() - started, _cpu_ms(proc.pid)
        raise RuntimeError("no READY line")
    finally:
        proc.terminate()
        proc.wait(10)


def _is_ours(pyz: Path) -> bool:
    """Built with our bootstrap (pyzboot), not shiv's."""
    with zipfile.ZipFile(pyz) as z:
        return "_executor_pyz.py" in z.namelist()


def _all_unpacked(root: Path) -> bool:
    return any((d / "later").is_dir() for d in root.iterdir()) if root.exists() else False


def _prepare(pyz: Path, work: Path, label: str) -> dict[str, str]:
    """The warm environment of ``pyz``: its root unpacked once, all of it."""
    warm = {**base_env(work / "home"), "SHIV_ROOT": str(work / f"{label}-warm")}
    # --version --verbose imports every compiled module (an old bundle may not know --verbose)
    subprocess.run([sys.executable, str(pyz), "--version", "--verbose"], env=warm,
                   capture_output=True)
    time_to_line(_cmd(pyz, work / f"{label}-w0"), warm, READY)
    return warm


def _one_run(pyz: Path, work: Path, label: str, i: int, warm: dict[str, str],
             res: dict[str, list[float]], later: bool) -> None:
    wall, cpu = _ready(pyz, work / f"{label}-w{i + 1}", warm)
    res["warm"].append(wall)
    res["warm cpu"].append(cpu / 1000)
    cold_root = work / f"{label}-cold-{i}"
    cold = {**warm, "SHIV_ROOT": str(cold_root)}
    wall, cpu = _ready(pyz, work / f"{label}-c{i}", cold)
    res["cold"].append(wall)
    res["cold cpu"].append(cpu / 1000)
    shutil.rmtree(cold_root, ignore_errors=True)
    if later:  # our bootstrap's first launch in all: READY, then the later part
        started = time.perf_counter()
        proc = subprocess.Popen(_cmd(pyz, work / f"{label}-a{i}"), env=cold,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while not _all_unpacked(cold_root) and time.perf_counter() - started < 60:
            time.sleep(0.005)  # polling the background unpack
        res["cold, all unpacked"].append(time.perf_counter() - started)
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(cold_root, ignore_errors=True)


def measure(builds: list[tuple[str, Path]], runs: int, work: Path,
            ) -> list[tuple[str, dict[str, float]]]:
    """Medians per build. The builds take turns, run by run: this machine's speed drifts over
    minutes (its page cache is reclaimed under it), and a drift must hit both alike."""
    warm = {label: _prepare(pyz, work, f"b{n}") for n, (label, pyz) in enumerate(builds)}
    res: dict[str, dict[str, list[float]]] = {label: {
        "warm": [], "cold": [], "cold, all unpacked": [], "warm cpu": [], "cold cpu": []}
        for label, _ in builds}
    for i in range(runs):
        for n, (label, pyz) in enumerate(builds):
            _one_run(pyz, work, f"b{n}", i, warm[label], res[label], _is_ours(pyz))
    return [(label, {k: median(v) * 1000 for k, v in res[label].items() if v})
            for label, _ in builds]


def report(runs: int, before: Path | None) -> str:
    pyz = ensure_bundle()
    work = scratch("bundle")
    try:
        builds = [("this build", pyz)]
        if before is not None:
            label = "before" if _is_ours(before) else "before (shiv --compile-pyc)"
            builds.insert(0, (label, before))
        rows = measure(builds, runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["| bundle | MB | files in payload |", "|---|---|---|"]
    lines += [f"| {name} | {mb:.1f} | {n or ''} |" for name, mb, n in sizes()]
    lines += ["", "| start-to-READY, median ms | warm | cold | cold ÷ warm | CPU warm | CPU cold "
              "| cold, all unpacked |", "|---|---|---|---|---|---|---|"]
    for name, m in rows:
        lines.append(f"| {name} | {m['warm']:.0f} | {m['cold']:.0f} | {m['cold'] / m['warm']:.2f} "
                     f"| {m['warm cpu']:.0f} | {m['cold cpu']:.0f} | "
                     + (f"{m['cold, all unpacked']:.0f} |" if "cold, all unpacked" in m
                        else "n/a |"))
    now = rows[-1][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += ["", f"Target cold ≤ 2 × warm: {now['cold'] / now['warm']:.2f} "
              f"({'met' if now['cold'] <= 2 * now['warm'] else 'NOT met'}); CPU cold ÷ warm "
              f"{now['cold cpu'] / now['warm cpu']:.2f}; load average at the end {load:.1f} "
              f"on {os.cpu_count()} cores"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="an older pyz to measure in the same run")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # as on this machine and many others
    print(report(args.runs, args.before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
