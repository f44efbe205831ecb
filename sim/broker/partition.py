"""PartitionLeader: a partition on the broker that leads it (Kafka's Partition, leader role).

It tracks each follower's log end offset from its fetches and when it was last caught up,
keeps the in-sync replica set (ISR) as last committed by the controller, advances the high
watermark to the smallest LEO in the ISR -- only while the ISR has at least
min.insync.replicas members (Kafka 3.7+, KAFKA-15583) -- and holds acks=all produce
requests in purgatory until the HW passes them.

ISR changes (Partition.maybeShrinkIsr / maybeExpandIsr, KIP-497 AlterPartition): the leader
proposes a new ISR to the controller and uses the "maximal ISR" (old and proposed members)
for the HW until the controller commits it or the request is given up; a follower that has
not caught up for replica.lag.time.max.ms is dropped, one that reached the HW and the start
of the leader's epoch is added back.
"""

from __future__ import annotations

from collections import deque

from .. import protocol as P

ALTER_PARTITION_RETRY = 2.0  # s before an unanswered AlterPartition may be sent again


class PartitionLeader:
    """Leader-side replication state of one partition."""

    def __init__(self, broker, partition: int, epoch: int, partition_epoch: int, isr, replicas, now: float):
        self.broker = broker
        self.p = partition
        self.epoch = epoch
        self.partition_epoch = partition_epoch
        self.replicas = tuple(replicas)
        self.isr = tuple(isr)
        self.log = broker.logs[partition]
        settings = broker.settings
        self.min_isr = settings.topic.min_insync_replicas
        self.hw_needs_min_isr = bool(settings.broker.model_hw_frozen_below_min_isr)
        self.lag_max = settings.broker.replica_lag_time_max
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
        # broker.model.isr.write = zookeeper: an ISR write waiting for an unreachable ZooKeeper holds the
        # partition's lock, and the produce requests that need it wait (connection, request) in arrival order
        self.isr_write_blocked = False
        self.blocked_requests: list[tuple] = []

    # -- the ISR as used for the HW ("maximal ISR" while a change is pending) ----------
    def effective_isr(self) -> tuple:
        if self.pending_isr is None:
            return self.isr
        return tuple(r for r in self.replicas if r in self.isr or r in self.pending_isr)

    def under_min_isr(self) -> bool:
        return len(self.isr) < self.min_isr

    # -- appends -----------------------------------------------------------------------
    def wait_for_hw(self, end_offset: int, delayed, index: int) -> None:
        self.purgatory.append((end_offset, delayed, index))

    def maybe_advance_hw(self) -> bool:
        """HW = min LEO over the ISR and the followers about to join it; frozen while the ISR is below
        min.insync.replicas (3.7+). Partition.maybeIncrementLeaderHW: a follower outside the (maximal) ISR
        that is caught up -- at the leader's LEO within replica.lag.time.max.ms -- and may join it
        (shouldWaitForReplicaToJoinIsr) holds the HW back too."""
        log = self.log
        me = self.broker.id
        if self.hw_needs_min_isr and self.under_min_isr():
            return False
        hw = log.leo
        isr = self.effective_isr()
        for replica in isr:
            if replica != me:
                leo = self.follower_leo.get(replica, -1)
                if leo < hw:
                    hw = leo
        if len(isr) < len(self.replicas):
            hw = self._joining_hw(isr, hw)
        if hw <= log.hw:
            return False
        log.advance_hw(hw)
        self._complete_purgatory()
        self.broker.hw_advanced(self.p)
        return True

    def _joining_hw(self, isr, hw: int) -> int:
        """The HW as held back by caught-up followers outside the ISR (their fetch times brought up to date)."""
        broker = self.broker
        broker.replica_fetches.replay_fetches(self)
        now = broker.env.now
        for replica, leo in self.follower_leo.items():
            if replica not in isr and 0 <= leo < hw and now - self.last_caught_up[replica] <= self.lag_max \
                    and not broker.is_fenced(replica):
                hw = leo
        return hw

    def _complete_purgatory(self) -> None:
        hw = self.log.hw
        waiting = self.purgatory
        while waiting and waiting[0][0] <= hw:
            _end, delayed, index = waiting.popleft()
            err = P.NOT_ENOUGH_REPLICAS_AFTER_APPEND if self.under_min_isr() else None
            delayed.complete_one(index, err)

    def abandon(self) -> None:
        """Leadership lost: waiting produce requests get NOT_LEADER_OR_FOLLOWER."""
        waiting = self.purgatory
        while waiting:
            _end, delayed, index = waiting.popleft()
            delayed.complete_one(index, P.NOT_LEADER_OR_FOLLOWER)
        self._release_isr_lock()

    # -- follower fetches ----------------------------------------------------------------
    def on_follower_fetch(self, replica: int, fetch_offset: int, now: float) -> None:
        """The fetch offset is the follower's acknowledgement (Replica.updateFetchState)."""
        leo = self.log.leo
        if fetch_offset >= leo:
            self.last_caught_up[replica] = now
        elif fetch_offset >= self.last_fetch_leader_leo.get(replica, leo):
            self.last_caught_up[replica] = max(self.last_caught_up[replica], self.last_fetch_time[replica])
        self.last_fetch_leader_leo[replica] = leo
        self.last_fetch_time[replica] = now
        self.follower_leo[replica] = fetch_offset
        self.maybe_advance_hw()

    def replay_clean_fetch(self, replica: int, at: float) -> None:
        """Follower `replica` fetched this partition at `at` without news on either side: the fetch state
        moves as on_follower_fetch would have moved it then (nothing but the times can change)."""
        if self.last_fetch_time[replica] < at:
            if self.follower_leo[replica] >= self.last_fetch_leader_leo[replica]:
                self.last_caught_up[replica] = at
            self.last_fetch_time[replica] = at

    # -- ISR changes -----------------------------------------------------------------------
    def maybe_expand_isr(self, replica: int) -> None:
        """Follower `replica` rejoins the ISR once it reached the HW and the start of this epoch, unfenced
        (Partition.isFollowerInSync + the broker checks)."""
        if replica in self.isr or self.pending_isr is not None or self.broker.is_fenced(replica):
            return
        leo = self.follower_leo.get(replica, -1)
        if leo >= self.log.hw and leo >= self.epoch_start:
            self._propose_isr(tuple(m for m in self.replicas if m in self.isr or m == replica))

    def maybe_shrink_isr(self, now: float) -> None:
        """ISR followers neither at the LEO nor caught up within replica.lag.time.max.ms leave it."""
        if self.pending_isr is not None:
            return
        leo = self.log.leo
        me = self.broker.id
        lagging = [r for r in self.isr if r != me and self.follower_leo.get(r, -1) < leo
                   and now - self.last_caught_up[r] > self.lag_max]
        if lagging:
            self._propose_isr(tuple(r for r in self.isr if r not in lagging))

    def _propose_isr(self, new_isr: tuple) -> None:
        """AlterPartition to the controller; the ISR changes when the controller commits it."""
        broker = self.broker
        self.pending_isr = new_isr
        if broker.settings.broker.model_isr_write == "zookeeper" and \
                not broker.network.link_up(broker.node, broker.controller.node):
            self.isr_write_blocked = True  # Partition.maybeShrinkIsr waits for ZooKeeper under the write lock
        broker.replica_fetches.news(self.p)
        epochs = {r: broker.replica_fetches.broker_epoch(r) for r in new_isr if r != broker.id}
        controller = broker.controller
        broker.network.send(broker.node, controller.node, controller,
                            P.AlterPartition(broker.id, self.p, self.epoch, self.partition_epoch, new_isr, epochs))
        broker.deadlines.add(broker.env.now + ALTER_PARTITION_RETRY, broker.deliver, self._proposal_expired,
                             (new_isr,))

    def _proposal_expired(self, new_isr: tuple) -> None:
        if self.pending_isr == new_isr and not self.isr_write_blocked:  # a ZooKeeper write just waits
            self.pending_isr = None
            self.broker.replica_fetches.news(self.p)

    def on_isr_committed(self, state) -> None:
        """The controller's answer to our AlterPartition (None: refused, the metadata will tell why)."""
        broker = self.broker
        self.pending_isr = None
        broker.replica_fetches.news(self.p)
        self._release_isr_lock()
        if state is None:
            return
        if state.leader_epoch == self.epoch and state.partition_epoch > self.partition_epoch:
            self.isr = tuple(state.isr)
            self.partition_epoch = state.partition_epoch
            broker.trace.add(broker.env.now, "isr_applied", broker.id, self.p, tuple(state.isr))
            self.maybe_advance_hw()

    def _release_isr_lock(self) -> None:
        """The ZooKeeper write is answered (or leadership is gone): the waiting produce requests go on."""
        if not self.isr_write_blocked:
            return
        self.isr_write_blocked = False
        waiting, self.blocked_requests = self.blocked_requests, []
        for conn, req in waiting:
            self.broker.produce.resume(conn, req)

    def on_metadata(self, isr, partition_epoch: int) -> None:
        """A metadata update with a newer partition epoch while still leading: the ISR as committed."""
        self.isr = tuple(isr)
        self.partition_epoch = partition_epoch
        self.pending_isr = None
        self.broker.replica_fetches.news(self.p)
        self.maybe_advance_hw()
