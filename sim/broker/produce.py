"""ProduceHandler: a broker's answer to produce requests (KafkaApis.handleProduceRequest and
ReplicaManager.appendRecords), with the acks=all purgatory (DelayedProduce).

One request at a time per client connection: Kafka reads the next request from a socket only
once the previous one is answered. Each batch of a request is checked (leadership, the min ISR
for acks=all, the idempotent producer's sequence) and appended to the leader's log; acks=1 and
acks=0 are answered at once, acks=all once the HW passes the batch or request.timeout.ms ends
its wait. A flush.messages fsync in the append path delays the response.
"""

from __future__ import annotations

from collections import deque

from .. import protocol as P
from ..timer import LazyTimer
from .producer_state import DUPLICATE, FENCED, OUT_OF_ORDER
from .replica_log import LogBatch


class _Waiting:
    __repr__ = lambda self: "WAITING"  # noqa: E731


WAITING = _Waiting()  # the result of a batch still waiting for the HW


class DelayedProduce:
    """An acks=all ProduceRequest waiting for replication (Kafka's DelayedProduce)."""

    __slots__ = ("req", "results", "pending", "deadline", "handler", "responded")

    def __init__(self, req, results, pending, handler):
        self.responded = False
        self.req = req
        self.results = results
        self.pending = pending
        self.deadline = None
        self.handler = handler

    def complete_one(self, index: int, error) -> None:
        if self.results[index] is not WAITING:
            return
        self.results[index] = error
        self.pending -= 1
        if self.pending == 0:
            if self.deadline is not None:
                self.deadline.cancel()
            self.responded = True
            self.handler.respond(self.req, self.results)

    def expire(self) -> None:
        """request.timeout.ms passed in purgatory: REQUEST_TIMED_OUT, the data stays appended."""
        for index, result in enumerate(self.results):
            if result is WAITING:
                self.results[index] = P.REQUEST_TIMED_OUT
        self.pending = 0
        self.responded = True
        self.handler.respond(self.req, self.results)


class ProduceHandler:
    """Produce requests on one broker: checks, appends, responses, the acks=all purgatory."""

    def __init__(self, broker):
        self.broker = broker
        self.env = broker.env
        self.zookeeper_isr_write = broker.settings.broker.model_isr_write == "zookeeper"
        self.reset()

    def reset(self) -> None:
        """A new broker process: nothing waits, nothing blocks."""
        self.fsync_block = 0.0  # the append path's fsync time in the request being handled
        self.response_not_before: dict = {}  # produce request -> when its fsyncs finish
        # acks=all requests in purgatory, in arrival order, with the time request.timeout.ms runs out
        self.purgatory: deque = deque()
        self.purgatory_timer = timer = LazyTimer(self.env, lambda: self._expire_purgatory(timer))

    # -- requests ------------------------------------------------------------------------
    def on_produce(self, req: P.ProduceRequest) -> None:
        conn = self.broker.conns.get(req.src)
        if conn is None or conn.gen != req.conn:
            return  # not the connection it was sent on: that one was closed
        if not conn.in_stream(req):
            return
        if conn.busy:
            conn.queue.append(req)
            return
        self._handle(conn, req)

    def _handle(self, conn, req: P.ProduceRequest) -> None:
        broker = self.broker
        conn.busy = True
        if self.zookeeper_isr_write and self._waits_for_isr_lock(conn, req):
            return
        now = self.env.now
        self.fsync_block = 0.0
        acks_all = req.acks == "all"
        results = [WAITING] * len(req.batches)
        delayed = DelayedProduce(req, results, 0, self)
        touched = []  # leaders appended to: their HW may move (at once when the ISR is the leader alone)
        for index, batch in enumerate(req.batches):
            leader = broker.leading.get(batch.partition)
            if leader is None:
                results[index] = P.NOT_LEADER_OR_FOLLOWER
                continue
            if acks_all and leader.under_min_isr():
                results[index] = P.NOT_ENOUGH_REPLICAS  # checked before the append: nothing written
                continue
            end = None
            if batch.base_seq is not None:
                verdict, base = leader.log.producers.check(batch.producer_id, batch.producer_epoch,
                                                           batch.base_seq, batch.count)
                if verdict == DUPLICATE:
                    end = base + batch.count  # not appended again; answered with the original offsets
                elif verdict == OUT_OF_ORDER:
                    results[index] = P.OUT_OF_ORDER_SEQUENCE_NUMBER
                    continue
                elif verdict == FENCED:
                    results[index] = P.INVALID_PRODUCER_EPOCH
                    continue
            if end is None:
                end = self._append(leader, batch, now).end
                touched.append(leader)
            if not acks_all or end <= leader.log.hw:
                results[index] = None
            else:
                delayed.pending += 1
                leader.wait_for_hw(end, delayed, index)
                if leader not in touched:
                    touched.append(leader)
        if self.fsync_block:
            self.response_not_before[req] = now + self.fsync_block
        if delayed.pending:
            self._park(delayed, now + req.timeout)
        for leader in touched:
            leader.maybe_advance_hw()  # may complete the delayed produce at once (ISR = leader only)
        if req.acks == "0":
            if any(result is not None and result is not WAITING for result in results):
                # acks=0 has no response to carry an error: the broker closes the connection
                broker.conns.pop(req.src, None)
                broker.network.send(broker.node, req.src, req.client, P.Refused(req, broker.id))
                return
            self._release(conn)
            return
        if delayed.pending == 0 and not delayed.responded:
            self.respond(req, results)

    def _waits_for_isr_lock(self, conn, req) -> bool:
        """Before 2.7 an append takes the partition's read lock, which a pending ZooKeeper ISR write holds:
        the request (and its connection) waits until the write is answered."""
        for batch in req.batches:
            leader = self.broker.leading.get(batch.partition)
            if leader is not None and leader.isr_write_blocked:
                leader.blocked_requests.append((conn, req))
                return True
        return False

    def resume(self, conn, req: P.ProduceRequest) -> None:
        """A request that waited for a partition's lock is handled now, if its connection is still open."""
        current = self.broker.conns.get(req.src)
        if current is conn and conn.gen == req.conn:
            self._handle(conn, req)

    def _append(self, leader, batch, now: float) -> LogBatch:
        broker = self.broker
        log = leader.log
        stored = LogBatch(log.leo, batch.count, batch.ids, leader.epoch, batch.producer_id,
                          batch.producer_epoch, batch.base_seq)
        log.append(stored, now)
        self.fsync_block += broker.page_cache.on_append(log, now)
        broker.ledger.mark_appended(batch.ids)
        counters = broker.counters
        counters.appended_records += batch.count
        counters.appended_batches += 1
        broker.replica_fetches.wake(leader.p)
        return stored

    def respond(self, req: P.ProduceRequest, results) -> None:
        broker = self.broker
        until = self.response_not_before.pop(req, None)
        if until is not None and until > self.env.now:  # the handler thread is still in fsync
            broker.deadlines.add(until, broker.deliver, self.respond, (req, results))
            return
        conn = broker.conns.get(req.src)
        if conn is None or conn.gen != req.conn:
            return  # the client closed the connection: the response is lost
        broker.network.send(broker.node, req.src, req.client, P.ProduceResponse(req, results))
        self._release(conn)

    def _release(self, conn) -> None:
        """The request in hand is answered: read the next one. A loop, not a recursion: a request answered
        at once (acks=0 or 1, an error) would otherwise nest the next one's handling inside its own, once
        per queued request (thousands behind a leader that resigns)."""
        conn.busy = False
        if conn.draining:
            return  # the loop below, further up the stack, takes the next request
        conn.draining = True
        while conn.queue and not conn.busy:
            self._handle(conn, conn.queue.popleft())
        conn.draining = False

    # -- the acks=all purgatory ------------------------------------------------------------
    def _park(self, delayed: DelayedProduce, at: float) -> None:
        """Purgatory until `at` (DelayedProduce's timeout). Requests arrive with one and the same
        request.timeout.ms, so their expiries come in arrival order: a queue and one lazy timer do
        (a heap entry per request, cancelled when it completes, cost more)."""
        queue = self.purgatory
        while queue and queue[0][1].responded:
            queue.popleft()  # completed: nothing to expire
        if queue and at < queue[-1][0]:
            broker = self.broker
            delayed.deadline = broker.deadlines.add(at, broker.deliver, delayed.expire, ())  # out of order
            return
        queue.append((at, delayed))
        self.purgatory_timer.arm(at)

    def _expire_purgatory(self, timer: LazyTimer) -> None:
        if timer is not self.purgatory_timer:
            return  # a timer of an earlier incarnation of this broker
        queue = self.purgatory
        now = self.env.now
        while queue and (queue[0][1].responded or queue[0][0] <= now):
            _at, delayed = queue.popleft()
            if not delayed.responded:
                self.broker.deliver(delayed.expire, ())
        if queue:
            timer.arm(queue[0][0])
