"""Trace: the rare events of a run (faults, elections, ISR changes, truncations), in order."""

from __future__ import annotations


class Trace:
    """An append-only list of (time, kind, *details), capped at `limit` entries."""

    def __init__(self, limit: int = 10_000):
        self.events: list[tuple] = []
        self.limit = limit
        self.dropped = 0
        self.listeners: list = []  # called with each event (probes such as the replica timeline)

    def add(self, t: float, kind: str, *details) -> None:
        event = (t, kind) + details
        if len(self.events) < self.limit:
            self.events.append(event)
        else:
            self.dropped += 1
        for listener in self.listeners:
            listener(event)

    def of(self, kind: str) -> list[tuple]:
        return [e for e in self.events if e[1] == kind]

    def to_list(self) -> list[list]:
        return [[round(e[0], 6), *(_plain(d) for d in e[1:])] for e in self.events]


def _plain(value):
    """JSON-friendly: tuples and sets become lists."""
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars
    return value
