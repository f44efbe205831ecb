"""CopyWatch: which replicas of one partition hold each message, and when acknowledged ones vanished.

A probe beside the replica timeline: at each event the timeline records, it notes which message
ids every replica of the partition holds (a crashed broker's log counts: it comes back with it). A
message none of them holds any more is gone from the partition at that event; one appended and
removed between two events is found by its ledger flags (why copies left a log) changing. After the run,
`losses()` keeps the acknowledged messages that are not in the final log and says at which event
their last copies vanished, and from which replicas. It only reads the model's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ledger import P_ACK

MAX_MESSAGES = 300_000  # beyond this the probe turns itself off (a copy per event would cost too much)


@dataclass(frozen=True)
class LossMark:
    """Acknowledged messages whose last copies vanished at one event."""

    t: float
    row: int  # index of the event in ReplicaTimeline.rows
    count: int
    holders: dict  # replica -> how many of them it held just before


class CopyWatch:
    def __init__(self, cluster, partition: int, replicas):
        self.cluster = cluster
        self.p = partition
        self.replicas = list(replicas)
        self.enabled = True
        self.previous: dict | None = None  # replica -> held mask at the last event
        self.ever = np.zeros(0, bool)
        self.flags = np.zeros(0, np.uint8)  # the ledger's gone flags at the last event
        self.vanished: list[tuple[int, float, dict]] = []  # (row, t, {replica: ids it held that vanished})

    def held(self, log, count: int) -> np.ndarray:
        mask = np.zeros(count, bool)
        for batch in log.batches:
            for ids in batch.ids:
                mask[ids] = True
        return mask

    def observe(self, row: int, at: float, remover: int | None = None) -> None:
        """Note the copies after event `row` (at time `at`); `remover`: the broker whose log it shortened."""
        ledger = self.cluster.ledger
        if not self.enabled:
            return
        if ledger.n > MAX_MESSAGES:
            self.enabled = False
            return
        messages = ledger.n
        now = {r: self.held(self.cluster.brokers[r].logs[self.p], messages) for r in self.replicas}
        anywhere = np.logical_or.reduce(list(now.values()))
        flags = ledger.gone[:messages].copy()
        if self.previous is not None:
            gone = {r: np.flatnonzero(_pad(mask, messages) & ~anywhere) for r, mask in self.previous.items()}
            if remover in gone:  # appended since the last event and removed by this one
                unseen = (flags != _pad(self.flags, messages)) & ~anywhere & ~_pad(self.ever, messages)
                gone[remover] = np.union1d(gone[remover], np.flatnonzero(unseen))
                anywhere = anywhere | unseen  # held until now
            if any(len(ids) for ids in gone.values()):
                self.vanished.append((row, at, gone))
        self.ever = _pad(self.ever, messages) | anywhere
        self.flags = flags
        self.previous = now

    def losses(self) -> list[LossMark] | None:
        """Where the acknowledged messages missing from the final log vanished (None: probe off)."""
        if not self.enabled:
            return None
        ledger = self.cluster.ledger
        messages = ledger.n
        final = np.zeros(messages, bool)
        leader = self.cluster.leader_log(self.p)
        if leader is not None:
            for _base, ids in leader.chunks_below(leader.hw):
                for part in ids:
                    final[part] = True
        lost = (ledger.p[:messages] == P_ACK) & _pad(self.ever, messages) & ~final
        last = np.full(messages, -1)
        for pos, (_row, _t, gone) in enumerate(self.vanished):
            for ids in gone.values():
                last[ids] = pos
        marks = []
        for pos, (row, at, gone) in enumerate(self.vanished):
            here = lost & (last == pos)
            count = int(np.count_nonzero(here))
            if count:
                holders = {r: int(np.count_nonzero(here[ids])) for r, ids in gone.items() if len(ids)}
                marks.append(LossMark(at, row, count, {r: c for r, c in holders.items() if c}))
        return marks


def _pad(mask: np.ndarray, length: int) -> np.ndarray:
    return mask if len(mask) == length else np.concatenate([mask, np.zeros(length - len(mask), bool)])
