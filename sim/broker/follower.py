"""Follower: a broker's follower role -- the partitions it follows, the fetchers pulling them from each
leader broker, and what it does with the answers (ReplicaManager.makeFollowers and
ReplicaFetcherThread.processPartitionData / truncate).

Fetched batches are appended and the leader's HW taken as far as the log reaches; a divergence
reported by the leader (KIP-101/279/320) or an offset out of range (an unclean election, or a
leader that truncated) makes the follower truncate and fetch again. Before KIP-101 (Kafka < 0.11,
broker.model.truncation = high-watermark) a replica that starts following a new leader epoch
truncates to its own HW first.

Before KIP-320 (Kafka < 2.1, broker.model.replica.fetch.fencing = false) a follower checks for a
divergence only when it learns of a new leader, or of an epoch more than one past its last
(OffsetsForLeaderEpoch, KIP-101/279; Partition.makeFollower with KAFKA-7164, 2.0.1): its fetches name
the epoch of its last record until the leader answers without a divergence, then none -- a
follower that missed a leader change fetches on unchecked.
"""

from __future__ import annotations

from ..ledger import GONE_TRUNCATED, GONE_UNCLEAN
from ..protocol import Diverging, OutOfRange, PartitionError
from .fetcher import ReplicaFetcher


class Follower:
    """This broker's partitions as a follower: which leader each follows, and the fetchers."""

    def __init__(self, broker):
        self.broker = broker
        self.env = broker.env
        self.hw_truncation = broker.settings.broker.model_truncation == "high-watermark"
        self.fencing = bool(broker.settings.broker.model_replica_fetch_fencing)
        self.sessions_started = 0  # ids for this broker's fetch sessions, unique across restarts
        self.reset()

    def reset(self) -> None:
        """A new broker process follows nothing yet."""
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self.following: dict[int, int] = {}  # partition -> leader it fetches from
        self.followed_epoch: dict[int, int] = {}  # partition -> leader epoch it last followed
        self.truncating: dict[int, int] = {}  # before KIP-320: partition -> new epoch whose divergence check is to do

    def stop(self) -> None:
        for fetcher in self.fetchers.values():
            fetcher.stop()

    def next_session_id(self) -> int:
        self.sessions_started += 1
        return self.sessions_started

    # -- which leader, in which epoch -----------------------------------------------------------
    def follow(self, partition: int, leader, leader_epoch: int) -> None:
        previous = self.following.get(partition)
        if previous != leader:
            self.unfollow(partition)
        if leader is None:
            return
        old_epoch = self.followed_epoch.get(partition)
        if self.hw_truncation and old_epoch != leader_epoch:
            # before KIP-101 (Kafka < 0.11) a new follower truncated its log to its own HW
            self._truncate(partition, self.broker.logs[partition].hw, GONE_TRUNCATED)
        if not self.fencing and old_epoch != leader_epoch and \
                (previous != leader or old_epoch is None or leader_epoch > old_epoch + 1):
            # Partition.makeFollower (2.0.1+, KAFKA-7164): the same leader one epoch on missed nothing
            self.truncating[partition] = leader_epoch
        self.followed_epoch[partition] = leader_epoch
        fetcher = self.fetchers.get(leader)
        if fetcher is None or not fetcher.running:
            fetcher = self.fetchers[leader] = ReplicaFetcher(self.broker, leader)
        fetcher.add(partition, leader_epoch)
        self.following[partition] = leader

    def unfollow(self, partition: int) -> None:
        leader = self.following.pop(partition, None)
        if leader is not None and leader in self.fetchers:
            fetcher = self.fetchers[leader]
            fetcher.remove(partition)
            if not fetcher.running:
                del self.fetchers[leader]

    def on_connection_reset(self, leader: int, incarnation: int) -> None:
        fetcher = self.fetchers.get(leader)
        if fetcher is not None:
            fetcher.on_disconnect(incarnation)

    def fetch_epoch(self, partition: int) -> int:
        """The epoch of the partition's last record as a fetch names it: -1 = none, so the leader cannot
        spot a divergence (before KIP-101 always; before KIP-320 once the new epoch's check is done)."""
        if self.hw_truncation or not (self.fencing or partition in self.truncating):
            return -1
        return self.broker.logs[partition].latest_epoch

    # -- answers -----------------------------------------------------------------------------
    def apply_fetch_response(self, fetcher: ReplicaFetcher, resp: dict) -> tuple[bool, float]:
        """Append fetched batches or truncate: (an error asks for a backoff, time blocked in fsync)."""
        broker = self.broker
        now = self.env.now
        backoff = False
        blocked = 0.0
        page_cache = broker.page_cache
        for partition, result in sorted(resp.items()):
            if fetcher.parts.get(partition) is None or partition in broker.leading:
                continue
            log = broker.logs[partition]
            kind = result.__class__
            if kind is PartitionError:
                backoff = True
            elif kind is Diverging:
                self._truncate(partition, log.truncation_point(result.epoch, result.end),
                               self._truncation_cause(partition))
            elif kind is OutOfRange:
                # the leader's log ends before ours (an unclean election, or an old-style truncation)
                self._truncate(partition, result.leo, self._truncation_cause(partition))
            else:
                if self.truncating:  # (only ever filled without fencing)
                    self._check_done(fetcher, partition)
                for batch in result.batches:
                    if batch.base == log.leo:
                        if batch.gone:  # written again after a replica lost it: that loss is repaired
                            broker.ledger.clear_gone(batch.ids)
                        log.append(batch, now)
                        blocked += page_cache.on_append(log, now)
                    elif batch.base > log.leo:
                        break
                log.follow_hw(result.hw)
        return backoff, blocked

    def _check_done(self, fetcher: ReplicaFetcher, partition: int) -> None:
        """A data answer: if the fetch it answers carried the due divergence check, the leader found none."""
        sent = fetcher.sent.get(partition)
        if sent is not None and sent.last_epoch >= 0 and self.truncating.get(partition) == sent.leader_epoch:
            del self.truncating[partition]

    def _truncation_cause(self, partition: int) -> int:
        """For the accounting only: is the leader we truncate to the product of an unclean election?"""
        unclean = self.broker.ctx.controller.was_unclean(partition, self.followed_epoch.get(partition, -1))
        return GONE_UNCLEAN if unclean else GONE_TRUNCATED

    def _truncate(self, partition: int, offset: int, why: int) -> None:
        broker = self.broker
        removed = broker.logs[partition].truncate_to(offset)
        fetcher = self.fetchers.get(self.following.get(partition))
        if fetcher is not None:
            fetcher.touch(partition)
        broker.counters.truncated_records += broker.forget_removed(partition, removed, why, "truncate", offset)
