"""Kafka protocol pieces the model exchanges: error codes and request records."""

from __future__ import annotations

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
TOPIC_AUTHORIZATION_FAILED = "TOPIC_AUTHORIZATION_FAILED"  # non-retriable; no broker in the model sends it

# Retriable for the producer (RetriableException subclasses)
RETRIABLE = frozenset({
    NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    REQUEST_TIMED_OUT, NETWORK_EXCEPTION, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
})
# Errors after which the client refreshes its metadata
METADATA_ERRORS = frozenset({NOT_LEADER_OR_FOLLOWER, NETWORK_EXCEPTION, FENCED_LEADER_EPOCH,
                             UNKNOWN_LEADER_EPOCH})


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


class ProduceRequest:
    """One ProduceRequest: at most one batch (a WireBatch) per partition, to one leader."""

    __slots__ = ("rid", "src", "conn", "broker", "batches", "acks", "timeout", "sent_at", "reply", "disconnect",
                 "tcp_ack", "seq", "first_deadline")

    def __init__(self, rid, src, conn, broker, batches, acks, timeout, sent_at, reply, disconnect, seq=0):
        self.rid = rid
        self.src = src
        self.conn = conn  # connection generation: a closed connection never delivers its replies
        self.seq = seq  # position on its connection: a gap means an earlier request was lost (TCP stalls)
        self.broker = broker
        self.batches = batches
        self.acks = acks
        self.timeout = timeout
        self.sent_at = sent_at
        self.reply = reply  # callable(request, results) on the client
        self.disconnect = disconnect  # callable(broker id): the connection was reset
        self.tcp_ack = None  # acks=0 only: callable(broker id, conn), the receiving kernel's TCP ack
        self.first_deadline = min((w.batch.deadline for w in batches), default=float("inf"))  # sender's view


class ConnectProbe:
    """Opening a TCP connection: answered by a live broker, refused by a dead process on a live
    machine, unanswered by a dead or unreachable machine."""

    __slots__ = ("src", "conn", "reply", "disconnect")

    def __init__(self, src, conn, reply, disconnect):
        self.src = src
        self.conn = conn
        self.reply = reply  # callable(broker id, conn)
        self.disconnect = disconnect  # callable(broker id)
