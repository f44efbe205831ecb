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
        n = consumer.partitions
        self.assigned: tuple[int, ...] = ()
        self.positions: list[int | None] = [None] * n
        self.fetch_pos: list[int | None] = [None] * n
        self.buffer: list[deque] = [deque() for _ in range(n)]
        self.fetching: set[int] = set()  # brokers with a fetch outstanding
        # a broker whose connection failed is not asked again before reconnect.backoff.ms (ClusterConnectionStates)
        self.blocked_until: dict[int, float] = {}
        # KIP-320: the epoch of the last record consumed (-1: unknown, as after a reset or a committed offset),
        # and the leader epoch the position was last known good for
        self.position_epoch: list[int] = [-1] * n
        self.validated_epoch: list[int] = [-1] * n

    # -- assignment ---------------------------------------------------------------------------
    def assign(self, partitions, committed: dict) -> None:
        """New partitions: start at the committed offset, or where auto.offset.reset says."""
        self.assigned = tuple(sorted(partitions))
        for p in self.assigned:
            self.position_epoch[p] = -1
            if p in committed:
                self.positions[p] = self.fetch_pos[p] = committed[p]
            else:
                self._reset(p)

    def revoke_all(self) -> None:
        """Eager rebalance: every partition goes; fetched records are dropped."""
        for p in self.assigned:
            self.positions[p] = self.fetch_pos[p] = None
            self.buffer[p].clear()
        self.assigned = ()

    def _reset(self, p: int) -> None:
        reset = self.settings.auto_offset_reset
        self.positions[p] = None
        self.position_epoch[p] = -1
        self.buffer[p].clear()
        # "none": NoOffsetForPartitionException -- modelled as this partition never being read
        self.fetch_pos[p] = None if reset == "none" else (LATEST if reset == "latest" else EARLIEST)

    def consumed(self) -> dict:
        """Positions of the assigned partitions (what commitSync() / auto commit send)."""
        return {p: self.positions[p] for p in self.assigned if self.positions[p] is not None}

    # -- poll ------------------------------------------------------------------------------------
    def take(self, limit: int):
        """Up to `limit` fetched records; positions move past them now."""
        out = []
        for p in self.assigned:
            buf = self.buffer[p]
            while buf and limit > 0:
                batch, lo, hi = buf[0]
                n = min(hi - lo, limit)
                out.append((p, batch, lo, lo + n))
                if lo + n < hi:
                    buf[0] = (batch, lo + n, hi)
                else:
                    buf.popleft()
                limit -= n
                self.positions[p] = batch.base + lo + n
                self.position_epoch[p] = batch.epoch
            if limit == 0:
                break
        return out

    def idle(self) -> bool:
        return not any(self.buffer[p] for p in self.assigned)

    # -- fetching --------------------------------------------------------------------------------
    def send_fetches(self) -> None:
        c = self.c
        by_broker: dict[int, dict] = {}
        to_validate: dict[int, dict] = {}
        leaders, epochs = c.metadata.leaders, c.metadata.epochs
        for p in self.assigned:
            leader = leaders[p]
            if leader is not None and self._needs_validation(p, epochs[p]):
                self.buffer[p].clear()  # fetched from the old leader: not fetchable while awaiting validation
                self.fetch_pos[p] = self.positions[p]
                if leader not in self.fetching and self.blocked_until.get(leader, 0.0) <= self.env.now:
                    query = P.EpochQuery(epochs[p], self.position_epoch[p], self.positions[p])
                    to_validate.setdefault(leader, {})[p] = query
                continue
            pos = self.fetch_pos[p]
            if pos is None or self.buffer[p]:
                continue
            if leader is None:
                c.metadata.request_update()
                continue
            if leader in self.fetching or leader in to_validate or self.blocked_until.get(leader, 0.0) > self.env.now:
                continue
            self.validated_epoch[p] = epochs[p]  # the position holds for the leader it is fetched from
            by_broker.setdefault(leader, {})[p] = pos
        for b, parts in sorted(to_validate.items()):
            self.fetching.add(b)
            req = P.OffsetsForLeaderEpochRequest(c.node, parts, self, c, b)
            c.network.send(c.node, c.brokers[b].node, c.brokers[b], req)
            c.deadlines.add(self.env.now + self.settings.request_timeout, self._timed_out, req)
        for b, parts in sorted(by_broker.items()):
            broker = c.brokers[b]
            self.fetching.add(b)
            settings = self.settings
            req = P.ConsumerFetchRequest(c.node, parts, settings.max_partition_fetch_bytes, settings.fetch_max_bytes,
                                         settings.fetch_max_wait, settings.fetch_min_bytes, self.message_bytes, self, c,
                                         b, c.incarnation)
            c.network.send(c.node, broker.node, broker, req)
            c.deadlines.add(self.env.now + self.settings.request_timeout, self._timed_out, req)

    def _timed_out(self, req) -> None:
        if self.c.alive and not req.done:
            req.done = True
            self.fetching.discard(req.broker)
            self.c.metadata.request_update()
            self.c.wake()

    def on_disconnect(self, broker_id: int) -> None:
        """The connection failed or was refused: no fetch to that broker for reconnect.backoff.ms."""
        self.fetching.discard(broker_id)
        backoff = max(self.settings.reconnect_backoff, MIN_WAIT)
        self.blocked_until[broker_id] = self.env.now + backoff
        call_at(self.env, backoff, lambda _event: self.c.wake())

    # -- validating the position after a leader change (KIP-320) ------------------------------------
    def _needs_validation(self, p: int, leader_epoch: int) -> bool:
        """A new leader epoch since the position was last good, and a consumed record's epoch to ask about."""
        return (leader_epoch > self.validated_epoch[p] and self.position_epoch[p] >= 0
                and self.positions[p] is not None and self.settings.model_offset_validation)

    def on_epoch_end_offsets(self, response: P.OffsetsForLeaderEpochResponse) -> None:
        """SubscriptionState.maybeCompleteValidation: a position past the end of its epoch on the new leader
        was truncated away -- seek back to that end (any reset policy), or, with auto.offset.reset = none,
        LogTruncationException (modelled as the partition no longer being read)."""
        c, req = self.c, response.request
        if not c.alive or req.done:
            return
        req.done = True
        self.fetching.discard(req.broker)
        for p, result in sorted(response.parts.items()):
            query = req.parts[p]
            if p not in self.assigned or self.positions[p] != query.position:
                continue  # revoked or moved meanwhile: validated again if need be
            if result.__class__ is P.PartitionError:
                c.metadata.invalidate(p)
                continue
            if result.epoch < 0 or result.end < 0:  # undefined: the reset policy decides
                c.counters.offset_resets += 1
                self._reset(p)
                continue
            if result.end < query.position:
                c.counters.log_truncations += 1
                c.trace.add(self.env.now, "log_truncation", c.node, p, query.position, result.end)
                if self.settings.auto_offset_reset == "none":
                    self.positions[p] = self.fetch_pos[p] = None
                    continue
                self.positions[p] = self.fetch_pos[p] = result.end
                self.position_epoch[p] = result.epoch
            self.validated_epoch[p] = query.leader_epoch
        c.wake()

    def on_fetch(self, response: P.ConsumerFetchResponse) -> None:
        req, resp = response.request, response.parts
        if not self.c.alive or req.done:
            return
        req.done = True
        self.fetching.discard(req.broker)
        for p, result in sorted(resp.items()):
            if req.parts[p] != self.fetch_pos[p]:
                continue  # revoked, or the position moved meanwhile (reset): stale data
            kind = result.__class__
            if kind is P.ConsumerRecords:
                chunks = result.chunks
                if chunks:
                    read_below_hw(chunks, result.hw)
                    self.buffer[p].extend(chunks)
                    last = chunks[-1]
                    self.fetch_pos[p] = last[0].base + last[2]
            elif kind is P.ListedOffset:
                self.fetch_pos[p] = self.positions[p] = result.offset
            elif result.code == P.OFFSET_OUT_OF_RANGE:
                self.c.counters.offset_resets += 1  # truncation or an unclean election moved the log end back
                self._reset(p)
            else:
                self.c.metadata.invalidate(p)
        self.c.wake()
