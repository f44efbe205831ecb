"""Broker: one Kafka broker process on one machine (KafkaServer / BrokerServer, and ReplicaManager's
handling of the partition roles).

It owns the machine -- the process and its lifecycle (sim/broker/lifecycle.py), client
connections, the metadata cache and the roles it gives each partition -- and the logs on its
disk. The work is done by its parts, one job each:

- ProduceHandler (produce.py): produce requests, appends, the acks=all purgatory;
- PartitionLeader (partition.py): per led partition, follower progress, the HW and ISR changes;
- ReplicaFetchHandler (replica_fetches.py): followers' fetches and fetch sessions, as leader;
- Follower (follower.py) with its ReplicaFetchers (fetcher.py): fetching as follower, truncation;
- ConsumerFetchHandler (consumer_fetches.py): consumers' fetches and ListOffsets.

Failures: `crash()` kills the process (the page cache survives and the kernel resets its
connections); `crash(power_loss=True)` also loses every write not yet on disk; `pause()` freezes
it (a long GC pause): requests wait until `resume()`.
"""

from __future__ import annotations

import math

from .. import protocol as P
from ..counters import BrokerCounters
from ..deadlines import DeadlineQueue
from ..network import broker_node
from .connections import ClientConnection
from .consumer_fetches import ConsumerFetchHandler
from .follower import Follower
from .lifecycle import BrokerLifecycle
from .page_cache import PageCache
from .partition import PartitionLeader
from .produce import ProduceHandler
from .replica_fetches import ReplicaFetchHandler
from .replica_log import ReplicaLog
from .request_queue import RequestQueue

class Broker(BrokerLifecycle):
    """A Kafka broker: the machine, its logs, the roles of its partitions, and the parts doing the work."""

    def __init__(self, ctx, broker_id: int):
        self.ctx = ctx
        self.env = ctx.env
        self.network = ctx.network
        self.ledger = ctx.ledger
        self.trace = ctx.trace
        self.settings = settings = ctx.cfg.settings
        self.id = broker_id
        self.node = broker_node(broker_id)
        self.assignment = ctx.assignment  # partition -> replicas
        self.partitions = [p for p, reps in enumerate(self.assignment) if broker_id in reps]
        self.logs = {p: ReplicaLog() for p in self.partitions}
        self.page_cache = make_page_cache(settings, ctx.rng["pagecache"])
        self.peers: list[Broker] = []  # set by the cluster builder
        self.controller = None
        self.up = True  # the broker process
        self.host_up = True  # the machine (its page cache)
        self.booting = None  # a start in progress
        self.clean_shutdown = True  # how the process last stopped (reported when it registers)
        self.disk_failed = False  # the log disk failed and has not been replaced: the broker cannot start
        self.shutting_down = False
        self.restart_when_stopped = False  # the drain began during a controlled shutdown: start again after it
        self.serving = True  # accepts clients; after a restart only once registered with the controller
        self.paused = False
        self.resumed = self.env.event()
        self.deferred: list = []
        self.incarnation = 0
        self.up_since = self.env.now
        self.counters = BrokerCounters()
        self.produce = ProduceHandler(self)
        self.replica_fetches = ReplicaFetchHandler(self)
        self.follower = Follower(self)
        self.consumer_fetches = ConsumerFetchHandler(self)
        self.request_queue = RequestQueue(self)
        self.request_queue_delay = self.request_queue.delay  # what the network adds to a queued request's delivery
        self._reset_runtime()

    # -- lifecycle ---------------------------------------------------------------------
    def _reset_runtime(self) -> None:
        """The state of a new broker process (at the start and after every restart)."""
        self.meta = [PartitionMeta(tuple(reps)) for reps in self.assignment]
        self.meta_version = 0
        self.fenced_brokers: frozenset = frozenset()
        self.leading: dict[int, PartitionLeader] = {}
        self.conns: dict[str, ClientConnection] = {}
        self.deadlines = DeadlineQueue(self.env)
        self.produce.reset()
        self.replica_fetches.reset()
        self.follower.reset()
        self.consumer_fetches.reset()

    def receive(self, handler, message) -> None:
        """Entry point for every message arriving over the network."""
        if self.host_up and message.__class__ is P.ProduceRequest and message.tcp_ack:
            conn = self.conns.get(message.src)  # the kernel acknowledges the bytes, whatever the process does
            if conn is None or conn.gen != message.conn or conn.kernel_acks(message):
                self.network.send(self.node, message.src, message.client, P.TcpAck(self.id, message.conn))
        self._serve(handler, message)

    def _serve(self, handler, message) -> None:
        """The process takes a message: refused while it is down (or not serving clients yet), held while it is
        paused -- and then served without the kernel's part again, which happened on arrival."""
        if not self.up or (not self.serving and message.from_client):
            if self.host_up:
                self._refuse(message)
            return
        if self.paused:
            self.deferred.append((self._serve, (handler, message)))
            return
        if message.queued and self.request_queue.delay > 0:
            self.request_queue.taken(self.env.now)
        handler(message)

    def deliver(self, fn, args) -> None:
        """Entry point for this process's own timers: nothing runs while it is down or paused."""
        if not self.up:
            return
        if self.paused:
            self.deferred.append((self.deliver, (fn, args)))
            return
        fn(*args)

    def receive_stale(self, message) -> None:
        """Something sent to an earlier incarnation of this process: its connection is gone."""
        if self.host_up:
            self._refuse(message)

    def _refuse(self, message) -> None:
        """A request reached a machine whose broker process is down: connection refused."""
        if message.refusable:
            self.network.send(self.node, message.src, message.refused_to(), P.Refused(message, self.id))

    # -- requests, handed to the part that serves them --------------------------------------
    def on_produce(self, req) -> None:
        self.produce.on_produce(req)

    def on_replica_fetch(self, req) -> None:
        self.replica_fetches.on_replica_fetch(req)

    def on_consumer_fetch(self, req) -> None:
        self.consumer_fetches.on_consumer_fetch(req)

    def on_offsets_for_leader_epoch(self, req) -> None:
        self.consumer_fetches.on_offsets_for_leader_epoch(req)

    def on_metadata_request(self, req: P.MetadataRequest) -> None:
        leaders = tuple((meta.leader, meta.leader_epoch) for meta in self.meta)
        self.network.send(self.node, req.src, req.client, P.MetadataResponse(req.token, leaders))

    def on_connect(self, req: P.ConnectRequest) -> None:
        """A client opened a connection (a new generation replaces the old one)."""
        conn = self.conns.get(req.src)
        if conn is not None and conn.gen > req.conn:
            return  # a late retransmitted SYN of an older attempt
        if conn is None or conn.gen != req.conn:
            self.conns[req.src] = ClientConnection(req.conn)
        self.network.send(self.node, req.src, req.client, P.Connected(self.id, req.conn))

    def on_client_close(self, message: P.CloseConnection) -> None:
        conn = self.conns.get(message.src)
        if conn is not None and (message.conn is None or conn.gen == message.conn):
            del self.conns[message.src]  # requests not yet read are gone with the socket

    def on_connection_reset(self, reset: P.ConnectionReset) -> None:
        """Another broker's process died: a fetch this broker had on the wire to it failed."""
        self.follower.on_connection_reset(reset.broker, reset.incarnation)

    def on_alter_partition_response(self, response: P.AlterPartitionResponse) -> None:
        leader = self.leading.get(response.partition)
        if leader is not None:
            leader.on_isr_committed(response.state)

    # -- metadata from the controller: the role of each partition -----------------------------
    def on_metadata_update(self, update: P.MetadataUpdate) -> None:
        if update.version <= self.meta_version:
            return
        if not update.full and update.prev_version != self.meta_version:
            return  # missed an update: the heartbeat response brings a full snapshot
        self.meta_version = update.version
        if update.fenced != self.fenced_brokers:
            self.replica_fetches.news_all()  # a follower's fencing decides whether it may rejoin an ISR
        self.fenced_brokers = update.fenced
        if update.full and not self.serving:
            self.serving = True  # registered and caught up: open the listeners to clients
        for partition, state in sorted(update.changes.items()):
            self._apply_partition(partition, state)

    def _apply_partition(self, partition: int, state: P.PartitionRecord) -> None:
        replicas, leader, leader_epoch, isr, partition_epoch = state
        meta = self.meta[partition]
        meta.replicas, meta.leader, meta.leader_epoch, meta.isr, meta.partition_epoch = state
        if self.id not in replicas:
            return
        current = self.leading.get(partition)
        if leader == self.id:
            if current is None or current.epoch < leader_epoch:
                self._become_leader(partition, leader_epoch, partition_epoch, isr, replicas)
            elif partition_epoch > current.partition_epoch:
                current.on_metadata(isr, partition_epoch)
        else:
            if current is not None:
                self._resign(partition)
            self.follower.follow(partition, leader, leader_epoch)

    def _become_leader(self, partition, epoch, partition_epoch, isr, replicas) -> None:
        self.follower.unfollow(partition)
        if partition in self.leading:
            self._resign(partition)
        log = self.logs[partition]
        log.assign_epoch(epoch)
        leader = PartitionLeader(self, partition, epoch, partition_epoch, isr, replicas, self.env.now)
        self.leading[partition] = leader
        self.trace.add(self.env.now, "become_leader", self.id, partition, epoch, log.leo, log.hw)
        self.replica_fetches.news(partition)
        leader.maybe_advance_hw()

    def _resign(self, partition: int) -> None:
        leader = self.leading.pop(partition)
        self.replica_fetches.news(partition)
        leader.abandon()
        self.consumer_fetches.answer_parked(partition)

    def is_fenced(self, broker_id: int) -> bool:
        return broker_id in self.fenced_brokers

    def hw_advanced(self, partition: int) -> None:
        """A led partition's HW moved: followers learn it on their next answer, waiting consumers now."""
        if self.replica_fetches.sessions:
            self.replica_fetches.news(partition)
        if self.consumer_fetches.parked:
            self.consumer_fetches.answer_parked(partition)

    # -- the logs -----------------------------------------------------------------------------
    def forget_removed(self, partition: int, removed, why: int, event: str, offset: int) -> int:
        """Batches that left this replica's log of `partition` (truncation, power loss, disk failure): the ledger
        learns why, the trace says how many; returns how many records."""
        if not removed:
            return 0
        lost = sum(batch.count for batch in removed)
        for batch in removed:
            self.ledger.mark_gone(batch.ids, why)
            batch.gone = True
        self.trace.add(self.env.now, event, self.id, partition, offset, lost)
        return lost

    # -- background work ------------------------------------------------------------------------
    def _isr_shrink_loop(self, inc: int):
        """Partition.maybeShrinkIsr for every led partition, every half replica.lag.time.max.ms."""
        period = self.settings.broker.replica_lag_time_max / 2.0
        while True:
            yield self.env.timeout(period)
            if not self._alive(inc):
                return
            if self.paused:
                continue
            now = self.env.now
            for partition in sorted(self.leading):
                leader = self.leading[partition]
                self.replica_fetches.replay_fetches(leader)
                leader.maybe_shrink_isr(now)

    def _heartbeat_loop(self, inc: int):
        controller = self.controller
        while self._alive(inc):
            if not self.paused:
                self.network.send(self.node, controller.node, controller,
                                  P.BrokerHeartbeat(self.id, inc, self.meta_version, self.clean_shutdown,
                                                    self.shutting_down))
            yield self.env.timeout(self.settings.broker.broker_heartbeat_interval)


class PartitionMeta:
    """This broker's metadata cache entry for one partition."""

    __slots__ = ("replicas", "leader", "leader_epoch", "isr", "partition_epoch")

    def __init__(self, replicas, leader=None, leader_epoch=-1, isr=(), partition_epoch=-1):
        self.replicas = replicas
        self.leader = leader
        self.leader_epoch = leader_epoch
        self.isr = isr
        self.partition_epoch = partition_epoch


def make_page_cache(settings, rng) -> PageCache:
    """The flush policy from broker and topic configs (topic flush.* override the broker's), and this
    machine's flusher phase: broker.model.writeback.phase.ms, or drawn once per machine (one draw each,
    in broker order, from the pagecache stream) when unset."""
    topic, broker = settings.topic, settings.broker
    flush_messages = topic.flush_messages  # already inherited from log.flush.interval.messages when unset
    flush_messages = math.inf if flush_messages >= 2 ** 62 else flush_messages
    writeback = broker.vm_dirty_writeback
    writeback = writeback if writeback and writeback > 0 else math.inf
    phase = float(rng.uniform(0.0, 1.0))  # drawn whatever the setting, so the draws stay aligned
    phase = broker.model_writeback_phase if broker.model_writeback_phase is not None else \
        (phase * writeback if writeback < math.inf else 0.0)
    background = broker.vm_dirty_background_ratio / 100 * broker.model_dirtyable_memory_bytes
    return PageCache(flush_messages=flush_messages, flush_interval=topic.flush,
                     scheduler_interval=broker.log_flush_scheduler_interval,
                     writeback_period=writeback, dirty_expire=broker.vm_dirty_expire, fsync=broker.model_fsync,
                     segment_bytes=broker.log_segment_bytes, message_bytes=settings.workload.message_bytes,
                     writeback_phase=phase, background_bytes=background)
