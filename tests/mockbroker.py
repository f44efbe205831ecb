"""A producer against scripted brokers, in the spirit of Kafka's MockClient: the test answers every
ProduceRequest itself, at the moment it chooses, with the error codes it chooses.

Links have a constant 1 ms one-way delay. The brokers answer metadata requests (leader and
leader epoch per partition, from `leaders`) and connection attempts at once; produce requests
wait in `requests` until the test calls `respond`.
"""

from __future__ import annotations

import simpy

from sim import protocol as P
from sim.ledger import Ledger
from sim.network import Network, broker_node
from sim.producer.producer import ProducerApp
from sim.rng import make_streams
from sim.workload import ArrivalStream

from simtest import config

MS = 0.001


class MockBroker:
    """Stands in for one broker: records produce requests, answers what the test says."""

    def __init__(self, env, network, broker_id: int, leaders: list):
        self.env = env
        self.network = network
        self.id = broker_id
        self.node = broker_node(broker_id)
        self.up = True
        self.incarnation = 0
        self.leaders = leaders  # shared: partition -> (leader, leader epoch)
        self.requests: list = []  # produce requests not answered yet, in arrival order
        self.received: list = []  # every produce request, with its arrival time
        self.closed: list = []  # connection generations the client closed
        self.refuse = False  # connection attempts are refused (process down, machine up)
        self.silent = False  # connection attempts go unanswered (machine unreachable)

    # -- what the producer calls over the network -------------------------------------------
    def on_metadata_request(self, req) -> None:
        self.network.send(self.node, req.src, req.client, P.MetadataResponse(req.token, tuple(self.leaders)))

    def on_connect(self, req) -> None:
        if self.refuse:
            self.network.send(self.node, req.src, req.client, P.Refused(req, self.id))
        elif not self.silent:
            self.network.send(self.node, req.src, req.client, P.Connected(self.id, req.conn))

    def on_produce(self, req) -> None:
        self.requests.append(req)
        self.received.append((self.env.now, req))

    def on_client_close(self, message) -> None:
        self.closed.append(message.conn)

    # -- what the test does --------------------------------------------------------------------
    def respond(self, req, *errors) -> None:
        """Answer a request: one error code per batch (None = success)."""
        self.requests.remove(req)
        self.network.send(self.node, req.src, req.client, P.ProduceResponse(req, list(errors)))

    def reset_connections(self, app) -> None:
        """The broker process died: the kernel resets the client's connection."""
        self.requests.clear()
        self.network.send(self.node, "producer", app, P.ConnectionReset(self.id))


class Harness:
    """A ProducerApp sending at scripted times to MockBrokers."""

    def __init__(self, times, *, partitions=1, brokers=1, keys=None, **overrides):
        overrides.setdefault("workload__duration", 60)
        cfg = config(topic__partitions=partitions, cluster__brokers=brokers, **overrides)
        self.env = env = simpy.Environment()
        rng = make_streams(cfg["sim.seed"])
        self.network = Network(env, rng["network"], cfg.settings.network)  # simtest.config: 1 ms, constant
        self.leaders = [(p % brokers, 0) for p in range(partitions)]
        self.brokers = [MockBroker(env, self.network, b, self.leaders) for b in range(brokers)]
        self.ledger = Ledger()
        arrivals = ArrivalStream.from_times(times, end=cfg.seconds("workload.duration"), partitions=keys)
        self.app = ProducerApp(env, cfg, self.network, self.brokers, self.ledger, rng["workload"], rng["producer"],
                               arrivals)

    @property
    def producer(self):
        return self.app.client

    @property
    def idem(self):
        return self.app.client.idempotence

    def run(self, until: float) -> Harness:
        self.env.run(until=until)
        return self

    def requests(self, broker: int = 0) -> list:
        return self.brokers[broker].requests

    def sent(self, broker: int = 0) -> list[tuple]:
        """(arrival time, [(partition, base sequence, epoch, records)]) of every produce request."""
        return [(t, [(w.partition, w.base_seq, w.producer_epoch, w.count) for w in req.batches])
                for t, req in self.brokers[broker].received]

    def respond(self, at: float, *errors, broker: int = 0, index: int = 0) -> None:
        """At time `at`, answer the index-th unanswered request of a broker."""
        if at > self.env.now:
            self.run(at)
        self.brokers[broker].respond(self.requests(broker)[index], *errors)
