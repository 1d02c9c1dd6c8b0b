"""Send one prepared request and turn whatever happens into Executor's envelope.

Never raises for anything the network or the upstream does: refused, DNS, TLS, timeouts (a
deadline over the whole exchange, so a body that drips a byte a second still ends), a body past
the size cap (read streamed; reading stops at the cap), redirect loops, invalid JSON, non-2xx.
Redirects are followed by hand so credentials never follow a redirect to another origin (httpx
only strips ``Authorization``; an ``X-API-Key`` header would go along).
Error messages name the method, the origin and the path template, never the query string, and
every credential value is scrubbed from any text that leaves this module.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from executor_local.integrations.base import (
    INVALID_RESPONSE,
    RESPONSE_TOO_LARGE,
    TOO_MANY_REDIRECTS,
    UPSTREAM_ERROR,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNREACHABLE,
    Envelope,
    fail,
    ok,
)
from executor_local.integrations.openapi.load import ssl_context
from executor_local.integrations.openapi.request import Prepared, is_json, media

CONNECTION_REJECTED = "connection_rejected"  # Executor's code for a 401/403
MAX_REDIRECTS = 5
NDJSON = {"application/stream+json", "application/x-ndjson", "application/jsonl"}
_TEXTUAL = ("text/", "application/xml", "application/javascript",
            "application/x-www-form-urlencoded")
_DETAIL_CHARS = 2000


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = MAX_REDIRECTS


class _TooLarge(Exception):
    pass


class _Redirects(Exception):
    pass


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


class Scrubber:
    """Replaces every secret (and its base64 form) in text that leaves the plugin."""

    def __init__(self, secrets: list[str]) -> None:
        forms = set()
        for s in secrets:
            if s and len(s) >= 3:
                forms.add(s)
                forms.add(base64.b64encode(s.encode()).decode())
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, value: Any) -> Any:
        if not self._forms:
            return value
        if isinstance(value, str):
            for f in self._forms:
                value = value.replace(f, "***")
            return value
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _message_from(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail", "error", "title"):
            v = body.get(key)
            if isinstance(v, str) and v.strip():
                return v.strip()
            if isinstance(v, dict) and isinstance(v.get("message"), str):
                return v["message"]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return None


def _trim(body: Any) -> Any:
    if isinstance(body, str) and len(body) > _DETAIL_CHARS:
        return body[:_DETAIL_CHARS] + "…"
    if isinstance(body, (dict, list)) and len(json.dumps(body, default=str)) > 20 * _DETAIL_CHARS:
        return json.dumps(body, default=str)[:_DETAIL_CHARS] + "…"
    return body


def decode_body(raw: bytes, content_type: str | None, status: int, method: str
                ) -> tuple[bool, Any, str | None]:
    """``(ok, data, problem)``: the body as JSON, text or base64 per its content type."""
    if status in (204, 205, 304) or method == "HEAD" or not raw:
        return True, None, None
    m = media(content_type)
    if m in NDJSON:
        try:
            lines = raw.decode("utf-8").splitlines()
            return True, [json.loads(line) for line in lines if line.strip()], None
        except (UnicodeDecodeError, ValueError):
            return True, raw.decode("utf-8", errors="replace"), None
    if is_json(content_type):
        try:
            return True, json.loads(raw.decode("utf-8-sig")), None
        except UnicodeDecodeError:
            return False, None, "the body is not UTF-8"
        except ValueError as exc:
            return False, raw[:500].decode("utf-8", errors="replace"), (
                f"the body is not valid JSON ({exc})")
    if m.startswith(_TEXTUAL) or m.endswith("+xml") or not m:
        try:
            return True, raw.decode(_charset(content_type)), None
        except (UnicodeDecodeError, LookupError):
            if m:
                return True, raw.decode("utf-8", errors="replace"), None
    return True, {"contentType": content_type or OCTET_DEFAULT, "encoding": "base64",
                  "size": len(raw), "data": base64.b64encode(raw).decode()}, None


OCTET_DEFAULT = "application/octet-stream"


def _charset(content_type: str | None) -> str:
    for part in (content_type or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip('"')
    return "utf-8"


async def send(prep: Prepared, base_url: str, *, auth_headers: dict[str, str],
               auth_query: dict[str, str], limits: Limits, scrub: Scrubber,
               log: logging.Logger) -> Envelope:
    """Run the request; always an envelope."""
    import httpx

    url = base_url.rstrip("/") + prep.path
    where = f"{prep.method} {origin(url)}{prep.path.split('?')[0]}"
    try:
        return await asyncio.wait_for(
            _exchange(httpx, prep, url, auth_headers, auth_query, limits, scrub, where),
            timeout=limits.timeout_s)
    except TimeoutError:
        return fail(UPSTREAM_TIMEOUT, f"{where} did not finish within {limits.timeout_s:g} s",
                    retryable=True)
    except _TooLarge:
        return fail(RESPONSE_TOO_LARGE, f"{where}: the response is larger than the "
                    f"{limits.max_bytes} byte limit; reading stopped there", retryable=False)
    except _Redirects:
        return fail(TOO_MANY_REDIRECTS, f"{where} was redirected more than "
                    f"{limits.max_redirects} times", retryable=False)
    except httpx.TimeoutException:
        return fail(UPSTREAM_TIMEOUT, f"{where} timed out", retryable=True)
    except httpx.ConnectError as exc:
        reason = scrub(str(exc) or type(exc).__name__)
        if any(s in reason for s in ("SSL", "TLS", "certificate", "WRONG_VERSION")):
            return fail(UPSTREAM_UNREACHABLE,
                        f"{where}: the TLS handshake failed ({reason}); is the URL's scheme "
                        "right (https to a plain-HTTP port)?", retryable=False)
        return fail(UPSTREAM_UNREACHABLE, f"{where}: could not connect ({reason})",
                    retryable=True)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        reason = scrub(str(exc) or type(exc).__name__)
        if "SSL" in reason or "TLS" in reason:
            return fail(UPSTREAM_UNREACHABLE, f"{where}: the TLS connection failed ({reason})",
                        retryable=False)
        return fail(UPSTREAM_UNREACHABLE, f"{where}: the connection broke ({reason})",
                    retryable=True)
    except httpx.InvalidURL as exc:
        return fail("invalid_configuration", f"{where}: invalid URL ({scrub(str(exc))})",
                    retryable=False)
    except httpx.HTTPError as exc:
        return fail(UPSTREAM_UNREACHABLE, f"{where}: {scrub(str(exc)) or type(exc).__name__}",
                    retryable=True)
    except Exception as exc:  # a plugin never raises for what the upstream does
        log.debug("openapi invoke failed: %s", type(exc).__name__)
        return fail("internal_error", f"{where}: {type(exc).__name__}: {scrub(str(exc))}",
                    retryable=False)


async def _exchange(httpx: Any, prep: Prepared, url: str, auth_headers: dict[str, str],
                    auth_query: dict[str, str], limits: Limits, scrub: Scrubber,
                    where: str) -> Envelope:
    headers = dict(prep.headers)
    headers.update(auth_headers)
    if prep.cookies:
        jar = "; ".join(f"{k}={v}" for k, v in prep.cookies)
        headers["Cookie"] = f"{headers['Cookie']}; {jar}" if headers.get("Cookie") else jar
    if prep.content_type and prep.content is not None:
        headers["Content-Type"] = prep.content_type
    headers.setdefault("Accept", "application/json, */*;q=0.8")
    params = [*prep.query, *auth_query.items()]
    method, content, files = prep.method, prep.content, prep.files
    start_origin = origin(url)
    timeout = httpx.Timeout(limits.timeout_s, connect=min(10.0, limits.timeout_s))
    client = httpx.AsyncClient(follow_redirects=False, timeout=timeout, verify=ssl_context())
    async with client:
        for _hop in range(limits.max_redirects + 1):
            request = client.build_request(method, url, params=params or None, headers=headers,
                                           content=content, files=files)
            response = await client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    url = urljoin(str(request.url), location)
                    params = []  # the Location names the whole next URL
                    if response.status_code == 303 or (
                            response.status_code in (301, 302) and method == "POST"):
                        method = "GET" if method != "HEAD" else method
                        content, files = None, None
                        headers.pop("Content-Type", None)
                    if origin(url) != start_origin:
                        for name in [*auth_headers, "Cookie", "Authorization"]:
                            headers.pop(name, None)
                    continue
                raw = await _read_capped(response, limits.max_bytes)
            finally:
                await response.aclose()
            return _envelope(response, raw, method, scrub, where)
        raise _Redirects()


async def _read_capped(response: Any, cap: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise _TooLarge()
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(response: Any, raw: bytes, method: str, scrub: Scrubber, where: str) -> Envelope:
    status = response.status_code
    content_type = response.headers.get("content-type")
    headers = scrub({k: v for k, v in response.headers.items()})
    good, data, problem = decode_body(raw, content_type, status, method)
    http = {"status": status, "headers": headers}
    if 200 <= status < 300:
        if not good:
            return fail(INVALID_RESPONSE, f"{where} answered {status} with content type "
                        f"{content_type!r} but {problem}", status=status,
                        details=scrub({"bodyPreview": _trim(data)}), retryable=False)
        return ok(scrub(data), http)
    body = data if good else raw[:_DETAIL_CHARS].decode("utf-8", errors="replace")
    detail = _message_from(body)
    reason = getattr(response, "reason_phrase", "") or ""
    text = f"{where} returned HTTP {status}" + (f" {reason}" if reason else "")
    if detail:
        text += f": {detail}"
    code = CONNECTION_REJECTED if status in (401, 403) else UPSTREAM_ERROR
    return fail(code, scrub(text), status=status,
                details=scrub({"body": _trim(body), "headers": headers}),
                retryable=status >= 500 or status in (408, 425, 429))
