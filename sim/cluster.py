"""Cluster: everything one replication simulates, wired together.

Network, controller, brokers, group coordinator, the producing and consuming
applications, the fault injector and the ledger -- built from one Config and seed.
"""

from __future__ import annotations

import simpy

from .broker.broker import Broker
from .faults import FaultInjector
from .faults.chaos import biased_faults
from .consumer import ConsumerGroup, GroupCoordinator
from .controller import Controller
from .ledger import Ledger
from .network import Network
from .protocol import ConnectionReset
from .producer.producer import NODE as PRODUCER_NODE
from .producer.producer import ProducerApp
from .rng import make_streams
from .trace import Trace


def assign_replicas(partitions: int, brokers: int, rf: int) -> list[tuple[int, ...]]:
    """Replica lists: partition p starts at broker p mod n (so leaders spread), then the next ones."""
    return [tuple((p + i) % brokers for i in range(rf)) for p in range(partitions)]


class Cluster:
    """One simulated Kafka deployment and its clients."""

    def __init__(self, cfg, spawn_key: tuple[int, ...] = (), arrivals=None, fault_bias: dict | None = None):
        """arrivals: an ArrivalStream to use instead of the workload's Poisson one (timelines);
        fault_bias: chaos key -> factor on its rate, for importance sampling (sim/rare/importance.py)."""
        self.cfg = cfg
        settings = cfg.settings
        self.env = env = simpy.Environment()
        self.rng = rng = make_streams(settings.sim.seed, spawn_key)
        self.network = Network(env, rng["network"], settings.network)
        workload = settings.workload
        self.ledger = Ledger(workload.rate * workload.duration * 1.1 + 1024)
        self.trace = Trace(settings.sim.trace_limit)
        topic = settings.topic
        self.assignment = assign_replicas(topic.partitions, settings.cluster.brokers, topic.replication_factor)
        self.controller = Controller(self)
        self.brokers = [Broker(self, broker_id) for broker_id in range(settings.cluster.brokers)]
        for broker in self.brokers:
            broker.peers = self.brokers
            broker.controller = self.controller
            self.network.register(broker.node, broker)
        self.controller.brokers = self.brokers
        self.coordinator = GroupCoordinator(self)
        self.controller.start()
        for broker in self.brokers:
            broker.start()
        self.producer = ProducerApp(env, cfg, self.network, self.brokers, self.ledger,
                                    rng["workload"], rng["producer"], arrivals, key_rng=rng["keys"],
                                    partitioner_rng=rng["partitioner"])
        self.end = workload.duration
        self.consumer = ConsumerGroup(self, self.end)
        scripted = list(cfg.faults)
        chaos, self.fault_log_weight = biased_faults(cfg, rng["faults"], len(self.brokers), self.end, fault_bias)
        self.fault_bias = fault_bias
        self.faults = FaultInjector(self, sorted(scripted + chaos, key=lambda f: f.at), self.end)

    def notify_disconnect(self, broker) -> None:
        """A broker process died: the kernel resets its connections -- clients' and other brokers' fetchers'."""
        self.network.send(broker.node, PRODUCER_NODE, self.producer, ConnectionReset(broker.id))
        for app in self.consumer.members:
            self.network.send(broker.node, app.node, app, ConnectionReset(broker.id))
        for peer in self.brokers:
            if peer is not broker:
                self.network.send(broker.node, peer.node, peer, ConnectionReset(broker.id, broker.incarnation))

    # -- views used by the drain and the final accounting --------------------------------------
    def leader_log(self, partition: int):
        leader = self.controller.leader_of(partition)
        if leader is None:
            return None
        broker = self.brokers[leader]
        if not broker.up or partition not in broker.leading:
            return None
        return broker.logs[partition]

    def settled(self) -> bool:
        """Every broker up (none in a controlled shutdown) and up to date, every partition led, fully
        replicated (HW = LEO), no follower left with a divergence to truncate, consumed to its HW."""
        version = self.controller.version
        if not all(b.up and b.serving and not b.shutting_down and b.meta_version == version for b in self.brokers):
            return False
        hws = []
        for partition, replicas in enumerate(self.assignment):
            log = self.leader_log(partition)
            if log is None or log.hw < log.leo:
                return False
            for replica in replicas:  # a follower out of the ISR may still hold records the leader replaced
                broker = self.brokers[replica]
                follower = broker.logs[partition]
                # (before KIP-101 a fetch names no epoch: what it cannot see stays diverged for good)
                if follower is log:
                    continue
                if log.divergence(follower.leo, broker.follower.fetch_epoch(partition)) is not None:
                    return False
            hws.append(log.hw)
        return self.consumer.caught_up(hws)
