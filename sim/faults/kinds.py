"""The fault kinds: one entry per kind of failure, read by everything that deals with faults.

Each ``FaultKind`` says what its ``[[faults]]`` action does (the docs), what it may target, which
extra fields it takes, whether it has a duration and what ends it, how it is applied (``apply``
returns the action that undoes it, if any), and the random processes that draw it
(``ChaosKind``: the ``chaos.<key>.*`` config keys, the preset rates, the random stream).
Validation (sim/config/validate.py), the config schema and docs/config.md, the fault injector
and the chaos processes all read this table: adding a fault kind means adding an entry here
(and the component method it calls), nothing else.

The random stream number of a chaos kind is part of the results' contract: two runs with the
same seed draw the same faults of a kind whatever other kinds are on (common random numbers), so
a new kind takes the next unused number and existing numbers never change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

DAY, YEAR = 86400.0, 365 * 86400.0

# What a fault can be aimed at (the target forms are checked in sim/config/validate.py)
BROKERS, PRODUCER, CONSUMER = "brokers", "producer", "consumer"
TARGET_FORMS = {BROKERS: "broker:N, leader, followers, all-brokers", PRODUCER: "producer",
                CONSUMER: "consumer or consumer:N"}

# Peers a network fault cuts or impairs (`from`): groups of nodes, or single clients
PEERS = ("brokers", "controller", "clients", "producer", "consumer")
ALL_PEERS = PEERS[:3]

# Duration rules
OPTIONAL, REQUIRED, FORBIDDEN = "optional", "required", "forbidden"

# Chaos scopes: one Poisson process per broker, one for the whole cluster, per producer, per group member
PER_BROKER, PER_CLUSTER, PER_PRODUCER, PER_CONSUMER = "broker", "cluster", "producer", "consumer"
PRESETS = ("none", "datacenter")


@dataclass(frozen=True)
class Param:
    """An extra field of a [[faults]] table that belongs to some kinds only."""

    name: str
    doc: str
    required: bool = True
    maximum: float = math.inf  # numbers: 0 <= value <= maximum


@dataclass(frozen=True)
class ChaosKind:
    """A Poisson process drawing one fault kind: config keys chaos.<key>.mtbf / .duration."""

    key: str  # e.g. "broker.crash"
    stream: int  # random stream number (never reused, never renumbered)
    scope: str  # PER_BROKER, PER_CLUSTER, PER_PRODUCER or PER_CONSUMER
    between: str  # "Mean time between {between}, per {per}"
    mean_duration: float  # default of chaos.<key>.duration, s
    duration_doc: str  # "Mean {duration_doc} (exponentially distributed)."
    presets: tuple[tuple[str, float, str], ...] = ()  # (preset, mtbf s, how the preset docs say it)
    spike_ms: float | None = None  # latency spikes: default of chaos.<key>.extra.ms

    @property
    def per(self) -> str:
        return {PER_BROKER: "broker", PER_CLUSTER: "cluster", PER_PRODUCER: "producer",
                PER_CONSUMER: "consumer"}[self.scope]

    def preset_mtbf(self, preset: str) -> float | None:
        return next((mtbf for name, mtbf, _doc in self.presets if name == preset), None)


# apply(injector, fault, target) -> the undo action, or None. The target is a Broker for broker
# targets, the node name ("producer", "consumer:N") for client targets.
Apply = Callable[..., Callable[[], None] | None]


@dataclass(frozen=True)
class FaultKind:
    """One [[faults]] action."""

    action: str
    doc: str
    targets: tuple[str, ...]  # BROKERS, PRODUCER, CONSUMER
    apply: Apply
    duration: str = OPTIONAL  # OPTIONAL, REQUIRED or FORBIDDEN
    ended_by: str = ""  # what a duration ends with (for the docs): "restart", "heal", ...
    params: tuple[Param, ...] = ()
    chaos: tuple[ChaosKind, ...] = ()

    @property
    def default_target(self) -> str | None:
        """Kinds with one kind of target need none in the file (consumer = consumer:0)."""
        return self.targets[0] if self.targets in ((PRODUCER,), (CONSUMER,)) else None

    @property
    def network(self) -> bool:
        """Acts on a node's network links (and so takes `from`)."""
        return any(param.name == "from" for param in self.params)

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)


# -- how each kind is applied ---------------------------------------------------------------------
def _node(target) -> str:
    return target if isinstance(target, str) else target.node


def _crash(injector, fault, broker):
    broker.crash()
    return broker.restart


def _power_loss(injector, fault, broker):
    broker.crash(power_loss=True)
    return broker.restart


def _disk_failure(injector, fault, broker):
    broker.fail_disk()
    return lambda: broker.restart(replace_disk=True)


def _shutdown(injector, fault, broker):
    broker.shutdown()
    return broker.restart


def _restart(injector, fault, broker):
    broker.restart()


def _pause(injector, fault, broker):
    broker.pause()
    return broker.resume


def _isolate(injector, fault, target):
    node = _node(target)
    injector.network.isolate(node, fault.isolate_from or ALL_PEERS)
    injector.trace.add(injector.env.now, "isolate", node, tuple(fault.isolate_from or ALL_PEERS))
    return lambda: injector.heal_links(node)


def _heal(injector, fault, target):
    node = _node(target)
    injector.network.unimpair(node)
    injector.heal_links(node)
    if not isinstance(target, str):
        target.resume()


def _impair(injector, fault, target, **impairment):
    node = _node(target)
    peers = fault.isolate_from or ALL_PEERS
    token = injector.network.impair(node, peers, **impairment)
    injector.trace.add(injector.env.now, fault.action, node, token[0], tuple(peers))
    return lambda: injector.network.unimpair(node, token)


def _packet_loss(injector, fault, target):
    return _impair(injector, fault, target, loss=fault.rate)


def _latency_spike(injector, fault, target):
    return _impair(injector, fault, target, extra_delay=fault.extra_ms / 1000.0)


def _producer_crash(injector, fault, target):
    producer = injector.cluster.producer
    producer.crash()
    return producer.restart


def _slot(target: str) -> int:
    return int(target.split(":", 1)[1])


def _consumer_crash(injector, fault, target):
    group, slot = injector.cluster.consumer, _slot(target)
    group.crash(slot)
    return lambda: group.restart(slot)


def _consumer_error(injector, fault, target):
    injector.cluster.consumer.inject_error(_slot(target))


def _consumer_stall(injector, fault, target):
    injector.cluster.consumer.stall(_slot(target), fault.duration)  # the stall itself lasts `duration`


# -- the table ------------------------------------------------------------------------------------
FROM = Param("from", "which peers' links: all (default) or one or a list of " + ", ".join(PEERS)
             + " (producer and consumer are the clients; consumer = every member)", required=False)
RATE = Param("rate", "probability, >= 0 and <= 1, that a transmission on an affected link is lost", maximum=1.0)
EXTRA_MS = Param("extra_ms", "milliseconds, >= 0, added to each message's one-way delay")
NETWORK_TARGETS = (BROKERS, PRODUCER, CONSUMER)

_KINDS = (
    FaultKind("crash", "broker process dies (kill -9); its page cache survives and the OS keeps writing it back",
              (BROKERS,), _crash, ended_by="restart",
              chaos=(ChaosKind("broker.crash", 0, PER_BROKER, "broker process crashes (page cache kept)", 60.0,
                               "time until a crashed broker is restarted",
                               (("datacenter", 60 * DAY, "broker process crash every 60 d per broker"),)),)),
    FaultKind("power_loss", "broker machine loses power; unflushed page-cache data is lost",
              (BROKERS,), _power_loss, ended_by="restart",
              chaos=(ChaosKind("broker.power_loss", 1, PER_BROKER,
                               "power losses of a broker's machine (page cache lost)", 300.0,
                               "time until a machine that lost power boots again",
                               (("datacenter", YEAR / 1.5, "power loss 1.5 per machine-year"),)),
                     ChaosKind("cluster.power_outage", 2, PER_CLUSTER, "power outages of every broker at once",
                               1800.0, "length of a whole-cluster power outage",
                               (("datacenter", YEAR, "a whole-cluster power outage once a year"),)))),
    FaultKind("disk_failure", "the broker's log disk fails: the broker halts and every replica it held is gone; it "
                              "starts again only after duration (the disk replaced), on an empty disk, and rebuilds "
                              "its replicas",
              (BROKERS,), _disk_failure, ended_by="restart",
              # disks: 2-4 % a year (Schroeder & Gibson, FAST 2007)
              chaos=(ChaosKind("broker.disk_failure", 8, PER_BROKER,
                               "failures of a broker's log disk (its replicas lost)", 14400.0,
                               "time until a failed disk is replaced and the broker restarted",
                               (("datacenter", YEAR / 0.03,
                                 "a disk failure 3 per 100 disk-years (one log disk per broker)"),)),)),
    FaultKind("shutdown", "controlled shutdown: leadership moves away, the logs are flushed, the process stops",
              (BROKERS,), _shutdown, ended_by="restart"),
    FaultKind("restart", "a crashed, shut down or powered-off broker starts again (log recovery, then it rejoins)",
              (BROKERS,), _restart, duration=FORBIDDEN),
    FaultKind("isolate", "cut the target's network links (see from); the target can also be the producer or a "
                         "consumer",
              NETWORK_TARGETS, _isolate, ended_by="heal", params=(FROM,),
              chaos=(ChaosKind("broker.partition", 3, PER_BROKER,
                               "network partitions cutting a broker off from everything", 30.0,
                               "length of a network partition"),)),
    FaultKind("heal", "restore the target's network links, drop its packet_loss / latency_spike, resume a paused "
                      "broker",
              NETWORK_TARGETS, _heal, duration=FORBIDDEN),
    FaultKind("pause", "freeze the broker (a long GC or VM stall): it stops answering without crashing",
              (BROKERS,), _pause, ended_by="resume",
              chaos=(ChaosKind("broker.pause", 4, PER_BROKER,
                               "long stop-the-world pauses of a broker (GC, VM stall)", 0.5,
                               "length of a long pause"),)),
    FaultKind("packet_loss", "lose each transmission of a request or response on the target's links (see from) "
                             "with probability rate; TCP retransmits it, or it is gone with network.loss.model = "
                             "drop",
              NETWORK_TARGETS, _packet_loss, ended_by="heal", params=(FROM, RATE)),
    FaultKind("latency_spike", "add extra_ms to the one-way delay of every message on the target's links (see from)",
              NETWORK_TARGETS, _latency_spike, ended_by="heal", params=(FROM, EXTRA_MS),
              chaos=(ChaosKind("broker.latency_spike", 5, PER_BROKER, "latency spikes on every link of a broker",
                               5.0, "length of a latency spike", spike_ms=50.0),)),
    FaultKind("producer_crash", "the producer application dies; buffered and in-flight records never complete",
              (PRODUCER,), _producer_crash, ended_by="restart",
              chaos=(ChaosKind("producer.crash", 6, PER_PRODUCER, "crashes of the producing application", 10.0,
                               "time until a crashed producer application is restarted"),)),
    FaultKind("consumer_crash", "a consumer application instance dies; once restarted it rejoins the group and "
                                "resumes from the last committed offset",
              (CONSUMER,), _consumer_crash, ended_by="restart",
              chaos=(ChaosKind("consumer.crash", 7, PER_CONSUMER,
                               "crashes of a consuming application instance (each group member)", 10.0,
                               "time until a crashed consumer application is restarted"),)),
    FaultKind("consumer_error", "processing the record in hand (or the next one) fails once; "
                                "consumer.app.error.policy decides",
              (CONSUMER,), _consumer_error, duration=FORBIDDEN),
    FaultKind("consumer_stall", "the application's processing blocks for duration (a slow downstream call) while its "
                                "heartbeat thread runs on: past max.poll.interval.ms the member leaves the group",
              (CONSUMER,), _consumer_stall, duration=REQUIRED),
)

FAULT_KINDS: dict[str, FaultKind] = {kind.action: kind for kind in _KINDS}

# The chaos processes, in the order their config keys are listed (which is not the stream order)
_CHAOS_ORDER = ("broker.crash", "broker.power_loss", "broker.disk_failure", "cluster.power_outage",
                "broker.partition", "broker.pause", "broker.latency_spike", "producer.crash", "consumer.crash")
_BY_KEY = {chaos.key: (kind, chaos) for kind in _KINDS for chaos in kind.chaos}
CHAOS_KINDS: dict[str, tuple[FaultKind, ChaosKind]] = {key: _BY_KEY[key] for key in _CHAOS_ORDER}
assert set(_BY_KEY) == set(CHAOS_KINDS), "every chaos kind must be listed in _CHAOS_ORDER"
assert len({chaos.stream for _kind, chaos in CHAOS_KINDS.values()}) == len(CHAOS_KINDS), "streams must differ"

PARAMS: dict[str, Param] = {param.name: param for kind in _KINDS for param in kind.params}


def kinds_taking(param: str) -> tuple[str, ...]:
    """The actions that take an extra field."""
    return tuple(kind.action for kind in _KINDS if kind.param(param) is not None)


def preset_doc(preset: str) -> str:
    """The preset's rates in words, in the order the chaos keys are listed."""
    return ", ".join(doc for _kind, chaos in CHAOS_KINDS.values() for name, _mtbf, doc in chaos.presets
                     if name == preset)
