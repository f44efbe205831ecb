"""RecordAccumulator timelines: when batches close, fill, linger, expire and block.

Mirrors behaviours checked by Kafka's RecordAccumulatorTest and BufferPoolTest
(clients/src/test/java/org/apache/kafka/clients/producer/internals/), in the model's terms.
Records are 1024-byte values: 61 + 15 * 1034 = 15571 bytes fit batch.size 16384, a 16th does not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.ledger import F_BUFFER_EXHAUSTED, F_METADATA_TIMEOUT, F_RECORD_TOO_LARGE, P_NACK_SEEN, Ledger
from sim.producer.accumulator import RecordAccumulator
from sim.producer.batch import records_per_batch
from sim.workload import ArrivalStream

MS = 0.001


def accumulator(times, *, partitions=1, batch_size=16384, linger=5 * MS, delivery_timeout=120.0,
                buffer_memory=32 * 1024 * 1024, max_block=60.0, max_request_size=1048576, keys=None,
                message_bytes=1024, available=None):
    """keys: the partition of each send (keyed records), or None for keyless ones;
    available: the partitions with a known leader (default all)."""
    ledger = Ledger()
    available = list(range(partitions)) if available is None else available
    acc = RecordAccumulator(
        arrivals=ArrivalStream.from_times(times, partitions=keys), ledger=ledger, rng=np.random.default_rng(0),
        partitions=partitions, batch_size=batch_size, message_bytes=message_bytes, linger=linger,
        delivery_timeout=delivery_timeout, buffer_memory=buffer_memory, max_block=max_block,
        callback_checked=True, available_partitions=lambda: available, max_request_size=max_request_size)
    return acc, ledger


def test_fifteen_one_kilobyte_records_fill_a_16k_batch():
    assert records_per_batch(16384, 1024) == 15
    assert records_per_batch(0, 1024) == 1  # batch.size=0: one record per batch


def test_linger_closes_a_half_full_batch():
    # testLinger: a batch is not ready before linger.ms, ready at it
    acc, _ = accumulator([0.0, 1 * MS, 2 * MS], linger=5 * MS)
    acc.catch_up(2 * MS)
    assert acc.deques[0][0].count == 3
    assert acc.head_ready_at(0, 2 * MS) == pytest.approx(5 * MS)
    assert acc.head_ready_at(0, 5 * MS) == pytest.approx(5 * MS)


def test_full_batch_is_ready_before_linger():
    # testFull: the record that does not fit opens a second batch; the first is ready at once
    times = [i * MS for i in range(16)]
    acc, _ = accumulator(times, linger=1.0)
    acc.catch_up(14 * MS)
    assert [b.count for b in acc.deques[0]] == [15]
    assert acc.head_ready_at(0, 14 * MS) == pytest.approx(1.0)  # full but alone: still lingering
    acc.catch_up(15 * MS)
    assert [b.count for b in acc.deques[0]] == [15, 1]
    assert acc.head_ready_at(0, 15 * MS) == pytest.approx(15 * MS)


def test_next_change_predicts_the_overflow_without_an_event_per_record():
    times = [i * MS for i in range(40)]
    acc, _ = accumulator(times, linger=1.0)
    acc.catch_up(0.0)
    assert acc.next_change(0.0) == pytest.approx(15 * MS)  # the 16th record opens the next batch


def test_record_appended_late_inherits_the_batch_deadline():
    # testExpiredBatches: delivery.timeout.ms counts from batch creation
    acc, _ = accumulator([0.0, 4 * MS], linger=10 * MS, delivery_timeout=1.0)
    acc.catch_up(4 * MS)
    (batch,) = acc.deques[0]
    assert batch.count == 2 and batch.deadline == pytest.approx(1.0)
    assert acc.expire_queued(0.999) == []
    assert acc.expire_queued(1.0) == [batch]


def test_linger_zero_batch_is_ready_when_its_first_record_arrives():
    acc, _ = accumulator([3 * MS], linger=0.0)
    assert acc.next_change(0.0) == pytest.approx(3 * MS)
    acc.catch_up(3 * MS)
    assert acc.head_ready_at(0, 3 * MS) == pytest.approx(3 * MS)


def test_retried_batch_waits_out_its_backoff_not_linger():
    acc, _ = accumulator([0.0], linger=5 * MS)
    acc.catch_up(0.0)
    batch = acc.pop_head(0)
    acc.reenqueue(batch, 10 * MS, backoff=100 * MS, in_sequence_order=False)
    assert acc.backing_off(0, 50 * MS)
    assert acc.head_ready_at(0, 50 * MS) == pytest.approx(110 * MS)


def test_idempotent_retries_go_back_in_sequence_order():
    acc, _ = accumulator([i * MS for i in range(3)], linger=0.0)
    batches = []
    for t in range(3):
        acc.catch_up(t * MS)
        b = acc.pop_head(0)
        b.base_seq = t
        batches.append(b)
    for b in (batches[2], batches[0], batches[1]):
        acc.reenqueue(b, 5 * MS, 0.0, in_sequence_order=True)
    assert [b.base_seq for b in acc.deques[0]] == [0, 1, 2]


def test_drained_batch_takes_no_more_records():
    acc, _ = accumulator([0.0, 1 * MS, 2 * MS], linger=0.0)
    acc.catch_up(0.0)
    first = acc.pop_head(0)
    acc.catch_up(2 * MS)
    assert first.count == 1 and [b.count for b in acc.deques[0]] == [2]


def test_buffer_exhaustion_blocks_send_then_fails_after_max_block():
    # BufferPoolTest.testBlockTimeout: two 16 KiB buffers, a third batch has to wait
    times = [i * MS for i in range(31)]
    acc, ledger = accumulator(times, linger=1.0, buffer_memory=2 * 16384, max_block=0.5)
    acc.catch_up(29 * MS)
    assert [b.count for b in acc.deques[0]] == [15, 15]
    acc.catch_up(30 * MS)  # record 31 needs a third buffer
    assert acc.blocked_since == pytest.approx(30 * MS)
    assert acc.blocked_deadline() == pytest.approx(0.530)
    assert acc.head_ready_at(0, 30 * MS) == pytest.approx(30 * MS)  # memory pressure: everything is ready
    acc.catch_up(0.529)
    assert ledger.n == 30
    acc.catch_up(0.530)  # max.block.ms passed: BufferExhaustedException through the callback
    assert ledger.n == 31
    assert ledger.p[30] == P_NACK_SEEN and ledger.fail[30] == F_BUFFER_EXHAUSTED
    assert acc.buffer_exhausted == 1


def test_freed_buffer_unblocks_send_and_delays_later_records():
    times = [i * MS for i in range(31)] + [100 * MS]
    acc, ledger = accumulator(times, linger=1.0, buffer_memory=2 * 16384, max_block=1.0)
    acc.catch_up(30 * MS)
    first = acc.pop_head(0)
    acc.release(first, 80 * MS)  # a batch completed 50 ms after send() started blocking
    acc.catch_up(80 * MS)
    assert ledger.n == 31 and acc.blocked_since is None
    assert ledger.send_t[30] == pytest.approx(80 * MS)
    assert acc.arrivals.peek() == pytest.approx(150 * MS)  # the application thread was stuck 50 ms


def test_a_buffer_released_after_a_send_found_the_pool_empty_does_not_undo_the_block():
    # The sender had not looked since record 31 (30 ms) found no buffer; a batch completing at 80 ms
    # frees one. send() still blocked from 30 ms to 80 ms: the release appends the pending sends first.
    times = [i * MS for i in range(31)] + [100 * MS]
    acc, ledger = accumulator(times, linger=1.0, buffer_memory=2 * 16384, max_block=1.0)
    acc.catch_up(29 * MS)
    first = acc.pop_head(0)
    acc.release(first, 80 * MS)
    acc.catch_up(80 * MS)
    assert ledger.n == 31 and ledger.send_t[30] == pytest.approx(80 * MS)
    assert acc.arrivals.peek() == pytest.approx(150 * MS)  # the application thread was stuck 50 ms


def test_sticky_partitioner_moves_on_after_twice_batch_size_of_unfull_batches():
    # KIP-794: partition switch after batch.size bytes only on a full batch, else at 2 x batch.size
    times = [i * MS for i in range(60)]
    acc, _ = accumulator(times, partitions=4, linger=0.0)
    partitions_used = []
    for i in range(60):
        acc.catch_up(i * MS)
        for p, dq in enumerate(acc.deques):
            while dq:
                acc.pop_head(p)
                partitions_used.append(p)
    # one record per batch (linger 0, drained at once): 2 x 16384 / 1034 -> 32 records per partition
    runs = [len(list(g)) for _k, g in __import__("itertools").groupby(partitions_used)]
    assert runs[0] == 32


def test_abort_all_drops_every_buffered_batch():
    acc, _ = accumulator([0.0, 1 * MS], linger=1.0)
    acc.catch_up(1 * MS)
    lost = acc.abort_all()
    assert sum(b.count for b in lost) == 2 and acc.is_empty()
    assert acc.next_change(2 * MS) == math.inf


def test_a_record_larger_than_batch_size_gets_a_batch_of_its_own():
    # RecordAccumulatorTest.testAppendLarge: a buffer of the record's size, full at once
    acc, _ = accumulator([0.0, 1 * MS], linger=1.0, message_bytes=20000)
    acc.catch_up(1 * MS)
    assert [b.count for b in acc.deques[0]] == [1, 1]
    assert acc.head_ready_at(0, 1 * MS) == pytest.approx(1 * MS)


def test_a_timed_out_wait_for_memory_leaves_no_waiter_and_the_pool_as_it_was():
    # BufferPoolTest.testCleanupMemoryAvailabilityWaiterOnBlockTimeout
    times = [i * MS for i in range(31)]
    acc, _ = accumulator(times, linger=1.0, buffer_memory=2 * 16384, max_block=0.1)
    acc.catch_up(0.130)
    assert acc.buffer_exhausted == 1 and acc.blocked is None and acc.used == 2
    assert acc.blocked_deadline() == math.inf and acc.idle() is False  # the two batches still wait


def test_the_sticky_partitioner_only_picks_partitions_with_a_leader():
    # RecordAccumulatorTest.testUniformBuiltInPartitioner: uniform among the available partitions
    times = [i * MS for i in range(300)]
    acc, _ = accumulator(times, partitions=3, linger=0.0, available=[1, 2])
    used = set()
    for t in times:
        acc.catch_up(t)
        for p, dq in enumerate(acc.deques):
            while dq:
                acc.pop_head(p)
                used.add(p)
    assert used == {1, 2}


ACCUMULATOR_TESTS_NOT_APPLICABLE = {
    "testAppendLargeCompressed / testAppendLargeOldMessageFormat / testSplitAndReenqueue / "
    "testSplitBatchOffAccumulator / testSplitFrequency": "no compression and no MESSAGE_TOO_LARGE splitting",
    "testIdempotenceWithOldMagic": "one record format (v2)",
    "testAbortIncompleteBatches with transactions / testAbortUnclosedBatches": "transactions are not modelled",
    "testAdaptiveBuiltInPartitioner / testBuiltInPartitionerFractionalBatches":
        "the adaptive (queue-size weighted) partitioner is not modelled: uniform choice",
    "testStressfulSituation (and BufferPoolTest's)": "no threads: the application's sends are one ordered stream",
    "testMutedPartitions / testPartialDrain / testDrainBatches / testReadyAndDrainWhenABatchIsBeingRetried / "
    "testExponentialRetryBackoff / testExponentialRetryBackoffLeaderChange":
        "drain and backoff are the sender's in the model: see tests/test_sender.py",
    "BufferPoolTest.testSimple / testCantAllocateMoreMemoryThanWeHave / testLargeAvailableMemory / "
    "outOfMemoryOnAllocation": "buffer.memory is counted in buffers of max(batch.size, record size); no JVM memory",
    "BufferPoolTest.testCleanupMemoryAvailabilityWaiterOnInterruption / testCloseAllocations / "
    "testCloseNotifyWaiters": "no thread interrupts; close() waits for every batch instead of aborting waiters",
}


def test_flush_makes_every_batch_ready_and_ends_when_they_completed():
    # testFlush / testAwaitFlushComplete: ready at once during a flush, done when the batches are
    env = simpy.Environment()
    acc, _ = accumulator([0.0, 1 * MS, 2 * MS], partitions=2, linger=10.0, keys=[0, 1, 0])
    acc.catch_up(2 * MS)
    assert [acc.head_ready_at(p, 2 * MS) for p in (0, 1)] == [pytest.approx(10.0), pytest.approx(10.001)]
    done = env.event()
    acc.flush(done, 3 * MS)
    assert [acc.head_ready_at(p, 3 * MS) for p in (0, 1)] == [pytest.approx(3 * MS)] * 2
    acc.release(acc.pop_head(0), 4 * MS)
    assert not done.triggered
    acc.release(acc.pop_head(1), 5 * MS)
    assert done.triggered and not acc.flushes and acc.blocked is None


def test_sends_wait_while_the_application_thread_is_in_flush():
    env = simpy.Environment()
    acc, ledger = accumulator([0.0, 4 * MS], linger=10.0)
    acc.catch_up(1 * MS)
    done = env.event()
    acc.flush(done, 1 * MS)
    acc.catch_up(5 * MS)
    assert ledger.n == 1  # the send at 4 ms waits for flush() to return
    acc.release(acc.pop_head(0), 6 * MS)
    acc.catch_up(8.9 * MS)
    assert ledger.n == 1
    acc.catch_up(9 * MS)
    assert ledger.n == 2 and ledger.send_t[1] == pytest.approx(9 * MS)  # 4 ms + 5 ms spent in flush()


def test_closing_makes_a_lingering_batch_ready():
    # RecordAccumulator.ready: `closed` is one of the sendable conditions
    acc, _ = accumulator([0.0], linger=10.0)
    acc.catch_up(1 * MS)
    assert acc.head_ready_at(0, 1 * MS) == pytest.approx(10.0)
    acc.closing = True
    assert acc.head_ready_at(0, 1 * MS) == pytest.approx(1 * MS)


def test_flush_with_nothing_buffered_returns_at_once():
    env = simpy.Environment()
    acc, _ = accumulator([1.0])
    done = env.event()
    acc.flush(done, 0.0)
    assert done.triggered and acc.blocked is None


def test_send_waits_for_metadata_and_later_sends_move_by_as_much():
    known = [False]
    acc, ledger = accumulator([1 * MS, 2 * MS, 10 * MS], linger=0.0)
    acc.metadata_known = lambda: known[0]
    acc.catch_up(2 * MS)
    assert ledger.n == 0 and acc.blocked == "metadata" and acc.blocked_deadline() == pytest.approx(60.001)
    assert acc.next_change(2 * MS) == math.inf
    known[0] = True
    acc.metadata_ready(4 * MS)
    acc.catch_up(4 * MS)
    assert ledger.n == 1 and ledger.send_t[0] == pytest.approx(4 * MS)
    assert acc.arrivals.peek() == pytest.approx(5 * MS)  # the thread was stuck 3 ms in send()


def test_metadata_timeout_fails_the_send_through_the_callback():
    # KafkaProducer.waitOnMetadata: TimeoutException after max.block.ms, reported to the callback
    acc, ledger = accumulator([1 * MS, 2 * MS], linger=0.0, max_block=0.1)
    acc.metadata_known = lambda: False
    acc.catch_up(0.100)
    assert ledger.n == 0
    acc.catch_up(0.101)
    assert ledger.n == 1 and ledger.p[0] == P_NACK_SEEN and ledger.fail[0] == F_METADATA_TIMEOUT
    assert acc.metadata_timeouts == 1
    assert acc.arrivals.peek() == pytest.approx(0.102)  # the thread spent 100 ms in the first send()
    acc.catch_up(acc.arrivals.peek())
    assert acc.blocked == "metadata" and acc.blocked_deadline() == pytest.approx(0.202)  # the next one waits too


def test_every_send_has_its_own_max_block_budget():
    # a send that waited for metadata does not shorten a later send's wait for memory
    known = [False]
    times = [i * MS for i in range(31)]
    acc, ledger = accumulator(times, linger=1.0, buffer_memory=2 * 16384, max_block=0.5)
    acc.metadata_known = lambda: known[0]
    acc.catch_up(0.0)
    known[0] = True
    acc.metadata_ready(0.2)  # 200 ms waiting for metadata
    acc.catch_up(0.230)
    assert ledger.n == 30 and acc.blocked == "memory"
    assert acc.blocked_deadline() == pytest.approx(0.730)  # the 31st send() began at 0.030 + 0.200
    acc.catch_up(0.729)
    assert ledger.n == 30
    acc.catch_up(0.730)
    assert ledger.n == 31 and ledger.fail[30] == F_BUFFER_EXHAUSTED


def test_a_record_larger_than_max_request_size_fails_at_send():
    # KafkaProducer.ensureValidRecordSize: RecordTooLargeException through the callback
    acc, ledger = accumulator([1 * MS, 2 * MS], linger=0.0, max_request_size=1000)
    assert acc.next_change(0.0) == pytest.approx(1 * MS)
    acc.catch_up(2 * MS)
    assert ledger.n == 2 and (ledger.fail[:2] == F_RECORD_TOO_LARGE).all() and (ledger.p[:2] == P_NACK_SEEN).all()
    assert acc.is_empty() and acc.records_too_large == 2


def test_a_record_larger_than_buffer_memory_fails_at_send():
    acc, ledger = accumulator([1 * MS], linger=0.0, buffer_memory=1000)
    acc.catch_up(1 * MS)
    assert ledger.fail[0] == F_RECORD_TOO_LARGE


def _drained_after_25_records(buffer_memory=32 * 1024 * 1024, linger=5 * MS):
    """Records every 0.1 ms to a sticky partition p: 25 records (two batches, drained), so the
    partitioner moves on after 7 more records (2 x 16384 bytes = 32 records of 1034 bytes)."""
    times = [i * 0.1 * MS for i in range(100)]
    acc, _ = accumulator(times, partitions=3, linger=linger, buffer_memory=buffer_memory)
    acc.catch_up(2.45 * MS)
    p = acc.sticky.partition()
    assert [b.count for b in acc.deques[p]] == [15, 10]
    acc.pop_head(p)
    acc.pop_head(p)
    assert acc.sticky.until_switch() == 7
    return acc, p


def test_a_partitioner_switch_alone_is_not_a_change_the_sender_must_wake_for():
    # The next 7 records (2.5-3.1 ms) open a batch on p that lingers until 7.5 ms; the switch at the 8th
    # (3.2 ms) makes nothing ready. The partition picked next is known ahead (the draw is made ahead),
    # so next_change looks past the switch: there a batch opens at 3.2 ms and fills at 4.7 ms (the 16th).
    acc, p = _drained_after_25_records()
    nxt = acc.sticky.next_choice()
    assert nxt != p  # (seed 0 picks another partition: the same one again is not looked past)
    assert acc.next_change(2.45 * MS) == pytest.approx(4.7 * MS)
    acc.catch_up(4.7 * MS)  # what happened is what was predicted
    assert acc.sticky.partition() == nxt
    assert [b.count for b in acc.deques[p]] == [7] and acc.head_ready_at(p, 4.7 * MS) == pytest.approx(7.5 * MS)
    assert [b.count for b in acc.deques[nxt]] == [15, 1] and acc.head_ready_at(nxt, 4.7 * MS) == pytest.approx(4.7 * MS)


def test_with_the_pool_nearly_exhausted_the_sender_looks_where_send_could_block():
    # two buffers in the pool, both held by the drained (not yet completed) batches: the send at
    # 2.5 ms that opens p's next batch blocks, and the sender must look then
    acc, _p = _drained_after_25_records(buffer_memory=2 * 16384)
    assert acc.next_change(2.45 * MS) == pytest.approx(2.5 * MS)
    acc.catch_up(2.5 * MS)
    assert acc.blocked_since == pytest.approx(2.5 * MS)
    # one buffer free: the batch opened at 2.5 ms takes it, the one after the switch (3.2 ms) would
    # find none, so the sender looks at the switch itself
    acc, _p = _drained_after_25_records(buffer_memory=3 * 16384)
    assert acc.next_change(2.45 * MS) == pytest.approx(3.2 * MS)
    acc, _p = _drained_after_25_records(buffer_memory=4 * 16384)
    assert acc.next_change(2.45 * MS) == pytest.approx(4.7 * MS)


def test_looking_past_a_switch_keeps_the_linger_of_the_batch_opened_before_it():
    # linger 1 ms: the batch opened on p at 2.5 ms is ready at 3.5 ms, before anything after the
    # switch (3.2 ms) changes (the next partition's batch would linger until 4.2 ms)
    acc, _p = _drained_after_25_records(linger=1 * MS)
    assert acc.next_change(2.45 * MS) == pytest.approx(3.5 * MS)
