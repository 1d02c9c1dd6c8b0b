"""What one program may use. Executor's defaults: 5 minutes, 64 MiB heap, 1 MiB stack."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """Per-execution limits.

    ``time_s`` counts only the time the engine runs JavaScript: waits on tool calls and on
    approvals do not count (Executor's #1437, where a slow upstream ate the whole budget).
    ``output_chars`` caps console output and emitted values together; ``result_chars`` caps
    the JSON of the returned value.
    """

    time_s: float = 300.0
    heap_bytes: int = 64 * 1024 * 1024
    stack_bytes: int = 1024 * 1024
    output_chars: int = 1_000_000
    result_chars: int = 4_000_000
    strip_time_s: float = 10.0
    max_calls: int = 10_000

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, float | int]) -> Limits:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
