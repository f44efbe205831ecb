"""Fetcher: the consumer's fetching side (Kafka's Fetcher plus SubscriptionState).

Per assigned partition it keeps the position (the next offset poll() hands out), the
fetch offset (the next offset to ask the leader for) and the fetched records not yet
returned. One FetchRequest per leader is outstanding at a time; the leader answers with
records below its high watermark once fetch.min.bytes are there, or after
fetch.max.wait.ms. A position of None means "not known yet": the partition waits for
its committed offset or for a ListOffsets answer (auto.offset.reset).
"""

from __future__ import annotations

from collections import deque

from .. import protocol as P
from ..invariants import read_below_hw
from ..timer import MIN_WAIT, call_at

LATEST, EARLIEST = -1, -2  # ListOffsets timestamps


class Fetcher:
    """Positions, fetch offsets and fetched records of one KafkaConsumer's assigned partitions."""

    def __init__(self, consumer):
        self.c = consumer
        self.env = consumer.env
        self.settings = consumer.settings
        self.message_bytes = consumer.app.group.message_bytes
        partitions = consumer.partitions
        self.assigned: tuple[int, ...] = ()
        self.positions: list[int | None] = [None] * partitions
        self.fetch_pos: list[int | None] = [None] * partitions
        self.buffer: list[deque] = [deque() for _ in range(partitions)]
        self.fetching: dict[int, object] = {}  # broker -> its outstanding fetch (or OffsetsForLeaderEpoch)
        # a broker whose connection failed is not asked again before reconnect.backoff.ms (ClusterConnectionStates)
        self.blocked_until: dict[int, float] = {}
        # KIP-320: the epoch of the last record consumed (-1: unknown, as after a reset or a committed offset),
        # and the leader epoch the position was last known good for
        self.position_epoch: list[int] = [-1] * partitions
        self.validated_epoch: list[int] = [-1] * partitions

    # -- assignment ---------------------------------------------------------------------------
    def assign(self, partitions, committed: dict) -> None:
        """New partitions: start at the committed offset, or where auto.offset.reset says."""
        self.assigned = tuple(sorted(partitions))
        for partition in self.assigned:
            self.position_epoch[partition] = -1
            if partition in committed:
                self.positions[partition] = self.fetch_pos[partition] = committed[partition]
            else:
                self._reset(partition)

    def revoke_all(self) -> None:
        """Eager rebalance: every partition goes; fetched records are dropped."""
        for partition in self.assigned:
            self.positions[partition] = self.fetch_pos[partition] = None
            self.buffer[partition].clear()
        self.assigned = ()

    def _reset(self, partition: int) -> None:
        reset = self.settings.auto_offset_reset
        self.positions[partition] = None
        self.position_epoch[partition] = -1
        self.buffer[partition].clear()
        # "none": NoOffsetForPartitionException -- modelled as this partition never being read
        self.fetch_pos[partition] = None if reset == "none" else (LATEST if reset == "latest" else EARLIEST)

    def consumed(self, unvalidated: bool = False) -> dict:
        """Positions of the assigned partitions (what commitSync() / auto commit send) -- but not those awaiting
        validation after a leader change: SubscriptionState.allConsumed takes valid positions only (a
        partition without a leader is not awaiting validation). unvalidated: every position."""
        leaders, epochs = self.c.metadata.leaders, self.c.metadata.epochs
        return {p: self.positions[p] for p in self.assigned if self.positions[p] is not None and (
            unvalidated or leaders[p] is None or not self._needs_validation(p, epochs[p]))}

    # -- poll ------------------------------------------------------------------------------------
    def take(self, limit: int):
        """Up to `limit` fetched records; positions move past them now."""
        out = []
        for partition in self.assigned:
            buf = self.buffer[partition]
            while buf and limit > 0:
                batch, lo, hi = buf[0]
                count = min(hi - lo, limit)
                out.append((partition, batch, lo, lo + count))
                if lo + count < hi:
                    buf[0] = (batch, lo + count, hi)
                else:
                    buf.popleft()
                limit -= count
                self.positions[partition] = batch.base + lo + count
                self.position_epoch[partition] = batch.epoch
            if limit == 0:
                break
        return out

    def idle(self) -> bool:
        return not any(self.buffer[p] for p in self.assigned)

    # -- fetching --------------------------------------------------------------------------------
    def send_fetches(self) -> None:
        consumer = self.c
        by_broker: dict[int, dict] = {}
        to_validate: dict[int, dict] = {}
        leaders, epochs = consumer.metadata.leaders, consumer.metadata.epochs
        for partition in self.assigned:
            leader = leaders[partition]
            if leader is not None and self._needs_validation(partition, epochs[partition]):
                self.buffer[partition].clear()  # fetched from the old leader: not fetchable while awaiting validation
                self.fetch_pos[partition] = self.positions[partition]
                if leader not in self.fetching and self.blocked_until.get(leader, 0.0) <= self.env.now:
                    query = P.EpochQuery(epochs[partition], self.position_epoch[partition], self.positions[partition])
                    to_validate.setdefault(leader, {})[partition] = query
                continue
            pos = self.fetch_pos[partition]
            if pos is None or self.buffer[partition]:
                continue
            if leader is None:
                consumer.metadata.request_update()
                continue
            if leader in self.fetching or leader in to_validate or self.blocked_until.get(leader, 0.0) > self.env.now:
                continue
            self.validated_epoch[partition] = epochs[partition]  # the position holds for the leader it is fetched from
            by_broker.setdefault(leader, {})[partition] = pos
        for broker_id, parts in sorted(to_validate.items()):
            self._send(broker_id, P.OffsetsForLeaderEpochRequest(consumer.node, parts, self, consumer, broker_id))
        settings = self.settings
        for broker_id, parts in sorted(by_broker.items()):
            self._send(broker_id, P.ConsumerFetchRequest(
                consumer.node, parts, settings.max_partition_fetch_bytes, settings.fetch_max_bytes,
                settings.fetch_max_wait, settings.fetch_min_bytes, self.message_bytes, self, consumer, broker_id,
                consumer.incarnation))

    def _send(self, broker_id: int, req) -> None:
        """A fetch or OffsetsForLeaderEpoch to a broker: outstanding until answered, refused, reset or timed out."""
        consumer = self.c
        self.fetching[broker_id] = req
        broker = consumer.brokers[broker_id]
        consumer.network.send(consumer.node, broker.node, broker, req)
        req.deadline = consumer.deadlines.add(self.env.now + self.settings.request_timeout, self._timed_out, req)

    def _finished(self, req) -> None:
        """A request answered, refused, reset or timed out: no longer outstanding, its timeout not needed."""
        req.done = True
        req.deadline.cancel()
        if self.fetching.get(req.broker) is req:
            del self.fetching[req.broker]

    def _timed_out(self, req) -> None:
        if self.c.alive and not req.done:
            self._finished(req)
            self.c.metadata.request_update()
            self.c.wake()

    def on_disconnect(self, broker_id: int) -> None:
        """The connection failed or was refused: the request on it failed (its timeout is not needed), and
        no fetch goes to that broker for reconnect.backoff.ms."""
        req = self.fetching.get(broker_id)
        if req is not None:  # (an outstanding request is never done)
            self._finished(req)
        backoff = max(self.settings.reconnect_backoff, MIN_WAIT)
        self.blocked_until[broker_id] = self.env.now + backoff
        call_at(self.env, backoff, lambda _event: self.c.wake())

    # -- validating the position after a leader change (KIP-320) ------------------------------------
    def _needs_validation(self, partition: int, leader_epoch: int) -> bool:
        """A new leader epoch since the position was last good, and a consumed record's epoch to ask about."""
        return (leader_epoch > self.validated_epoch[partition] and self.position_epoch[partition] >= 0
                and self.positions[partition] is not None and self.settings.model_offset_validation)

    def on_epoch_end_offsets(self, response: P.OffsetsForLeaderEpochResponse) -> None:
        """SubscriptionState.maybeCompleteValidation: a position past the end of its epoch on the new leader
        was truncated away -- seek back to that end (any reset policy), or, with auto.offset.reset = none,
        LogTruncationException (modelled as the partition no longer being read)."""
        consumer, req = self.c, response.request
        if not consumer.alive or req.done:
            return
        self._finished(req)
        for partition, result in sorted(response.parts.items()):
            query = req.parts[partition]
            if partition not in self.assigned or self.positions[partition] != query.position:
                continue  # revoked or moved meanwhile: validated again if need be
            if result.__class__ is P.PartitionError:
                consumer.metadata.invalidate(partition)
                continue
            if result.epoch < 0 or result.end < 0:  # undefined: the reset policy decides
                consumer.counters.offset_resets += 1
                self._reset(partition)
                continue
            if result.end < query.position:
                consumer.counters.log_truncations += 1
                consumer.trace.add(self.env.now, "log_truncation", consumer.node, partition, query.position, result.end)
                if self.settings.auto_offset_reset == "none":
                    self.positions[partition] = self.fetch_pos[partition] = None
                    continue
                self.positions[partition] = self.fetch_pos[partition] = result.end
                self.position_epoch[partition] = result.epoch
            self.validated_epoch[partition] = query.leader_epoch
        consumer.wake()

    def on_fetch(self, response: P.ConsumerFetchResponse) -> None:
        req, resp = response.request, response.parts
        if not self.c.alive or req.done:
            return
        self._finished(req)
        for partition, result in sorted(resp.items()):
            if req.parts[partition] != self.fetch_pos[partition]:
                continue  # revoked, or the position moved meanwhile (reset): stale data
            kind = result.__class__
            if kind is P.ConsumerRecords:
                chunks = result.chunks
                if chunks:
                    read_below_hw(chunks, result.hw)
                    self.buffer[partition].extend(chunks)
                    last = chunks[-1]
                    self.fetch_pos[partition] = last[0].base + last[2]
            elif kind is P.ListedOffset:
                self.fetch_pos[partition] = self.positions[partition] = result.offset
            elif result.code == P.OFFSET_OUT_OF_RANGE:
                self.c.counters.offset_resets += 1  # truncation or an unclean election moved the log end back
                self._reset(partition)
            else:
                self.c.metadata.invalidate(partition)
        self.c.wake()
