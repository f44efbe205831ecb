"""Producer state per partition replica: the idempotent producer's duplicate window.

Kafka's ProducerStateManager keeps, per producer id, the epoch and the last 5 batches
(first sequence, last sequence, offset). It is rebuilt from the replicated log, so the
window survives a leader change as long as the original batch reached the new leader.
"""

from __future__ import annotations

from collections import deque

WINDOW = 5  # NUM_BATCHES_TO_RETAIN
REBUILD_SCAN = 64  # batches read back from the log end after a truncation

OK, DUPLICATE, OUT_OF_ORDER, FENCED = "ok", "duplicate", "out_of_order", "fenced"


class ProducerStateTable:
    """pid -> (epoch, last batches as (first_seq, last_seq, base_offset))."""

    def __init__(self):
        self.entries: dict[int, tuple[int, deque]] = {}

    def check(self, pid: int, epoch: int, first_seq: int, count: int):
        """(verdict, original base offset for a duplicate)."""
        entry = self.entries.get(pid)
        if pid < 0 or entry is None:
            return OK, None  # unknown producer: any sequence is accepted (trunk brokers)
        cur_epoch, window = entry
        if epoch < cur_epoch:
            return FENCED, None
        if epoch > cur_epoch:
            return (OK, None) if first_seq == 0 else (OUT_OF_ORDER, None)
        last_seq = first_seq + count - 1
        for seen_first, seen_last, base in window:
            if seen_first == first_seq and seen_last == last_seq:
                return DUPLICATE, base
        if window and first_seq != window[-1][1] + 1:
            return OUT_OF_ORDER, None
        return OK, None

    def record(self, batch) -> None:
        pid = batch.producer_id
        if pid < 0 or batch.base_seq is None:
            return
        entry = self.entries.get(pid)
        if entry is None or batch.producer_epoch > entry[0]:
            entry = (batch.producer_epoch, deque(maxlen=WINDOW))
            self.entries[pid] = entry
        entry[1].append((batch.base_seq, batch.base_seq + batch.count - 1, batch.base))

    def rebuild(self, log) -> None:
        """After truncation: forget the removed batches, read the window back from the log."""
        self.entries.clear()
        for batch in log.batches[-REBUILD_SCAN:]:
            self.record(batch)
