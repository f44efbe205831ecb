"""PageCache: which part of a broker's logs is on disk when the power goes out.

Kafka writes to the page cache and, by default, never calls fsync on the write path
(log.flush.interval.messages and log.flush.scheduler.interval.ms are Long.MAX_VALUE); it
fsyncs a segment when it rolls (log.segment.bytes) and every log on a clean shutdown.
Linux writes dirty pages back per inode (fs/fs-writeback.c): a clean inode that turns dirty
gets `dirtied_when`; the flusher, waking every vm.dirty_writeback_centisecs (at a phase of
its own on each machine), writes back *all* dirty pages of every inode dirty for at least
vm.dirty_expire_centisecs, which leaves it clean, and the next write dirties it afresh.
Past vm.dirty_background_ratio of the dirtyable memory, background write-back writes the
oldest dirty data until the machine is below that mark again. A process crash keeps the
page cache; a power loss keeps only the on-disk prefix (the longest valid prefix, as log
recovery does).

Nothing here runs as a process: the on-disk prefix is computed when the power fails,
from the time each batch was written and the times Kafka's fsyncs completed.
"""

from __future__ import annotations

import bisect
import math

from ..records import batch_bytes, record_bytes

_TICK = 1e-9  # s: times closer than this count as equal (the kernel compares jiffies)


class PageCache:
    """Flush policy of one machine: Kafka's own flushes and the OS write-back of its segment files."""

    def __init__(self, *, flush_messages: float, flush_interval: float, scheduler_interval: float,
                 writeback_period: float, dirty_expire: float, fsync: float = 0.0,
                 segment_bytes: float = math.inf, message_bytes: int = 1024, writeback_phase: float = 0.0,
                 background_bytes: float = math.inf):
        self.flush_messages = flush_messages  # inf = never
        self.flush_interval = flush_interval  # log.flush.interval.ms (s), inf = never
        self.scheduler_interval = scheduler_interval  # log.flush.scheduler.interval.ms (s)
        self.writeback_period = writeback_period  # 0 or inf = periodic write-back off
        self.dirty_expire = dirty_expire
        self.writeback_phase = writeback_phase  # s: the flusher wakes at phase + k x period
        self.background_bytes = background_bytes  # dirty bytes that start background write-back
        self.fsync = fsync
        self.message_bytes = message_bytes
        self.segment_records = max(1, int(segment_bytes // record_bytes(message_bytes))) \
            if segment_bytes < math.inf else math.inf
        self.fsyncs = 0

    # -- Kafka's fsyncs --------------------------------------------------------------
    def on_append(self, log, now: float) -> float:
        """After an append: roll the segment, or fsync per flush.messages.

        Returns how long the append path is blocked (the flush.messages fsync is synchronous;
        the flush of a rolled segment runs in the background).
        """
        if log.leo - log.segment_base >= self.segment_records:
            log.segment_base = log.leo
            self._flush(log, log.leo, now)
        if log.leo - log.flushed >= self.flush_messages:
            self._flush(log, log.leo, now)
            return self.fsync
        return 0.0

    def flush(self, log, now: float) -> float:
        """Flush the whole log (a clean shutdown); returns the time it takes."""
        if log.flushed < log.leo:
            self._flush(log, log.leo, now)
            return self.fsync
        return 0.0

    def _flush(self, log, offset: int, now: float) -> None:
        log.flushed_before = self._kafka_durable(log, now)
        log.flushed = offset
        log.flush_done_at = now + self.fsync
        self.fsyncs += 1

    @staticmethod
    def _kafka_durable(log, now: float) -> int:
        return log.flushed if now >= log.flush_done_at else log.flushed_before

    # -- what a power loss keeps ---------------------------------------------------------
    def durable_offset(self, log, now: float, up_since: float) -> int:
        """Offset below which this log survives a power loss at `now` (Kafka's fsyncs and the
        flusher's per-inode write-back; the machine-wide background write-back is in durable_offsets)."""
        durable = self._kafka_durable(log, now)
        period = self._kafka_flush_period()
        if period < math.inf and now >= up_since + period:
            last_flush = up_since + math.floor((now - up_since) / period) * period
            durable = max(durable, self._written_before(log, last_flush - self.fsync))
        durable = min(durable, log.leo)
        if 0 < self.writeback_period < math.inf and durable < log.leo:
            # what Kafka has not flushed lies in the active segment, or, while the fsync of a roll is still
            # running, partly in the segment before it: one inode each, written back on its own
            roll = log.segment_base
            if durable < roll:
                durable = self._inode_written_back(log, durable, roll, now)
            if durable >= roll:
                durable = self._inode_written_back(log, durable, log.leo, now)
        return durable

    def durable_offsets(self, logs: dict, now: float, up_since: float) -> dict:
        """durable_offset of every log on the machine, and background write-back on top: past
        vm.dirty_background_ratio of the dirtyable memory the flusher writes the oldest dirty data
        (wb_check_background_flush), so at most that many bytes, the newest, are still dirty."""
        durable = {partition: self.durable_offset(log, now, up_since) for partition, log in logs.items()}
        firsts = {partition: bisect.bisect_right(log.ends, durable[partition]) for partition,
                  log in logs.items()}  # first dirty batch
        dirty_records = sum(log.leo - (log.ends[firsts[partition] - 1] if firsts[partition] else 0)
                            for partition, log in logs.items())
        dirty_batches = sum(len(log.ends) - firsts[partition] for partition, log in logs.items())
        if batch_bytes(0, self.message_bytes) * dirty_batches + record_bytes(self.message_bytes) * dirty_records \
                <= self.background_bytes:
            return durable  # below the mark: background write-back never ran (the usual case)
        dirty = []  # (written, bytes) of every batch not on disk yet
        for partition, log in logs.items():
            for index in range(firsts[partition], len(log.batches)):
                dirty.append((log.written[index], batch_bytes(log.batches[index].count, self.message_bytes)))
        dirty.sort(reverse=True)
        kept = 0
        for written, nbytes in dirty:
            kept += nbytes
            if kept > self.background_bytes:  # this one and everything older is written back
                return {partition: max(durable[partition], min(self._written_before(log, written), log.leo))
                        for partition, log in logs.items()}
        return durable

    def _inode_written_back(self, log, start: int, end: int, now: float) -> int:
        """How far the flusher has written one segment file holding [start, end) back by `now`.

        The inode is clean at `start` (Kafka's fsync or the file's creation); its first write after
        that sets dirtied_when; at the first wake-up at least dirty_expire later every page written by
        then goes to disk (move_expired_inodes, for_kupdate) and the inode is clean again. One step per
        write-back, each found by bisect: no per-record work.
        """
        written, ends = log.written, log.ends
        first = bisect.bisect_right(ends, start)  # the batch holding `start` (cut by an fsync or partial)
        last = bisect.bisect_left(ends, end) + 1  # one past the batch ending at `end`
        period, phase = self.writeback_period, self.writeback_phase
        durable = start
        index = first
        while index < last:
            dirtied_when = written[index]
            wake = phase + math.ceil((dirtied_when + self.dirty_expire - phase) / period - _TICK) * period
            if wake > now + _TICK:
                break
            index = bisect.bisect_right(written, wake + _TICK, index, last)  # every write up to the wake-up
            durable = min(ends[index - 1], end)
        return max(durable, start)

    def recovery_records(self, log) -> int:
        """Records log recovery re-reads after an unclean shutdown: everything after the recovery point."""
        return log.leo - log.flushed

    def _kafka_flush_period(self) -> float:
        """The log flusher runs every scheduler interval and flushes logs unflushed for flush.ms."""
        every, flush_ms = self.scheduler_interval, self.flush_interval
        if every == math.inf or flush_ms == math.inf:
            return math.inf
        return every * max(1, math.ceil(flush_ms / every)) if every > 0 else flush_ms

    @staticmethod
    def _written_before(log, at: float) -> int:
        pos = bisect.bisect_right(log.written, at)
        return log.ends[pos - 1] if pos else 0
