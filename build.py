#!/usr/bin/env python3
"""Build ``bundle/executor.pyz``: one file holding the CLI, the daemon and the migrator.

    python3 build.py                           # for this machine's OS and CPU: bundle/executor.pyz
    python3 build.py --platform win_amd64      # for another: bundle/executor-windows-amd64.pyz
    python3 build.py --platform all            # every platform in PLATFORMS
    python3 build.py --lock                    # regenerate requirements.lock (needs PyPI)

It needs only Python and the package registries. It makes its own build environment, builds a
wheel of the project, and for each supported CPython (3.11 to 3.14) installs the hash-pinned wheels
of ``requirements.lock`` for the target OS into a folder of its own (``pip install --target
--platform --python-version --only-binary=:all: --require-hashes --no-deps``). Those folders are
merged into one ``site-packages``: a path present in several must hold identical bytes there
(extension modules carry their ABI tag in their name, abi3 ones are one file for all), except
``*.dist-info`` metadata (the oldest CPython's copy is kept). A distribution whose files differ
per CPython under one name (pywin32) goes whole into ``site-packages-cpXY`` per version.

The result is packed, with our own small bootstrap (``pyzboot/``), as a zip application:
a shebang, ``__main__.py`` (refuses Python < 3.11), ``_executor_pyz.py`` (unpacks once, under a
lock, then runs the CLI), ``bundle-info.json`` and ``payload.zip`` (the site-packages folders).
Every timestamp and mode is fixed and every list sorted, so two builds of one commit from any two
folders are byte-identical per platform; each bundle gets a ``.sha256`` beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform as host
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest a zip can say
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
UV_VERSION = "0.13.9"
SHEBANG = b"#!/usr/bin/env python3\n"
BOOT = ROOT / "pyzboot"


def _manylinux(arch: str) -> list[str]:
    # glibc 2.17 (CentOS 7) up to 2.28 (Debian 10, RHEL 8): the newest tag a wheel has wins
    return [f"manylinux_2_{n}_{arch}" for n in range(28, 16, -1)] + [f"manylinux2014_{arch}"]


def _markers(sys_platform: str, system: str, os_name: str, machine: str) -> dict[str, str]:
    return {"sys_platform": sys_platform, "platform_system": system, "os_name": os_name,
            "platform_machine": machine}


# name -> pip platform tags (best first) and the PEP 508 marker values of that OS/CPU
PLATFORMS: dict[str, dict] = {
    "linux-x86_64": {"tags": _manylinux("x86_64"),
                     "markers": _markers("linux", "Linux", "posix", "x86_64")},
    "linux-aarch64": {"tags": _manylinux("aarch64"),
                      "markers": _markers("linux", "Linux", "posix", "aarch64")},
    "macos-arm64": {"tags": ["macosx_11_0_arm64"],  # pip adds older versions and universal2
                    "markers": _markers("darwin", "Darwin", "posix", "arm64")},
    "macos-x86_64": {"tags": ["macosx_11_0_x86_64"],
                     "markers": _markers("darwin", "Darwin", "posix", "x86_64")},
    "windows-amd64": {"tags": ["win_amd64"],
                      "markers": _markers("win32", "Windows", "nt", "AMD64")},
}
ALIASES = {"win_amd64": "windows-amd64", "macosx_11_0_arm64": "macos-arm64",
           "macosx_11_0_x86_64": "macos-x86_64", "manylinux_2_17_x86_64": "linux-x86_64",
           "manylinux_2_17_aarch64": "linux-aarch64", "manylinux2014_x86_64": "linux-x86_64",
           "manylinux2014_aarch64": "linux-aarch64"}

# Run by the build venv's python: which lock entries apply to one OS and CPython (pip would
# evaluate the markers for the machine that builds, not the target).
FILTER = r"""
import json, sys
from pip._vendor.packaging.markers import Marker
env = json.loads(sys.argv[1])
out = []
for line in open(sys.argv[2]).read().replace("\\\n", " ").splitlines():
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith("#"):
        continue
    spec, _, hashes = line.partition(" --hash")
    req, _, marker = spec.partition(";")
    if marker.strip() and not Marker(marker.strip()).evaluate(env):
        continue
    out.append(req.strip() + " --hash" + hashes)
print("\n".join(out))
"""


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def host_platform() -> str:
    machine = host.machine().lower()
    if sys.platform == "win32":
        return "windows-amd64" if machine in ("amd64", "x86_64") else f"windows-{machine}"
    if sys.platform == "darwin":
        return "macos-arm64" if machine in ("arm64", "aarch64") else "macos-x86_64"
    return "linux-" + {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def build_env(work: Path) -> Path:
    """A private venv for the build; returns its python (pip comes with it)."""
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_wheel(python: Path, work: Path) -> Path:
    wheels = work / "wheels"
    run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    (wheel,) = wheels.glob("executor_local-*.whl")
    return wheel


def requirements_for(python: Path, work: Path, platform: str, pyver: str, wheel: Path) -> Path:
    env = {**PLATFORMS[platform]["markers"], "python_version": pyver,
           "python_full_version": f"{pyver}.0", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "platform_release": "",
           "platform_version": "", "implementation_version": f"{pyver}.0", "extra": ""}
    lines = subprocess.run([str(python), "-c", FILTER, json.dumps(env),
                            str(ROOT / "requirements.lock")], check=True, capture_output=True,
                           text=True).stdout
    # Our wheel joins the hash-checked set by name through --find-links, so pip writes no
    # direct_url.json carrying this folder's path.
    version = wheel.name.split("-")[1]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"requirements-{platform}-{pyver}.txt"
    path.write_text(lines + f"\nexecutor-local=={version} --hash=sha256:{digest}\n")
    return path


def install(python: Path, work: Path, platform: str, pyver: str, wheel: Path) -> Path:
    site = work / "stage" / f"cp{pyver.replace('.', '')}"
    tags = [arg for tag in PLATFORMS[platform]["tags"] for arg in ("--platform", tag)]
    reqs = requirements_for(python, work, platform, pyver, wheel)
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--target", str(site), "--no-compile", "--no-deps", "--only-binary=:all:",
         *tags, "--python-version", pyver, "--implementation", "cp", "--require-hashes",
         "--find-links", str(wheel.parent), "-r", str(reqs)])
    # Console scripts carry the build venv's path in their shebang, and RECORD their hashes.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for record in site.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith("../../bin/")))
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    return site


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes()
            for p in sorted(site.rglob("*")) if p.is_file()}


def owners(files: dict[str, bytes]) -> dict[str, str]:
    """Path -> the dist-info folder whose RECORD lists it (and the dist-info's own files)."""
    owner: dict[str, str] = {}
    for path, data in files.items():
        if path.endswith(".dist-info/RECORD"):
            dist = path.split("/", 1)[0]
            for line in data.decode().splitlines():
                name = line.rsplit(",", 2)[0].strip('"')
                owner[os.path.normpath(name).replace(os.sep, "/")] = dist
    for path in files:
        top = path.split("/", 1)[0]
        if top.endswith(".dist-info"):
            owner[path] = top
    return owner


def merge(stages: dict[str, Path],
          ) -> tuple[dict[str, bytes], dict[str, dict[str, bytes]], dict[str, str]]:
    """The shared files, per CPython the files of distributions that differ by version, and
    which distribution owns each path."""
    per = {v: files_of(site) for v, site in stages.items()}
    own = {v: owners(files) for v, files in per.items()}
    owner_of = {path: dist for o in own.values() for path, dist in o.items()}
    split: set[str] = set()  # dist-info names whose files must stay per version
    first: dict[str, tuple[str, bytes]] = {}
    for v, files in per.items():
        for path, data in files.items():
            if path in first and first[path][1] != data and ".dist-info/" not in path:
                for version in (first[path][0], v):
                    dist = own[version].get(path)
                    if dist is None:
                        raise SystemExit(f"build: {path} differs between CPython "
                                         f"{first[path][0]} and {v} and no RECORD owns it")
                    split.add(dist)
            first.setdefault(path, (v, data))
    common: dict[str, bytes] = {}
    overlays: dict[str, dict[str, bytes]] = {v: {} for v in per}
    for v, files in per.items():  # oldest first: its dist-info metadata wins
        for path, data in files.items():
            if own[v].get(path) in split:
                overlays[v][path] = data
            else:
                common.setdefault(path, data)
    return common, {v: f for v, f in overlays.items() if f}, owner_of


EXT_SUFFIXES = (".so", ".pyd")


def extension_modules(files: dict[str, bytes], overlay: dict[str, bytes]) -> list[str]:
    """Dotted names of the extension modules one CPython loads from the bundle."""
    names = set()
    for path in [*files, *overlay]:
        if not path.endswith(EXT_SUFFIXES) or ".dist-info/" in path:
            continue
        parts = path.split("/")
        parts[-1] = parts[-1].split(".", 1)[0]
        if parts[0] in PYWIN32_UNUSED:
            continue
        if parts[0] == "win32":  # pywin32.pth puts win32/ itself on sys.path
            parts = parts[1:]
            if parts[-1] not in PYWIN32_CHECKED:
                continue
        names.add(".".join(parts))
    if "win32api" in names:
        names.add("pywintypes")  # loads pywintypes3XX.dll, which every win32 module needs
    return sorted(names)


# pywin32's GUI, COM-extension and IIS modules: no dependency of ours uses them, so the
# self-check does not import them (they stay in the bundle).
PYWIN32_UNUSED = {"pythonwin", "win32comext", "isapi", "adodbapi"}
# Of pywin32's win32/ modules, the ones the MCP SDK (stdio servers on Windows: job objects,
# processes, pipes) and keyring reach; others (odbc: crashes on import under Wine) are not checked.
PYWIN32_CHECKED = {"win32api", "win32job", "win32process", "win32event", "win32file",
                   "win32pipe", "win32cred", "_win32sysloader"}


def version_loads(path: str, pyver: str, platform: str) -> bool:
    """Whether the extension file ``path`` is one CPython ``pyver`` can load."""
    name = path.rsplit("/", 1)[-1]
    tag = pyver.replace(".", "")
    if ".cpython-" in name or ".cp3" in name:
        return f".cpython-{tag}" in name or f".cp{tag}-" in name
    return True  # abi3 or untagged


def bundle_info(platform: str, common: dict[str, bytes],
                overlays: dict[str, dict[str, bytes]]) -> dict:
    from_version = {}
    for pyver in PYTHONS:
        tag = f"cp{pyver.replace('.', '')}"
        own = {p: b for p, b in common.items() if version_loads(p, pyver, platform)}
        from_version[pyver] = extension_modules(own, overlays.get(tag, {}))
    version = (ROOT / "src/executor_local/__init__.py").read_text().split('"')[1]
    return {"format": 1, "version": version, "platform": platform,
            "pip_platforms": PLATFORMS[platform]["tags"], "pythons": PYTHONS,
            "requires_python": PYTHONS[0], "compiled": from_version}


def zip_bytes(members: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = method
            info.create_system = 3  # unix, whatever OS builds
            zf.writestr(info, members[name], compresslevel=6 if compress else None)
    return buf.getvalue()


# Distributions imported before READY: unpacked at the first launch. Everything else (the
# compiled libraries and what needs them) is unpacked once, after READY or at its first import.
# python-multipart: starlette imports it when it serves a request.
EAGER = {"executor-local", "click", "platformdirs", "starlette", "uvicorn", "anyio", "h11", "idna",
         "typing-extensions", "python-multipart"}


def project_of(dist_info: str) -> str:
    return dist_info.rsplit("-", 1)[0].lower().replace("_", "-").replace(".", "-")


def split_eager(common: dict[str, bytes], overlays: dict[str, dict[str, bytes]],
                own: dict[str, str]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The payload members unpacked at the first launch, and the ones unpacked later."""
    eager: dict[str, bytes] = {}
    lazy: dict[str, bytes] = {}
    for path, data in common.items():
        dist = own.get(path)
        if dist is None or project_of(dist[: -len(".dist-info")]) in EAGER:
            eager[f"site-packages/{path}"] = data
        else:
            lazy[f"site-packages/{path}"] = data
    for tag, files in overlays.items():
        lazy.update({f"site-packages-{tag}/{p}": b for p, b in files.items()})
    return eager, lazy


def top_level_names(lazy: dict[str, bytes]) -> list[str]:
    """Import names whose first import must unpack the later part (its .pth dirs included)."""
    names: set[str] = set()
    pth_dirs: list[tuple[str, str]] = []
    for member, data in lazy.items():
        base, path = member.split("/", 1)
        if path.endswith(".pth") and "/" not in path:
            for line in data.decode().splitlines():
                if line.strip() and not line.startswith(("#", "import")):
                    pth_dirs.append((base, line.strip().replace("\\", "/") + "/"))
    for member in lazy:
        base, path = member.split("/", 1)
        for prefix in [d for b, d in pth_dirs if b == base] + [""]:
            if path.startswith(prefix):
                rest = path[len(prefix):]
                first = rest.split("/", 1)[0]
                if not first.endswith((".dist-info", ".pth", ".txt", ".chm")):
                    names.add(first.split(".", 1)[0])
                break
    return sorted(n for n in names if n.isidentifier())


def local_pythons() -> dict[str, str]:
    """version -> a CPython of that version on this machine ($BUILD_PYTHON_3_12, pyenv, PATH)."""
    import glob

    found = {}
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in PYTHONS:
        candidates = [os.environ.get("BUILD_PYTHON_" + version.replace(".", "_"), "")]
        candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"),
                             reverse=True)
        candidates.append(shutil.which(f"python{version}") or "")
        if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
            candidates.append(sys.executable)
        for c in candidates:
            if c and ".pyenv/shims" not in c and os.access(c, os.X_OK):
                found[version] = c
                break
    return found


# Run by each local CPython: byte-code of the first part, so that the first launch need not
# compile what it imports before READY. unchecked-hash: no timestamps, and nothing compares
# it with the source (which never changes inside a bundle); co_filename is relative.
COMPILE = r"""
import json, marshal, sys, importlib.util
members = json.loads(sys.stdin.read())
out = {}
for name, source in members.items():
    code = compile(source.encode("latin-1"), name, "exec", dont_inherit=True)
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += (3).to_bytes(4, "little")  # flags: hash-based, check_source=0 (unchecked)
    data += importlib.util.source_hash(source.encode("latin-1"))
    data += marshal.dumps(code)
    out[name] = bytes(data).decode("latin-1")
print(json.dumps(out))
"""


def bytecode(eager: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """``__pycache__`` members for every supported CPython found here, and those versions."""
    sources = {m: b.decode("latin-1") for m, b in eager.items() if m.endswith(".py")}
    out: dict[str, bytes] = {}
    versions = []
    for version, python in local_pythons().items():
        tag = "cpython-" + version.replace(".", "")
        result = subprocess.run([python, "-c", COMPILE], input=json.dumps(sources),
                                capture_output=True, text=True, check=True)
        for member, data in json.loads(result.stdout).items():
            folder, name = member.rsplit("/", 1)
            out[f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"] = data.encode("latin-1")
        versions.append(version)
    return out, versions


def pack(platform: str, common: dict[str, bytes], overlays: dict[str, dict[str, bytes]],
         own: dict[str, str], output: Path) -> None:
    info = bundle_info(platform, common, overlays)
    eager, lazy = split_eager(common, overlays, own)
    info["lazy_names"] = top_level_names(lazy)
    compiled, info["bytecode_for"] = bytecode(eager)
    # The package reads its own copy (no build id: that is computed over the payload).
    eager["site-packages/executor_local/_bundle_info.json"] = (
        json.dumps(info, indent=1, sort_keys=True).encode() + b"\n")
    eager.update(compiled)
    h = hashlib.sha256()
    for name, data in sorted({**eager, **{f"lazy/{k}": v for k, v in lazy.items()}}.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    info["build_id"] = h.hexdigest()[:16]
    outer = zip_bytes({
        "__main__.py": (BOOT / "__main__.py").read_bytes(),
        "_executor_pyz.py": (BOOT / "_executor_pyz.py").read_bytes(),
        "bundle-info.json": json.dumps(info, indent=1, sort_keys=True).encode() + b"\n",
        "payload.zip": zip_bytes(eager),
        "payload-later.zip": zip_bytes(lazy),
    }, compress=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(SHEBANG + outer)
    tmp.chmod(0o755)
    os.replace(tmp, output)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    print(f"built {output} ({platform}, {output.stat().st_size / 1e6:.1f} MB) sha256 {digest}")


def build(platform: str, output: Path, python: Path, work: Path, wheel: Path) -> None:
    stages = {}
    for pyver in PYTHONS:
        stages[f"cp{pyver.replace('.', '')}"] = install(
            python, work / platform, platform, pyver, wheel)
    common, overlays, own = merge(stages)
    pack(platform, common, overlays, own, output)


def lock(python: Path) -> None:
    """Regenerate requirements.lock from requirements.in with uv, for every OS and CPython."""
    run([str(python), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"])
    uv = python.parent / ("uv.exe" if os.name == "nt" else "uv")
    out = subprocess.run([str(uv), "pip", "compile", "--universal", "--generate-hashes",
                          "--python-version", PYTHONS[0], "--no-header", "-q",
                          str(ROOT / "requirements.in")], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    header = (
        "# Hash-pinned runtime dependencies of the bundle, for every OS and CPython 3.11+ that\n"
        "# build.py makes (uv --universal: environment markers say where each applies; the\n"
        "# hashes are those of every file of each release, so every platform's wheels check).\n"
        "# Do not edit: change requirements.in, then run `python3 build.py --lock`, which runs\n"
        f"#   uv=={UV_VERSION} pip compile --universal --generate-hashes --python-version "
        f"{PYTHONS[0]} requirements.in\n")
    (ROOT / "requirements.lock").write_text(header + out)
    print("wrote requirements.lock")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append",
                        help=f"target ({', '.join(PLATFORMS)}, a pip tag such as win_amd64, "
                             "or all); repeatable")
    parser.add_argument("--output", type=Path, help="where to write the pyz (one platform)")
    parser.add_argument("--lock", action="store_true", help="regenerate requirements.lock")
    args = parser.parse_args()

    targets = []
    for name in args.platform or [host_platform()]:
        if name == "all":
            targets += list(PLATFORMS)
            continue
        name = ALIASES.get(name, name)
        if name not in PLATFORMS:
            parser.error(f"unknown platform {name!r}: one of {', '.join(PLATFORMS)}")
        targets.append(name)
    if args.output and len(targets) != 1:
        parser.error("--output needs exactly one platform")
    with tempfile.TemporaryDirectory(prefix="executor-build-") as tmp:
        work = Path(tmp)
        python = build_env(work)
        if args.lock:
            lock(python)
            return 0
        wheel = build_wheel(python, work)
        for platform in dict.fromkeys(targets):
            default = "executor.pyz" if not args.platform else f"executor-{platform}.pyz"
            output = (args.output or ROOT / "bundle" / default).resolve()
            build(platform, output, python, work, wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
