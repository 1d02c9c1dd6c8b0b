"""The one error an OpenAPI spec can raise before any tool exists: ``SpecError``.

Adding, previewing or refreshing a spec fails for reasons a person must fix (not OpenAPI, Swagger
2.0, a URL that does not answer). The error carries a stable ``code`` the HTTP API returns and a
message that names what failed, where and why; it never carries a secret (spec fetches send no
credentials).
"""

from __future__ import annotations

NOT_OPENAPI = "openapi_parse_failed"  # Executor's code for a document that is not OpenAPI 3
UNSUPPORTED_VERSION = "openapi_unsupported_version"
FETCH_FAILED = "openapi_fetch_failed"
NO_OPERATIONS = "openapi_extraction_failed"  # Executor's code when there is nothing to extract
SPEC_MISSING = "openapi_spec_missing"


class SpecError(Exception):
    """A spec that cannot be loaded, with the facts as fields."""

    def __init__(self, code: str, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.source = source

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.source:
            out["source"] = self.source
        return out
