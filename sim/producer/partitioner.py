"""Partitioners: Kafka's keyed partitioner (murmur2) and the sticky partitioner's switching rule.

Kafka's BuiltInPartitioner sends a keyed record to toPositive(murmur2(key)) % partitions
(`partitioner.ignore.keys=false`, the default) and spreads keyless records with the sticky
partitioner of KIP-794. Key number i is serialized as the UTF-8 text of i, as
StringSerializer does for String.valueOf(i); the partition of every key is computed once,
vectorized over keys of equal length.
"""

from __future__ import annotations

import numpy as np

SEED = 0x9747B28C
MULTIPLIER = 0x5BD1E995
MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (a signed 32-bit result, as Java returns it)."""
    length = len(data)
    digest = (SEED ^ length) & MASK
    for pos in range(0, length - length % 4, 4):
        word = int.from_bytes(data[pos:pos + 4], "little")
        word = (word * MULTIPLIER) & MASK
        word ^= word >> 24
        word = (word * MULTIPLIER) & MASK
        digest = (digest * MULTIPLIER) & MASK
        digest ^= word
    tail = length % 4
    base = length - tail
    if tail == 3:
        digest ^= data[base + 2] << 16
    if tail >= 2:
        digest ^= data[base + 1] << 8
    if tail >= 1:
        digest ^= data[base]
        digest = (digest * MULTIPLIER) & MASK
    digest ^= digest >> 13
    digest = (digest * MULTIPLIER) & MASK
    digest ^= digest >> 15
    return digest - (1 << 32) if digest & 0x80000000 else digest


def partition_for_key(key: bytes, partitions: int) -> int:
    """BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _murmur2_rows(data: np.ndarray) -> np.ndarray:
    """murmur2 of every row of a (rows, length) uint8 array, as unsigned 32-bit values."""
    rows, length = data.shape
    multiplier = np.uint64(MULTIPLIER)
    mask = np.uint64(MASK)
    digest = np.full(rows, (SEED ^ length) & MASK, np.uint64)
    words = data[:, :length - length % 4].astype(np.uint64)
    for pos in range(0, words.shape[1], 4):
        word = words[:, pos] | (words[:, pos + 1] << np.uint64(8)) | (words[:, pos + 2] << np.uint64(16)) \
            | (words[:, pos + 3] << np.uint64(24))
        word = (word * multiplier) & mask
        word ^= word >> np.uint64(24)
        word = (word * multiplier) & mask
        digest = (digest * multiplier) & mask
        digest ^= word
    tail = length % 4
    base = length - tail
    if tail == 3:
        digest ^= data[:, base + 2].astype(np.uint64) << np.uint64(16)
    if tail >= 2:
        digest ^= data[:, base + 1].astype(np.uint64) << np.uint64(8)
    if tail >= 1:
        digest ^= data[:, base].astype(np.uint64)
        digest = (digest * multiplier) & mask
    digest ^= digest >> np.uint64(13)
    digest = (digest * multiplier) & mask
    digest ^= digest >> np.uint64(15)
    return digest


def key_partitions(keys: int, partitions: int) -> np.ndarray:
    """The partition of each of the keys "0" .. str(keys - 1), as Kafka's keyed partitioner picks it."""
    out = np.empty(keys, np.int64)
    lo = 0
    digits = 1
    while lo < keys:
        hi = min(keys, 10 ** digits)
        numbers = np.arange(lo, hi, dtype=np.int64)
        text = np.empty((hi - lo, digits), np.uint8)
        for digit in range(digits):  # most significant digit first
            text[:, digit] = ord("0") + (numbers // 10 ** (digits - 1 - digit)) % 10
        hashes = _murmur2_rows(text)
        out[lo:hi] = ((hashes & np.uint64(0x7FFFFFFF)) % np.uint64(partitions)).astype(np.int64)
        lo = hi
        digits += 1
    return out


class StickyPartitioner:
    """KIP-794 (uniform): stay on one partition, move on after batch.size bytes if that closed a
    batch, else after 2 x batch.size bytes; the next one is drawn among partitions with a leader."""

    def __init__(self, rng: np.random.Generator, partitions: int, batch_size: int, record_bytes: int,
                 available_partitions):
        self.rng = rng
        self.partitions = partitions
        self.batch_size = batch_size
        self.record_bytes = record_bytes
        self.available_partitions = available_partitions  # -> partitions with a known leader
        self.current: int | None = None  # picked on first use and at every switch
        self.produced = 0  # bytes sent to the current partition since it was picked
        self._u = float(rng.random())  # the next pick, drawn ahead: choices[int(u * len(choices))]

    def partition(self) -> int:
        if self.current is None:
            self.switch()
        return self.current

    def switch(self) -> None:
        """Kafka's BuiltInPartitioner picks the next partition at once, among those with a leader."""
        self.current = self.next_choice()
        self._u = float(self.rng.random())
        self.produced = 0

    def next_choice(self) -> int:
        """The partition the next switch picks if the leaders it knows stay as they are now (the
        uniform draw is made ahead, so the sender can tell when it must look again)."""
        choices = self.available_partitions() or range(self.partitions)
        return choices[int(self._u * len(choices))]

    def full_until_switch(self) -> int:
        """Records a newly picked partition takes before the next switch (2 x batch.size bytes)."""
        return max(1, -(-(2 * self.batch_size) // self.record_bytes))

    def until_switch(self) -> int:
        """Records until the partitioner must move on (2 x batch.size bytes)."""
        return max(1, -(-(2 * self.batch_size - self.produced) // self.record_bytes))

    def appended(self, count: int, batch_full: bool) -> None:
        self.produced += count * self.record_bytes
        if self.produced >= 2 * self.batch_size or (self.produced >= self.batch_size and batch_full):
            self.switch()
