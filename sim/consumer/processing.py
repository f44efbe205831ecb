"""How the application processes what poll() returned (consumer.app.* keys).

A `Work` is the records of one poll (or one record, for per-record commits). Its per-record
processing times are drawn as one vector when it starts (consumer.app.record.processing.*,
from the "consumer" random stream), so processing a poll is one SimPy timeout; the ledger
learns the completions as slices, each record with its own completion time.

A stall (a `consumer_stall` fault: a slow downstream call) holds up the record in hand, or
the next one, for its duration. A processing error (a `consumer_error` fault) hits the
record in hand, or the next record when nothing is being processed. consumer.app.error.policy decides:
  skip   the record is given up (never processed) and the rest of the poll goes on;
  retry  the record starts again (the time spent on the failed attempt is lost);
  close  the exception leaves the poll loop (ProcessingError): the records before it are
         done, the rest is not, and the application's finally block runs.

`SyncProcessing` runs each poll on the poll-loop thread; `WorkerPool` (processing = async)
hands polls to consumer.app.workers threads through a queue of consumer.app.queue.polls
polls -- the poll loop only blocks when that queue is full, so positions (and commits of
positions) run ahead of what was processed.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from ..ledger import ids_sub
from ..timer import Alarm

ERROR, CRASH, STALL = "processing_error", "crash", "stall"  # Interrupt causes (STALL comes with its duration)
_EPS = 1e-12


class ProcessingError(Exception):
    """Processing a record threw and the application lets the exception leave its poll loop."""


class RecordClock:
    """Cumulative per-record processing times of a work, drawn in one vector."""

    def __init__(self, rng, mean: float, distribution: str):
        self.rng = rng
        self.mean = mean
        self.distribution = distribution

    def ends(self, count: int) -> np.ndarray:
        if self.mean <= 0:
            return np.zeros(count)
        if self.distribution == "exponential":
            return np.cumsum(self.rng.exponential(self.mean, count))
        return self.mean * np.arange(1, count + 1, dtype=float)


class Work:
    """Records of one poll being processed: record i is done at start + ends[i]."""

    __slots__ = ("records", "n", "ends", "start", "skipped", "finished", "halted")

    def __init__(self, records):
        self.records = records  # [(partition, LogBatch, lo, hi)]
        self.n = sum(hi - lo for _p, _b, lo, hi in records)
        self.ends = None
        self.start = None
        self.skipped: list[int] = []  # indices given up (error policy skip)
        self.finished = False
        self.halted = None  # records done when processing stopped early (error or crash)

    def done_at(self, now: float) -> int:
        """How many leading records are finished (skipped ones included)."""
        if self.halted is not None:
            return self.halted
        if self.finished:
            return self.n
        if self.start is None:
            return 0
        return int(np.searchsorted(self.ends, now - self.start + _EPS, side="right"))

    def first_unfinished(self, partition: int, now: float):
        """Offset of partition p's first record not yet finished, None if all of them are."""
        done, idx = self.done_at(now), 0
        for part, batch, lo, hi in self.records:
            count = hi - lo
            if part == partition and done < idx + count:
                return batch.base + lo + max(0, done - idx)
            idx += count
        return None


class Marker:
    """Tells the ledger and the counters which records of a work the application finished."""

    def __init__(self, consumer):
        self.ledger = consumer.ledger
        self.counters = consumer.counters

    def mark(self, work: Work, i0: int, i1: int) -> None:
        if i1 <= i0:
            return
        if not work.skipped:
            self._mark_run(work, i0, i1)
            return
        times = work.start + work.ends
        ledger, counters = self.ledger, self.counters
        idx = 0
        for _p, batch, lo, hi in work.records:
            count = hi - lo
            first, stop = max(i0, idx), min(i1, idx + count)
            for run_start, run_stop in _without(first, stop, work.skipped):
                ids = ids_sub(batch.ids, lo + run_start - idx, lo + run_stop - idx)
                counters.redeliveries += ledger.mark_processed(ids, times[run_start:run_stop])
                counters.records_processed += run_stop - run_start
            idx += count
            if idx >= i1:
                break


    def _mark_run(self, work: Work, i0: int, i1: int) -> None:
        """Records i0..i1-1, none skipped: one ledger update for all of them (adjacent id ranges of
        consecutive batches merged), not one per batch."""
        slices: list[slice] = []
        idx = 0
        for _p, batch, lo, hi in work.records:
            count = hi - lo
            first, stop = max(i0, idx), min(i1, idx + count)
            if first < stop:
                for sl in ids_sub(batch.ids, lo + first - idx, lo + stop - idx):
                    if slices and slices[-1].stop == sl.start:
                        slices[-1] = slice(slices[-1].start, sl.stop)
                    else:
                        slices.append(sl)
            idx += count
            if idx >= i1:
                break
        counters = self.counters
        counters.redeliveries += self.ledger.mark_processed(tuple(slices), work.start + work.ends[i0:i1])
        counters.records_processed += i1 - i0


def _without(start: int, stop: int, holes: list[int]):
    """[`start`, `stop`) split around the indices in holes."""
    for hole in sorted(x for x in holes if start <= x < stop):
        if start < hole:
            yield start, hole
        start = hole + 1
    if start < stop:
        yield start, stop


class Thread:
    """One thread that processes works one at a time: the poll loop itself, or a worker."""

    def __init__(self, consumer):
        self.c = consumer
        self.env = consumer.env
        self.work: Work | None = None
        self.proc = None  # the SimPy process this thread runs in
        self.interrupting = False  # an interrupt is on its way and not yet handled

    def run(self, work: Work):
        """Process the work; raises ProcessingError under the close policy."""
        consumer, env = self.c, self.env
        work.start = env.now
        work.ends = consumer.clock.ends(work.n)
        self.work = work
        if consumer.stalled:
            work.ends += consumer.stalled
            consumer.stalled = 0.0
        if consumer.poison:
            consumer.poison = False
            self._error(work, 0)
        while True:
            try:
                yield env.timeout(max(0.0, float(work.start + work.ends[-1]) - env.now))
                break
            except simpy.Interrupt as interrupt:
                self.interrupting = False
                cause = interrupt.cause
                if cause != ERROR and not (isinstance(cause, tuple) and cause[0] == STALL):
                    raise
                done = work.done_at(env.now)
                if done >= work.n:  # it had just finished: the next record gets it
                    if cause == ERROR:
                        consumer.poison = True
                    else:
                        consumer.stalled += cause[1]
                    break
                if cause == ERROR:
                    self._error(work, done)
                else:
                    work.ends[done:] += cause[1]
        work.finished = True
        self.work = None
        consumer.marker.mark(work, 0, work.n)

    def _error(self, work: Work, done: int) -> None:
        consumer, now = self.c, self.env.now
        consumer.counters.processing_errors += 1
        elapsed = now - work.start
        ends = work.ends
        policy = consumer.settings.app_error_policy
        consumer.trace.add(now, "processing_error", consumer.node, done, policy)
        if policy == "skip":
            work.skipped.append(done)
            consumer.counters.records_skipped += 1
            ends[done:] -= ends[done] - elapsed
        elif policy == "retry":
            ends[done:] += elapsed - (ends[done - 1] if done else 0.0)
            consumer.counters.records_retried += 1
        else:
            work.halted = done
            self.work = None
            consumer.marker.mark(work, 0, done)
            raise ProcessingError(done)

    def crash(self) -> None:
        """The process died: what was finished stays finished, nothing else."""
        work = self.work
        if work is not None:
            done = work.done_at(self.env.now)
            work.halted = done
            self.c.marker.mark(work, 0, done)
            self.work = None

    def hit(self, cause=ERROR) -> bool:
        """A processing error (or a stall) while this thread is processing: interrupt it. A second one
        before the first is handled is refused (the caller gives it to the next record), so an error
        that ends the work never leaves an interrupt behind to land in the application's close."""
        if self.work is None or self.proc is None or not self.proc.is_alive or self.interrupting:
            return False
        self.interrupting = True
        self.proc.interrupt(cause)
        return True


class SyncProcessing:
    """consumer.app.processing = sync: the poll loop processes each poll before polling again."""

    failed = False  # an error always reaches the poll loop directly

    def __init__(self, consumer):
        self.thread = Thread(consumer)
        self.halted: list[Work] = []

    def process(self, work: Work):
        try:
            yield from self.thread.run(work)
        except ProcessingError:
            self.halted.append(work)
            raise

    def pending(self) -> list:
        work = self.thread.work
        return self.halted + ([work] if work is not None else [])

    def idle(self) -> bool:
        return self.thread.work is None

    def hit(self, cause=ERROR) -> bool:
        return self.thread.hit(cause)

    def crash(self) -> None:
        self.thread.crash()

    def shutdown(self, drop: bool):
        return
        yield  # pragma: no cover - a generator with nothing to wait for


class WorkerPool:
    """consumer.app.processing = async: polls are handed to worker threads through a bounded queue."""

    def __init__(self, consumer):
        self.c = consumer
        self.env = consumer.env
        settings = consumer.settings
        self.capacity = settings.app_queue_polls
        self.queue: deque[Work] = deque()
        self.threads = [Thread(consumer) for _ in range(settings.app_workers)]
        self.alarms = [Alarm(self.env) for _ in self.threads]
        self.space = Alarm(self.env)  # the poll loop waiting for room in the queue
        self.halted: list[Work] = []  # works stopped by an error, kept for processed offsets
        self.failed = False
        self.stopping = False
        for slot, thread in enumerate(self.threads):
            thread.proc = self.env.process(self._worker(slot))

    def process(self, work: Work):
        """Hand the poll's records over; blocks while the queue is full (a bounded BlockingQueue.put)."""
        while len(self.queue) >= self.capacity and not self.failed:
            yield self.space.wait()
        self.queue.append(work)
        self._wake()

    def _wake(self) -> None:
        for thread, alarm in zip(self.threads, self.alarms, strict=True):
            if thread.work is None:
                alarm.notify()

    def _worker(self, slot: int):
        thread, alarm = self.threads[slot], self.alarms[slot]
        try:
            while True:
                if self.stopping and (self.failed or not self.queue):
                    return
                if not self.queue:
                    yield alarm.wait()
                    continue
                work = self.queue.popleft()
                self.space.notify()
                try:
                    yield from thread.run(work)
                except ProcessingError:
                    self.halted.append(work)
                    self.failed = True
                    self._done()
                    return
                self._done()
        except simpy.Interrupt:
            return

    def _done(self) -> None:
        self.space.notify()
        self.c.wake()

    def pending(self) -> list:
        return list(self.halted) + [t.work for t in self.threads if t.work is not None] + list(self.queue)

    def idle(self) -> bool:
        return not self.queue and all(t.work is None for t in self.threads)

    def hit(self, cause=ERROR) -> bool:
        """An error hits the first busy worker; a stall (a shared downstream) every busy worker."""
        if cause == ERROR:
            return any(t.hit(cause) for t in self.threads)
        return sum(t.hit(cause) for t in self.threads) > 0

    def crash(self) -> None:
        self.queue.clear()
        for thread in self.threads:
            thread.crash()
            if thread.proc.is_alive:
                thread.proc.interrupt(CRASH)

    def shutdown(self, drop: bool):
        """executor.shutdown() and wait; with drop (after an error) queued polls are abandoned."""
        self.stopping = True
        if drop or self.failed:
            self.queue.clear()
        self._wake()
        while not self.idle():
            yield self.space.wait()
