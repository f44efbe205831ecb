"""PartitionLeader: a partition on the broker that leads it (Kafka's Partition, leader role).

It tracks each follower's log end offset from its fetches and when it was last caught up,
keeps the in-sync replica set (ISR) as last committed by the controller, advances the high
watermark to the smallest LEO in the ISR -- only while the ISR has at least
min.insync.replicas members (Kafka 3.7+, KAFKA-15583) -- and holds acks=all produce
requests in purgatory until the HW passes them.
"""

from __future__ import annotations

from collections import deque

from .. import protocol as P


class DelayedProduce:
    """An acks=all ProduceRequest waiting for replication (Kafka's DelayedProduce)."""

    __slots__ = ("req", "results", "pending", "deadline", "broker", "responded")

    def __init__(self, req, results, pending, broker):
        self.responded = False
        self.req = req
        self.results = results
        self.pending = pending
        self.deadline = None
        self.broker = broker

    def complete_one(self, index: int, error) -> None:
        if self.results[index] is not _WAITING:
            return
        self.results[index] = error
        self.pending -= 1
        if self.pending == 0:
            if self.deadline is not None:
                self.deadline.cancel()
            self.responded = True
            self.broker.respond_produce(self.req, self.results)

    def expire(self) -> None:
        """request.timeout.ms passed in purgatory: REQUEST_TIMED_OUT, the data stays appended."""
        for i, r in enumerate(self.results):
            if r is _WAITING:
                self.results[i] = P.REQUEST_TIMED_OUT
        self.pending = 0
        self.responded = True
        self.broker.respond_produce(self.req, self.results)


class _Waiting:
    __repr__ = lambda self: "WAITING"  # noqa: E731


_WAITING = _Waiting()
WAITING = _WAITING


class PartitionLeader:
    """Leader-side replication state of one partition."""

    def __init__(self, broker, p: int, epoch: int, partition_epoch: int, isr, replicas, now: float):
        self.broker = broker
        self.p = p
        self.epoch = epoch
        self.partition_epoch = partition_epoch
        self.replicas = tuple(replicas)
        self.isr = tuple(isr)
        self.log = broker.logs[p]
        self.min_isr = broker.min_isr
        self.hw_needs_min_isr = broker.hw_needs_min_isr
        self.lag_max = broker.replica_lag_max
        me = broker.id
        leo = self.log.leo
        followers = [r for r in self.replicas if r != me]
        self.follower_leo = {r: -1 for r in followers}  # unknown until its first fetch
        self.last_caught_up = {r: (now if r in self.isr else -float("inf")) for r in followers}
        self.last_fetch_leader_leo = {r: leo for r in followers}
        self.last_fetch_time = {r: now for r in followers}
        self.purgatory: deque = deque()  # (required offset, DelayedProduce, index)
        self.pending_isr: tuple | None = None  # AlterPartition in flight
        self.epoch_start = leo  # start offset of this leader epoch

    # -- the ISR as used for the HW ("maximal ISR" while a change is pending) ----------
    def effective_isr(self) -> tuple:
        if self.pending_isr is None:
            return self.isr
        return tuple(r for r in self.replicas if r in self.isr or r in self.pending_isr)

    def under_min_isr(self) -> bool:
        return len(self.isr) < self.min_isr

    # -- appends -----------------------------------------------------------------------
    def wait_for_hw(self, end_offset: int, delayed: DelayedProduce, index: int) -> None:
        self.purgatory.append((end_offset, delayed, index))

    def maybe_advance_hw(self) -> bool:
        """HW = min LEO over the ISR; frozen while the ISR is below min.insync.replicas (3.7+)."""
        log = self.log
        me = self.broker.id
        if self.hw_needs_min_isr and self.under_min_isr():
            return False
        hw = log.leo
        for r in self.effective_isr():
            if r != me:
                leo = self.follower_leo.get(r, -1)
                if leo < hw:
                    hw = leo
        if hw <= log.hw:
            return False
        log.hw = hw
        self._complete_purgatory()
        self.broker.hw_advanced(self.p)
        return True

    def _complete_purgatory(self) -> None:
        hw = self.log.hw
        pq = self.purgatory
        while pq and pq[0][0] <= hw:
            _end, delayed, index = pq.popleft()
            err = P.NOT_ENOUGH_REPLICAS_AFTER_APPEND if self.under_min_isr() else None
            delayed.complete_one(index, err)

    def abandon(self) -> None:
        """Leadership lost: waiting produce requests get NOT_LEADER_OR_FOLLOWER."""
        pq = self.purgatory
        while pq:
            _end, delayed, index = pq.popleft()
            delayed.complete_one(index, P.NOT_LEADER_OR_FOLLOWER)

    # -- follower fetches ----------------------------------------------------------------
    def on_follower_fetch(self, r: int, fetch_offset: int, now: float) -> None:
        """The fetch offset is the follower's acknowledgement (Replica.updateFetchState)."""
        leo = self.log.leo
        if fetch_offset >= leo:
            self.last_caught_up[r] = now
        elif fetch_offset >= self.last_fetch_leader_leo.get(r, leo):
            self.last_caught_up[r] = max(self.last_caught_up[r], self.last_fetch_time[r])
        self.last_fetch_leader_leo[r] = leo
        self.last_fetch_time[r] = now
        self.follower_leo[r] = fetch_offset
        self.maybe_advance_hw()

    def replay_clean_fetch(self, r: int, t: float) -> None:
        """Follower r fetched this partition at t without news on either side: the fetch state
        moves as on_follower_fetch would have moved it then (nothing but the times can change)."""
        if self.last_fetch_time[r] < t:
            if self.follower_leo[r] >= self.last_fetch_leader_leo[r]:
                self.last_caught_up[r] = t
            self.last_fetch_time[r] = t

    def expand_candidate(self, r: int, fenced) -> bool:
        """Can follower r rejoin the ISR? (Partition.isFollowerInSync + broker checks)"""
        if r in self.isr or self.pending_isr is not None or fenced(r):
            return False
        leo = self.follower_leo.get(r, -1)
        return leo >= self.log.hw and leo >= self.epoch_start

    def lagging(self, now: float) -> list[int]:
        """ISR followers neither at the LEO nor caught up within replica.lag.time.max.ms."""
        leo = self.log.leo
        me = self.broker.id
        out = []
        for r in self.isr:
            if r == me:
                continue
            if self.follower_leo.get(r, -1) < leo and now - self.last_caught_up[r] > self.lag_max:
                out.append(r)
        return out
