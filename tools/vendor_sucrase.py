"""Build ``sandbox/vendor/sucrase.js``: sucrase (the TypeScript stripper Executor uses) as one
CommonJS bundle that QuickJS can evaluate, with no network and no Node at run time.

Why a script and a committed output: the daemon must strip TypeScript offline, and the bundle
build (build.py) must not depend on the npm registry being reachable. So the pinned npm
tarballs are fetched here, checked against their sha256, and their CommonJS ``dist/`` files are
wrapped into a module table with a tiny ``require`` shim. The output is reproducible (sorted,
no timestamps); ``--check`` rebuilds it in memory and fails if the committed file differs.

Usage:
    python tools/vendor_sucrase.py            # download, verify, write the vendored file
    python tools/vendor_sucrase.py --check    # verify the committed file is what the pins give
    python tools/vendor_sucrase.py --from DIR # use tarballs already in DIR (no network)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import posixpath
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/executor_local/executions/sandbox/vendor/sucrase.js"

# name, version, sha256 of the registry tarball, entry (package-relative), license id
PINS = [
    ("sucrase", "3.35.1",
     "fa555afbe97fb4f4866084a8838cb66ff520aa1adcd211269b2708afda4bc9bf", "dist/index.js", "MIT"),
    ("ts-interface-checker", "0.1.13",
     "98f799dc404eedd94c52b1e0f18699dc0e34c5d599e40cb8ea5abc0e102dcafd", "dist/index.js",
     "Apache-2.0"),
]
# Required by sucrase only for source maps and token debugging, which we never ask for:
# they resolve to empty modules rather than being shipped.
STUBS = ("@jridgewell/gen-mapping", "lines-and-columns")
UNLINKED = "-"
REQUIRE = re.compile(r"""\brequire\(\s*['"]([^'"$]+)['"]\s*\)""")


def tarball_url(name: str, version: str) -> str:
    return f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def fetch(name: str, version: str, sha256: str, from_dir: Path | None) -> bytes:
    """The pinned tarball's bytes, from ``from_dir`` or the npm registry, hash-checked."""
    filename = f"{name.split('/')[-1]}-{version}.tgz"
    if from_dir is not None:
        data = (from_dir / filename).read_bytes()
    else:
        with urllib.request.urlopen(tarball_url(name, version), timeout=60) as resp:
            data = resp.read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise SystemExit(f"{filename}: sha256 {got} does not match the pin {sha256}")
    return data


def package_files(data: bytes) -> dict[str, str]:
    """``{package-relative path: text}`` for the CommonJS files and the license of a tarball."""
    files: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            rel = member.name[len("package/"):]
            if rel == "LICENSE" or (rel.endswith(".js") and rel.startswith("dist/")
                                    and not rel.startswith("dist/esm/")):
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[rel] = extracted.read().decode("utf-8")
    return files


def resolve(packages: dict[str, dict[str, str]], entries: dict[str, str], from_id: str,
            spec: str) -> str | None:
    """The module id (``pkg/path.js``) that ``require(spec)`` in ``from_id`` loads."""
    if spec in STUBS:
        return None
    if spec.startswith("."):
        pkg, _, rel = from_id.partition("/")
        if pkg.startswith("@"):
            scope, _, rest = rel.partition("/")
            pkg, rel = f"{pkg}/{scope}", rest
        base = posixpath.normpath(posixpath.join(posixpath.dirname(rel), spec))
        for cand in (base, base + ".js", base + "/index.js"):
            if cand in packages[pkg]:
                return f"{pkg}/{cand}"
        raise SystemExit(f"{from_id}: cannot resolve require({spec!r})")
    if spec in entries:
        return f"{spec}/{entries[spec]}"
    # Text that only looks like a require (sucrase emits such code for other transforms, e.g.
    # 'react-hot-loader'): left unlinked, so calling it throws "unknown require" at run time.
    return UNLINKED


def build(from_dir: Path | None) -> str:
    packages: dict[str, dict[str, str]] = {}
    entries: dict[str, str] = {}
    for name, version, sha, entry, _lic in PINS:
        packages[name] = package_files(fetch(name, version, sha, from_dir))
        entries[name] = entry
    # Walk the require graph from sucrase's entry, so only reachable modules ship.
    modules: dict[str, str] = {}
    links: dict[str, dict[str, str | None]] = {}
    todo = [f"sucrase/{entries['sucrase']}"]
    while todo:
        mid = todo.pop()
        if mid in modules:
            continue
        pkg = "sucrase" if mid.startswith("sucrase/") else "ts-interface-checker"
        text = packages[pkg][mid[len(pkg) + 1:]]
        modules[mid] = text
        links[mid] = {}
        for spec in sorted(set(REQUIRE.findall(text))):
            target = resolve(packages, entries, mid, spec)
            if target == UNLINKED:
                continue
            links[mid][spec] = target
            if target is not None:
                todo.append(target)
    header = ["/* Vendored by tools/vendor_sucrase.py: do not edit; regenerate instead.",
              " * One CommonJS bundle of the TypeScript stripper for the code-mode sandbox.", " *"]
    for name, version, sha, _entry, lic in PINS:
        header.append(f" * {name}@{version} ({lic}) {tarball_url(name, version)}")
        header.append(f" *   sha256 {sha}")
    header.append(f" * Stubbed (source maps / token debugging only): {', '.join(STUBS)}")
    header.append(" */")
    out = ["\n".join(header), "var __vendoredSucrase = (function () {",
           "var defs = {};", "var links = " + json.dumps(links, sort_keys=True) + ";"]
    for mid in sorted(modules):
        out.append(f"defs[{json.dumps(mid)}] = function (module, exports, require) {{\n"
                   f"{modules[mid]}\n}};")
    out.append("""var cache = {};
function load(id) {
  if (id === null) return {};
  if (cache[id]) return cache[id].exports;
  var module = {exports: {}};
  cache[id] = module;
  defs[id].call(module.exports, module, module.exports, function (spec) {
    if (!(spec in links[id])) throw new Error("vendored sucrase: unknown require " + spec);
    return load(links[id][spec]);
  });
  return module.exports;
}
return load("sucrase/dist/index.js");
})();""")
    licenses = []
    for name, version, _sha, _entry, lic in PINS:
        licenses.append(f"/* ---- {name}@{version} LICENSE ({lic}) ----\n"
                        + packages[name]["LICENSE"].replace("*/", "* /") + "\n*/")
    return "\n".join(out) + "\n" + "\n".join(licenses) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--from", dest="from_dir", type=Path)
    args = parser.parse_args(argv)
    text = build(args.from_dir)
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} differs from what the pins produce; run tools/vendor_sucrase.py",
                  file=sys.stderr)
            return 1
        print(f"{OUT.name}: matches the pins")
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8", newline="\n")
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
