"""Arguments checked against a tool's input schema before anything runs (``jsonschema``,
imported on first use; the MCP SDK depends on it, so the daemon has it).

The schema is the tool's ``input_schema`` with the connection's ``$defs`` it references
(``catalog.tools.referenced``). A schema that is itself invalid is not held against the caller:
the plugin sees the arguments and answers for itself.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("executor.executions")
MAX_ERRORS = 10


def argument_errors(schema: dict[str, Any] | None, args: Any) -> list[dict[str, str]]:
    """``[{"path", "message"}]`` for each way ``args`` breaks ``schema`` (empty when valid)."""
    if not isinstance(args, dict):
        return [{"path": "", "message": f"arguments must be a JSON object, not "
                                        f"{type(args).__name__}"}]
    if not isinstance(schema, dict) or not schema:
        return []
    import jsonschema
    from jsonschema.exceptions import SchemaError

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        log.debug("input schema is not valid JSON Schema, not enforced: %s", exc.message)
        return []
    out = []
    for err in sorted(cls(schema).iter_errors(args), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path)
        out.append({"path": path or "(root)", "message": _message(err)})
        if len(out) >= MAX_ERRORS:
            break
    return out


def _message(err: Any) -> str:
    # jsonschema quotes the failing instance; keep it short (an argument may be large).
    text = str(err.message)
    return text if len(text) <= 300 else text[:297] + "..."


def summary(errors: list[dict[str, str]]) -> str:
    first = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"arguments do not match the tool's input schema: {first}{more}"
