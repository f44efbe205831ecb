"""RecordAccumulator: per-partition batch deques, the buffer pool and the sticky partitioner.

Kafka's RecordAccumulator + BufferPool + BuiltInPartitioner. Records are pulled from the
application's ArrivalStream lazily: `catch_up(now)` appends every send() made up to `now`
in bulk, so the accumulator costs work per batch, not per record.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..ledger import F_BUFFER_EXHAUSTED, Ledger
from ..workload import ArrivalStream
from ..records import record_bytes
from .batch import ProducerBatch, full_by_size, records_per_batch


class RecordAccumulator:
    """Batches waiting to be sent, one deque per partition."""

    def __init__(self, *, arrivals: ArrivalStream, ledger: Ledger, rng: np.random.Generator,
                 partitions: int, batch_size: int, message_bytes: int, linger: float,
                 delivery_timeout: float, buffer_memory: int, max_block: float,
                 callback_checked: bool, available_partitions):
        self.arrivals = arrivals
        self.ledger = ledger
        self.rng = rng
        self.deques: list[deque[ProducerBatch]] = [deque() for _ in range(partitions)]
        self.batch_size = batch_size
        self.message_bytes = message_bytes
        self.record_bytes = record_bytes(message_bytes)
        self.capacity = records_per_batch(batch_size, message_bytes)
        self.linger = linger
        self.delivery_timeout = delivery_timeout
        self.pool_slots = max(1, buffer_memory // max(batch_size, self.record_bytes))
        self.used = 0  # buffers held by batches not yet completed
        self.max_block = max_block
        self.callback_checked = callback_checked
        self.available_partitions = available_partitions  # -> partitions with a known leader
        self.sticky: int | None = None  # picked on first use and at every switch
        self.produced = 0  # bytes sent to the sticky partition since it was picked
        self.blocked_since: float | None = None  # send() waiting for buffer memory
        self.closing = False  # flush()/close(): every batch is ready
        self.accepting = True
        self.batches_created = 0
        self.buffer_exhausted = 0

    # -- the application's send() calls ------------------------------------------------
    def catch_up(self, now: float) -> None:
        """Append every record sent up to `now` (Kafka's RecordAccumulator.append, in bulk)."""
        arrivals = self.arrivals
        while self.accepting:
            if self.blocked_since is not None:
                if now < self.blocked_since + self.max_block:
                    return
                self._give_up_waiting()
                continue
            t = arrivals.peek()
            if t > now:
                return
            p = self._sticky_partition()
            dq = self.deques[p]
            batch = dq[-1] if dq else None
            if batch is None or batch.closed or batch.count >= self.capacity:
                if self.used >= self.pool_slots:
                    self.blocked_since = t
                    continue
                batch = ProducerBatch(p, t, self.delivery_timeout)
                dq.append(batch)
                self.used += 1
                self.batches_created += 1
            room = self.capacity - batch.count
            k = arrivals.count_until(now, min(room, self._until_switch()))
            ids = self.ledger.allocate(arrivals.take(k))
            batch.add(ids, k)
            self.produced += k * self.record_bytes
            if self.produced >= 2 * self.batch_size or (self.produced >= self.batch_size and self._is_full(batch)):
                self._switch()

    def _until_switch(self) -> int:
        """Records until the partitioner must move on (2 x batch.size bytes, KIP-794)."""
        return max(1, -(-(2 * self.batch_size - self.produced) // self.record_bytes))

    def _give_up_waiting(self) -> None:
        """max.block.ms passed in send(): BufferExhaustedException through the callback."""
        ids = self.ledger.allocate(self.arrivals.take(1))
        self.ledger.fail_send((ids,), self.callback_checked, F_BUFFER_EXHAUSTED)
        self.buffer_exhausted += 1
        self.blocked_since = None
        self.arrivals.delay(self.max_block)

    def _sticky_partition(self) -> int:
        if self.sticky is None:
            self._switch()
        return self.sticky

    def _switch(self) -> None:
        """Kafka's BuiltInPartitioner picks the next partition at once, among those with a leader."""
        choices = self.available_partitions() or range(len(self.deques))
        self.sticky = choices[int(self.rng.integers(len(choices)))]
        self.produced = 0

    def _is_full(self, batch: ProducerBatch) -> bool:
        return batch.closed or full_by_size(batch.count, self.batch_size, self.message_bytes)

    # -- readiness (RecordAccumulator.ready) --------------------------------------------
    def head_ready_at(self, p: int, now: float) -> float:
        """When partition p's head batch becomes sendable by what is already buffered."""
        dq = self.deques[p]
        if not dq:
            return math.inf
        head = dq[0]
        if head.attempts > 0:  # a retry waits out its backoff, not linger
            return max(head.retry_at, now)
        if len(dq) > 1 or self.closing or self.blocked_since is not None or self._is_full(head):
            return now
        return head.created + self.linger

    def next_change(self, now: float) -> float:
        """Earliest future send() that can make a batch ready or move the sticky partition.

        Either the open batch overflows (the next record opens a new batch, so the old one
        is ready), a first batch opens and then lingers or fills, or the partitioner switches.
        """
        if not self.accepting or self.blocked_since is not None:
            return math.inf
        arrivals = self.arrivals
        p = self._sticky_partition()
        dq = self.deques[p]
        last = dq[-1] if dq else None
        until_switch = self._until_switch()
        if last is None or last.closed or last.count >= self.capacity:
            t0 = arrivals.peek(0)
            if last is not None:
                return t0  # opening a second batch makes the first one ready
            exact = full_by_size(self.capacity, self.batch_size, self.message_bytes)
            k = min(self.capacity - (1 if exact else 0), until_switch)
            return min(t0 + self.linger, arrivals.peek(k))
        room = self.capacity - last.count
        if room <= until_switch and full_by_size(self.capacity, self.batch_size, self.message_bytes):
            return arrivals.peek(room - 1)  # exact fit: full when the last record lands
        return arrivals.peek(min(room, until_switch))

    def backing_off(self, p: int, now: float) -> bool:
        dq = self.deques[p]
        return bool(dq) and dq[0].attempts > 0 and dq[0].retry_at > now

    # -- drain / re-enqueue / complete ---------------------------------------------------
    def pop_head(self, p: int) -> ProducerBatch:
        batch = self.deques[p].popleft()
        batch.closed = True  # the next record for p opens a new batch
        return batch

    def reenqueue(self, batch: ProducerBatch, now: float, backoff: float, in_sequence_order: bool) -> None:
        """Put a batch back for a retry: at the head, or in sequence order (idempotence)."""
        batch.attempts += 1
        batch.last_attempt = now
        batch.retry_at = now + backoff
        dq = self.deques[batch.partition]
        if in_sequence_order and batch.base_seq is not None:
            i = 0
            while i < len(dq) and dq[i].base_seq is not None and dq[i].base_seq < batch.base_seq:
                i += 1
            dq.insert(i, batch)
        else:
            dq.appendleft(batch)

    def release(self, now: float) -> None:
        """A batch completed: its buffer returns to the pool, maybe unblocking send()."""
        self.catch_up(now)
        self.used -= 1
        if self.blocked_since is not None:
            self.arrivals.delay(now - self.blocked_since)
            self.blocked_since = None

    def expire_queued(self, now: float) -> list[ProducerBatch]:
        """Queued batches past delivery.timeout.ms (checked from each deque's head)."""
        out = []
        for dq in self.deques:
            while dq and dq[0].deadline <= now:
                batch = dq.popleft()
                batch.closed = True
                out.append(batch)
        return out

    def next_deadline(self) -> float:
        return min((dq[0].deadline for dq in self.deques if dq), default=math.inf)

    def blocked_deadline(self) -> float:
        return math.inf if self.blocked_since is None else self.blocked_since + self.max_block

    def queued_batches(self):
        for dq in self.deques:
            yield from dq

    def is_empty(self) -> bool:
        return not any(self.deques)

    def abort_all(self) -> list[ProducerBatch]:
        """The producer died: everything buffered vanishes without a callback."""
        out = [b for dq in self.deques for b in dq]
        for dq in self.deques:
            dq.clear()
        self.accepting = False
        return out
