"""ProducerBatch: records for one partition that travel, retry, expire and complete together."""

from __future__ import annotations

import math

from ..ledger import Ids

from ..records import BATCH_OVERHEAD, batch_bytes, record_bytes

QUEUED, IN_FLIGHT, DONE = 0, 1, 2


class ProducerBatch:
    """Kafka's ProducerBatch: created by the first record, closed for appends when drained."""

    __slots__ = ("partition", "ids", "count", "created", "deadline", "attempts", "last_attempt",
                 "retry_at", "state", "closed", "base_seq", "producer_id", "producer_epoch",
                 "acked", "failed", "serial", "leader_epoch", "attempts_at_leader_change", "seq_reset")

    def __init__(self, partition: int, created: float, delivery_timeout: float):
        self.partition = partition
        self.ids: Ids = ()
        self.count = 0
        self.created = created
        self.deadline = created + delivery_timeout  # counts from batch creation, not from send()
        self.attempts = 0
        self.last_attempt = created
        self.retry_at = -math.inf
        self.state = QUEUED
        self.closed = False  # no more appends once drained
        self.base_seq: int | None = None  # idempotence: stamped at first drain
        self.producer_id = -1
        self.producer_epoch = -1
        self.acked = False
        self.failed = False
        self.serial = 0  # creation order within the producer (flush() waits by it)
        self.leader_epoch = -1  # the partition's leader epoch last seen for this batch (KAFKA-15415)
        self.attempts_at_leader_change = 0
        self.seq_reset = False  # sequence rewritten after an epoch bump (sequenceHasBeenReset)

    def add(self, ids: slice, count: int) -> None:
        ids_t = self.ids
        if ids_t and ids_t[-1].stop == ids.start:  # contiguous: extend the last slice
            self.ids = ids_t[:-1] + (slice(ids_t[-1].start, ids.stop),)
        else:
            self.ids = ids_t + (ids,)
        self.count += count

    @property
    def done(self) -> bool:
        return self.state == DONE

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Batch p{self.partition} n={self.count} ids={self.ids} seq={self.base_seq} att={self.attempts}>"


def records_per_batch(batch_size: int, message_bytes: int) -> int:
    """How many records fit before the next one opens a new batch (at least one)."""
    return max(1, (batch_size - BATCH_OVERHEAD) // record_bytes(message_bytes))


def full_by_size(count: int, batch_size: int, message_bytes: int) -> bool:
    """Kafka's MemoryRecordsBuilder.isFull(): written bytes reached batch.size."""
    return count > 0 and batch_bytes(count, message_bytes) >= batch_size
