"""Broker: one Kafka broker process on one machine.

It holds a replica log per assigned partition, leads some partitions (PartitionLeader) and
follows the others (ReplicaFetcher per leader broker), answers produce, fetch and metadata
requests, heartbeats to the controller, and shrinks ISRs of followers that lag.

Failures: `crash()` kills the process (the page cache survives and the kernel resets its
connections); `power_loss()` also loses every write not yet on disk; `pause()` freezes it
(a long GC pause): requests wait until `resume()`.
"""

from __future__ import annotations

import math
from collections import deque

from .. import protocol as P
from ..deadlines import DeadlineQueue
from ..ledger import GONE_TRUNCATED, GONE_UNCLEAN
from ..network import broker_node
from ..producer.batch import records_per_batch
from ..records import BATCH_OVERHEAD, batch_bytes
from ..timer import LazyTimer
from .fetch_session import FetchSession
from .fetcher import SESSION_ERROR, ReplicaFetcher
from .lifecycle import BrokerLifecycle
from .page_cache import PageCache
from .partition import WAITING, DelayedProduce, PartitionLeader
from .producer_state import DUPLICATE, FENCED, OUT_OF_ORDER, ProducerStateTable
from .replica_log import LogBatch, ReplicaLog

ALTER_PARTITION_RETRY = 2.0  # s before an unanswered AlterPartition may be sent again
# Requests from clients, refused (connection refused) while the process is down or not yet serving.
_CLIENT_REQUESTS = frozenset({"on_connect", "on_produce", "on_consumer_fetch", "on_metadata_request"})


class PartitionMeta:
    """This broker's metadata cache entry for one partition."""

    __slots__ = ("replicas", "leader", "leader_epoch", "isr", "partition_epoch")

    def __init__(self, replicas, leader=None, leader_epoch=-1, isr=(), partition_epoch=-1):
        self.replicas = replicas
        self.leader = leader
        self.leader_epoch = leader_epoch
        self.isr = isr
        self.partition_epoch = partition_epoch


class ClientConnection:
    """One client connection: Kafka handles one request at a time per connection."""

    __slots__ = ("gen", "busy", "queue", "next_seq", "stalled", "kernel_next", "kernel_stalled")

    def __init__(self, gen):
        self.gen = gen
        self.busy = False
        self.queue: deque = deque()
        self.next_seq = 0  # position of the next produce request on this connection
        self.stalled = False  # a request was lost: TCP delivers nothing after it on this connection
        self.kernel_next = 0  # the same, as the kernel sees it (it acknowledges bytes even while paused)
        self.kernel_stalled = False

    def in_stream(self, req) -> bool:
        """One TCP stream: a request that follows a lost one never reaches the broker."""
        if self.stalled or req.seq != self.next_seq:
            self.stalled = True
            return False
        self.next_seq += 1
        return True

    def kernel_acks(self, req) -> bool:
        """Does the kernel acknowledge this request's bytes? Not past a gap in the stream."""
        if self.kernel_stalled or req.seq != self.kernel_next:
            self.kernel_stalled = True
            return False
        self.kernel_next += 1
        return True


class Broker(BrokerLifecycle):
    """A Kafka broker: logs, leadership, replication, request handling."""

    def __init__(self, ctx, broker_id: int):
        self.ctx = ctx
        self.env = ctx.env
        self.network = ctx.network
        self.ledger = ctx.ledger
        self.trace = ctx.trace
        cfg = ctx.cfg
        self.id = broker_id
        self.node = broker_node(broker_id)
        self.assignment = ctx.assignment  # partition -> replicas
        self.partitions = [p for p, reps in enumerate(self.assignment) if broker_id in reps]
        self.logs = {p: ReplicaLog() for p in self.partitions}
        self.pstates = {p: ProducerStateTable() for p in self.partitions}
        self.min_isr = cfg["topic.min.insync.replicas"]
        self.hw_needs_min_isr = bool(cfg["broker.model.hw.frozen.below.min.isr"])
        self.replica_lag_max = cfg.seconds("broker.replica.lag.time.max.ms")
        self.fetch_wait_max = cfg.seconds("broker.replica.fetch.wait.max.ms")
        self.replica_fetch_backoff = cfg.seconds("broker.replica.fetch.backoff.ms")
        self.replica_request_timeout = 30.0  # replica.socket.timeout.ms default
        # replica.fetch.max.bytes in whole batches of batch.size (a full batch at least)
        full_batch = batch_bytes(records_per_batch(cfg["producer.batch.size"], cfg["workload.message.bytes"]),
                                 cfg["workload.message.bytes"])
        self.fetch_max_batches = max(1, cfg["broker.replica.fetch.max.bytes"] // full_batch)
        self.heartbeat_interval = cfg.seconds("broker.broker.heartbeat.interval.ms")
        self.hw_checkpoint_interval = cfg.seconds("broker.replica.high.watermark.checkpoint.interval.ms")
        self.startup_time = cfg["broker.model.startup.ms"] / 1000.0
        self.recovery_rate = cfg["broker.model.recovery.mb.per.s"] * 1e6
        self.message_bytes = cfg["workload.message.bytes"]
        self.hw_truncation = cfg["broker.model.truncation"] == "high-watermark"
        self.page_cache = make_page_cache(cfg)
        self.peers: list[Broker] = []  # set by the cluster builder
        self.controller = None
        self.up = True  # the broker process
        self.host_up = True  # the machine (its page cache)
        self.booting = None  # a start in progress
        self.clean_shutdown = True  # how the process last stopped (reported when it registers)
        self.disk_failed = False  # the log disk failed and has not been replaced: the broker cannot start
        self.shutting_down = False
        self.serving = True  # accepts clients; after a restart only once registered with the controller
        self.paused = False
        self.resumed = self.env.event()
        self.deferred: list = []
        self.incarnation = 0
        self.fetch_sessions_started = 0  # ids for this broker's fetch sessions, unique across restarts
        self.up_since = self.env.now
        self.stats = {"appended_records": 0, "appended_batches": 0, "truncated_records": 0, "lost_on_power_loss": 0,
                      "lost_on_disk_failure": 0, "replica_fetches": 0}
        self._reset_runtime()

    # -- lifecycle ---------------------------------------------------------------------
    def _reset_runtime(self) -> None:
        self.meta = [PartitionMeta(tuple(reps)) for reps in self.assignment]
        self.meta_version = 0
        self.fenced_brokers: frozenset = frozenset()
        self.leading: dict[int, PartitionLeader] = {}
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self.following: dict[int, int] = {}  # partition -> leader it fetches from
        self.followed_epoch: dict[int, int] = {}  # partition -> leader epoch it last followed
        self.conns: dict[str, ClientConnection] = {}
        self._fsync_block = 0.0
        self._response_not_before: dict = {}  # produce request -> when its fsyncs finish
        self.parked_replica: dict[int, tuple] = {}  # follower id -> (request, when it expires)
        self._park_timers: dict[int, LazyTimer] = {}  # follower id -> its parked fetch's expiry timer
        # acks=all requests in purgatory, in arrival order, with the time request.timeout.ms runs out
        self._purgatory: deque = deque()
        self._purgatory_timer = timer = LazyTimer(self.env, lambda: self._expire_purgatory(timer))
        self.fetch_sessions: dict[int, FetchSession] = {}  # follower id -> its fetch session here
        self.follower_epochs: dict[int, int] = {}  # follower id -> the broker epoch of its last fetch (KIP-903)
        self.parked_consumer: list = []  # (request, deadline)
        self.deadlines = DeadlineQueue(self.env)

    def deliver(self, fn, args) -> None:
        """Entry point for everything arriving over the network or from a timer."""
        if self.host_up and args and getattr(args[0], "tcp_ack", None) is not None:
            req = args[0]  # the kernel acknowledges the bytes, whatever the process does
            conn = self.conns.get(req.src)
            if conn is None or conn.gen != req.conn or conn.kernel_acks(req):
                self.network.send(self.node, req.src, req.tcp_ack, self.id, req.conn)
        if not self.up or (not self.serving and fn.__name__ in _CLIENT_REQUESTS):
            if self.host_up:
                self._refuse(fn, args)
            return
        if self.paused:
            self.deferred.append((fn, args))
            return
        fn(*args)

    def deliver_stale(self, fn, args) -> None:
        """Something sent to an earlier incarnation of this process: its connection is gone."""
        if self.host_up:
            self._refuse(fn, args)

    def _refuse(self, fn, args) -> None:
        """A request reached a machine whose broker process is down: connection refused."""
        req = args[0] if args else None
        disconnect = getattr(req, "disconnect", None)
        if disconnect is not None:
            self.network.send(self.node, req.src, disconnect, self.id)

    # -- metadata from the controller ----------------------------------------------------
    def on_metadata_update(self, version: int, prev_version: int, changes: dict, fenced: frozenset,
                           full: bool) -> None:
        if version <= self.meta_version:
            return
        if not full and prev_version != self.meta_version:
            return  # missed an update: the heartbeat response brings a full snapshot
        self.meta_version = version
        if fenced != self.fenced_brokers:
            self._news_all()  # a follower's fencing decides whether it may rejoin an ISR
        self.fenced_brokers = fenced
        if full and not self.serving:
            self.serving = True  # registered and caught up: open the listeners to clients
        for p, state in sorted(changes.items()):
            self._apply_partition(p, state)

    def _apply_partition(self, p: int, state) -> None:
        replicas, leader, leader_epoch, isr, partition_epoch = state
        meta = self.meta[p]
        meta.replicas, meta.leader, meta.leader_epoch, meta.isr, meta.partition_epoch = state
        if self.id not in replicas:
            return
        current = self.leading.get(p)
        if leader == self.id:
            if current is None or current.epoch < leader_epoch:
                self._become_leader(p, leader_epoch, partition_epoch, isr, replicas)
            elif partition_epoch > current.partition_epoch:
                current.isr = tuple(isr)
                current.partition_epoch = partition_epoch
                current.pending_isr = None
                self._news(p)
                current.maybe_advance_hw()
        else:
            if current is not None:
                self._resign(p)
            self._follow(p, leader, leader_epoch)

    def _become_leader(self, p, epoch, partition_epoch, isr, replicas) -> None:
        self._unfollow(p)
        if p in self.leading:
            self._resign(p)
        log = self.logs[p]
        log.assign_epoch(epoch)
        ld = PartitionLeader(self, p, epoch, partition_epoch, isr, replicas, self.env.now)
        self.leading[p] = ld
        self.trace.add(self.env.now, "become_leader", self.id, p, epoch, log.leo, log.hw)
        self._news(p)
        ld.maybe_advance_hw()

    def _resign(self, p: int) -> None:
        ld = self.leading.pop(p)
        self._news(p)
        ld.abandon()
        self._answer_parked_consumers(p)

    def _follow(self, p: int, leader, leader_epoch: int) -> None:
        if self.following.get(p) != leader:
            self._unfollow(p)
        if leader is None:
            return
        if self.hw_truncation and self.followed_epoch.get(p) != leader_epoch:
            # before KIP-101 (Kafka < 0.11) a new follower truncated its log to its own HW
            self._truncate(p, self.logs[p].hw, GONE_TRUNCATED)
        self.followed_epoch[p] = leader_epoch
        fetcher = self.fetchers.get(leader)
        if fetcher is None or not fetcher.running:
            fetcher = self.fetchers[leader] = ReplicaFetcher(self, leader)
        fetcher.add(p, leader_epoch)
        self.following[p] = leader

    def _unfollow(self, p: int) -> None:
        leader = self.following.pop(p, None)
        if leader is not None and leader in self.fetchers:
            fetcher = self.fetchers[leader]
            fetcher.remove(p)
            if not fetcher.running:
                del self.fetchers[leader]

    def is_fenced(self, broker_id: int) -> bool:
        return broker_id in self.fenced_brokers

    # -- produce -----------------------------------------------------------------------
    def on_produce(self, req: P.ProduceRequest) -> None:
        conn = self.conns.get(req.src)
        if conn is None or conn.gen != req.conn:
            return  # not the connection it was sent on: that one was closed
        if not conn.in_stream(req):
            return
        if conn.busy:
            conn.queue.append(req)
            return
        self._handle_produce(conn, req)

    def on_connect(self, probe) -> None:
        """A client opened a connection (a new generation replaces the old one)."""
        conn = self.conns.get(probe.src)
        if conn is not None and conn.gen > probe.conn:
            return  # a late retransmitted SYN of an older attempt
        if conn is None or conn.gen != probe.conn:
            self.conns[probe.src] = ClientConnection(probe.conn)
        self.network.send(self.node, probe.src, probe.reply, self.id, probe.conn)

    def on_client_close(self, src: str, gen: int | None = None) -> None:
        conn = self.conns.get(src)
        if conn is not None and (gen is None or conn.gen == gen):
            del self.conns[src]  # requests not yet read are gone with the socket

    def _handle_produce(self, conn: ClientConnection, req: P.ProduceRequest) -> None:
        conn.busy = True
        now = self.env.now
        self._fsync_block = 0.0
        acks_all = req.acks == "all"
        results = [WAITING] * len(req.batches)
        delayed = DelayedProduce(req, results, 0, self)
        touched = []  # leaders appended to: their HW may move (at once when the ISR is the leader alone)
        for i, batch in enumerate(req.batches):
            p = batch.partition
            ld = self.leading.get(p)
            if ld is None:
                results[i] = P.NOT_LEADER_OR_FOLLOWER
                continue
            if acks_all and ld.under_min_isr():
                results[i] = P.NOT_ENOUGH_REPLICAS  # checked before the append: nothing written
                continue
            end = None
            if batch.base_seq is not None:
                verdict, base = self.pstates[p].check(batch.producer_id, batch.producer_epoch,
                                                      batch.base_seq, batch.count)
                if verdict == DUPLICATE:
                    end = base + batch.count  # not appended again; answered with the original offsets
                elif verdict == OUT_OF_ORDER:
                    results[i] = P.OUT_OF_ORDER_SEQUENCE_NUMBER
                    continue
                elif verdict == FENCED:
                    results[i] = P.INVALID_PRODUCER_EPOCH
                    continue
            if end is None:
                end = self._append_as_leader(ld, batch, now).end
                touched.append(ld)
            if not acks_all or end <= ld.log.hw:
                results[i] = None
            else:
                delayed.pending += 1
                ld.wait_for_hw(end, delayed, i)
                if ld not in touched:
                    touched.append(ld)
        if self._fsync_block:
            self._response_not_before[req] = now + self._fsync_block
        if delayed.pending:
            self._park_produce(delayed, now + req.timeout)
        for ld in touched:
            ld.maybe_advance_hw()  # may complete the delayed produce at once (ISR = leader only)
        if req.acks == "0":
            if any(r is not None and r is not WAITING for r in results):
                # acks=0 has no response to carry an error: the broker closes the connection
                self.conns.pop(req.src, None)
                self.network.send(self.node, req.src, req.disconnect, self.id)
                return
            self._release(conn)
            return
        if delayed.pending == 0 and not delayed.responded:
            self.respond_produce(req, results)

    def _park_produce(self, delayed: DelayedProduce, at: float) -> None:
        """Purgatory until `at` (DelayedProduce's timeout). Requests arrive with one and the same
        request.timeout.ms, so their expiries come in arrival order: a queue and one lazy timer do
        (a heap entry per request, cancelled when it completes, cost more)."""
        q = self._purgatory
        while q and q[0][1].responded:
            q.popleft()  # completed: nothing to expire
        if q and at < q[-1][0]:
            delayed.deadline = self.deadlines.add(at, self.deliver, delayed.expire, ())  # out of order
            return
        q.append((at, delayed))
        self._purgatory_timer.arm(at)

    def _expire_purgatory(self, timer: LazyTimer) -> None:
        if timer is not self._purgatory_timer:
            return  # a timer of an earlier incarnation of this broker
        q = self._purgatory
        now = self.env.now
        while q and (q[0][1].responded or q[0][0] <= now):
            _at, delayed = q.popleft()
            if not delayed.responded:
                self.deliver(delayed.expire, ())
        if q:
            timer.arm(q[0][0])

    def _append_as_leader(self, ld: PartitionLeader, batch, now: float) -> LogBatch:
        p = ld.p
        log = ld.log
        lb = LogBatch(log.leo, batch.count, batch.ids, ld.epoch, batch.producer_id,
                      batch.producer_epoch, batch.base_seq)
        log.append(lb, now)
        self.pstates[p].record(lb)
        self._fsync_block += self.page_cache.on_append(log, now)
        self.ledger.mark_appended(batch.ids)
        stats = self.stats
        stats["appended_records"] += batch.count
        stats["appended_batches"] += 1
        self._wake_replica_fetches(p)
        return lb

    def respond_produce(self, req: P.ProduceRequest, results) -> None:
        until = self._response_not_before.pop(req, None)
        if until is not None and until > self.env.now:  # the handler thread is still in fsync
            self.deadlines.add(until, self.deliver, self.respond_produce, (req, results))
            return
        conn = self.conns.get(req.src)
        if conn is None or conn.gen != req.conn:
            return  # the client closed the connection: the response is lost
        self.network.send(self.node, req.src, req.reply, req, results)
        self._release(conn)

    def _release(self, conn: ClientConnection) -> None:
        conn.busy = False
        if conn.queue:
            self._handle_produce(conn, conn.queue.popleft())

    # -- replication: the leader's side ------------------------------------------------------
    def on_replica_fetch(self, req) -> None:
        """A follower's fetch: its fetch offsets acknowledge data; answered when there is news.

        Only the partitions that need it are looked at: those the request names (changed), and
        those with news since the session's last fetch (FetchSession.pending). Every other
        partition of the session was caught up at its last fetch and nothing has happened to it
        since, so this fetch only moves its "last fetched" time -- which is applied lazily
        (PartitionLeader.replay_clean_fetch) when someone looks.
        """
        now = self.env.now
        follower = req.follower
        self.follower_epochs[follower] = req.broker_epoch
        old = self.fetch_sessions.get(follower)
        if req.full:
            sess = FetchSession(req.session)
            sess.parts = dict(req.parts)
            sess.pending = set(sess.parts)
            sess.inflight = set(sess.parts)
            self.fetch_sessions[follower] = sess
            fresh = [p for p in sess.parts if old is None or p not in old.parts]
        elif old is None or old.id != req.session or old.seq + 1 != req.seq:
            self.network.send(self.node, self.peers[follower].node, req.reply, req.token, SESSION_ERROR)
            return
        else:
            sess = old
            fresh = []
            for p in req.removed:
                sess.parts.pop(p, None)
                sess.pending.discard(p)
                sess.inflight.discard(p)
            for p, entry in req.parts.items():
                if p not in sess.parts:
                    fresh.append(p)
                sess.parts[p] = entry
                sess.pending.add(p)
        sess.seq = req.seq
        previous = old.last_fetch if old is not None else None
        work = sorted(sess.pending)
        sess.pending = set()
        sess.inflight.update(work)
        ready = False
        parts = sess.parts
        for p in work:
            offset, last_epoch, epoch = parts[p]
            ld = self.leading.get(p)
            if ld is None or epoch != ld.epoch or self._divergence(ld.log, offset, last_epoch) is not None:
                ready = True  # an error or a divergence is answered at once
                continue
            if previous is not None and p not in fresh:
                ld.replay_clean_fetch(follower, previous)
            ld.on_follower_fetch(follower, offset, now)  # may complete produce requests -> new appends
            if ld.expand_candidate(follower, self.is_fenced):
                self._alter_isr(ld, tuple(r for r in ld.replicas if r in ld.isr or r == follower))
        sess.last_fetch = now
        # Only now look for data: the updates above can have appended to any partition of the session
        # (an append marks the partition in sess.inflight).
        logs = self.logs
        leading = self.leading
        ready = ready or any(parts[p][0] < logs[p].leo for p in sess.inflight if p in leading and p in parts)
        self.parked_replica.pop(follower, None)
        if ready:
            self._respond_replica_fetch(req)
        else:
            at = now + self.fetch_wait_max
            self.parked_replica[follower] = (req, at)
            self._park_timer(follower).arm(at)

    def _park_timer(self, follower: int) -> LazyTimer:
        """One timer per follower for fetch.wait.max.ms of its parked fetch: a fetch parks after
        almost every answer, so a heap entry per park (then cancelled) would cost more than this
        timer, which fires only when the fetch parked longest ago could have expired."""
        timer = self._park_timers.get(follower)
        if timer is None:
            timer = self._park_timers[follower] = LazyTimer(self.env, lambda: self._park_check(follower, timer))
        return timer

    def _park_check(self, follower: int, timer: LazyTimer) -> None:
        if self._park_timers.get(follower) is not timer:
            return  # a timer of an earlier incarnation of this broker
        parked = self.parked_replica.get(follower)
        if parked is None:
            return
        req, at = parked
        if self.env.now >= at:
            self.deliver(self._replica_fetch_expired, (req,))
        else:
            timer.arm(at)

    def _news(self, p: int) -> None:
        """Something changed for p on this leader (append, HW, leadership, ISR): every fetch session
        holding p looks at it on its next fetch and answers for it on its next response."""
        for sess in self.fetch_sessions.values():
            if p in sess.parts:
                sess.pending.add(p)
                sess.inflight.add(p)

    def _news_all(self) -> None:
        for sess in self.fetch_sessions.values():
            sess.pending.update(sess.parts)
            sess.inflight.update(sess.parts)

    def replay_fetches(self, ld: PartitionLeader) -> None:
        """Bring ld's per-follower fetch times up to date with the fetch sessions (before reading them)."""
        p = ld.p
        for r in ld.follower_leo:
            sess = self.fetch_sessions.get(r)
            if sess is not None and p in sess.parts and sess.last_fetch is not None:
                ld.replay_clean_fetch(r, sess.last_fetch)

    @staticmethod
    def _divergence(log, offset: int, last_epoch: int):
        """Why the follower cannot just append from `offset` (None: it can).

        ("diverging", epoch, end): its last epoch ends earlier here, or this log never had it
        (epoch -1: no common epoch at all) -- KIP-320's divergingEpoch;
        ("out_of_range", leo): it is past this log's end and named no epoch (before KIP-320).
        """
        epochs = log.epochs
        if epochs and last_epoch == epochs[-1][0]:  # the usual case: same epoch, which ends at the LEO
            return ("diverging", last_epoch, log.leo) if offset > log.leo else None
        if last_epoch >= 0:
            e, end = log.end_offset_for_epoch(last_epoch)
            if e < 0:
                return ("diverging", -1, log.leo)
            if e < last_epoch or end < offset:
                return ("diverging", e, end)
        if offset > log.leo:
            return ("out_of_range", log.leo)
        return None

    def _replica_fetch_expired(self, req) -> None:
        parked = self.parked_replica.get(req.follower)
        if parked is not None and parked[0] is req:
            del self.parked_replica[req.follower]
            self._respond_replica_fetch(req)

    def _wake_replica_fetches(self, p: int) -> None:
        sessions = self.fetch_sessions
        if not sessions:
            return
        self._news(p)
        if not self.parked_replica:
            return
        for follower in sorted(self.parked_replica):
            sess = sessions.get(follower)
            if sess is not None and p in sess.parts:
                req, _at = self.parked_replica.pop(follower)
                self._respond_replica_fetch(req)

    def _respond_replica_fetch(self, req) -> None:
        """Answer for the partitions with news; those not settled by it stay pending."""
        sess = self.fetch_sessions.get(req.follower)
        resp = {}
        if sess is not None and sess.id == req.session:
            parts = sess.parts
            for p in sorted(sess.inflight):
                entry = parts.get(p)
                if entry is None:
                    continue
                offset, last_epoch, epoch = entry
                ld = self.leading.get(p)
                if ld is None:
                    resp[p] = ("error", P.NOT_LEADER_OR_FOLLOWER)
                elif epoch < ld.epoch:
                    resp[p] = ("error", P.FENCED_LEADER_EPOCH)
                elif epoch > ld.epoch:
                    resp[p] = ("error", P.UNKNOWN_LEADER_EPOCH)
                else:
                    log = ld.log
                    divergence = self._divergence(log, offset, last_epoch)
                    if divergence is not None:
                        resp[p] = divergence
                    else:
                        batches = log.batches_from(offset, self.fetch_max_batches)
                        resp[p] = ("data", batches, log.hw)
                        if not batches:
                            continue  # caught up and told the HW: settled
                sess.pending.add(p)  # an error, a divergence or data: look again on the next fetch
            sess.inflight = set()
        follower = self.peers[req.follower]
        self.network.send(self.node, follower.node, req.reply, req.token, resp)

    # -- replication: the follower's side -------------------------------------------------
    def apply_fetch_response(self, fetcher: ReplicaFetcher, resp: dict) -> tuple[bool, float]:
        """Append fetched batches or truncate: (an error asks for a backoff, time blocked in fsync)."""
        now = self.env.now
        backoff = False
        blocked = 0.0
        for p, result in sorted(resp.items()):
            if fetcher.parts.get(p) is None or p in self.leading:
                continue
            log = self.logs[p]
            kind = result[0]
            if kind == "error":
                backoff = True
            elif kind == "diverging":
                self._truncate_diverging(p, result[1], result[2])
            elif kind == "out_of_range":
                # the leader's log ends before ours (an unclean election, or an old-style truncation)
                self._truncate(p, result[1], self._truncation_cause(p))
            else:
                batches, leader_hw = result[1], result[2]
                for b in batches:
                    if b.base == log.leo:
                        if b.gone:  # written again after a replica lost it: that loss is repaired
                            self.ledger.clear_gone(b.ids)
                        log.append(b, now)
                        self.pstates[p].record(b)
                        blocked += self.page_cache.on_append(log, now)
                    elif b.base > log.leo:
                        break
                new_hw = min(leader_hw, log.leo)
                if new_hw > log.hw:
                    log.hw = new_hw
        return backoff, blocked

    def _truncate_diverging(self, p: int, leader_epoch: int, leader_end: int) -> None:
        """Truncate after the leader reported a divergence (KIP-279/320), or an offset out of range."""
        log = self.logs[p]
        if leader_epoch < 0:
            offset = min(log.hw, leader_end)  # no epoch in common: back to the HW, and at most its end
        else:
            epoch, end = log.end_offset_for_epoch(leader_epoch)
            # same epoch: keep what both have; an epoch the follower lacks: back to its own end for
            # the epoch before, and the next fetch carries on from there
            offset = min(leader_end, end) if epoch == leader_epoch else max(0, end)
        self._truncate(p, offset, self._truncation_cause(p))

    def _truncation_cause(self, p: int) -> int:
        """For the accounting only: is the leader we truncate to the product of an unclean election?"""
        unclean = self.ctx.controller.was_unclean(p, self.followed_epoch.get(p, -1))
        return GONE_UNCLEAN if unclean else GONE_TRUNCATED

    def _truncate(self, p: int, offset: int, why: int) -> None:
        removed = self.logs[p].truncate_to(offset)
        fetcher = self.fetchers.get(self.following.get(p))
        if fetcher is not None:
            fetcher.touch(p)
        self._forget_removed(p, removed, why, "truncated_records", "truncate", offset)

    def _forget_removed(self, p: int, removed, why: int, stat: str, event: str, offset: int) -> None:
        """Batches that left this replica's log of p (truncation, power loss, disk failure): the ledger
        learns why, the producer-state window is read back from what is left, the trace says how many."""
        if not removed:
            return
        lost = sum(b.count for b in removed)
        self.stats[stat] += lost
        for b in removed:
            self.ledger.mark_gone(b.ids, why)
            b.gone = True
        self.pstates[p].rebuild(self.logs[p])
        self.trace.add(self.env.now, event, self.id, p, offset, lost)

    # -- ISR changes -------------------------------------------------------------------------
    def _alter_isr(self, ld: PartitionLeader, new_isr: tuple) -> None:
        """AlterPartition to the controller; the ISR changes when the controller commits it."""
        if ld.pending_isr is not None:
            return
        ld.pending_isr = new_isr
        self._news(ld.p)
        epochs = {r: self.follower_epochs.get(r, -1) for r in new_isr if r != self.id}
        self.network.send(self.node, "controller", self.controller.on_alter_partition, self.id, ld.p,
                          ld.epoch, ld.partition_epoch, new_isr, self.on_alter_partition_response, epochs)
        self.deadlines.add(self.env.now + ALTER_PARTITION_RETRY, self.deliver, self._alter_expired, (ld, new_isr))

    def _alter_expired(self, ld: PartitionLeader, new_isr: tuple) -> None:
        if ld.pending_isr == new_isr:
            ld.pending_isr = None
            self._news(ld.p)

    def on_alter_partition_response(self, p: int, state) -> None:
        ld = self.leading.get(p)
        if ld is None:
            return
        ld.pending_isr = None
        self._news(p)
        if state is None:
            return  # rejected (stale epoch): the metadata update will tell what happened
        replicas, leader, leader_epoch, isr, partition_epoch = state
        if leader_epoch == ld.epoch and partition_epoch > ld.partition_epoch:
            ld.isr = tuple(isr)
            ld.partition_epoch = partition_epoch
            self.trace.add(self.env.now, "isr_applied", self.id, p, tuple(isr))
            ld.maybe_advance_hw()

    def hw_advanced(self, p: int) -> None:
        if self.fetch_sessions:
            self._news(p)
        if self.parked_consumer:
            self._answer_parked_consumers(p)

    def _isr_shrink_loop(self, inc: int):
        period = self.replica_lag_max / 2.0
        while True:
            yield self.env.timeout(period)
            if not self._alive(inc):
                return
            if self.paused:
                continue
            now = self.env.now
            for p in sorted(self.leading):
                ld = self.leading[p]
                self.replay_fetches(ld)
                lagging = ld.lagging(now)
                if lagging and ld.pending_isr is None:
                    self._alter_isr(ld, tuple(r for r in ld.isr if r not in lagging))

    def _heartbeat_loop(self, inc: int):
        controller = self.controller
        while self._alive(inc):
            if not self.paused:
                self.network.send(self.node, "controller", controller.on_heartbeat, self.id, inc,
                                  self.meta_version, self.clean_shutdown)
            yield self.env.timeout(self.heartbeat_interval)

    # -- consumers and clients ----------------------------------------------------------------
    def on_metadata_request(self, src: str, token: int, reply) -> None:
        snapshot = tuple((m.leader, m.leader_epoch) for m in self.meta)
        self.network.send(self.node, src, reply, token, snapshot)

    def on_consumer_fetch(self, req) -> None:
        resp, ready = self._consumer_fetch_result(req)
        if ready:
            self.network.send(self.node, req.src, req.reply, req, resp)
            return
        deadline = self.deadlines.add(self.env.now + req.max_wait, self.deliver, self._consumer_fetch_expired, (req,))
        self.parked_consumer.append((req, deadline))

    def _consumer_fetch_result(self, req):
        """Records below the HW per partition; ready once fetch.min.bytes are there (or on an error)."""
        resp = {}
        ready = False
        size = 0
        for p, offset in req.parts.items():
            ld = self.leading.get(p)
            if ld is None:
                resp[p] = ("error", P.NOT_LEADER_OR_FOLLOWER)
                ready = True
                continue
            log = ld.log
            if offset < 0:  # ListOffsets: -1 latest (the HW for read_uncommitted), -2 earliest
                resp[p] = ("reset", log.hw if offset == -1 else 0)
                ready = True
                continue
            if offset > log.leo:
                resp[p] = ("error", P.OFFSET_OUT_OF_RANGE, log.leo)
                ready = True
                continue
            chunks = log.read(offset, log.hw, req.max_records)
            resp[p] = ("data", chunks, log.hw)
            size += sum(BATCH_OVERHEAD + (hi - lo) * req.record_bytes for _b, lo, hi in chunks)
        return resp, ready or size >= req.min_bytes

    def _consumer_fetch_expired(self, req) -> None:
        for i, (r, _d) in enumerate(self.parked_consumer):
            if r is req:
                del self.parked_consumer[i]
                resp, _ready = self._consumer_fetch_result(req)
                self.network.send(self.node, req.src, req.reply, req, resp)
                return

    def _answer_parked_consumers(self, p: int) -> None:
        keep = []
        for req, deadline in self.parked_consumer:
            if p in req.parts:
                resp, ready = self._consumer_fetch_result(req)
                if ready:
                    deadline.cancel()
                    self.network.send(self.node, req.src, req.reply, req, resp)
                    continue
            keep.append((req, deadline))
        self.parked_consumer = keep


def make_page_cache(cfg) -> PageCache:
    """The flush policy from broker and topic configs (topic flush.* override the broker's)."""
    flush_messages = cfg["topic.flush.messages"]
    if flush_messages is None:
        flush_messages = cfg["broker.log.flush.interval.messages"]
    flush_messages = math.inf if flush_messages >= 2 ** 62 else flush_messages
    sched = cfg.seconds("broker.log.flush.scheduler.interval.ms")
    if cfg["topic.flush.ms"] is not None:
        interval = cfg.seconds("topic.flush.ms")
    elif cfg["broker.log.flush.interval.ms"] is not None:
        interval = cfg.seconds("broker.log.flush.interval.ms")
    else:
        interval = sched
    wb = cfg.seconds("broker.vm.dirty_writeback_centisecs")
    return PageCache(flush_messages=flush_messages, flush_interval=interval, scheduler_interval=sched,
                     writeback_period=wb if wb and wb > 0 else math.inf,
                     dirty_expire=cfg.seconds("broker.vm.dirty_expire_centisecs"),
                     fsync=cfg["broker.model.fsync.ms"] / 1000.0, segment_bytes=cfg["broker.log.segment.bytes"],
                     message_bytes=cfg["workload.message.bytes"])
