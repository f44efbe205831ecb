"""Partitioners: Kafka's murmur2 keyed partitioner and keyed sends in the accumulator.

Mirrors UtilsTest.testMurmur2 and the keyed cases of BuiltInPartitionerTest / DefaultPartitionerTest
(clients/src/test/java/org/apache/kafka/...), then what keyed records do to batching.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.producer.partitioner import key_partitions, murmur2, partition_for_key
from sim.run import simulate

from simtest import config
from test_accumulator import MS, accumulator


def test_murmur2_matches_kafkas_reference_values():
    # UtilsTest.testMurmur2
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971
    assert murmur2(b"abc") == 479470107


def test_a_key_goes_to_the_positive_hash_modulo_the_partition_count():
    # BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % numPartitions
    assert partition_for_key(b"21", 12) == (-973932308 & 0x7FFFFFFF) % 12
    assert partition_for_key(b"abc", 7) == 479470107 % 7


def test_the_vectorized_key_table_agrees_with_the_scalar_hash():
    table = key_partitions(12_345, 7)
    assert list(table) == [partition_for_key(str(i).encode(), 7) for i in range(12_345)]
    counts = np.bincount(key_partitions(100_000, 4), minlength=4)
    assert counts.min() > 24_000  # murmur2 spreads keys evenly


def test_keyed_records_fill_their_own_partitions_batches():
    acc, ledger = accumulator([0.0, 1 * MS, 2 * MS, 3 * MS], partitions=2, keys=[1, 0, 1, 1], linger=1.0)
    acc.catch_up(3 * MS)
    (b0,), (b1,) = acc.deques
    assert (b0.count, b1.count) == (1, 3) and b1.created == 0.0 and b0.created == pytest.approx(1 * MS)
    ids = [(s.start, s.stop) for s in b1.ids]
    assert sum(b - a for a, b in ids) == 3 and ledger.n == 4


def test_ids_of_interleaved_keys_are_slices_per_catch_up():
    # each catch-up hands every partition one contiguous run of ids: batch ids stay a few slices
    times = [i * MS for i in range(8)]
    acc, _ = accumulator(times, partitions=2, keys=[0, 1] * 4, linger=1.0)
    for t in times:
        acc.catch_up(t)
    (b0,), (b1,) = acc.deques
    assert b0.count == b1.count == 4 and len(b0.ids) == 4  # one send per call here: one slice each
    acc2, _ = accumulator(times, partitions=2, keys=[0, 1] * 4, linger=1.0)
    acc2.catch_up(7 * MS)
    assert [len(dq[0].ids) for dq in acc2.deques] == [1, 1]  # all at once: one slice per partition


def test_next_change_finds_the_keyed_record_that_overflows_a_batch():
    # 15 records fit a batch; partition 1 gets every third send, so its 16th record is send number 48
    times = [i * MS for i in range(60)]
    keys = [1 if i % 3 == 2 else 0 for i in range(60)]
    acc, _ = accumulator(times, partitions=2, keys=keys, linger=10.0)
    acc.catch_up(0.0)
    assert acc.next_change(0.0) == pytest.approx(22 * MS)  # partition 0's 16th record (send 22)
    acc.catch_up(21 * MS)
    assert [b.count for b in acc.deques[0]] == [15] and acc.next_change(21 * MS) == pytest.approx(22 * MS)


def test_next_change_for_a_first_keyed_record_is_its_linger():
    acc, _ = accumulator([5 * MS, 6 * MS], partitions=3, keys=[2, 2], linger=10 * MS)
    assert acc.next_change(0.0) == pytest.approx(15 * MS)
    acc.catch_up(6 * MS)
    assert acc.next_change(6 * MS) == math.inf and acc.head_ready_at(2, 6 * MS) == pytest.approx(15 * MS)


def test_keyed_sends_block_at_the_first_one_without_a_buffer():
    # two buffers: partitions 0 and 1 each open a batch; the first send for partition 2 blocks
    acc, ledger = accumulator([0.0, 1 * MS, 2 * MS, 3 * MS], partitions=3, keys=[0, 1, 0, 2],
                              buffer_memory=2 * 16384, linger=1.0)
    acc.catch_up(3 * MS)
    assert ledger.n == 3 and acc.blocked == "memory" and acc.blocked_since == pytest.approx(3 * MS)
    acc.release(acc.pop_head(0), 5 * MS)
    acc.catch_up(5 * MS)
    assert ledger.n == 4 and [len(dq) for dq in acc.deques] == [0, 1, 1]


def test_one_key_puts_every_record_in_its_partition():
    cfg = config(topic__partitions=3, workload__keys=1, workload__duration=2, workload__rate=500)
    c = simulate(cfg)
    home = partition_for_key(b"0", 3)
    sizes = [len(c.leader_log(p).batches) for p in range(3)]
    assert sizes[home] > 0 and sum(sizes) == sizes[home]


def test_partitioner_ignore_keys_spreads_keyed_records_with_the_sticky_partitioner():
    cfg = config(topic__partitions=3, workload__keys=1, producer__partitioner__ignore__keys=True,
                 workload__duration=2, workload__rate=500)
    c = simulate(cfg)
    assert all(c.leader_log(p).batches for p in range(3))


PARTITIONER_TESTS_NOT_APPLICABLE = {
    "BuiltInPartitionerTest.testAdaptivePartitioning / RecordAccumulatorTest.testAdaptiveBuiltInPartitioner":
        "the adaptive (queue-size weighted) sticky partitioner is not modelled: uniform among partitions with a leader",
    "DefaultPartitionerTest / RoundRobinPartitionerTest": "custom partitioner.class is not modelled",
    "testPartitionerWithExplicitPartition": "the application never names a partition",
}
