"""TypeScript to JavaScript, by sucrase running inside QuickJS (what Executor uses).

Sucrase's TypeScript transform is purely syntactic and keeps line numbers, so an error in
the stripped program points at the line the agent wrote. The vendored bundle
(``vendor/sucrase.js``, built by ``tools/vendor_sucrase.py`` from pinned tarballs) is
evaluated once per worker process in a context of its own, apart from any program.
Only the worker process imports this module.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from executor_local.executions.sandbox.limits import Limits

_OPTIONS = ("{transforms: ['typescript'], disableESTransforms: true, keepUnusedImports: true}")
_POSITION = re.compile(r"\((\d+):(\d+)\)")


class StripError(Exception):
    """The program does not parse as TypeScript; the message names line and column."""


class Stripper:
    """One QuickJS context holding sucrase, reused for every program this worker runs."""

    def __init__(self, limits: Limits | None = None) -> None:
        import _quickjs

        self._limits = limits or Limits()
        self._ctx = _quickjs.Context()
        self._ctx.set_memory_limit(256 * 1024 * 1024)
        source = resources.files(__package__).joinpath("vendor/sucrase.js").read_text("utf-8")
        self._ctx.eval(source)
        # The bundle defines __vendoredSucrase; the options are Executor's strip-types.ts ones.
        self._transform: Any = self._ctx.eval(
            f"(function (code) {{ return JSON.stringify("
            f"__vendoredSucrase.transform(code, {_OPTIONS}).code) }})")

    def strip_types(self, code: str, *, line_offset: int = 0) -> str:
        """``code`` without its type syntax; ``line_offset`` lines of wrapper precede the
        agent's first line, and are taken off the line an error names."""
        import _quickjs

        self._ctx.set_time_limit(self._limits.strip_time_s)
        try:
            # Through JSON: the binding cannot hand over a rope string (QuickJS-ng's lazy
            # concatenation), which is what sucrase's output often is.
            return str(json.loads(self._transform(code)))
        except _quickjs.JSException as exc:
            first = str(exc).split("\n", 1)[0]
            if "interrupted" in first:
                raise StripError("TypeScript stripping took too long") from None
            found = _POSITION.search(first)
            if found:
                line = max(1, int(found.group(1)) - line_offset)
                where = f"line {line}, column {int(found.group(2)) + 1}"
                first = _POSITION.sub(f"({where})", first)
            raise StripError(first) from None
        finally:
            self._ctx.set_time_limit(-1)
            self._ctx.gc()
