"""Sender: the producer's I/O thread (Kafka's Sender + the NetworkClient it drives).

It drains ready batches into ProduceRequests, at most one batch per partition per request
and at most `max.in.flight.requests.per.connection` requests per broker; handles the
responses (success, retriable errors with exponential backoff, fatal errors); closes a
connection whose request passed `request.timeout.ms`; and expires batches, queued or in
flight, once `delivery.timeout.ms` has passed since they were created.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque

from .. import protocol as P
from ..ledger import F_DELIVERY_TIMEOUT, F_FATAL, F_RETRIES_EXHAUSTED
from ..records import batch_bytes
from ..timer import Alarm
from .batch import DONE, IN_FLIGHT, QUEUED, ProducerBatch

DISCONNECTED, CONNECTING, CONNECTED = 0, 1, 2
SYN_RTO = 1.0  # Linux's initial TCP retransmission timeout: a lost SYN is sent again after 1, 2, 4 ... s
MAX_DOUBLINGS = 62  # ExponentialBackoff caps its exponent; past 2**62 times any base the maximum applies anyway


class Sender:
    """The loop that moves batches from the accumulator to the brokers and back."""

    def __init__(self, producer):
        self.producer = producer
        self.env = producer.env
        self.acc = producer.accumulator
        self.metadata = producer.metadata
        self.settings = settings = producer.settings
        # read on every pass of the loop: kept as plain attributes under the keys' own names
        self.acks = settings.acks
        self.max_in_flight = settings.max_in_flight_requests_per_connection
        self.request_timeout = settings.request_timeout
        self.message_bytes = producer.message_bytes
        n_brokers = len(producer.brokers)
        self.inflight: list[deque] = [deque() for _ in range(n_brokers)]
        self.conn = [0] * n_brokers  # connection generation per broker
        self.conn_seq = [0] * n_brokers  # produce requests sent on the current connection
        self.link = [DISCONNECTED] * n_brokers
        self.reconnect_at = [-math.inf] * n_brokers
        self.connect_deadline = [math.inf] * n_brokers
        self.connect_failures = [0] * n_brokers
        self.syn_next = [math.inf] * n_brokers
        self.syn_rto = [SYN_RTO] * n_brokers
        self.tcp_unacked: list[deque] = [deque() for _ in range(n_brokers)]  # acks=0: (sent_at, bytes)
        self.tcp_bytes = [0] * n_brokers
        self.muted: set[int] = set()  # partitions with a batch in flight when max.in.flight == 1
        self.drain_index = [0] * n_brokers
        self.stalled = [False] * n_brokers  # ready data, yet the last drain took nothing (idempotent retry)
        self._by_node: dict[int, list[int]] = {}
        self._by_node_version = -1
        self.idem = producer.idempotence  # IdempotenceManager, or None
        self.alarm = Alarm(self.env)
        self.rid = 0
        self.counters = producer.counters

    # -- the loop --------------------------------------------------------------------
    def run(self):
        producer = self.producer
        env = self.env
        while producer.alive:
            now = env.now
            self.acc.catch_up(now)
            self._expire(now)
            self._check_request_timeouts(now)
            self._check_connect_timeouts(now)
            if self.idem is not None:  # Sender.runOnce: resolve sequences, bump the epoch if needed
                self.idem.maybe_resolve()
                if self.idem.bump_if_needed():
                    self.counters.epoch_bumps += 1
            self._send_ready(now)
            if producer.closing and self._idle():
                producer.closed.succeed()
                return
            yield self.alarm.wait(self._next_wakeup(now))

    def wakeup(self) -> None:
        self.alarm.notify()

    def _idle(self) -> bool:
        """Nothing left to send or to hear about; with acks=0, every byte written reached the broker."""
        return self.acc.idle() and not any(self.inflight) and not any(self.tcp_unacked)

    # -- sending ---------------------------------------------------------------------
    def _node_partitions(self) -> dict[int, list[int]]:
        """Every partition each broker leads, as the metadata says (rebuilt only when a leader moves)."""
        md = self.metadata
        if self._by_node_version != md.version:
            by_node: dict[int, list[int]] = {}
            for partition, leader in enumerate(md.leaders):
                if leader is not None:
                    by_node.setdefault(leader, []).append(partition)
            self._by_node, self._by_node_version = by_node, md.version
        return self._by_node

    def _queued_by_node(self) -> dict[int, list[int]]:
        """The partitions with queued batches, per leader (a partition without one asks for metadata)."""
        leaders = self.metadata.leaders
        by_node: dict[int, list[int]] = {}
        missing = False
        for partition in self.acc.queued_partitions():
            leader = leaders[partition]
            if leader is None:
                missing = True
            else:
                by_node.setdefault(leader, []).append(partition)
        if missing:
            self.metadata.request_update()
        return by_node

    def _send_ready(self, now: float) -> None:
        acc = self.acc
        for node, parts in sorted(self._queued_by_node().items()):
            if self.link[node] != CONNECTED:
                if any(acc.head_ready_at(p, now) <= now and p not in self.muted for p in parts):
                    self._connect(node, now)  # NetworkClient.ready() starts connecting
                continue
            self.stalled[node] = False
            while len(self.inflight[node]) < self.max_in_flight and self._writable(node) and any(
                    acc.head_ready_at(p, now) <= now and self._drainable(p, now) for p in parts):
                batches = self._drain(node, self._node_partitions()[node], parts, now)
                if not batches:
                    self.stalled[node] = True  # wait for a response, not in a busy loop as Kafka's sender does
                    break
                self._send(node, batches, now)

    def _drainable(self, partition: int, now: float) -> bool:
        """Could p's head batch go into a request now (whatever linger says)?"""
        dq = self.acc.deques[partition]
        return bool(dq) and partition not in self.muted and not self.acc.backing_off(partition, now) \
            and (self.idem is None or not self.idem.should_stop_drain(dq[0]))

    def _drain(self, node: int, parts: list[int], queued: list[int], now: float) -> list[ProducerBatch]:
        """RecordAccumulator.drainBatchesForOneNode: each partition's head batch, round robin from
        where the last drain stopped, up to max.request.size (a single larger batch goes alone).
        parts: every partition the node leads; queued: those of them with a queued batch (both in
        partition order)."""
        acc = self.acc
        out: list[ProducerBatch] = []
        size = 0
        count = len(parts)
        start = self.drain_index[node] % count
        # Only partitions with a queued batch can give one: walking just those, in the same cyclic
        # order from `start`, drains exactly what walking every partition of the node would.
        positions = [bisect_left(parts, partition) for partition in queued]
        first = bisect_left(positions, start)
        for pos in positions[first:] + positions[:first]:
            partition = parts[pos]
            self.drain_index[node] = pos
            dq = acc.deques[partition]
            if partition in self.muted or not dq or acc.backing_off(partition, now):
                continue
            nbytes = batch_bytes(dq[0].count, self.message_bytes)
            if out and size + nbytes > self.settings.max_request_size:
                break
            if self.idem is not None and self.idem.should_stop_drain(dq[0]):
                break
            batch = acc.pop_head(partition)
            if self.idem is not None and batch.base_seq is None:
                self.idem.assign(batch)  # producer id, epoch and sequence stamped at the first drain
            if self.max_in_flight == 1:
                self.muted.add(partition)  # guaranteeMessageOrder: nothing more for `partition` until the response
            out.append(batch)
            size += nbytes
        else:
            self.drain_index[node] = (start + count - 1) % count  # a full cycle ends just before where it began
        return out

    def _send(self, node: int, batches: list[ProducerBatch], now: float) -> None:
        producer = self.producer
        self.rid += 1
        req = P.ProduceRequest(self.rid, producer.node, self.conn[node], node,
                               [P.WireBatch(batch) for batch in batches],
                               self.acks, self.request_timeout, now, self, self.conn_seq[node])
        self.conn_seq[node] += 1
        broker = producer.brokers[node]
        producer.network.send(producer.node, broker.node, broker, req)
        counters = self.counters
        counters.requests += 1
        counters.batches_sent += len(batches)
        counters.records_sent += sum(batch.count for batch in batches)
        if self.acks == "0":  # no response: the batch succeeds once written to the socket
            nbytes = sum(batch_bytes(batch.count, self.message_bytes) for batch in batches)
            self.tcp_unacked[node].append((now, nbytes))
            self.tcp_bytes[node] += nbytes
            req.tcp_ack = True
            for batch in batches:
                self._succeed(batch, now)
            return
        for batch in batches:
            batch.state = IN_FLIGHT
        self.inflight[node].append(req)

    # -- responses -------------------------------------------------------------------
    def on_produce_response(self, response: P.ProduceResponse) -> None:
        """One error code (None = success) per batch of the request."""
        req, results = response.request, response.results
        if not self.producer.alive or req.conn != self.conn[req.broker]:
            return  # the connection was closed: the reply is never read
        reqs = self.inflight[req.broker]
        if not reqs or reqs[0] is not req:
            return  # an earlier response was lost: on one TCP stream nothing overtakes it (the request times out)
        full = len(reqs) >= self.max_in_flight
        acc = self.acc
        waiting = acc.blocked is not None or bool(acc.flushes)  # completions can end send()'s wait
        reqs.popleft()
        now = self.env.now
        for wire, err in zip(req.batches, results, strict=True):
            self._complete(wire.batch, err, now)
        if full or waiting or not self._quiet(req, results):
            self.alarm.notify()

    def _quiet(self, req: P.ProduceRequest, results) -> bool:
        """Could this response change what the loop sends, or when? A plain success with a free
        in-flight slot before it, while send() was not waiting for memory or a flush, cannot: the
        loop keeps its wake-up time (Kafka's sender handles every response in its own poll; this
        saves a pass of the loop that would send nothing)."""
        acc = self.acc
        if self.stalled[req.broker] or self.max_in_flight == 1 or acc.blocked is not None or acc.closing \
                or acc.flushes or any(err is not None for err in results):
            return False
        idem = self.idem
        if idem is not None and (idem.unresolved or idem.bump_required or idem.to_rewrite):
            return False
        deques = acc.deques
        for wire in req.batches:
            partition = wire.batch.partition
            dq = deques[partition]
            if dq and dq[0].attempts > 0:
                return False  # a retry may have waited for this batch's sequence
            if idem is not None and idem.entry(partition).epoch != idem.epoch:
                return False  # batches of the new epoch waited for the old ones
        return True

    def on_refused(self, refused: P.Refused) -> None:
        """A connection attempt or a request was refused (no broker process), or an acks=0 error closed it."""
        self.on_disconnect(refused.broker)

    def on_disconnect(self, node: int) -> None:
        """The connection was reset or refused (process died, or an acks=0 error)."""
        if self.producer.alive and self.link[node] != DISCONNECTED:
            self._disconnect(node, self.env.now)
            self.alarm.notify()

    # -- connections -------------------------------------------------------------------
    def _writable(self, node: int) -> bool:
        """acks=0: the socket takes more only while unacknowledged bytes fit send.buffer.bytes."""
        return self.tcp_bytes[node] < self.settings.send_buffer_bytes

    def on_tcp_ack(self, ack: P.TcpAck) -> None:
        node, conn = ack.broker, ack.conn
        if not self.producer.alive or conn != self.conn[node] or not self.tcp_unacked[node]:
            return
        _t, nbytes = self.tcp_unacked[node].popleft()
        self.tcp_bytes[node] -= nbytes
        self.alarm.notify()

    def _connect(self, node: int, now: float) -> None:
        if self.link[node] != DISCONNECTED or now < self.reconnect_at[node]:
            return
        self.link[node] = CONNECTING
        self.conn[node] += 1
        self.conn_seq[node] = 0
        settings = self.settings
        timeout = min(settings.socket_connection_setup_timeout_max,
                      settings.socket_connection_setup_timeout * 2 ** min(self.connect_failures[node], MAX_DOUBLINGS))
        self.connect_deadline[node] = now + timeout
        self.syn_rto[node] = SYN_RTO
        self._send_syn(node, now)

    def _send_syn(self, node: int, now: float) -> None:
        self.syn_next[node] = now + self.syn_rto[node]
        self.syn_rto[node] *= 2
        broker = self.producer.brokers[node]
        self.producer.network.send(self.producer.node, broker.node, broker,
                                   P.ConnectRequest(self.producer.node, self.conn[node], self))

    def on_connected(self, connected: P.Connected) -> None:
        node, conn = connected.broker, connected.conn
        if not self.producer.alive or self.link[node] != CONNECTING or conn != self.conn[node]:
            return
        self.link[node] = CONNECTED
        self.connect_failures[node] = 0
        self.connect_deadline[node] = math.inf
        self.alarm.notify()

    def _check_connect_timeouts(self, now: float) -> None:
        for node, deadline in enumerate(self.connect_deadline):
            if self.link[node] != CONNECTING:
                continue
            if deadline <= now:
                self._disconnect(node, now)
            elif self.syn_next[node] <= now:
                self._send_syn(node, now)

    def _complete(self, batch: ProducerBatch, err, now: float) -> None:
        """Sender.completeBatch: success, retry, or failure -- at most one callback per batch."""
        self.muted.discard(batch.partition)
        idem = self.idem
        if err is None:
            if idem is not None:
                idem.completed(batch)
            if batch.state == DONE:
                self.counters.late_successes += 1  # already expired: the callback is not called again
                return
            self._succeed(batch, now)
            return
        if err in P.METADATA_ERRORS:  # InvalidMetadataException: refresh, keep using the cached leader meanwhile
            self.metadata.request_update()
        if self._can_retry(batch, err, now):
            batch.state = QUEUED
            self.acc.reenqueue(batch, now, self._backoff(batch.attempts + 1), in_sequence_order=idem is not None)
            self.counters.retries += 1
            return
        if idem is not None:  # its sequence is burnt: restart the partition's sequences
            idem.failed(batch, err == P.OUT_OF_ORDER_SEQUENCE_NUMBER, batch.attempts < self.settings.retries)
        if batch.state == DONE:
            return
        if err not in P.RETRIABLE and not (idem is not None and err == P.OUT_OF_ORDER_SEQUENCE_NUMBER):
            cause = F_FATAL
        elif now >= batch.deadline:
            cause = F_DELIVERY_TIMEOUT
        else:
            cause = F_RETRIES_EXHAUSTED
        self._fail(batch, cause, now)

    def _can_retry(self, batch: ProducerBatch, err, now: float) -> bool:
        """Sender.canRetry: not past delivery.timeout.ms, attempts left, not done, and a retriable error."""
        if now >= batch.deadline or batch.attempts >= self.settings.retries or batch.state == DONE:
            return False
        return self.idem.can_retry(err, batch) if self.idem is not None else err in P.RETRIABLE

    def _backoff(self, attempts: int) -> float:
        """retry.backoff.ms doubling per attempt up to retry.backoff.max.ms, with +-20% jitter."""
        settings = self.settings
        base = settings.retry_backoff * (2 ** min(attempts - 1, MAX_DOUBLINGS))
        jitter = self.producer.rng.uniform(0.8, 1.2)
        return min(settings.retry_backoff_max, base * jitter) if settings.retry_backoff_max > 0 else base * jitter

    def _succeed(self, batch: ProducerBatch, now: float) -> None:
        batch.state = DONE
        batch.acked = True
        self.producer.ledger.ack(batch.ids, now)
        self.acc.release(batch, now)

    def _fail(self, batch: ProducerBatch, cause: int, now: float) -> None:
        batch.state = DONE
        batch.failed = True
        self.producer.ledger.fail_send(batch.ids, self.producer.callback_checked, cause)
        self.acc.release(batch, now)
        if cause == F_DELIVERY_TIMEOUT:
            self.counters.expired_batches += 1
        else:
            self.counters.failed_batches += 1
        self.producer.report_failure(batch.ids, cause, batch.partition)

    # -- timeouts ----------------------------------------------------------------------
    def _expire(self, now: float) -> None:
        """delivery.timeout.ms since creation, queued or in flight (the request stays outstanding)."""
        expired = [wire.batch for reqs in self.inflight for req in reqs for wire in req.batches
                   if wire.batch.state != DONE and wire.batch.deadline <= now]
        for batch in expired + self.acc.expire_queued(now):
            if batch.state == DONE:
                continue  # the same batch twice in flight (an older request still outstanding)
            if self.idem is not None:
                self.idem.expired(batch)  # a retried batch leaves its partition unresolved
            self._fail(batch, F_DELIVERY_TIMEOUT, now)

    def _check_request_timeouts(self, now: float) -> None:
        for node, reqs in enumerate(self.inflight):
            # deadlines are compared exactly as _next_wakeup computes them (no float drift)
            if reqs and reqs[0].sent_at + self.request_timeout <= now:
                self.counters.request_timeouts += 1
                self._disconnect(node, now)
            elif self.tcp_unacked[node] and self.tcp_unacked[node][0][0] + self.request_timeout <= now:
                self.counters.request_timeouts += 1  # acks=0: the socket has been stuck that long
                self._disconnect(node, now)

    def _disconnect(self, node: int, now: float) -> None:
        """NetworkClient closes the connection: every request on it fails as retriable."""
        if self.link[node] == CONNECTING:
            self.connect_failures[node] += 1
            self.counters.connect_failures += 1
        else:
            self.counters.disconnects += 1
        self.link[node] = DISCONNECTED
        self.connect_deadline[node] = math.inf
        settings = self.settings
        jitter = self.producer.rng.uniform(0.8, 1.2)
        backoff = min(settings.reconnect_backoff_max,
                      settings.reconnect_backoff * 2 ** min(self.connect_failures[node], MAX_DOUBLINGS)) * jitter
        self.reconnect_at[node] = now + backoff
        closed = self.conn[node]
        self.conn[node] += 1
        self.tcp_unacked[node].clear()  # whatever sat in the socket buffer is gone
        self.tcp_bytes[node] = 0
        reqs = list(self.inflight[node])
        self.inflight[node].clear()
        producer = self.producer
        broker = producer.brokers[node]
        producer.network.send(producer.node, broker.node, broker, P.CloseConnection(producer.node, closed))
        for req in reqs:
            for wire in req.batches:
                self._complete(wire.batch, P.NETWORK_EXCEPTION, now)
        self.metadata.request_update()

    def _next_wakeup(self, now: float) -> float:
        acc = self.acc
        wake_at = acc.next_change(now)
        wake_at = min(wake_at, acc.next_deadline(), acc.blocked_deadline())
        leaders = self.metadata.leaders
        idem = self.idem
        deques = acc.deques
        for partition in acc.queued_partitions():
            dq = deques[partition]
            if partition not in self.muted and (idem is None or not idem.should_stop_drain(dq[0])):
                leader = leaders[partition]
                if leader is None:
                    continue
                link = self.link[leader]
                if link == CONNECTED and len(self.inflight[leader]) < self.max_in_flight and self._writable(leader):
                    ready = acc.head_ready_at(partition, now)
                    if ready > now or not self.stalled[leader]:
                        wake_at = min(wake_at, ready)
                elif link == DISCONNECTED:
                    wake_at = min(wake_at, max(acc.head_ready_at(partition, now), self.reconnect_at[leader]))
        for node, link in enumerate(self.link):
            if link == CONNECTING:
                wake_at = min(wake_at, self.connect_deadline[node], self.syn_next[node])
        for unacked in self.tcp_unacked:
            if unacked:
                wake_at = min(wake_at, unacked[0][0] + self.request_timeout)
        for reqs in self.inflight:
            if reqs:
                wake_at = min(wake_at, reqs[0].sent_at + self.request_timeout)
                for req in reqs:
                    first = req.first_deadline  # the earliest delivery deadline of its batches (fixed)
                    if first >= wake_at:
                        continue
                    if first > now:
                        wake_at = first  # (a batch already completed elsewhere only makes this wake early)
                        continue
                    for wire in req.batches:
                        if wire.batch.state != DONE:
                            wake_at = min(wake_at, wire.batch.deadline)
        return wake_at

    # -- crash ---------------------------------------------------------------------------
    def abort(self) -> list[ProducerBatch]:
        """The process died: in-flight batches are in doubt."""
        out = [w.batch for reqs in self.inflight for req in reqs for w in req.batches if w.batch.state != DONE]
        for reqs in self.inflight:
            reqs.clear()
        return out
