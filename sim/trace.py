"""Trace: the rare events of a run (faults, elections, ISR changes, truncations), in order.

Every event is of a kind declared in EVENT_KINDS below, with named fields; in memory it is a named
tuple (time, kind, fields...), so `event.partition` and `event[2]` both work. The JSON trace writes
each event as a list [time, kind, fields...] and carries its schema: the version and the field names of
each kind. docs/trace.md is generated from this table (`python -m sim.trace --write`).
"""

from __future__ import annotations

import sys
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 2  # 1: rows without a schema (before kinds were declared)


@dataclass(frozen=True)
class EventKind:
    kind: str
    fields: tuple[str, ...]
    source: str  # the component that records it
    doc: str


def _kind(kind: str, fields: str, source: str, doc: str) -> EventKind:
    return EventKind(kind, tuple(fields.split()), source, doc)


_KINDS = (
    _kind("fault", "action target hit", "faults", "a fault fired; hit: the broker ids it hit, or the client node"),
    _kind("isolate", "node peers", "faults", "a node's links to these peers are cut"),
    _kind("heal", "node", "faults", "a node's cut links are reconnected"),
    _kind("packet_loss", "node rate peers", "faults", "transmissions on a node's links to these peers are lost "
                                                       "with this probability"),
    _kind("latency_spike", "node extra_delay peers", "faults", "messages on a node's links to these peers take "
                                                               "extra_delay seconds more"),
    _kind("heal_all", "", "faults", "the drain phase starts: every fault is undone"),
    _kind("crash", "broker", "broker", "the broker process died (its page cache survives)"),
    _kind("power_loss", "broker", "broker", "the broker's machine lost power (its page cache is gone)"),
    _kind("disk_failure", "broker", "broker", "the broker's log disk failed"),
    _kind("shutdown", "broker", "broker", "a controlled shutdown began"),
    _kind("stopped", "broker", "broker", "the controlled shutdown ended: the process stopped"),
    _kind("restart", "broker delay", "broker", "the machine boots; the process starts after delay s (start-up and "
                                               "log recovery)"),
    _kind("started", "broker", "broker", "the process runs again (it registers with the controller next)"),
    _kind("pause", "broker", "broker", "the process froze (a long GC or VM stall)"),
    _kind("resume", "broker", "broker", "the frozen process runs again"),
    _kind("become_leader", "broker partition leader_epoch leo hw", "broker", "the broker leads the partition in this "
                                                                            "epoch, from its log end and HW"),
    _kind("isr_applied", "broker partition isr", "broker", "the leader took the ISR the controller committed"),
    _kind("truncate", "broker partition offset records", "broker", "a replica truncated its log to offset, removing "
                                                                  "that many records"),
    _kind("page_cache_lost", "broker partition offset records", "broker", "a power loss left the replica's log "
                                                                         "ending at offset, that many records lost"),
    _kind("disk_lost", "broker partition offset records", "broker", "a disk failure removed the replica's records"),
    _kind("registered", "broker clean", "controller", "a broker registered (clean: its last stop was clean)"),
    _kind("fenced", "broker", "controller",
          "the controller fenced a broker: its heartbeats stopped, or it asked for a controlled shutdown"),
    _kind("unfenced", "broker", "controller", "a fenced broker is back in service"),
    _kind("leader", "partition leader leader_epoch isr", "controller", "the partition's leader, epoch and ISR after "
                                                                      "an election (leader None: offline)"),
    _kind("isr", "partition isr", "controller", "the controller committed a new ISR"),
    _kind("isr_refused", "partition replicas", "controller", "an AlterPartition was refused: these replicas "
                                                             "registered again since (KIP-903)"),
    _kind("unclean_election", "partition leader", "controller", "an out-of-sync replica was elected"),
    _kind("elr_election", "partition leader", "controller", "an Eligible Leader Replica was elected (KIP-966)"),
    _kind("last_known_leader_election", "partition leader", "controller", "ISR and ELR empty: the last known "
                                                                          "leader was elected again"),
    _kind("preferred_election", "partition leader", "controller", "leader balancing moved leadership back to the "
                                                                  "preferred replica"),
    _kind("coordinator", "broker", "group coordinator", "the group coordinator moved to this broker"),
    _kind("rebalance", "generation reason", "group coordinator", "a rebalance started"),
    _kind("group_stable", "generation assignment", "group coordinator", "the rebalance completed: this assignment"),
    _kind("group_empty", "generation", "group coordinator", "the group has no members left"),
    _kind("member_removed", "member reason", "group coordinator", "a member left the group"),
    _kind("assigned", "node generation partitions", "consumer", "a consumer instance was assigned partitions"),
    _kind("revoked", "node partitions", "consumer", "a consumer instance gave up its partitions"),
    _kind("poll_timeout", "node member", "consumer", "max.poll.interval.ms passed without poll(): the member left"),
    _kind("processing_error", "node position policy", "consumer", "processing a record failed (position: its place "
                                                                  "in the poll); consumer.app.error.policy decides"),
    _kind("log_truncation", "node partition position end", "consumer", "validating its position after a leader "
                                                                       "change (KIP-320), a consumer found the log "
                                                                       "truncated below it: it ends at end"),
    _kind("consumer_crash", "node", "consumer", "a consumer instance crashed"),
    _kind("consumer_closed", "node", "consumer", "a consumer instance closed"),
)

EVENT_KINDS: dict[str, EventKind] = {kind.kind: kind for kind in _KINDS}
EVENT_TYPES = {kind.kind: namedtuple(kind.kind.title().replace("_", "") + "Event", ("t", "kind") + kind.fields)
               for kind in _KINDS}


class Trace:
    """An append-only list of events, capped at `limit` entries."""

    def __init__(self, limit: int = 10_000):
        self.events: list[tuple] = []
        self.limit = limit
        self.dropped = 0
        self.listeners: list = []  # called with each event (probes such as the replica timeline)

    def add(self, at: float, kind: str, *details) -> None:
        event = EVENT_TYPES[kind](at, kind, *details)  # a kind not declared, or other fields, fail here
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

    def report(self) -> dict:
        """The JSON trace: events as [time, kind, fields...] rows, what was dropped, and the schema."""
        kinds = sorted({event[1] for event in self.events})
        return {"events": self.to_list(), "dropped": self.dropped, "schema": SCHEMA_VERSION,
                "fields": {kind: list(EVENT_KINDS[kind].fields) for kind in kinds}}


def _plain(value):
    """JSON-friendly: tuples and sets become lists."""
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars
    return value


DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "trace.md"


def render_markdown() -> str:
    """The text of docs/trace.md."""
    lines = ["# The trace", "",
             "<!-- Generated from sim/trace.py by `python -m sim.trace --write`; do not edit by hand. -->", "",
             "Every run records its rare events in order: faults, process and machine changes, elections, ISR",
             "changes, truncations, group changes (the JSON result's `trace`, capped by `sim.trace.limit`). Each",
             "event is a row `[time, kind, fields...]`; the trace also carries `schema` (the version of this",
             f"description, now {SCHEMA_VERSION}) and `fields` (the field names of each kind that occurs), so a",
             "row reads on its own. In Python, `cluster.trace.events` holds the same events as named tuples.", "",
             "| kind | fields | recorded by | meaning |", "|---|---|---|---|"]
    for kind in _KINDS:
        fields = ", ".join(f"`{name}`" for name in kind.fields)
        lines.append(f"| `{kind.kind}` | {fields} | {kind.source} | {kind.doc} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        DOC_PATH.write_text(render_markdown(), encoding="utf-8")
        return 0
    if argv == ["--check"]:
        return 0 if DOC_PATH.exists() and DOC_PATH.read_text(encoding="utf-8") == render_markdown() else 1
    print("usage: python -m sim.trace --write | --check", file=sys.stderr)  # noqa: T201
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
