"""ReplicaLog: one replica's copy of a partition (Kafka's UnifiedLog, reduced to batches).

It keeps the batches in offset order with the local time each was written to the page
cache, the log end offset (LEO), the high watermark (HW) as this replica knows it, the
offset up to which Kafka itself has flushed (the recovery point), the leader-epoch
cache used for truncation (KIP-101), and the idempotent producers' state read from it
(ProducerStateManager). The HW changes only through its methods: the leader advances it,
a follower takes the leader's, a restart reads it back from the checkpoint, a truncation
lowers it.
"""

from __future__ import annotations

import bisect
from array import array

from ..ledger import Ids, ids_sub
from ..protocol import Diverging, OutOfRange
from ..records import batch_bytes
from .producer_state import ProducerStateTable


class LogBatch:
    """An immutable record batch as stored: offsets, message ids, leader epoch, producer info."""

    __slots__ = ("base", "count", "ids", "epoch", "producer_id", "producer_epoch", "base_seq", "gone")

    def __init__(self, base, count, ids, epoch, producer_id=-1, producer_epoch=-1, base_seq=None):
        self.gone = False  # removed from some replica's log (the ledger flagged its records)
        self.base = base
        self.count = count
        self.ids: Ids = ids
        self.epoch = epoch
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_seq = base_seq

    @property
    def end(self) -> int:
        return self.base + self.count

    def head(self, count: int) -> LogBatch:
        """The first `count` records only (a partial batch after truncation)."""
        return LogBatch(self.base, count, ids_sub(self.ids, 0, count), self.epoch, self.producer_id,
                        self.producer_epoch, self.base_seq)

    def tail(self, count: int) -> LogBatch:
        """Everything after the first `count` records."""
        seq = None if self.base_seq is None else self.base_seq + count
        return LogBatch(self.base + count, self.count - count, ids_sub(self.ids, count, self.count), self.epoch,
                        self.producer_id, self.producer_epoch, seq)

    def __repr__(self) -> str:  # pragma: no cover
        return f"<LogBatch [{self.base},{self.end}) e{self.epoch}>"


class ReplicaLog:
    """Batches of one partition on one broker, plus LEO, HW, recovery point and epoch cache."""

    def __init__(self):
        self.batches: list[LogBatch] = []
        # per batch, as packed arrays (8 bytes an entry rather than a pointer to a boxed number)
        self.ends = array("q")  # end offset per batch, for bisect
        self.written = array("d")  # local page-cache write time per batch
        self.leo = 0  # log end offset: the end of the last batch (kept by append and truncate_to)
        self.hw = 0
        self.max_hw = 0  # the highest HW this replica ever had (sim/invariants.py: committed offsets stay below)
        self.hw_checkpoint = 0  # the HW as last written to the checkpoint file
        self.flushed = 0  # recovery point: Kafka flushed everything below (once flush_done_at passed)
        self.flush_done_at = 0.0  # when the fsync that set `flushed` completes
        self.flushed_before = 0  # the recovery point before that fsync
        self.segment_base = 0  # first offset of the active segment
        self.epochs: list[tuple[int, int]] = []  # (leader epoch, start offset), increasing
        self.producers = ProducerStateTable()  # the idempotent producers' last batches in this log

    @property
    def latest_epoch(self) -> int:
        return self.epochs[-1][0] if self.epochs else -1

    # -- writes ------------------------------------------------------------------------
    def append(self, batch: LogBatch, now: float) -> None:
        assert batch.base == self.leo, (batch.base, self.leo)
        if batch.epoch > self.latest_epoch:
            self.epochs.append((batch.epoch, batch.base))
        self.batches.append(batch)
        self.ends.append(batch.end)
        self.written.append(now)
        self.leo = batch.end
        self.producers.record(batch)

    def assign_epoch(self, epoch: int) -> None:
        """A new leader starts its epoch at its LEO (LeaderEpochFileCache.assign)."""
        if epoch > self.latest_epoch:
            self.epochs.append((epoch, self.leo))

    def truncate_to(self, offset: int) -> list[LogBatch]:
        """Remove everything at or above offset; returns the removed records as batches."""
        if offset >= self.leo:
            # nothing to remove, but an epoch this replica started as leader without appending to it
            # goes (UnifiedLog.truncateTo: the cache is always truncated, from the LEO)
            while self.epochs and self.epochs[-1][1] >= self.leo:
                self.epochs.pop()
            return []
        pos = bisect.bisect_right(self.ends, offset)  # first batch ending after offset
        removed = self.batches[pos:]
        tail = removed[0]
        keep_partial = tail.base < offset
        written = self.written[pos]
        del self.batches[pos:], self.ends[pos:], self.written[pos:]
        self.leo = self.ends[-1] if self.ends else 0
        if keep_partial:
            kept = offset - tail.base
            self.append(tail.head(kept), written)
            removed[0] = tail.tail(kept)
        self.hw = min(self.hw, offset)
        self.hw_checkpoint = min(self.hw_checkpoint, offset)
        self.flushed = min(self.flushed, offset)
        self.flushed_before = min(self.flushed_before, offset)
        self.segment_base = min(self.segment_base, offset)
        while self.epochs and self.epochs[-1][1] >= offset:  # LeaderEpochFileCache.truncateFromEnd
            self.epochs.pop()
        self.producers.rebuild(self)  # the removed batches' sequences are forgotten
        return removed

    def wipe(self) -> list[LogBatch]:
        """The disk holding this log failed: everything is gone, the HW checkpoint with it."""
        removed = self.truncate_to(0)
        self.hw_checkpoint = 0
        return removed

    # -- the high watermark ------------------------------------------------------------
    def advance_hw(self, hw: int) -> None:
        """The leader's HW moves up (Partition.maybeIncrementLeaderHW decided it may)."""
        assert self.hw < hw <= self.leo, (self.hw, hw, self.leo)
        self.hw = hw
        if hw > self.max_hw:
            self.max_hw = hw

    def follow_hw(self, leader_hw: int) -> None:
        """A follower learns the leader's HW from a fetch response: as far as its own log reaches."""
        hw = min(leader_hw, self.leo)
        if hw > self.hw:
            self.hw = hw
            if hw > self.max_hw:
                self.max_hw = hw

    def checkpoint_hw(self) -> None:
        """replication-offset-checkpoint: the HW written to disk (every 5 s, and on a clean shutdown)."""
        self.hw_checkpoint = self.hw

    def restore_hw(self) -> None:
        """A restarted broker starts from its checkpointed HW."""
        self.hw = min(self.hw_checkpoint, self.leo)

    # -- reads -------------------------------------------------------------------------
    def index_of(self, offset: int) -> int:
        """Index of the batch holding offset (len(batches) if none)."""
        return bisect.bisect_right(self.ends, offset)

    def read(self, offset: int, upto: int, max_bytes: float, message_bytes: int, at_least_one: bool = True):
        """What a consumer fetch returns (Log.read up to the HW): the batches from the one holding `offset`,
        whole, up to max_bytes (the first even when larger, if at_least_one), as record ranges
        (batch, first index, last index + 1) within [offset, upto); and the bytes they take."""
        out = []
        size = 0
        if offset >= upto:
            return out, size
        index = self.index_of(offset)
        batches = self.batches
        while index < len(batches):
            batch = batches[index]
            if batch.base >= upto:
                break
            nbytes = batch_bytes(batch.count, message_bytes)  # the whole batch is sent
            if size + nbytes > max_bytes and (out or not at_least_one):
                break
            out.append((batch, max(offset, batch.base) - batch.base, min(upto, batch.end) - batch.base))
            size += nbytes
            index += 1
        return out, size

    def batches_from(self, offset: int, max_bytes: float, message_bytes: int, at_least_one: bool = True):
        """What a follower fetch returns: whole batches from `offset` up to max_bytes (the first even when
        larger, if at_least_one -- KIP-74), and the bytes they take."""
        index = self.index_of(offset)
        batches = self.batches
        out = []
        size = 0
        while index < len(batches):
            batch = batches[index]
            nbytes = batch_bytes(batch.count, message_bytes)
            if size + nbytes > max_bytes and (out or not at_least_one):
                break
            out.append(batch)
            size += nbytes
            index += 1
        if out and out[0].base < offset:  # the follower stopped inside a batch (HW truncation)
            out[0] = out[0].tail(offset - out[0].base)
        return out, size

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetsForLeaderEpoch (LeaderEpochFileCache.endOffsetFor): (largest epoch <= epoch, the
        offset where it ends here); for an epoch older than every epoch here, (that epoch, the start
        of the first one) -- nothing was written here in it; with no epochs at all, (-1, -1)."""
        epochs = self.epochs
        if not epochs:
            return -1, -1
        found = -1
        for idx in range(len(epochs) - 1, -1, -1):
            if epochs[idx][0] <= epoch:
                found = idx
                break
        if found < 0:
            return epoch, epochs[0][1]
        end = epochs[found + 1][1] if found + 1 < len(epochs) else self.leo
        return epochs[found][0], end

    def divergence(self, offset: int, last_epoch: int):
        """Why a follower at `offset`, whose last record has epoch `last_epoch`, cannot just append from
        there (None: it can) -- the leader's check of a fetch (Partition.fetchRecords / KIP-320).

        Diverging(epoch, end): its last epoch ends earlier here, or this log never had it
        (epoch -1: no common epoch at all) -- KIP-320's divergingEpoch;
        OutOfRange(leo): it is past this log's end and named no epoch (before KIP-320).
        """
        epochs = self.epochs
        if epochs and last_epoch == epochs[-1][0]:  # the usual case: same epoch, which ends at the LEO
            return Diverging(last_epoch, self.leo) if offset > self.leo else None
        if last_epoch >= 0:
            epoch, end = self.end_offset_for_epoch(last_epoch)
            if epoch < 0:
                return Diverging(-1, self.leo)
            if epoch < last_epoch or end < offset:
                return Diverging(epoch, end)
        if offset > self.leo:
            return OutOfRange(self.leo)
        return None

    def truncation_point(self, leader_epoch: int, leader_end: int) -> int:
        """Where a follower truncates after the leader reported a divergence (KIP-279/320): keep what
        both have in the same epoch; for an epoch the follower lacks, back to its own end of the epoch
        before (the next fetch carries on from there); with no epoch in common, back to the HW and at
        most the leader's end."""
        if leader_epoch < 0:
            return min(self.hw, leader_end)
        epoch, end = self.end_offset_for_epoch(leader_epoch)
        return min(leader_end, end) if epoch == leader_epoch else max(0, end)

    def chunks_below(self, upto: int):
        """(base offset, ids) for every record below `upto` -- the final log for the ledger."""
        for batch in self.batches:
            if batch.base >= upto:
                break
            if batch.end <= upto:
                yield batch.base, batch.ids
            else:
                yield batch.base, ids_sub(batch.ids, 0, upto - batch.base)


def diverging_records(leader: ReplicaLog, follower: ReplicaLog) -> int:
    """Records the follower holds at an offset where the leader holds another message: logs that
    diverged (KIP-101 scenario 2) and that replication will never repair. Compared over the offsets
    both logs have; batches a follower fetched are the leader's own objects, so a walk over the
    batches costs one identity check each where nothing diverged."""
    leader_batches, follower_batches = leader.batches, follower.batches
    end = min(leader.leo, follower.leo)
    at_leader = at_follower = 0
    diverged = 0
    while at_leader < len(leader_batches) and at_follower < len(follower_batches):
        ours, theirs = leader_batches[at_leader], follower_batches[at_follower]
        if ours.base >= end or theirs.base >= end:
            break
        if ours is theirs or (ours.base == theirs.base and ours.count == theirs.count and ours.ids == theirs.ids):
            at_leader += 1
            at_follower += 1
            continue
        # record by record over the overlap of the two batches
        lo, hi = max(ours.base, theirs.base), min(ours.end, theirs.end, end)
        for off in range(lo, hi):
            if _id_at(ours, off) != _id_at(theirs, off):
                diverged += 1
        if ours.end <= theirs.end:
            at_leader += 1
        if theirs.end <= ours.end:
            at_follower += 1
    return diverged


def _id_at(batch: LogBatch, offset: int) -> int:
    skip = offset - batch.base
    for span in batch.ids:
        count = span.stop - span.start
        if skip < count:
            return span.start + skip
        skip -= count
    raise IndexError(offset)
