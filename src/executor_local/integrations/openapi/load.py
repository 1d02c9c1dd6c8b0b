"""Turn spec text or a spec URL into an OpenAPI 3.x document (a dict).

JSON is tried first when the text looks like JSON; YAML (PyYAML, imported only here, lazily)
otherwise. Swagger 2.0 is refused with the conversion hint rather than half-read: its parameter and
body model differ enough that a best-effort read would produce wrong tools silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from executor_local.integrations.openapi.errors import (
    FETCH_FAILED,
    NOT_OPENAPI,
    UNSUPPORTED_VERSION,
    SpecError,
)

SWAGGER_2 = (
    "Swagger 2.0 is not supported; convert it to OpenAPI 3 (e.g. with swagger2openapi)"
)
MAX_SPEC_BYTES = 64 * 1024 * 1024
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
ACCEPT = "application/json, application/yaml, text/yaml, */*"


def is_url(text: str) -> bool:
    """True for a single-line http(s) URL (what 1.5.9 stored in a spec blob for a URL source)."""
    return bool(_URL.match(text.strip())) and "\n" not in text.strip()


@dataclass(frozen=True)
class LoadedSpec:
    """A parsed document, the exact text it came from and, when fetched, its URL."""

    doc: dict[str, Any]
    text: str
    url: str | None = None


def parse_text(text: str, *, source: str | None = None) -> dict[str, Any]:
    """Parse JSON or YAML text and check it is an OpenAPI 3.0/3.1 document."""
    where = f" ({source})" if source else ""
    stripped = text.strip()
    if not stripped:
        raise SpecError(NOT_OPENAPI, f"The OpenAPI document{where} is empty", source=source)
    doc: Any = None
    if stripped[:1] in "{[":
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
    if doc is None:
        doc = _parse_yaml(stripped, where, source)
    if not isinstance(doc, dict):
        raise SpecError(
            NOT_OPENAPI,
            f"The document{where} is not OpenAPI: it parses to a {type(doc).__name__}, "
            "not an object with an 'openapi' field",
            source=source,
        )
    check_version(doc, where=where, source=source)
    return doc


def check_version(doc: dict[str, Any], *, where: str = "", source: str | None = None) -> None:
    if "swagger" in doc:
        raise SpecError(UNSUPPORTED_VERSION, f"{SWAGGER_2}{where}", source=source)
    version = doc.get("openapi")
    if version is None:
        raise SpecError(
            NOT_OPENAPI,
            f"The document{where} is not OpenAPI: it has no 'openapi' version field",
            source=source,
        )
    if not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(
            UNSUPPORTED_VERSION,
            f"OpenAPI version {version!r}{where} is not supported; OpenAPI 3.0 and 3.1 are",
            source=source,
        )
    if not isinstance(doc.get("paths", {}), dict):
        raise SpecError(NOT_OPENAPI, f"The document's 'paths'{where} is not an object",
                        source=source)


def _parse_yaml(text: str, where: str, source: str | None) -> Any:
    import yaml  # lazily: PyYAML is not on the boot path

    try:
        # BaseLoader would turn every number into a string; the safe loader keeps types but
        # must not turn dates into datetime objects that json.dumps cannot store.
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise SpecError(
            NOT_OPENAPI,
            f"The document{where} is neither JSON nor YAML: {problem}{at}",
            source=source,
        ) from None


_LOADER: Any = None


def _loader() -> Any:
    """A SafeLoader that keeps timestamps as strings (JSON has no date type)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class _Loader(yaml.SafeLoader):
            pass

        _Loader.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        _LOADER = _Loader
    return _LOADER


_SSL: Any = None


def ssl_context() -> Any:
    """One verifying SSL context for the process: httpx builds a new one per client otherwise,
    which costs ~70 ms (loading the CA bundle) on every spec fetch and tool call."""
    global _SSL
    if _SSL is None:
        import httpx

        _SSL = httpx.create_ssl_context()
    return _SSL


async def fetch_text(url: str, *, timeout_s: float = 30.0,
                     max_bytes: int = MAX_SPEC_BYTES) -> str:
    """GET a spec URL and return its text; every failure is a ``SpecError`` naming the URL."""
    import httpx

    try:
        async with httpx.AsyncClient(follow_redirects=True, max_redirects=5, timeout=timeout_s,
                                     verify=ssl_context()) as client, client.stream(
            "GET", url, headers={"Accept": ACCEPT}
        ) as response:
            if response.status_code >= 400:
                raise SpecError(
                    FETCH_FAILED,
                    f"Fetching the OpenAPI document from {url} failed: HTTP "
                    f"{response.status_code}",
                    source=url,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SpecError(
                        FETCH_FAILED,
                        f"The OpenAPI document at {url} is larger than {max_bytes} bytes",
                        source=url,
                    )
                chunks.append(chunk)
            body = b"".join(chunks)
            encoding = response.charset_encoding or "utf-8"
    except SpecError:
        raise
    except httpx.TimeoutException:
        raise SpecError(FETCH_FAILED, f"The OpenAPI document at {url} did not answer within "
                        f"{timeout_s:g} s", source=url) from None
    except httpx.TooManyRedirects:
        raise SpecError(FETCH_FAILED, f"Fetching {url} was redirected too many times",
                        source=url) from None
    except httpx.InvalidURL as exc:
        raise SpecError(FETCH_FAILED, f"{url!r} is not a valid URL: {exc}", source=url) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise SpecError(FETCH_FAILED, f"Could not fetch the OpenAPI document from {url}: "
                        f"{reason}", source=url) from None
    try:
        return body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


async def load(text_or_url: str, *, timeout_s: float = 30.0) -> LoadedSpec:
    """A spec from a URL (fetched) or from its text."""
    if is_url(text_or_url):
        url = text_or_url.strip()
        text = await fetch_text(url, timeout_s=timeout_s)
        return LoadedSpec(parse_text(text, source=url), text, url)
    return LoadedSpec(parse_text(text_or_url), text_or_url)
