"""The messages components send each other over the network, and Kafka's error codes.

Every message is a typed object naming the method of the receiving component that handles it
(`handler`); `Network.send(src, dst, target, message)` delivers it to `target` (a component on node
`dst`) after the network delay, through the broker's gate when `dst` is a broker (refused while its
process is down, held while it is paused). A request names the client component that sent it
(`client`), which is where its response goes. The class names follow Kafka's request names
(ProduceRequest, FetchRequest, OffsetCommit...); docs/architecture.md lists them.
"""

from __future__ import annotations

from typing import NamedTuple

# Error codes (Kafka's Errors enum names)
NONE = None
NOT_LEADER_OR_FOLLOWER = "NOT_LEADER_OR_FOLLOWER"
NOT_ENOUGH_REPLICAS = "NOT_ENOUGH_REPLICAS"
NOT_ENOUGH_REPLICAS_AFTER_APPEND = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
REQUEST_TIMED_OUT = "REQUEST_TIMED_OUT"
NETWORK_EXCEPTION = "NETWORK_EXCEPTION"
OUT_OF_ORDER_SEQUENCE_NUMBER = "OUT_OF_ORDER_SEQUENCE_NUMBER"
INVALID_PRODUCER_EPOCH = "INVALID_PRODUCER_EPOCH"
OFFSET_OUT_OF_RANGE = "OFFSET_OUT_OF_RANGE"
FENCED_LEADER_EPOCH = "FENCED_LEADER_EPOCH"
UNKNOWN_LEADER_EPOCH = "UNKNOWN_LEADER_EPOCH"
FETCH_SESSION_ID_NOT_FOUND = "FETCH_SESSION_ID_NOT_FOUND"
TOPIC_AUTHORIZATION_FAILED = "TOPIC_AUTHORIZATION_FAILED"  # non-retriable; no broker in the model sends it

# Retriable for the producer (RetriableException subclasses)
RETRIABLE = frozenset({
    NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    REQUEST_TIMED_OUT, NETWORK_EXCEPTION, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
})
# Errors after which the client refreshes its metadata
METADATA_ERRORS = frozenset({NOT_LEADER_OR_FOLLOWER, NETWORK_EXCEPTION, FENCED_LEADER_EPOCH,
                             UNKNOWN_LEADER_EPOCH})


class Message:
    """Something sent over the network. Subclasses name their handler."""

    __slots__ = ()
    handler = ""
    from_client = False  # a client request: refused while a restarted broker is not serving yet
    queued = False  # a client's request to a broker: waits in its request queue (sim/broker/request_queue.py)
    refusable = False  # a request whose sender hears Refused when it reaches a dead process on a live machine

    def refused_to(self):
        """The client component told when this request is refused."""
        return self.client


class Refused(Message):
    """The broker's machine refused the connection (RST: no process listens): the request is gone."""

    __slots__ = ("request", "broker")
    handler = "on_refused"

    def __init__(self, request, broker: int):
        self.request = request
        self.broker = broker


class ConnectionReset(Message):
    """A broker process died: its machine's kernel resets every client connection (NetworkClient sees
    the disconnect)."""

    __slots__ = ("broker", "incarnation")
    handler = "on_connection_reset"

    def __init__(self, broker: int, incarnation: int = 0):
        self.broker = broker
        self.incarnation = incarnation  # the broker's incarnation after the death: connections to earlier ones died


# -- clients and brokers: connections, metadata ------------------------------------------------------
class ConnectRequest(Message):
    """Opening a TCP connection: answered by a live broker, refused by a dead process on a live
    machine, unanswered by a dead or unreachable machine."""

    __slots__ = ("src", "conn", "client")
    handler = "on_connect"
    from_client = True
    refusable = True

    def __init__(self, src: str, conn: int, client):
        self.src = src
        self.conn = conn  # the connection's generation
        self.client = client


class Connected(Message):
    __slots__ = ("broker", "conn")
    handler = "on_connected"

    def __init__(self, broker: int, conn: int):
        self.broker = broker
        self.conn = conn


class CloseConnection(Message):
    """The client closed its connection (generation `conn`; None: whichever it has)."""

    __slots__ = ("src", "conn")
    queued = True
    handler = "on_client_close"

    def __init__(self, src: str, conn: int | None = None):
        self.src = src
        self.conn = conn


class MetadataRequest(Message):
    __slots__ = ("src", "token", "client")
    queued = True
    handler = "on_metadata_request"
    from_client = True

    def __init__(self, src: str, token: int, client):
        self.src = src
        self.token = token
        self.client = client


class MetadataResponse(Message):
    """One broker's metadata cache: (leader, leader epoch) per partition."""

    __slots__ = ("token", "leaders")
    handler = "on_metadata_response"

    def __init__(self, token: int, leaders: tuple):
        self.token = token
        self.leaders = leaders


# -- produce ------------------------------------------------------------------------------------------
class WireBatch:
    """A batch as written into a ProduceRequest: what the broker reads. A later epoch bump rewrites the
    producer's batch for its next attempt, never a request already on the wire."""

    __slots__ = ("partition", "ids", "count", "base_seq", "producer_id", "producer_epoch", "batch")

    def __init__(self, batch):
        self.partition = batch.partition
        self.ids = batch.ids
        self.count = batch.count
        self.base_seq = batch.base_seq
        self.producer_id = batch.producer_id
        self.producer_epoch = batch.producer_epoch
        self.batch = batch  # the producer's own ProducerBatch


class ProduceRequest(Message):
    """One ProduceRequest: at most one batch (a WireBatch) per partition, to one leader."""

    __slots__ = ("rid", "src", "conn", "broker", "batches", "acks", "timeout", "sent_at", "client", "tcp_ack",
                 "seq", "first_deadline")
    queued = True
    handler = "on_produce"
    from_client = True
    refusable = True

    def __init__(self, rid, src, conn, broker, batches, acks, timeout, sent_at, client, seq=0):
        self.rid = rid
        self.src = src
        self.conn = conn  # connection generation: a closed connection never delivers its replies
        self.seq = seq  # position on its connection: a gap means an earlier request was lost (TCP stalls)
        self.broker = broker
        self.batches = batches
        self.acks = acks
        self.timeout = timeout
        self.sent_at = sent_at
        self.client = client  # the Sender: gets the ProduceResponse, the TcpAck, the Refused
        self.tcp_ack = False  # acks=0: the sender waits for the receiving kernel's TCP acknowledgement
        self.first_deadline = min((w.batch.deadline for w in batches), default=float("inf"))  # sender's view


class ProduceResponse(Message):
    """One error code per batch of the request (None = success)."""

    __slots__ = ("request", "results")
    handler = "on_produce_response"

    def __init__(self, request: ProduceRequest, results):
        self.request = request
        self.results = results


class TcpAck(Message):
    """acks=0: the broker's kernel acknowledged a request's bytes (the socket buffer drains)."""

    __slots__ = ("broker", "conn")
    handler = "on_tcp_ack"

    def __init__(self, broker: int, conn: int):
        self.broker = broker
        self.conn = conn


# -- what a fetch carries per partition ------------------------------------------------------------------
class FetchPosition(NamedTuple):
    """A follower's fetch state of one partition (FetchRequest.FetchPartition)."""

    offset: int  # its LEO: the next offset it wants (and its acknowledgement of everything before)
    last_epoch: int  # the leader epoch of its last record (-1 before KIP-320: none named)
    leader_epoch: int  # the leader epoch it believes in (KIP-320's current leader epoch)


class Records(NamedTuple):
    """Data for a follower: whole batches from the fetch offset, and the leader's HW."""

    batches: list
    hw: int


class ConsumerRecords(NamedTuple):
    """Data for a consumer: (batch, first, last+1) record ranges below the HW, and the HW."""

    chunks: list
    hw: int


class Diverging(NamedTuple):
    """KIP-320's divergingEpoch: the follower's last epoch ends at `end` here (epoch -1: none in common)."""

    epoch: int
    end: int


class OutOfRange(NamedTuple):
    """OFFSET_OUT_OF_RANGE for a fetch past the log end that named no epoch (before KIP-320)."""

    leo: int


class PartitionError(NamedTuple):
    code: str
    leo: int | None = None  # OFFSET_OUT_OF_RANGE for a consumer: where the log ends now


class ListedOffset(NamedTuple):
    """ListOffsets: the offset a consumer's reset policy asked for (the HW for latest, 0 for earliest)."""

    offset: int


class PartitionRecord(NamedTuple):
    """A partition's state as the controller publishes it (the metadata image's PartitionRegistration)."""

    replicas: tuple
    leader: int | None
    leader_epoch: int
    isr: tuple
    partition_epoch: int


# -- replication between brokers -------------------------------------------------------------------------
class FetchRequest(Message):
    """A follower's fetch (FetchRequest from a replica, KIP-227 session fields)."""

    __slots__ = ("follower", "token", "parts", "client", "session", "seq", "full", "removed", "broker_epoch")
    handler = "on_replica_fetch"

    def __init__(self, follower, token, parts, client, session=0, seq=0, full=True, removed=(), broker_epoch=0):
        self.follower = follower
        self.broker_epoch = broker_epoch  # the follower's registration (KIP-903: FetchRequest's ReplicaEpoch)
        self.token = token
        self.parts = parts  # {p: FetchPosition}, changed ones only (incremental fetches)
        self.client = client  # the follower's ReplicaFetcher
        self.session = session  # the fetch session's id (one per fetcher and session start)
        self.seq = seq  # KIP-227's session epoch: requests of a session are numbered 0, 1, 2...
        self.full = full  # a full fetch names every partition and starts the session anew
        self.removed = removed  # partitions that left the session (incremental fetches)


class FetchResponse(Message):
    """The leader's answer per partition -- Records, Diverging, OutOfRange or PartitionError -- or a
    session error for the whole fetch."""

    __slots__ = ("token", "parts", "error")
    handler = "on_fetch_response"

    def __init__(self, token: int, parts: dict, error: str | None = None):
        self.token = token
        self.parts = parts
        self.error = error  # FETCH_SESSION_ID_NOT_FOUND: the leader has no such session


# -- brokers and the controller -----------------------------------------------------------------------------
class BrokerHeartbeat(Message):
    __slots__ = ("broker", "incarnation", "metadata_version", "clean", "want_shutdown")
    handler = "on_heartbeat"

    def __init__(self, broker: int, incarnation: int, metadata_version: int, clean: bool,
                 want_shutdown: bool = False):
        self.broker = broker
        self.incarnation = incarnation  # the broker epoch: its registration count
        self.metadata_version = metadata_version  # the newest metadata it applied
        self.clean = clean  # how its process last stopped (KIP-966: unclean ones leave ISR and ELR)
        self.want_shutdown = want_shutdown  # in controlled shutdown (BrokerHeartbeatRequest.WantShutDown)


class MetadataUpdate(Message):
    """The controller publishes partition changes (a delta after `prev_version`, or a full snapshot)."""

    __slots__ = ("version", "prev_version", "changes", "fenced", "full")
    handler = "on_metadata_update"

    def __init__(self, version: int, prev_version: int, changes: dict, fenced: frozenset, full: bool):
        self.version = version
        self.prev_version = prev_version
        self.changes = changes  # partition -> PartitionRecord
        self.fenced = fenced
        self.full = full


class AlterPartition(Message):
    """A leader asks the controller to commit a new ISR (KIP-497); KIP-903 broker epochs per member."""

    __slots__ = ("broker", "partition", "leader_epoch", "partition_epoch", "new_isr", "broker_epochs")
    handler = "on_alter_partition"

    def __init__(self, broker, partition, leader_epoch, partition_epoch, new_isr, broker_epochs):
        self.broker = broker
        self.partition = partition
        self.leader_epoch = leader_epoch
        self.partition_epoch = partition_epoch
        self.new_isr = new_isr
        self.broker_epochs = broker_epochs


class AlterPartitionResponse(Message):
    """The partition's state as committed, or None: refused (a stale epoch, an ineligible replica)."""

    __slots__ = ("partition", "state")
    handler = "on_alter_partition_response"

    def __init__(self, partition: int, state):
        self.partition = partition
        self.state = state


class ControlledShutdown(Message):
    __slots__ = ("broker",)
    handler = "on_controlled_shutdown"

    def __init__(self, broker: int):
        self.broker = broker


class ControlledShutdownResponse(Message):
    __slots__ = ()
    handler = "on_shutdown_allowed"


# -- consumers ---------------------------------------------------------------------------------------------
class ConsumerFetchRequest(Message):
    """A FetchRequest from a consumer to one leader; a negative offset asks ListOffsets."""

    __slots__ = ("src", "parts", "max_partition_bytes", "max_bytes", "max_wait", "min_bytes", "message_bytes",
                 "client", "consumer", "broker", "epoch", "done", "deadline")
    queued = True
    handler = "on_consumer_fetch"
    from_client = True
    refusable = True

    def __init__(self, src, parts, max_partition_bytes, max_bytes, max_wait, min_bytes, message_bytes, client,
                 consumer, broker, epoch):
        self.done = False
        self.deadline = None  # its request.timeout.ms deadline in the consumer's DeadlineQueue
        self.src = src
        self.parts = parts  # {p: fetch offset (or LATEST / EARLIEST)}
        self.max_partition_bytes = max_partition_bytes  # max.partition.fetch.bytes
        self.max_bytes = max_bytes  # fetch.max.bytes
        self.max_wait = max_wait  # fetch.max.wait.ms (s)
        self.min_bytes = min_bytes  # fetch.min.bytes
        self.message_bytes = message_bytes  # the workload's record size (for the batches' sizes)
        self.client = client  # the consumer's Fetcher: gets the response
        self.consumer = consumer  # the KafkaConsumer: told when the connection is refused
        self.broker = broker
        self.epoch = epoch

    def refused_to(self):
        return self.consumer


class ConsumerFetchResponse(Message):
    """Per partition: ConsumerRecords, ListedOffset or PartitionError."""

    __slots__ = ("request", "parts")
    handler = "on_fetch"

    def __init__(self, request: ConsumerFetchRequest, parts: dict):
        self.request = request
        self.parts = parts


class EpochQuery(NamedTuple):
    """OffsetsForLeaderEpoch for one partition, from a consumer validating its position (KIP-320)."""

    leader_epoch: int  # the leader epoch the consumer believes in (fenced if stale)
    last_epoch: int  # the epoch of the last record it consumed
    position: int  # the position being validated (not sent to the broker: to match the answer)


class EpochEndOffset(NamedTuple):
    """Where an epoch ends in the leader's log: the largest epoch <= the one asked, and its end offset
    (-1, -1: undefined -- the log has no epochs)."""

    epoch: int
    end: int


class OffsetsForLeaderEpochRequest(Message):
    """A consumer asks the leader where the epoch of its last consumed record ends (KIP-320)."""

    __slots__ = ("src", "parts", "client", "consumer", "broker", "done", "deadline")
    queued = True
    handler = "on_offsets_for_leader_epoch"
    from_client = True
    refusable = True

    def __init__(self, src, parts: dict, client, consumer, broker: int):
        self.src = src
        self.parts = parts  # {p: EpochQuery}
        self.client = client  # the consumer's Fetcher
        self.consumer = consumer
        self.broker = broker
        self.done = False
        self.deadline = None  # its request.timeout.ms deadline in the consumer's DeadlineQueue

    def refused_to(self):
        return self.consumer


class OffsetsForLeaderEpochResponse(Message):
    """Per partition: EpochEndOffset or PartitionError."""

    __slots__ = ("request", "parts")
    handler = "on_epoch_end_offsets"

    def __init__(self, request: OffsetsForLeaderEpochRequest, parts: dict):
        self.request = request
        self.parts = parts


class GroupRequest(Message):
    """A consumer instance's request to the group coordinator on broker `broker`; the subclasses are
    Kafka's FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch."""

    __slots__ = ("src", "broker", "client", "consumer", "token", "member_id", "generation", "offsets", "session",
                 "rebalance", "slot")
    queued = True
    refusable = True

    def __init__(self, src, broker, client, consumer, token, *, member_id=None, generation=-1, offsets=None,
                 session=0.0, rebalance=0.0, slot=0):
        self.src = src  # the consumer's network node
        self.broker = broker  # the broker it was sent to
        self.client = client  # the consumer's Membership: gets the GroupResponse
        self.consumer = consumer  # the sending consumer instance (a crashed one's connections are gone)
        self.token = token
        self.member_id = member_id
        self.generation = generation
        self.offsets = offsets  # OffsetCommit: {partition: offset}
        self.session = session  # JoinGroup: session.timeout.ms (s)
        self.rebalance = rebalance  # JoinGroup: rebalance timeout = max.poll.interval.ms (s)
        self.slot = slot  # which application instance (orders members for the assignor)


class FindCoordinator(GroupRequest):
    __slots__ = ()
    handler = "on_find_coordinator"


class JoinGroup(GroupRequest):
    __slots__ = ()
    handler = "on_join_group"


class SyncGroup(GroupRequest):
    __slots__ = ()
    handler = "on_sync_group"


class Heartbeat(GroupRequest):
    __slots__ = ()
    handler = "on_heartbeat"


class LeaveGroup(GroupRequest):
    __slots__ = ()
    handler = "on_leave_group"


class OffsetCommit(GroupRequest):
    __slots__ = ()
    handler = "on_offset_commit"


class OffsetFetch(GroupRequest):
    __slots__ = ()
    handler = "on_offset_fetch"


GROUP_REQUESTS = {cls.handler: cls for cls in (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
                                               OffsetCommit, OffsetFetch)}


class GroupResponse(Message):
    __slots__ = ("request", "error", "value")
    handler = "on_group_response"

    def __init__(self, request: GroupRequest, error, value=None):
        self.request = request
        self.error = error
        self.value = value
