"""Does this bundle fit this computer? The Python, the bundle's platform, its compiled modules.

The bundle is one file per OS and CPU, carrying the compiled modules of CPython 3.11 to 3.14 side
by side (build.py writes what it carries into ``_bundle_info.json`` beside this module). A user
with the wrong file should read "this file is for linux-x86_64, this computer is windows-amd64"
rather than an ImportError at the first MCP call, so ``executor --version --verbose`` and
``executor doctor`` import every compiled module, each guarded, in a child process (a module
that crashes the interpreter cannot take the caller with it).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

INFO_FILE = Path(__file__).resolve().parent / "_bundle_info.json"
# Checked when run from a source checkout or a pip install (no bundle info).
DEV_MODULES = ["_cffi_backend", "_quickjs", "cryptography.hazmat.bindings._rust",
               "pydantic_core._pydantic_core", "rpds.rpds", "yaml._yaml"]

_PROBE = r"""
import json, site, sys
PURE = {"pywintypes"}  # Python code that loads a DLL: importing it is the check
paths = json.loads(sys.argv[1])
for p in paths:
    if sys.argv[3] == "site":
        site.addsitedir(p)
sys.path[:] = paths + [p for p in sys.path if p not in paths]
from importlib.machinery import EXTENSION_SUFFIXES
out = {}
for name in json.loads(sys.argv[2]):
    try:
        __import__(name)
        where = getattr(sys.modules[name], "__file__", None) or "a folder without code"
        if name in PURE or where.endswith(tuple(EXTENSION_SUFFIXES)):
            out[name] = "ok"
        else:
            out[name] = "ImportError: no compiled module for this platform (found %s)" % where
    except BaseException as exc:
        out[name] = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
print(json.dumps(out))
"""


def bundle_info() -> dict[str, Any] | None:
    try:
        return json.loads(INFO_FILE.read_text())
    except (OSError, ValueError):
        return None


def running_platform() -> str:
    """This computer as build.py names platforms: linux-x86_64, macos-arm64, windows-amd64..."""
    if sys.platform == "win32":  # not platform.machine(): it may start `cmd /c ver`
        machine = (os.environ.get("PROCESSOR_ARCHITEW6432")
                   or os.environ.get("PROCESSOR_ARCHITECTURE", "")).lower()
    else:
        machine = os.uname().machine.lower()
    if sys.platform == "win32":
        return "windows-" + {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    system = "macos" if sys.platform == "darwin" else sys.platform.rstrip("0123456789")
    aliases = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}
    return f"{system}-{aliases.get(machine, machine)}"


def _unpack_rest() -> str | None:
    """Make sure the bundle's compiled part is unpacked; an error text if it cannot be."""
    boot = sys.modules.get("_executor_pyz")
    if boot is None:
        return None
    try:
        boot.ensure_later()
    except BaseException as exc:
        return f"could not unpack the compiled libraries: {exc!r}"
    return None


def _import_here(name: str, root: str | None) -> str:
    import importlib
    from importlib.machinery import EXTENSION_SUFFIXES

    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {first}"
    where = getattr(module, "__file__", None) or "a folder without code"
    if root is not None and not where.startswith(root):
        return f"ImportError: not in the bundle (found {where})"
    if name in {"pywintypes"} or where.endswith(tuple(EXTENSION_SUFFIXES)):
        return "ok"
    return f"ImportError: no compiled module for this platform (found {where})"


def import_modules(names: list[str], timeout: float = 120, run_pth: bool = True,
                   ) -> dict[str, str]:
    """name -> "ok" or the error, each imported in one child process with our sys.path (and
    the .pth files of its folders run, unless ``run_pth`` is false)."""
    if not names:
        return {}
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    boot = sys.modules.get("_executor_pyz")
    bundle = getattr(boot, "BUNDLE", None)
    isolate: list[str] = []
    if bundle is not None:
        # Only the bundle's folders, and -S: a module this Python happens to have installed
        # itself must not pass for the bundle's own.
        paths = [p for p in paths if p.startswith(bundle.target)]
        isolate = ["-S"]
    if os.name == "nt":
        # In-process, guarded: on Windows a child's pipes can be inherited by a process that
        # outlives it (Wine's explorer.exe does), and a wrong-arch .pyd raises, not crashes.
        return {name: _import_here(name, bundle.target if bundle else None) for name in names}
    try:
        proc = subprocess.run([sys.executable, *isolate, "-c", _PROBE, json.dumps(paths),
                               json.dumps(names), "site" if run_pth else "plain"],
                              capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return dict.fromkeys(names, f"the check could not run: {exc}")
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return dict.fromkeys(names, f"the check process ended with code {proc.returncode}: "
                                    f"{tail}")


def check() -> dict[str, Any]:
    """Everything ``--version --verbose`` and ``doctor`` report, with a one-line verdict."""
    info = bundle_info()
    here = running_platform()
    pyver = f"{sys.version_info.major}.{sys.version_info.minor}"
    report: dict[str, Any] = {
        "python": {"version": platform.python_version(), "path": sys.executable,
                   "implementation": platform.python_implementation()},
        "running_platform": here,
        "bundle": None,
    }
    problems: list[str] = []
    if info is None:
        names = DEV_MODULES
        report["bundle"] = None
    else:
        carried = info.get("pythons", [])
        report["bundle"] = {"platform": info.get("platform"), "pythons": carried,
                            "version": info.get("version")}
        if info.get("platform") != here:
            problems.append(
                f"this file is for {info.get('platform')}, and you run it on {here}: its "
                f"compiled modules cannot load here; get executor-{here}.pyz")
        if pyver not in info.get("compiled", {}):
            problems.append(
                f"this file carries compiled modules for CPython {', '.join(carried)}; this is "
                f"{platform.python_implementation()} {platform.python_version()}: run it with "
                f"one of those")
        names = info.get("compiled", {}).get(pyver) or sorted(
            {n for v in info.get("compiled", {}).values() for n in v})
    unpack_error = _unpack_rest()
    foreign = info is not None and info.get("platform") != here
    modules = import_modules(names, run_pth=not foreign)
    report["modules"] = modules
    failed = [n for n, r in modules.items() if r != "ok"]
    if unpack_error:
        problems.append(unpack_error)
    if failed and not problems:
        problems.append(f"{len(failed)} compiled module(s) do not load: "
                        + "; ".join(f"{n} ({modules[n]})" for n in failed))
    report["ok"] = not problems and not failed
    report["verdict"] = problems[0] if problems else (
        f"all {len(modules)} compiled modules load")
    report["problems"] = problems
    return report


def render(report: dict[str, Any]) -> str:
    py = report["python"]
    bundle = report["bundle"]
    lines = [f"python: {py['implementation']} {py['version']} at {py['path']}",
             f"this computer: {report['running_platform']}"]
    if bundle is None:
        lines.append("bundle: not run from a bundle (a source checkout or a pip install)")
    else:
        lines.append(f"bundle: for {bundle['platform']}, compiled modules for CPython "
                     f"{', '.join(bundle['pythons'])}")
    for name, result in report["modules"].items():
        lines.append(f"  {'ok  ' if result == 'ok' else 'FAIL'} {name}"
                     + ("" if result == "ok" else f": {result}"))
    lines.append(("ok: " if report["ok"] else "problem: ") + report["verdict"])
    return "\n".join(lines)


def finding() -> Any:
    """The check as one ``executor doctor`` finding."""
    from executor_local.boot.doctor import Finding

    report = check()
    bundle = report["bundle"]
    where = f"for {bundle['platform']}" if bundle else "not a bundle"
    summary = (f"{where}; Python {report['python']['version']} at {report['python']['path']} "
               f"on {report['running_platform']}: {report['verdict']}")
    action = None if report["ok"] else (
        "Use the bundle built for this computer and a CPython it carries "
        "(`executor --version --verbose` lists every module).")
    return Finding("bundle", "ok" if report["ok"] else "problem", summary, action, report)
