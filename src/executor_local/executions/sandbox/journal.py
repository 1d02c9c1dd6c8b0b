"""What a program's earlier runs did, so that a resume can replay it instead of keeping it.

A paused execution is not kept alive: its engine is stopped and its journal saved. ``resume``
runs the program again from the top, and the journal makes that run retrace the first one:

- ``calls``: every completed host call by its sequence number (the order the program issued
  calls), with the path, the arguments and the result. A replayed call is answered from here
  and never reaches the upstream.
- ``order``: the sequence numbers in the order their results were delivered to the program,
  because the interleaving of a program with concurrent calls depends on it.
- ``clock``: every ``Date.now()`` / ``new Date()`` reading, in order; ``seed`` and ``origin``
  make ``Math.random`` and ``performance.now`` repeat.
- ``decisions``: the person's answer for a call that paused, by sequence number.

The rule for programs (documented in the skill): side effects only through ``tools.*``;
otherwise deterministic. A replay that issues a different call than the journal recorded is
stopped with an error naming both calls, never answered with the wrong result.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JournaledCall:
    path: str
    args: str  # the JSON text the program passed
    result: Any
    is_error: bool = False  # the program saw a throw (a built-in refused its arguments)


@dataclass
class Journal:
    seed: int = field(default_factory=lambda: int.from_bytes(os.urandom(4), "little"))
    origin: int = field(default_factory=lambda: int(time.time() * 1000))
    clock: list[int] = field(default_factory=list)
    calls: dict[int, JournaledCall] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    decisions: dict[int, dict[str, Any]] = field(default_factory=dict)
    paused_at: int | None = None  # the sequence number of the call waiting for a person
    runs: int = 0

    def replay(self) -> dict[str, Any]:
        """What the engine's prelude needs to repeat time and randomness."""
        return {"seed": self.seed, "origin": self.origin, "clock": list(self.clock)}

    def to_json(self) -> str:
        return json.dumps({
            "seed": self.seed, "origin": self.origin, "clock": self.clock,
            "calls": {str(k): {"path": c.path, "args": c.args, "result": c.result,
                               "isError": c.is_error} for k, c in self.calls.items()},
            "order": self.order,
            "decisions": {str(k): v for k, v in self.decisions.items()},
            "pausedAt": self.paused_at, "runs": self.runs,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Journal:
        data = json.loads(text)
        return cls(
            seed=int(data["seed"]), origin=int(data["origin"]), clock=list(data["clock"]),
            calls={int(k): JournaledCall(v["path"], v["args"], v["result"],
                                         bool(v.get("isError")))
                   for k, v in data["calls"].items()},
            order=[int(x) for x in data["order"]],
            decisions={int(k): v for k, v in data.get("decisions", {}).items()},
            paused_at=data.get("pausedAt"), runs=int(data.get("runs", 0)))
