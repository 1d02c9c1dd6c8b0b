"""The vendored sucrase bundle is what the pins in tools/vendor_sucrase.py say, carries its
licenses, and strips TypeScript fast enough to run on every ``execute``."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "src/executor_local/executions/sandbox/vendor/sucrase.js"


def _pins() -> list[tuple[str, str, str, str, str]]:
    spec = importlib.util.spec_from_file_location("vendor_sucrase",
                                                  ROOT / "tools/vendor_sucrase.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PINS


def test_vendored_file_names_its_pins_and_licenses() -> None:
    text = VENDORED.read_text(encoding="utf-8")
    head = text[:2000]
    for name, version, sha, _entry, lic in _pins():
        assert f"{name}@{version} ({lic})" in head
        assert f"sha256 {sha}" in head
        assert f"---- {name}@{version} LICENSE ({lic}) ----" in text
    assert "MIT License" in text and "Apache License" in text


def test_strip_removes_type_syntax_quickly() -> None:
    from executor_local.executions.sandbox.strip import StripError, Stripper

    stripper = Stripper()
    code = ("interface Pet { id: number }\ntype P = Pet | null;\n"
            "const p = { id: 1 } as Pet satisfies Pet;\nconst q: P = p!;\n"
            "function f<T>(x: T): T { return x }\n")
    stripper.strip_types(code)  # the first call warms sucrase up
    started = time.perf_counter()
    for _ in range(20):
        out = stripper.strip_types(code)
    per_strip_ms = (time.perf_counter() - started) / 20 * 1000
    assert "interface" not in out and "satisfies" not in out and ": number" not in out
    assert out.count("\n") == code.count("\n")  # line numbers are kept
    # ~1-2 ms on an idle machine; loose, since the test machine is shared
    assert per_strip_ms < 1000, per_strip_ms
    try:
        stripper.strip_types("const a: = 1")
    except StripError as exc:
        assert "line 1" in str(exc)
    else:
        raise AssertionError("a syntax error was not reported")
