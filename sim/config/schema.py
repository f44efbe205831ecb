"""The one place where every configuration key, its default and its allowed values are declared.

Defaults are Kafka 4.x (``ProducerConfig``, ``ConsumerConfig``, ``ServerLogConfigs``,
``ReplicationConfigs``, ``KRaftConfigs``, ``TopicConfig``) and Linux (``mm/page-writeback.c``);
docs/kafka-background.md says what they mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..faults.kinds import CHAOS_KINDS, FAULT_KINDS, PARAMS, PRESETS, kinds_taking, preset_doc

SECTIONS = ("cluster", "topic", "broker", "producer", "consumer", "workload", "network", "chaos", "sim")
KINDS = ("int", "float", "bool", "enum", "duration")
ORIGINS = ("kafka", "linux", "model")

INT_MAX = 2**31 - 1  # Java Integer.MAX_VALUE
LONG_MAX = 2**63 - 1  # Java Long.MAX_VALUE: Kafka's "never"
NEVER = 2**62  # values at or above this count as "never" when converted to seconds

TIME_UNITS = {"ms": 1000, "centisecs": 100, "s": 1}  # unit -> divisor giving seconds


@dataclass(frozen=True)
class Key:
    """One configuration key: full dotted name, type, default, bounds and a one-line description."""

    name: str
    section: str
    kind: str
    default: Any
    doc: str
    unit: str | None = None
    minimum: float | None = None  # inclusive unless min_exclusive
    maximum: float | None = None  # inclusive unless max_exclusive
    choices: tuple[str, ...] = ()
    origin: str = "kafka"
    optional: bool = False  # None (unset) is allowed
    min_exclusive: bool = False
    max_exclusive: bool = False
    aliases: tuple[tuple[Any, str], ...] = ()  # accepted spellings of an enum value -> canonical
    inherits: str | None = None  # optional key: the key whose effective value applies when unset

    @property
    def kafka_name(self) -> str:
        """The key inside its section: Kafka's own name for Kafka keys (``linger.ms``)."""
        return self.name[len(self.section) + 1 :]


def _key(name: str, kind: str, default: Any, doc: str, **extra: Any) -> Key:
    return Key(name, name.split(".", 1)[0], kind, default, doc, **extra)


def _int(name: str, default: int | None, doc: str, lo: int = 0, hi: int = INT_MAX, **extra: Any) -> Key:
    """An integer key; ``hi`` defaults to Java's int range (Kafka's LONG keys pass LONG_MAX)."""
    return _key(name, "int", default, doc, minimum=lo, maximum=hi, **extra)


def _ms(name: str, default: int | None, doc: str, lo: int = 0, hi: int = INT_MAX, **extra: Any) -> Key:
    return _int(name, default, doc, lo, hi, unit="ms", **extra)


def _bool(name: str, default: bool, doc: str, **extra: Any) -> Key:
    return _key(name, "bool", default, doc, **extra)


def _enum(name: str, default: str, choices: tuple[str, ...], doc: str, **extra: Any) -> Key:
    return _key(name, "enum", default, doc, choices=choices, **extra)


MODEL = "model"

_ALL = [
    _int("cluster.brokers", 3, "Number of brokers in the simulated cluster.", 1, 64, origin=MODEL),
    _enum("cluster.kafka.version", "4.0", ("2.0", "2.8", "3.5", "3.9", "4.0"),
          "The Kafka release whose defaults and behaviour the model follows: it sets the era's defaults of the keys "
          "below that changed over time (ZooKeeper-era session and lag times, acks, idempotence, linger.ms, the "
          "model switches), each still overridable; the table at the end of docs/config.md lists them.",
          origin=MODEL),
    _int("cluster.group.coordinator", 0,
         "Broker hosting the consumer group's coordinator at the start (Kafka: the leader of the __consumer_offsets "
         "partition that hash(group.id) picks); the next brokers hold that partition's other replicas.", 0, 63,
         origin=MODEL),

    _int("topic.partitions", 1, "Partitions of the simulated topic (broker default num.partitions).", 1, 10000),
    _int("topic.replication.factor", 1,
         "Replicas per partition, leader included (broker default default.replication.factor).", 1, 64),
    _int("topic.min.insync.replicas", 1,
         "In-sync replicas an acks=all write needs; with fewer the leader rejects it (NOT_ENOUGH_REPLICAS).", 1),
    _bool("topic.unclean.leader.election.enable", False,
          "Let an out-of-sync replica become leader when no in-sync one is left (acknowledged data can be lost)."),
    _int("topic.flush.messages", None,
         "fsync the partition log every this many messages; unset inherits broker.log.flush.interval.messages.",
         1, LONG_MAX, unit="messages", optional=True, inherits="broker.log.flush.interval.messages"),
    _ms("topic.flush.ms", None,
        "fsync the partition log when its unflushed data is this old; unset inherits broker.log.flush.interval.ms.",
        0, LONG_MAX, optional=True, inherits="broker.log.flush.interval.ms"),

    _int("broker.log.flush.interval.messages", LONG_MAX,
         "Messages appended to a partition log before Kafka fsyncs it (Long.MAX_VALUE: never; durability "
         "comes from replication).", 1, LONG_MAX, unit="messages"),
    _ms("broker.log.flush.interval.ms", None,
        "Longest a message stays in a log before Kafka fsyncs it; unset falls back to "
        "log.flush.scheduler.interval.ms.", 0, LONG_MAX, optional=True,
        inherits="broker.log.flush.scheduler.interval.ms"),
    _ms("broker.log.flush.scheduler.interval.ms", LONG_MAX,
        "Period of the log flusher that applies the time-based fsync (Long.MAX_VALUE: never runs).", 1, LONG_MAX),
    _ms("broker.replica.lag.time.max.ms", 30000,
        "A follower that has not caught up to the leader's log end for this long is removed from the ISR.",
        1, LONG_MAX),
    _ms("broker.replica.fetch.wait.max.ms", 500,
        "Longest the leader holds a follower's fetch while fewer than replica.fetch.min.bytes are available."),
    _int("broker.replica.fetch.min.bytes", 1,
         "Bytes a follower fetch waits for before the leader answers it.", unit="bytes"),
    _int("broker.replica.fetch.max.bytes", 1048576,
         "Bytes per partition a follower fetch asks for: whole batches up to this size (a larger first batch is "
         "still returned).", unit="bytes"),
    _int("broker.replica.fetch.response.max.bytes", 10485760,
         "Bytes a follower fetch response carries over all its partitions, in whole batches (the first batch is "
         "returned even when larger).", unit="bytes"),
    _ms("broker.replica.fetch.backoff.ms", 1000,
        "Pause of a follower's fetcher after a fetch error, such as an unreachable leader."),
    _ms("broker.broker.heartbeat.interval.ms", 2000, "Period of the broker's heartbeats to the KRaft controller.", 1),
    _ms("broker.broker.session.timeout.ms", 9000,
        "The controller fences a broker whose last heartbeat is older than this and moves its leaderships.", 1),
    _int("broker.log.segment.bytes", 1073741824,
         "Size at which the active log segment rolls; Kafka fsyncs the old segment when it rolls.", 14,
         unit="bytes"),
    _ms("broker.replica.high.watermark.checkpoint.interval.ms", 5000,
        "How often the HW of each partition is written to disk; a restarted broker starts from that value.", 1,
        LONG_MAX),
    _bool("broker.auto.leader.rebalance.enable", True,
          "Every leader.imbalance.check.interval.seconds while some partition is led by another replica than "
          "its first (preferred) one, the controller moves leadership back to the preferred replica if it is "
          "alive and in the ISR (a clean election; the old leader truncates what the new one lacks)."),
    _int("broker.leader.imbalance.check.interval.seconds", 300,
         "Delay of the controller's preferred-leader check after a metadata change left a partition "
         "imbalanced, and between checks while it stays so.", 1, LONG_MAX, unit="s"),
    _int("broker.eligible.leader.replicas.version", 0,
         "KIP-966 feature level: 1 keeps replicas that left the ISR below min.insync.replicas as Eligible "
         "Leader Replicas (the ISR may then empty); 0 (the 4.0 default) = off.", 0, 1),
    _key("broker.model.fsync.ms", "float", 1.0,
         "Time one fsync of a log takes (device dependent; blocks the append path when flush.messages "
         "triggers it).", unit="ms", minimum=0, origin=MODEL),
    _key("broker.model.request.queue.ms", "float", 0.5,
         "Time a client's request waits in the broker's socket buffer and request channel before a handler "
         "thread takes it (RequestQueueTimeMs; an assumption to sweep); a process that dies loses what waits "
         "there. 0 = handled on arrival.", unit="ms", minimum=0, origin=MODEL),
    _key("broker.model.startup.ms", "float", 2000.0,
         "Time from a restart until the broker process registers with the controller (JVM start, "
         "metadata load), before any log recovery.", unit="ms", minimum=0, origin=MODEL),
    _key("broker.model.recovery.mb.per.s", "float", 200.0,
         "Speed of log recovery after an unclean shutdown: the unflushed part of every log is re-read at "
         "this rate before the broker starts.", unit="MB/s", minimum=0, min_exclusive=True, origin=MODEL),
    _bool("broker.model.isr.broker.epochs", True,
          "Kafka 3.5+ (KIP-903): a leader's AlterPartition names the broker epoch each joining replica fetched "
          "with, and the controller refuses a replica that has registered again since (a stale request could "
          "otherwise add a broker that restarted with an empty log); false = before 3.5.", origin=MODEL),
    _bool("broker.model.hw.frozen.below.min.isr", True,
          "Kafka 3.7+ (KAFKA-15583): the HW does not advance while the ISR is smaller than "
          "min.insync.replicas; false = the older rule (the HW follows whatever ISR there is).", origin=MODEL),
    _enum("broker.model.truncation", "leader-epoch", ("leader-epoch", "high-watermark"),
          "How a replica that becomes a follower truncates: by leader epoch (KIP-101/279/320, Kafka 0.11+) or "
          "to its own HW (before 0.11, the rule behind KIP-101's loss traces; such a cluster had no fetch fencing "
          "either: set broker.model.replica.fetch.fencing = false too).", origin=MODEL),
    _bool("broker.model.replica.fetch.fencing", True,
          "A follower's fetch names the leader epoch it follows and the epoch of its last record (KIP-320, Kafka "
          "2.1+): the leader refuses a fetch in another epoch and checks every fetch for divergence. false = "
          "before 2.1: a fetch names neither, the leader serves any follower of the partition whatever epoch it "
          "believes in, and the follower looks for a divergence only once, when it starts following a new "
          "epoch (OffsetsForLeaderEpoch, KIP-101/279) -- the hole behind KIP-320's first-try trace.",
          origin=MODEL),
    _enum("broker.model.isr.write", "alter-partition", ("alter-partition", "zookeeper"),
          "How a leader changes the ISR: AlterPartition to the controller, answered asynchronously (KIP-497, Kafka "
          "2.7+); zookeeper = before 2.7, a synchronous ZooKeeper write under the partition's lock: a leader cut "
          "off from ZooKeeper (the controller) that tries to shrink the ISR blocks every produce request to the "
          "partition until it hears back.", origin=MODEL),
    _bool("broker.model.quick.restart.keeps.isr", False,
          "ZooKeeper-era behaviour: a restarted broker re-registers at once and stays in the ISR; false = "
          "KRaft, where a new incarnation registers only after its old session expired (fenced first).",
          origin=MODEL),
    _ms("broker.group.initial.rebalance.delay.ms", 3000,
        "How long the group coordinator waits for more members before the first rebalance of an empty group."),
    _ms("broker.group.min.session.timeout.ms", 6000,
        "Smallest consumer session.timeout.ms the group coordinator accepts."),
    _ms("broker.group.max.session.timeout.ms", 1800000,
        "Largest consumer session.timeout.ms the group coordinator accepts."),
    _int("broker.vm.dirty_writeback_centisecs", 500,
         "Period of the kernel flusher thread that writes expired dirty pages to disk (0 disables periodic "
         "write-back).", unit="centisecs", origin="linux"),
    _int("broker.vm.dirty_expire_centisecs", 3000,
         "Age at which a dirty inode (segment file) becomes due for write-back: the flusher writes all of its "
         "dirty pages once its first write since it was last clean is this old.", unit="centisecs", origin="linux"),
    _int("broker.vm.dirty_background_ratio", 10,
         "Percent of the dirtyable memory (broker.model.dirtyable.memory.bytes) past which background write-back "
         "writes the oldest dirty data until the machine is below it again.", 0, 100, unit="percent",
         origin="linux"),
    _ms("broker.model.writeback.phase.ms", None,
        "When the kernel flusher wakes within its vm.dirty_writeback_centisecs period (the same on every machine); "
        "unset = drawn once per machine from the pagecache stream.", optional=True, origin=MODEL),
    _int("broker.model.dirtyable.memory.bytes", 17179869184,
         "Memory the page cache may fill with dirty pages (Linux: free plus file-cache pages); 16 GiB = a 24 GiB "
         "machine less a 6 GiB JVM heap and the rest of the system.", 0, LONG_MAX, unit="bytes", origin=MODEL),

    _enum("producer.acks", "all", ("0", "1", "all"),
          "Replicas that must have a batch before the leader answers: 0 = no response awaited, 1 = leader only, "
          "all = every in-sync replica.", aliases=(("-1", "all"), (-1, "all"), (0, "0"), (1, "1"))),
    _bool("producer.enable.idempotence", True,
          "The broker drops duplicate retries by producer id and sequence number (needs acks=all, retries > 0, "
          "max.in.flight <= 5)."),
    _int("producer.retries", INT_MAX, "Times a failed batch is retried; in practice delivery.timeout.ms is the limit."),
    _int("producer.max.in.flight.requests.per.connection", 5,
         "Unanswered produce requests per broker connection; above 1, retries can reorder batches unless "
         "idempotent.", 1, unit="requests"),
    _ms("producer.delivery.timeout.ms", 120000,
        "Upper bound from a batch's creation to its success or failure, retries included."),
    _ms("producer.request.timeout.ms", 30000,
        "How long the producer waits for a produce response before it retries; also the broker's acks=all "
        "wait limit.", 1),
    _ms("producer.linger.ms", 5,
        "How long a not-yet-full batch waits for more records before it is sendable (5 since Kafka 4.0, KIP-1030).",
        0, LONG_MAX),
    _int("producer.batch.size", 16384,
         "Target size of a per-partition batch; 0 means one record per batch (no batching).", unit="bytes"),
    _int("producer.buffer.memory", 33554432,
         "Memory for records not yet sent; when it is full, send() blocks up to max.block.ms.", 0, LONG_MAX,
         unit="bytes"),
    _ms("producer.max.block.ms", 60000,
        "Longest send() blocks waiting for metadata or buffer space before it fails.", 0, LONG_MAX),
    _ms("producer.retry.backoff.ms", 100,
        "First wait before retrying a failed request; doubles per attempt up to retry.backoff.max.ms (KIP-580).",
        0, LONG_MAX),
    _ms("producer.retry.backoff.max.ms", 1000,
        "Upper bound of the exponential retry backoff, which has +-20% jitter.", 0, LONG_MAX),
    _ms("producer.reconnect.backoff.ms", 50,
        "Wait before reconnecting to a broker after a connection closed or failed; doubles up to the max.",
        0, LONG_MAX),
    _ms("producer.reconnect.backoff.max.ms", 1000,
        "Upper bound of the exponential reconnect backoff.", 0, LONG_MAX),
    _ms("producer.socket.connection.setup.timeout.ms", 10000,
        "How long a connection attempt may take (a dead or unreachable machine) before it is abandoned.",
        1, LONG_MAX),
    _ms("producer.socket.connection.setup.timeout.max.ms", 30000,
        "Upper bound of the connection setup timeout, which doubles per consecutive failure.", 1, LONG_MAX),
    _int("producer.send.buffer.bytes", 131072,
         "TCP send buffer; with acks=0 a send counts as done once it is in this buffer, so a dead machine "
         "silently swallows up to this much.", 1, unit="bytes"),
    _int("producer.max.request.size", 1048576,
         "Largest produce request; a bigger record fails with RecordTooLargeException.", unit="bytes"),
    _bool("producer.partitioner.ignore.keys", False,
          "Place keyed records with the sticky partitioner too, instead of murmur2(key) % partitions."),
    _enum("producer.app.callback", "checked", ("checked", "fire-and-forget"),
          "Whether the application looks at each send's result (callback or future) or ignores it.", origin=MODEL),
    _bool("producer.app.resend", False,
          "Whether the application sends a record again (a new send of the same message) after its send is "
          "reported failed with a timeout or retriable error; only while it still produces.", origin=MODEL),
    _ms("producer.app.resend.backoff.ms", 100,
        "How long the application waits before it calls send() again for records whose send() itself failed "
        "(no memory or no metadata within max.block.ms); a failure reported later through the callback is "
        "re-sent at once.", 1, origin=MODEL),
    _bool("producer.app.resend.on.restart", False,
          "Whether the application, restarted after a crash, sends again what it had not seen acknowledged "
          "(it replays from its own checkpoint).", origin=MODEL),

    _bool("consumer.enable.auto.commit", True,
          "Commit the positions of earlier polls from inside poll() every auto.commit.interval.ms."),
    _ms("consumer.auto.commit.interval.ms", 5000,
        "Least time between auto-commits; the commit happens in the first poll() after it elapses."),
    _enum("consumer.auto.offset.reset", "latest", ("latest", "earliest", "none"),
          "Where to start without a committed offset: the log end (latest), the log start (earliest) or fail (none)."),
    _int("consumer.max.poll.records", 500, "Most records one poll() returns.", 1, unit="records"),
    _int("consumer.fetch.min.bytes", 1, "Bytes a consumer fetch waits for before the broker answers it.", unit="bytes"),
    _ms("consumer.fetch.max.wait.ms", 500,
        "Longest the broker holds a consumer fetch while fewer than fetch.min.bytes are available."),
    _int("consumer.max.partition.fetch.bytes", 1048576,
         "Bytes per partition a consumer fetch asks for: whole batches up to this size (a larger first batch is "
         "still returned).", unit="bytes"),
    _int("consumer.fetch.max.bytes", 52428800,
         "Bytes a consumer fetch response carries over all its partitions, in whole batches (the first batch is "
         "returned even when larger).", unit="bytes"),
    _ms("consumer.default.api.timeout.ms", 60000,
        "Timeout of blocking consumer calls given no explicit timeout, such as commitSync()."),
    _ms("consumer.request.timeout.ms", 30000,
        "How long the consumer waits for a broker response before it fails or retries the request."),
    _ms("consumer.retry.backoff.ms", 100,
        "Wait before retrying a failed consumer request such as a fetch or an offset commit.", 0, LONG_MAX),
    _ms("consumer.reconnect.backoff.ms", 50,
        "Wait before trying a broker again after its connection failed or was refused (fetches), or when "
        "none can be reached (metadata, coordinator lookup).", 0, LONG_MAX),
    _ms("consumer.session.timeout.ms", 45000,
        "The group coordinator removes a member whose heartbeats stop for this long (classic protocol).", 1),
    _ms("consumer.heartbeat.interval.ms", 3000,
        "Period of the consumer's heartbeats to the group coordinator; must be below session.timeout.ms.", 1),
    _ms("consumer.max.poll.interval.ms", 300000,
        "Longest time between two poll() calls; after it the consumer leaves the group (also the rebalance "
        "timeout).", 1),
    _enum("consumer.group.protocol", "classic", ("classic", "consumer"),
          "Group membership protocol: classic (eager Range assignment, client heartbeats) or consumer (KIP-848)."),
    _enum("consumer.app.commit", "auto", ("auto", "sync", "async", "async+sync", "async+sync-processed", "per-record"),
          "How the application commits: auto (only enable.auto.commit), commitSync / commitAsync of the positions "
          "after each poll (sync, async), commitAsync in the loop plus commitSync of the positions (async+sync) or of "
          "the processed offsets (async+sync-processed) on error and close, commitSync after each record "
          "(per-record); see docs/consumer.md.", origin=MODEL),
    _bool("consumer.model.offset.validation", True,
          "Kafka 2.1+ (KIP-320, SubscriptionState.maybeValidatePositionForCurrentLeader): when a partition's leader "
          "epoch changes, the consumer asks the new leader (OffsetsForLeaderEpoch) where the epoch of its last "
          "consumed record ends, and if its position lies beyond that (the log was truncated) it moves back there, "
          "or with auto.offset.reset = none stops reading the partition (LogTruncationException); false = before "
          "2.1: it reads on from its position.", origin=MODEL),
    _enum("consumer.app.group.start", "committed", ("committed", "new"),
          "How the group starts at t = 0: committed = a group that has been running, with its offsets committed "
          "at the start of the (empty) topic; new = a new group with nothing committed, so the first start of "
          "every member applies auto.offset.reset.", origin=MODEL),
    _int("consumer.app.members", 1, "KafkaConsumer instances in the consumer group (partitions are split among "
         "them by the Range assignor).", 1, 1000, origin=MODEL),
    _enum("consumer.app.processing", "sync", ("sync", "async"),
          "Process each poll's records before the next poll (sync) or hand them to worker threads (async).",
          origin=MODEL),
    _int("consumer.app.workers", 4, "Worker threads that process handed-off polls when processing = async.", 1, 1024,
         origin=MODEL),
    _int("consumer.app.queue.polls", 4,
         "Handed-off polls that may wait for a worker (processing = async); when full, the poll loop blocks.",
         1, 1_000_000, unit="polls", origin=MODEL),
    _key("consumer.app.record.processing.ms", "float", 0.1, "Mean time the application spends processing one record.",
         unit="ms", minimum=0, origin=MODEL),
    _enum("consumer.app.record.processing.distribution", "constant", ("constant", "exponential"),
          "Distribution of the per-record processing time around its mean.", origin=MODEL),
    _enum("consumer.app.error.policy", "close", ("close", "skip", "retry"),
          "What the application does when processing a record fails: close the consumer (its finally block "
          "commits per app.commit) and start a new one, skip the record, or retry it.", origin=MODEL),

    _key("workload.duration", "duration", 60.0, "Length of the production phase; every fault must fall inside it.",
         unit="s", minimum=0, min_exclusive=True, origin=MODEL),
    _key("workload.rate", "float", 1000.0, "Mean rate at which the application calls send().",
         unit="1/s", minimum=0, min_exclusive=True, origin=MODEL),
    _int("workload.message.bytes", 1024, "Size of every record in bytes.", 1, unit="bytes", origin=MODEL),
    _int("workload.keys", 0,
         "Distinct record keys, one drawn uniformly per send (key i is the text of i); 0 = records without keys.",
         0, 1_000_000, unit="keys", origin=MODEL),

    _key("network.latency.ms", "float", 0.25, "Mean one-way delay of a request or a response.",
         unit="ms", minimum=0, origin=MODEL),
    _enum("network.latency.distribution", "lognormal", ("lognormal", "exponential", "constant"),
          "Distribution of the one-way delay around its mean.", origin=MODEL),
    _key("network.latency.sigma", "float", 0.6,
         "Shape of the lognormal delay (sigma of the underlying normal); unused by the other distributions.",
         minimum=0, origin=MODEL),
    _key("network.packet.loss", "float", 0.0,
         "Probability that one transmission of a request or a response is lost; network.loss.model says "
         "what follows.", unit="probability", minimum=0, maximum=1, max_exclusive=True, origin=MODEL),
    _enum("network.loss.model", "retransmit", ("retransmit", "drop"),
          "retransmit: TCP sends a lost message again after its retransmission timeout (doubling at each "
          "further loss) and later messages on the link wait behind it; drop: the message is gone and the "
          "request times out (the abstraction of a lost request or response).", origin=MODEL),
    _key("network.tcp.rto.min.ms", "float", 200.0,
         "Linux tcp_rto_min: the first retransmission timeout is the round trip plus this.", unit="ms",
         minimum=0, origin=MODEL),

    _enum("chaos.preset", "none", PRESETS,
          "Random faults: none, or rates typical of a datacenter (assumptions, to sweep): " + preset_doc("datacenter")
          + "; each chaos.* key below overrides its preset value.", origin=MODEL),
    *[_key(f"chaos.{key}.mtbf", "duration", None, f"Mean time between {chaos.between}, per {chaos.per} (unset: the "
           "preset's, none by default).", unit="s", minimum=0, min_exclusive=True, optional=True, origin=MODEL)
      for key, (_kind, chaos) in CHAOS_KINDS.items()],
    *[_key(f"chaos.{key}.duration", "duration", chaos.mean_duration, f"Mean {chaos.duration_doc} (exponentially "
           "distributed).", unit="s", minimum=0, min_exclusive=True, origin=MODEL)
      for key, (_kind, chaos) in CHAOS_KINDS.items()],
    *[_key(f"chaos.{key}.extra.ms", "float", chaos.spike_ms, "One-way delay a latency spike adds to each message.",
           unit="ms", minimum=0, origin=MODEL)
      for key, (_kind, chaos) in CHAOS_KINDS.items() if chaos.spike_ms is not None],
    _int("sim.seed", 1, "Root random seed; the same config and seed reproduce a run exactly.", 0, LONG_MAX,
         origin=MODEL),
    _int("sim.trace.limit", 10_000,
         "Most rare events (faults, elections, ISR changes, truncations...) the run's trace keeps; later ones "
         "are counted, not kept. 0 turns the trace off. The trace is in the JSON result.", 0, INT_MAX,
         origin=MODEL),
    _int("sim.max.messages", 20_000_000,
         "Most messages a run may be expected to send (workload.rate x workload.duration); a configuration "
         "past it is refused before anything runs (about 60 bytes of memory per message). Raise it to run more.",
         1, LONG_MAX, origin=MODEL),
    _int("sim.max.faults", 100_000,
         "Most random faults a run may be expected to draw (chaos rates x targets x workload.duration); a "
         "configuration past it is refused before anything runs. Raise it to run more.", 1, LONG_MAX, origin=MODEL),
    _key("sim.drain.timeout", "duration", 600.0,
         "Longest drain phase after production ends (producer flush, consumer catch-up).",
         unit="s", minimum=0, min_exclusive=True, origin=MODEL),
]

SCHEMA: dict[str, Key] = {key.name: key for key in _ALL}


def to_seconds(key: str, value: Any) -> float | None:
    """A time key's value in seconds; Kafka's "never" (>= 2**62) becomes ``math.inf``."""
    unit = SCHEMA[key].unit
    if unit not in TIME_UNITS:
        raise ValueError(f"{key} is not a time (unit {unit!r})")
    if value is None:
        return None
    if value >= NEVER:
        return math.inf
    return value / TIME_UNITS[unit]

# [[faults]] tables: the fields every fault has, then those of some kinds only (sim/faults/kinds.py).
FAULT_ACTIONS = tuple(FAULT_KINDS)


def _fault_fields() -> dict[str, str]:
    fields = {
        "at": "when the fault happens, from the start of production: seconds or a string such as 250ms, 2m "
              "(required)",
        "action": "one of " + ", ".join(FAULT_ACTIONS) + " (required)",
        "target": "what the fault hits: broker:N, leader, followers, all-brokers (leader / followers as the "
                  "controller sees them when the fault fires), producer, consumer (= consumer:0) or consumer:N; "
                  "which of them each action takes is in the table of actions",
        "duration": "> 0: how long the fault lasts before what ends it (table of actions) undoes it",
        "partition": "which partition leader / followers refer to (default 0)",
    }
    for name, param in PARAMS.items():
        owners = ", ".join(kinds_taking(name))
        fields[name] = f"{owners}{'' if param.required else ', optional'}: {param.doc}"
    return fields


FAULT_FIELDS = _fault_fields()
