"""Find an integration's spec again from its config and blobs, and keep it compiled.

``config.specHash`` names the blob ``spec/<hash>`` (sha256 hex of the text, as Executor keys it).
Executor 1.5.9's own migration stored the *URL* as that blob's text for a spec that v1 had
fetched from a URL; such a blob is fetched here, so migrated integrations work with no extra
step. A config with no blob but a ``sourceUrl`` (or Executor's newer ``specUrl``) is fetched too.
Compiled specs are cached per process (by hash; by URL for a minute, since the remote may change).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from executor_local.integrations.openapi.compile import Compiled, compile_spec
from executor_local.integrations.openapi.errors import SPEC_MISSING, SpecError
from executor_local.integrations.openapi.load import fetch_text, is_url, parse_text

URL_TTL_S = 60.0
_CACHE_SIZE = 16
_cache: OrderedDict[tuple[str, str | None], tuple[float, Compiled]] = OrderedDict()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_blob_key(spec_hash: str) -> str:
    return f"spec/{spec_hash}"


def source_url(config: dict[str, Any]) -> str | None:
    for key in ("sourceUrl", "specUrl"):
        if isinstance(config.get(key), str) and config[key].strip():
            return config[key].strip()
    return None


def _remember(key: tuple[str, str | None], compiled: Compiled) -> Compiled:
    _cache[key] = (time.monotonic(), compiled)
    _cache.move_to_end(key)
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return compiled


def _cached(key: tuple[str, str | None], ttl: float | None) -> Compiled | None:
    hit = _cache.get(key)
    if hit and (ttl is None or time.monotonic() - hit[0] < ttl):
        _cache.move_to_end(key)
        return hit[1]
    return None


async def compiled_for(config: dict[str, Any], blob: Callable[[str], str | None], *,
                       timeout_s: float = 30.0) -> Compiled:
    """The compiled spec of an integration config; ``SpecError`` when it cannot be found."""
    spec_hash = config.get("specHash") if isinstance(config.get("specHash"), str) else None
    url = source_url(config)
    text = blob(spec_blob_key(spec_hash)) if spec_hash else None
    if text is None and isinstance(config.get("spec"), str):
        text = config["spec"]  # a pre-blob config that still inlines its spec
    if text is not None and is_url(text):
        url = text.strip()
        text = None
    if text is not None:
        key = (spec_hash or sha256_hex(text), url)
        hit = _cached(key, None)
        if hit:
            return hit
        return _remember(key, compile_spec(parse_text(text, source=url), url))
    if url is None:
        raise SpecError(SPEC_MISSING, "the integration's spec is not stored (no blob "
                        f"{spec_blob_key(spec_hash) if spec_hash else '(no specHash)'}) and it "
                        "has no source URL to fetch it from")
    key = (f"url:{url}", url)
    hit = _cached(key, URL_TTL_S)
    if hit:
        return hit
    fetched = await fetch_text(url, timeout_s=timeout_s)
    return _remember(key, compile_spec(parse_text(fetched, source=url), url))
