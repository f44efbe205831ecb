"""RecordAccumulator: per-partition batch deques, the buffer pool, and the send() calls feeding them.

Kafka's RecordAccumulator + BufferPool + the part of KafkaProducer.doSend that runs on the
application thread: wait for the topic's metadata, check the record size, pick a partition
(murmur2 of the key, or the sticky partitioner), append -- blocking for buffer memory. Both
waits share `max.block.ms`; when it runs out, send() reports the failure through the
callback (TimeoutException, BufferExhaustedException), as do oversized records
(RecordTooLargeException). Records are pulled from the application's ArrivalStream lazily:
`catch_up(now)` appends every send() made up to `now` in bulk, so the accumulator costs
work per batch, not per record.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..ledger import F_BUFFER_EXHAUSTED, F_METADATA_TIMEOUT, F_RECORD_TOO_LARGE, Ledger, ids_sub
from ..records import batch_bytes, record_bytes
from ..workload import ArrivalStream
from .batch import ProducerBatch, full_by_size, records_per_batch
from .keyed import keyed_change_in, keyed_fit
from .partitioner import StickyPartitioner

METADATA, MEMORY, FLUSH = "metadata", "memory", "flush"  # what the application thread waits for
KEYED_CHUNK = 4096  # keyed sends taken per step


class RecordAccumulator:
    """Batches waiting to be sent, one deque per partition."""

    def __init__(self, *, arrivals: ArrivalStream, ledger: Ledger, rng: np.random.Generator,
                 partitions: int, batch_size: int, message_bytes: int, linger: float,
                 delivery_timeout: float, buffer_memory: int, max_block: float,
                 callback_checked: bool, available_partitions, max_request_size: int = 1048576,
                 metadata_known=lambda: True, on_failure=None, leader_epoch=lambda p: -1):
        self.arrivals = arrivals
        self.ledger = ledger
        self.deques: list[deque[ProducerBatch]] = [deque() for _ in range(partitions)]
        self.queued: set[int] = set()  # partitions whose deque is not empty
        self.batch_size = batch_size
        self.message_bytes = message_bytes
        self.record_bytes = record_bytes(message_bytes)
        self.capacity = records_per_batch(batch_size, message_bytes)
        # the record count at which a batch is full by size (MemoryRecordsBuilder.isFull), computed once
        self.full_count = next(n for n in range(1, self.capacity + 2) if full_by_size(n, batch_size, message_bytes))
        self.exact_fit = full_by_size(self.capacity, batch_size, message_bytes)  # full when the last one lands
        self.linger = linger
        self.delivery_timeout = delivery_timeout
        self.pool_slots = max(1, buffer_memory // max(batch_size, self.record_bytes))
        self.used = 0  # buffers held by batches not yet completed
        self.max_block = max_block
        self.callback_checked = callback_checked
        # KafkaProducer.ensureValidRecordSize: the upper bound of a one-record batch
        one = batch_bytes(1, message_bytes)
        self.too_large = one > max_request_size or one > buffer_memory
        self.metadata_known = metadata_known  # -> has the topic's metadata arrived?
        self.leader_epoch = leader_epoch  # partition -> leader epoch in the client's metadata
        self.on_failure = on_failure  # the application's callback: (ids, cause, partition)
        self.keyed = arrivals.keyed
        self.sticky = StickyPartitioner(rng, partitions, batch_size, self.record_bytes, available_partitions)
        self.blocked: str | None = None  # what send() (or flush()) waits for
        self.blocked_since: float | None = None  # when that wait started
        self.block_origin: float | None = None  # when the waiting send() was called (max.block.ms budget)
        self.resends: deque[list] = deque()  # [ids, count, partition or None, records done]
        self.closing = False  # close(): every batch is ready
        self.flushes: list[list] = []  # flush() calls in progress: [serials still incomplete, event]
        self.accepting = True
        self.incomplete: dict[int, ProducerBatch] = {}  # serial -> batch not yet completed
        self.serial = 0
        self.batches_created = 0
        self.buffer_exhausted = 0
        self.metadata_timeouts = 0
        self.records_too_large = 0

    # -- the application's send() calls ------------------------------------------------
    def catch_up(self, now: float) -> None:
        """Append every record sent up to `now` (Kafka's RecordAccumulator.append, in bulk)."""
        arrivals = self.arrivals
        while self.accepting:
            if self.blocked is not None:
                if now < self.blocked_deadline():
                    return
                self._give_up_waiting()
                continue
            at = now if self.resends else arrivals.peek()
            if at > now:
                return
            if not self.metadata_known():
                self._block(METADATA, at)
            elif self.resends:
                self._append_resend(self.resends[0], now)
            elif self.too_large:
                self._reject_too_large(now)
            elif self.keyed:
                self._append_keyed(now)
            else:
                self._append_sticky(now)

    def end_sends(self) -> None:
        """The application makes no more send() calls; one still blocked in send() (for memory or
        metadata, not a re-send) returns first: appended, or failed after max.block.ms."""
        blocked_send = self.blocked in (MEMORY, METADATA) and not self.resends
        self.arrivals.stop(keep=1 if blocked_send else 0)

    def _append_sticky(self, now: float) -> None:
        arrivals = self.arrivals
        partition = self.sticky.partition()
        batch = self._open_batch(partition) or self._new_batch(partition, arrivals.peek())
        if batch is None:
            return  # blocked for memory
        room = self.capacity - batch.count
        count = arrivals.count_until(now, min(room, self.sticky.until_switch()))
        batch.add(self.ledger.allocate(arrivals.take(count)), count)
        self.block_origin = None
        self.sticky.appended(count, self._is_full(batch))

    def _append_keyed(self, now: float) -> None:
        """Keyed sends go to their key's partition; stop at the first one the pool has no buffer for."""
        arrivals = self.arrivals
        count = arrivals.count_until(now, KEYED_CHUNK)
        times, parts = arrivals.window(count)
        fit = keyed_fit(self, parts)
        if fit:
            self._append_keyed_records(arrivals.take(fit), parts[:fit])
            self.block_origin = None
        if fit < count:
            self._block(MEMORY, float(times[fit]))

    def _append_keyed_records(self, times: np.ndarray, parts: np.ndarray) -> None:
        order = np.argsort(parts, kind="stable")
        sorted_parts = parts[order]
        bounds = np.flatnonzero(np.diff(sorted_parts)) + 1
        for group in np.split(order, bounds):
            partition = int(parts[group[0]])
            ts = times[group]  # in send order
            ids = self.ledger.allocate(ts)
            pos = 0
            while pos < len(ts):
                batch = self._open_batch(partition) or self._new_batch(partition, float(ts[pos]))
                count = min(self.capacity - batch.count, len(ts) - pos)
                batch.add(slice(ids.start + pos, ids.start + pos + count), count)
                pos += count

    def _append_resend(self, entry: list, now: float) -> None:
        """The application sends records again (a new attempt each): to the key's partition, or sticky."""
        ids, count, keyed_partition, done = entry
        partition = keyed_partition if keyed_partition is not None else self.sticky.partition()
        batch = self._open_batch(partition) or self._new_batch(partition, now)
        if batch is None:
            return
        chunk = min(self.capacity - batch.count, count - done)
        if keyed_partition is None:
            chunk = min(chunk, self.sticky.until_switch())
        batch.add(self.ledger.resend(ids_sub(ids, done, done + chunk), now), chunk)
        self.block_origin = None
        if keyed_partition is None:
            self.sticky.appended(chunk, self._is_full(batch))
        entry[3] = done + chunk
        if entry[3] == count:
            self.resends.popleft()

    def resend(self, ids, count: int, partition: int | None, now: float) -> None:
        """Queue an application re-send of these records (partition: the key's, or None for sticky);
        the next catch_up appends them."""
        self.resends.append([ids, count, partition if self.keyed else None, 0])

    def _reject_too_large(self, now: float) -> None:
        """RecordTooLargeException for every record sent up to now, through the callback."""
        count = self.arrivals.count_until(now, KEYED_CHUNK)
        ids = self.ledger.allocate(self.arrivals.take(count))
        self._fail_send((ids,), F_RECORD_TOO_LARGE, None)
        self.records_too_large += count

    def _open_batch(self, partition: int) -> ProducerBatch | None:
        """The last batch of `partition` if it still takes appends (Kafka's tryAppend)."""
        dq = self.deques[partition]
        last = dq[-1] if dq else None
        return last if last is not None and not last.closed and last.count < self.capacity else None

    def room(self, partition: int) -> int:
        batch = self._open_batch(partition)
        return 0 if batch is None else self.capacity - batch.count

    def _new_batch(self, partition: int, at: float) -> ProducerBatch | None:
        """A new batch needs a buffer from the pool; without one, send() blocks (BufferPool.allocate)."""
        if self.used >= self.pool_slots:
            self._block(MEMORY, at)
            return None
        batch = ProducerBatch(partition, at, self.delivery_timeout)
        self.serial += 1
        batch.serial = self.serial
        self.incomplete[batch.serial] = batch
        self.deques[partition].append(batch)
        self.queued.add(partition)
        self.used += 1
        self.batches_created += 1
        return batch

    def _is_full(self, batch: ProducerBatch) -> bool:
        return batch.closed or batch.count >= self.full_count

    # -- the application thread blocked ---------------------------------------------------
    def _block(self, what: str, at: float) -> None:
        self.blocked = what
        self.blocked_since = at
        if self.block_origin is None:
            self.block_origin = at

    def _unblock(self, now: float) -> None:
        """The wait is over: the application's later sends happen as much later (the thread was stuck)."""
        self.arrivals.delay(now - self.blocked_since)
        self.blocked = None
        self.blocked_since = None

    def blocked_deadline(self) -> float:
        if self.blocked is None or self.blocked == FLUSH:
            return math.inf
        return self.block_origin + self.max_block

    def _give_up_waiting(self) -> None:
        """max.block.ms passed in send(): TimeoutException or BufferExhaustedException via the callback."""
        deadline = self.blocked_deadline()
        if self.blocked == MEMORY:
            cause = F_BUFFER_EXHAUSTED
            self.buffer_exhausted += 1
        else:
            cause = F_METADATA_TIMEOUT
            self.metadata_timeouts += 1
        if self.resends:
            ids, count, partition, done = self.resends.popleft()
            ids = (self.ledger.resend(ids_sub(ids, done, count), deadline),)
        else:
            _t, parts = self.arrivals.window(1)
            partition = int(parts[0]) if parts is not None else None  # a keyed send keeps its key's partition
            ids, count = (self.ledger.allocate(self.arrivals.take(1)),), 1
        self.arrivals.delay(deadline - self.blocked_since)
        self.blocked = None
        self.blocked_since = None
        self.block_origin = None
        self._fail_send(ids, cause, partition)

    def _fail_send(self, ids, cause: int, partition: int | None) -> None:
        self.ledger.fail_send(ids, self.callback_checked, cause)
        if self.on_failure is not None:
            self.on_failure(ids, cause, partition)

    def metadata_ready(self, now: float) -> None:
        """The topic's metadata arrived: a send() waiting for it goes on."""
        if self.blocked == METADATA:
            self._unblock(now)

    # -- readiness (RecordAccumulator.ready) --------------------------------------------
    def head_ready_at(self, partition: int, now: float) -> float:
        """When partition p's head batch becomes sendable by what is already buffered."""
        dq = self.deques[partition]
        if not dq:
            return math.inf
        head = dq[0]
        if head.attempts > 0:  # a retry waits out its backoff, not linger
            return now if self._leader_changed(head) else max(head.retry_at, now)
        if len(dq) > 1 or self.closing or self.flushes or self.blocked == MEMORY or self._is_full(head):
            return now
        return head.created + self.linger

    def next_change(self, now: float) -> float:
        """Earliest future send() that can make a batch ready, move the sticky partition or block."""
        if not self.accepting or self.blocked is not None:
            return math.inf
        if self.resends:
            return now  # re-sends queued since the last catch_up
        if self.too_large or not self.metadata_known():
            return self.arrivals.peek()
        if self.keyed:
            return self._next_change_keyed()
        return self._next_change_sticky()

    def _next_change_sticky(self) -> float:
        """Either the open batch overflows (the next record opens a new batch, so the old one is
        ready), a first batch opens and then lingers or fills, or the partitioner switches.

        A switch by itself makes nothing ready, so when it comes first the answer is what the
        partition picked next will do -- known ahead, since the pick is drawn ahead and the
        leaders it is drawn among can only change with a metadata update, which appends the
        sends made before it and wakes the sender. (Without this look-ahead a third of the
        sender's wake-ups sent nothing.) With fewer than two free buffers in the pool, a batch
        opened on the way could block send(): then the look-ahead is not made."""
        sticky = self.sticky
        partition = sticky.partition()
        change_at, switch_at, linger_end = self._sticky_change(partition, 0, sticky.until_switch())
        if switch_at is None or self.pool_slots - self.used < 2:
            return change_at  # (the batches opened before and after the switch could find no buffer)
        nxt = sticky.next_choice()
        if nxt == partition:
            return change_at  # the same partition again: its open batch goes on filling (rare; not looked into)
        # after the switch: the next partition's first change, or the linger of a batch opened before it
        return min(self._sticky_change(nxt, switch_at, sticky.full_until_switch())[0], linger_end)

    def _sticky_change(self, partition: int, first: int, until_switch: int) -> tuple[float, int | None, float]:
        """When sends from the `first`-th next one on, all going to `partition`, first change something:
        (time, None, inf), or, if a switch comes first, (its time, index of the first send after
        it, the linger deadline of a batch these sends open -- it still counts after the switch)."""
        arrivals = self.arrivals
        last = self._open_batch(partition)
        if last is None:
            t0 = arrivals.peek(first)
            if self.deques[partition] or self.used >= self.pool_slots:
                # opening a second batch makes the first one ready; without a free buffer, the
                # send that opens it blocks (and memory pressure makes every batch ready)
                return t0, None, math.inf
            fill = self.capacity - (1 if self.exact_fit else 0)
            if until_switch < fill:
                t_switch = arrivals.peek(first + until_switch)
                if t_switch <= t0 + self.linger:
                    return t_switch, first + until_switch, t0 + self.linger
                return t0 + self.linger, None, math.inf
            return min(t0 + self.linger, arrivals.peek(first + fill)), None, math.inf
        room = self.capacity - last.count
        if room <= until_switch and self.exact_fit:
            return arrivals.peek(first + room - 1), None, math.inf  # exact fit: full when the last record lands
        if room <= until_switch:
            return arrivals.peek(first + room), None, math.inf  # the next record overflows: a new batch opens
        # the switch comes first; the open batch's linger is the sender's to watch (the batch is queued)
        return arrivals.peek(first + until_switch), first + until_switch, math.inf

    def _next_change_keyed(self) -> float:
        """The first future send that fills or overflows its partition's batch, or opens a lingering one."""
        want = 64
        while True:
            times, parts = self.arrivals.window(want)
            if not len(times):
                return math.inf
            change_at = keyed_change_in(self, times, parts)
            if self.pool_slots - self.used < len(times):  # these sends could use up the pool
                fit = keyed_fit(self, parts)
                if fit < len(times):
                    change_at = min(change_at, float(times[fit]))  # the send that finds no buffer blocks
            if change_at < math.inf or len(times) < want:
                return change_at
            want *= 4

    def backing_off(self, partition: int, now: float) -> bool:
        dq = self.deques[partition]
        return bool(dq) and dq[0].attempts > 0 and dq[0].retry_at > now and not self._leader_changed(dq[0])

    def _leader_changed(self, batch: ProducerBatch) -> bool:
        """KAFKA-15415 (3.7+): a retry skips its backoff when the partition got a new leader meanwhile
        (ProducerBatch.maybeUpdateLeaderEpoch / hasLeaderChangedForTheOngoingRetry)."""
        epoch = self.leader_epoch(batch.partition)
        if epoch > batch.leader_epoch:
            batch.leader_epoch = epoch
            batch.attempts_at_leader_change = batch.attempts
        return batch.attempts > 0 and batch.attempts == batch.attempts_at_leader_change

    # -- drain / re-enqueue / complete ---------------------------------------------------
    def pop_head(self, partition: int) -> ProducerBatch:
        dq = self.deques[partition]
        batch = dq.popleft()
        if not dq:
            self.queued.discard(partition)
        batch.closed = True  # the next record for `partition` opens a new batch
        self._leader_changed(batch)  # remember the leader epoch this attempt goes to
        return batch

    def reenqueue(self, batch: ProducerBatch, now: float, backoff: float, in_sequence_order: bool) -> None:
        """Put a batch back for a retry: at the head, or in sequence order (idempotence)."""
        batch.attempts += 1
        batch.last_attempt = now
        batch.retry_at = now + backoff
        dq = self.deques[batch.partition]
        if in_sequence_order and batch.base_seq is not None:
            pos = 0
            while pos < len(dq) and dq[pos].base_seq is not None and dq[pos].base_seq < batch.base_seq:
                pos += 1
            dq.insert(pos, batch)
        else:
            dq.appendleft(batch)
        self.queued.add(batch.partition)

    def release(self, batch: ProducerBatch, now: float) -> None:
        """A batch completed: its buffer returns to the pool, maybe unblocking send(); flush() may end.

        The sends made since the sender last looked must find the pool as it was before this
        release. Between two looks, sticky sends open at most two batches without waking the
        sender (a first batch that lingers, and the first batch after a switch looked past), so
        with two buffers free none of them can block and they need not be appended first. Keyed
        sends can open a batch on every partition: they are always appended first."""
        if self.keyed or self.pool_slots - self.used < 2:
            self.catch_up(now)
        self.used -= 1
        self.incomplete.pop(batch.serial, None)
        if self.blocked == MEMORY:
            self._unblock(now)
        if self.flushes:
            self._flush_progress(batch.serial, now)

    # -- flush() ------------------------------------------------------------------------
    def flush(self, done, now: float) -> None:
        """flush(): every batch is ready until those existing now completed; the caller's thread waits."""
        self.catch_up(now)
        waiting = set(self.incomplete)
        if not waiting:
            done.succeed()
            return
        self.flushes.append([waiting, done])
        if self.blocked is None:
            self._block(FLUSH, now)

    def _flush_progress(self, serial: int, now: float) -> None:
        for entry in list(self.flushes):
            entry[0].discard(serial)
            if not entry[0]:
                self.flushes.remove(entry)
                entry[1].succeed()
        if not self.flushes and self.blocked == FLUSH:
            self._unblock(now)
            self.block_origin = None

    # -- expiry ---------------------------------------------------------------------------
    def expire_queued(self, now: float) -> list[ProducerBatch]:
        """Queued batches past delivery.timeout.ms (checked from each deque's head)."""
        out = []
        deques = self.deques
        for partition in sorted(self.queued):
            dq = deques[partition]
            while dq and dq[0].deadline <= now:
                batch = dq.popleft()
                batch.closed = True
                out.append(batch)
            if not dq:
                self.queued.discard(partition)
        return out

    def queued_partitions(self) -> list[int]:
        """Partitions with at least one batch waiting, in partition order."""
        return sorted(self.queued)

    def next_deadline(self) -> float:
        deques = self.deques
        return min((deques[p][0].deadline for p in self.queued), default=math.inf)

    def queued_batches(self):
        for dq in self.deques:
            yield from dq

    def is_empty(self) -> bool:
        return not self.queued

    def idle(self) -> bool:
        """Nothing buffered, nobody waiting, nothing more to send."""
        return self.is_empty() and self.blocked is None and not self.resends and self.arrivals.peek() == math.inf

    def abort_all(self) -> list[ProducerBatch]:
        """The producer died: everything buffered vanishes without a callback."""
        out = [b for dq in self.deques for b in dq]
        for dq in self.deques:
            dq.clear()
        self.queued.clear()
        self.accepting = False
        return out
