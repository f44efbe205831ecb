"""PageCache: which part of a broker's logs is on disk when the power goes out.

Kafka writes to the page cache and, by default, never calls fsync on the write path
(log.flush.interval.messages and log.flush.scheduler.interval.ms are Long.MAX_VALUE); it
fsyncs a segment when it rolls (log.segment.bytes) and every log on a clean shutdown.
Linux writes dirty pages back from a flusher thread that wakes every
vm.dirty_writeback_centisecs and writes pages dirty for longer than
vm.dirty_expire_centisecs. A process crash keeps the page cache; a power loss keeps only
the on-disk prefix (the longest valid prefix, as log recovery does).

Nothing here runs as a process: the on-disk prefix is computed when the power fails,
from the time each batch was written and the times Kafka's fsyncs completed.
"""

from __future__ import annotations

import bisect
import math

from ..records import record_bytes


class PageCache:
    """Flush policy of one broker: Kafka's own flushes and the OS write-back."""

    def __init__(self, *, flush_messages: float, flush_interval: float, scheduler_interval: float,
                 writeback_period: float, dirty_expire: float, fsync: float = 0.0,
                 segment_bytes: float = math.inf, message_bytes: int = 1024):
        self.flush_messages = flush_messages  # inf = never
        self.flush_interval = flush_interval  # log.flush.interval.ms (s), inf = never
        self.scheduler_interval = scheduler_interval  # log.flush.scheduler.interval.ms (s)
        self.writeback_period = writeback_period  # 0 or inf = periodic write-back off
        self.dirty_expire = dirty_expire
        self.fsync = fsync
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
        """Offset below which this log survives a power loss at `now`."""
        durable = self._kafka_durable(log, now)
        period = self._kafka_flush_period()
        if period < math.inf and now >= up_since + period:
            last_flush = up_since + math.floor((now - up_since) / period) * period
            durable = max(durable, self._written_before(log, last_flush - self.fsync))
        wb = self.writeback_period
        if 0 < wb < math.inf:
            last_wake = math.floor(now / wb) * wb
            durable = max(durable, self._written_before(log, last_wake - self.dirty_expire))
        return min(durable, log.leo)

    def recovery_records(self, log) -> int:
        """Records log recovery re-reads after an unclean shutdown: everything after the recovery point."""
        return log.leo - log.flushed

    def _kafka_flush_period(self) -> float:
        """The log flusher runs every scheduler interval and flushes logs unflushed for flush.ms."""
        s, f = self.scheduler_interval, self.flush_interval
        if s == math.inf or f == math.inf:
            return math.inf
        return s * max(1, math.ceil(f / s)) if s > 0 else f

    @staticmethod
    def _written_before(log, t: float) -> int:
        i = bisect.bisect_right(log.written, t)
        return log.ends[i - 1] if i else 0
