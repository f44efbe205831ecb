"""Fault: one scripted or random fault, as validated from a ``[[faults]]`` table or drawn by chaos."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One fault, times in seconds from the start of production."""

    at: float
    action: str
    target: str
    duration: float | None = None
    isolate_from: tuple[str, ...] = ()
    partition: int = 0
    index: int = 0  # position in the scenario file, for messages (-1: drawn by chaos)
    rate: float | None = None  # packet_loss: drop probability
    extra_ms: float | None = None  # latency_spike: added one-way delay

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["isolate_from"] = list(self.isolate_from)
        return data
