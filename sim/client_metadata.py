"""ClientMetadata: what a client believes about partition leaders (Kafka's Metadata class).

Refreshed by a MetadataRequest to one broker, whose answer is that broker's own metadata
cache -- possibly stale, which is how a client can keep talking to a zombie leader.
A newer leader epoch always wins over an older one (KIP-320).

Simplification: the client picks, in rotation, a broker whose process is up and that it can
reach; Kafka gets there through connection failures and its least-loaded-node choice.
"""

from __future__ import annotations

import math

from .protocol import MetadataRequest, MetadataResponse
from .timer import MIN_WAIT, Alarm


class ClientMetadata:
    """Leader and leader epoch per partition, as one client sees them."""

    def __init__(self, env, network, node: str, brokers, partitions: int, retry_backoff: float, on_update,
                 reconnect_backoff: float = 0.05):
        self.env = env
        self.network = network
        self.node = node
        self.brokers = brokers  # the Broker objects a request can go to
        self.leaders: list[int | None] = [None] * partitions
        self.epochs: list[int] = [-1] * partitions
        self.retry_backoff = retry_backoff
        # no broker reachable: NetworkClient waits reconnect.backoff.ms (and at least retry.backoff.ms here)
        self.unreachable_backoff = max(retry_backoff, reconnect_backoff, MIN_WAIT)
        self.timeout = max(retry_backoff, 0.05)
        self.on_update = on_update
        # called just before the metadata changes: the producer appends the sends made up to now,
        # so that the partitioner saw, for each of them, the leaders known when it was made
        self.before_change = None
        self.alive = True
        self.known = False  # a first answer came: the topic and its partitions are known
        self.wanted = True
        self.requests = 0
        self._pending = None
        self._rotation = 0
        self.version = 0  # bumped whenever a leader changes (users cache per-leader views on it)
        self._alarm = Alarm(env)
        env.process(self._run())

    def leader(self, partition: int) -> int | None:
        return self.leaders[partition]

    def invalidate(self, partition: int) -> None:
        """NOT_LEADER or a dead connection: forget the leader and ask again."""
        if self.leaders[partition] is not None:
            if self.before_change is not None:
                self.before_change()
            self.leaders[partition] = None
            self.version += 1
        self.request_update()

    def request_update(self) -> None:
        self.wanted = True
        self._alarm.notify()

    def stop(self) -> None:
        self.alive = False
        self._alarm.notify()

    def _run(self):
        env = self.env
        next_allowed = -math.inf
        while self.alive:
            if not self.wanted:
                yield self._alarm.wait()
                continue
            if env.now < next_allowed:
                yield self._alarm.wait(next_allowed)
                continue
            broker = self._pick_broker()
            if broker is None:
                next_allowed = env.now + self.unreachable_backoff
                continue
            self.wanted = False
            self.requests += 1
            token = self._pending = self.requests
            self.network.send(self.node, broker.node, broker, MetadataRequest(self.node, token, self))
            deadline = env.now + self.timeout + 4 * self.network.rtt_estimate()
            while self.alive and self._pending == token and env.now < deadline:
                yield self._alarm.wait(deadline)
            if self._pending == token:  # lost request or response: ask again
                self._pending = None
                self.wanted = True
            next_allowed = env.now + self.retry_backoff

    def _pick_broker(self):
        count = len(self.brokers)
        for step in range(count):
            broker = self.brokers[(self._rotation + step) % count]
            if broker.up and self.network.link_up(self.node, broker.node):
                self._rotation = (self._rotation + step + 1) % count
                return broker
        return None

    def on_metadata_response(self, response: MetadataResponse) -> None:
        """(leader, leader_epoch) per partition, from one broker's cache."""
        snapshot = response.leaders
        if not self.alive or response.token != self._pending:
            return
        if self.before_change is not None:
            self.before_change()
        self._pending = None
        self.known = True
        missing = False
        for partition, (leader, epoch) in enumerate(snapshot):
            if epoch >= self.epochs[partition]:
                if self.leaders[partition] != leader:
                    self.leaders[partition] = leader
                    self.version += 1
                self.epochs[partition] = epoch
            if self.leaders[partition] is None:
                missing = True
        if missing:
            self.wanted = True
        self._alarm.notify()
        self.on_update()
