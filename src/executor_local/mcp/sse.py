"""A minimal Server-Sent Events reader for the bridge (the SDK is not imported there)."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each event; comments (``: ping``, our keepalives) and other fields are
    skipped."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
