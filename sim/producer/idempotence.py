"""The idempotent producer's bookkeeping: Kafka's TransactionManager, idempotent part (KIP-98, KIP-360).

Per partition it keeps the epoch in use, the next sequence to hand out, the last acknowledged
sequence and the batches in flight ordered by sequence (drained and not yet completed, retries
included). It decides which batch the sender may drain while a partition is retrying, which
OUT_OF_ORDER_SEQUENCE_NUMBER errors are retried, and when to bump the epoch and restart a
partition's sequences at 0: after a real sequence gap, after a batch failed (its sequence can
no longer be reused), or when a partition stays "unresolved" -- a retried batch expired and
no later batch proves that it was written.

Not modelled: transactions, running out of epochs (Short.MAX_VALUE -> a new producer id),
UNKNOWN_PRODUCER_ID (current brokers accept any sequence from an unknown producer instead).
"""

from __future__ import annotations

import bisect

from .. import protocol as P

NO_EPOCH = -1


class PartitionSequences:
    """TopicPartitionEntry: one partition's sequence state."""

    __slots__ = ("epoch", "next_seq", "last_acked", "inflight", "_keys")

    def __init__(self):
        self.epoch = NO_EPOCH  # the producer epoch this partition's sequences belong to
        self.next_seq = 0
        self.last_acked = -1
        self.inflight: list = []  # batches by base sequence
        self._keys: list[int] = []

    def add(self, batch) -> None:
        pos = bisect.bisect_left(self._keys, batch.base_seq)
        self._keys.insert(pos, batch.base_seq)
        self.inflight.insert(pos, batch)

    def remove(self, batch) -> None:
        for pos, queued in enumerate(self.inflight):
            if queued is batch:
                del self.inflight[pos], self._keys[pos]
                return

    def rewrite(self, epoch: int) -> None:
        """startSequencesAtBeginning: the batches in flight get sequences from 0 under the new epoch."""
        seq = 0
        for batch in self.inflight:
            batch.producer_epoch = epoch
            batch.base_seq = seq
            batch.seq_reset = True
            seq += batch.count
        self._keys = [batch.base_seq for batch in self.inflight]
        self.epoch = epoch
        self.next_seq = seq
        self.last_acked = -1


class IdempotenceManager:
    """Producer id, epoch and per-partition sequences of one idempotent KafkaProducer."""

    def __init__(self, producer_id: int):
        self.producer_id = producer_id
        self.epoch = 0
        self.parts: dict[int, PartitionSequences] = {}
        self.unresolved: dict[int, int] = {}  # partition -> sequence right after the expired batch
        self.to_rewrite: dict[int, None] = {}  # partitions whose sequences restart at the next bump
        self.bump_required = False
        self.epoch_bumps = 0

    def entry(self, partition: int) -> PartitionSequences:
        entry = self.parts.get(partition)
        if entry is None:
            entry = self.parts[partition] = PartitionSequences()
        return entry

    # -- draining ------------------------------------------------------------------------
    def should_stop_drain(self, batch) -> bool:
        """RecordAccumulator.shouldStopDrainBatchesForPartition."""
        entry = self.entry(batch.partition)
        if batch.base_seq is None:
            if entry.inflight and entry.epoch != self.epoch:
                return True  # earlier batches still carry the old epoch: let them finish first
            if batch.partition in self.unresolved:
                return True  # the fate of an expired batch is unknown
        first = entry.inflight[0].base_seq if entry.inflight else None
        # retrying: only the lowest sequence in flight may go (one in flight, in order)
        return first is not None and batch.base_seq is not None and batch.base_seq != first

    def assign(self, batch) -> None:
        """At the first drain: producer id, epoch and base sequence (a retry keeps them)."""
        entry = self.entry(batch.partition)
        if entry.epoch != self.epoch and not entry.inflight:
            entry.rewrite(self.epoch)  # maybeUpdateProducerIdAndEpoch: a partition catches up with a bump
        batch.producer_id = self.producer_id
        batch.producer_epoch = self.epoch
        batch.base_seq = entry.next_seq
        entry.next_seq += batch.count
        entry.add(batch)

    # -- outcomes ------------------------------------------------------------------------
    def completed(self, batch) -> None:
        """handleCompletedBatch (also for a late success after expiry)."""
        entry = self.entry(batch.partition)
        entry.last_acked = max(entry.last_acked, batch.base_seq + batch.count - 1)
        entry.remove(batch)

    def failed(self, batch, out_of_order: bool, adjust: bool) -> None:
        """handleFailedBatch: a failed batch's sequence cannot be reused, so the partition restarts."""
        self.entry(batch.partition).remove(batch)
        if out_of_order or adjust:
            self.request_bump(batch.partition)

    def can_retry(self, err, batch) -> bool:
        """TransactionManager.canRetry for the idempotent producer."""
        if err == P.OUT_OF_ORDER_SEQUENCE_NUMBER:
            partition = batch.partition
            unresolved = partition in self.unresolved
            if not unresolved and (batch.seq_reset or not self._is_next(partition, batch.base_seq)):
                return True  # an earlier batch failed first: this one just waits its turn
            if not unresolved or self.unresolved[partition] == batch.base_seq:
                self.request_bump(partition)  # a real gap right after the last acknowledged batch
            return True
        return err in P.RETRIABLE

    def expired(self, batch) -> None:
        """A batch expired (Sender.failBatch without adjusting sequences); a retried one leaves doubt."""
        self.entry(batch.partition).remove(batch)
        if batch.attempts > 0 and batch.base_seq is not None:
            nxt = batch.base_seq + batch.count
            self.unresolved[batch.partition] = max(self.unresolved.get(batch.partition, nxt), nxt)

    def _is_next(self, partition: int, seq: int) -> bool:
        return seq - self.entry(partition).last_acked == 1

    # -- the sender loop's first steps ------------------------------------------------------
    def maybe_resolve(self) -> None:
        """maybeResolveSequences: once nothing is in flight, a gap means a bump."""
        for partition in list(self.unresolved):
            entry = self.entry(partition)
            if entry.inflight:
                continue
            if not self._is_next(partition, entry.next_seq):
                self.request_bump(partition)  # every batch since the expired one expired too
            del self.unresolved[partition]

    def request_bump(self, partition: int) -> None:
        self.bump_required = True
        self.to_rewrite[partition] = None

    def bump_if_needed(self) -> bool:
        """bumpIdempotentEpochAndResetIdIfNeeded: epoch + 1, the triggering partitions restart at 0."""
        if not self.bump_required:
            return False
        self.epoch += 1
        self.epoch_bumps += 1
        for partition in self.to_rewrite:
            self.entry(partition).rewrite(self.epoch)
            self.unresolved.pop(partition, None)
        self.to_rewrite.clear()
        self.bump_required = False
        return True
