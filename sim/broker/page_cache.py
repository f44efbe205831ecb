"""PageCache: which part of a broker's logs is on disk when the power goes out.

Kafka writes to the page cache and, by default, never calls fsync itself
(log.flush.interval.messages and log.flush.scheduler.interval.ms are Long.MAX_VALUE).
Linux writes dirty pages back from a flusher thread that wakes every
vm.dirty_writeback_centisecs and writes pages dirty for longer than
vm.dirty_expire_centisecs. A process crash keeps the page cache; a power loss keeps only
the on-disk prefix (the longest valid prefix, as log recovery does).

Nothing here runs as a process: the on-disk prefix is computed when the power fails,
from the time each batch was written.
"""

from __future__ import annotations

import bisect
import math


class PageCache:
    """Flush policy of one broker: Kafka's own flushes and the OS write-back."""

    def __init__(self, *, flush_messages: float, flush_interval: float, scheduler_interval: float,
                 writeback_period: float, dirty_expire: float):
        self.flush_messages = flush_messages  # inf = never
        self.flush_interval = flush_interval  # log.flush.interval.ms (s), inf = never
        self.scheduler_interval = scheduler_interval  # log.flush.scheduler.interval.ms (s)
        self.writeback_period = writeback_period  # 0 or inf = periodic write-back off
        self.dirty_expire = dirty_expire
        self.fsyncs = 0

    def on_append(self, log) -> None:
        """flush.messages: fsync once that many messages are unflushed (in the append path)."""
        if log.leo - log.flushed >= self.flush_messages:
            log.flushed = log.leo
            self.fsyncs += 1

    def flush(self, log) -> None:
        """An explicit flush (clean shutdown)."""
        log.flushed = log.leo

    def durable_offset(self, log, now: float, up_since: float) -> int:
        """Offset below which this log survives a power loss at `now`."""
        durable = log.flushed
        period = self._kafka_flush_period()
        if period < math.inf and now >= up_since + period:
            last_flush = up_since + math.floor((now - up_since) / period) * period
            durable = max(durable, self._written_before(log, last_flush))
        wb = self.writeback_period
        if 0 < wb < math.inf:
            last_wake = math.floor(now / wb) * wb
            durable = max(durable, self._written_before(log, last_wake - self.dirty_expire))
        return min(durable, log.leo)

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
