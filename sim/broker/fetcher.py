"""ReplicaFetcher: a follower broker pulling its partitions from one leader broker.

Kafka's ReplicaFetcherThread (num.replica.fetchers = 1 per source broker). Each fetch
names, per partition, the follower's LEO (its acknowledgement to the leader), the epoch
of its last record and the leader epoch it believes in. The leader answers with data,
its high watermark, or a diverging epoch, after which the follower truncates its log
(KIP-101/KIP-320) and fetches again.

Driven by callbacks, not a process: the answer to one fetch sends the next, so a fetch round
costs the two network deliveries and nothing more. A fetch unanswered for
replica.socket.timeout.ms (30 s) is given up and sent again.
"""

from __future__ import annotations

import math

from ..network import call_at
from ..timer import LazyTimer


class FetchRequest:
    __slots__ = ("follower", "token", "parts", "reply")

    def __init__(self, follower, token, parts, reply):
        self.follower = follower
        self.token = token
        self.parts = parts  # {p: (fetch offset, last fetched epoch, leader epoch)}
        self.reply = reply


class ReplicaFetcher:
    """The fetch loop from one follower broker to one leader broker."""

    def __init__(self, broker, leader_id: int):
        self.broker = broker
        self.env = broker.env
        self.leader_id = leader_id
        self.parts: dict[int, int] = {}  # partition -> leader epoch fetched in
        self.incarnation = broker.incarnation
        self.token = 0
        self.outstanding: int | None = None  # token of the fetch on the wire
        self.sent_at = -math.inf
        self.wait_until = -math.inf  # error backoff, or the append path's fsync
        self.wake_scheduled = False
        self.running = True
        self.timer = LazyTimer(self.env, self._check_timeout)
        self._soon()

    def add(self, p: int, leader_epoch: int) -> None:
        self.parts[p] = leader_epoch
        self._soon()

    def remove(self, p: int) -> None:
        self.parts.pop(p, None)
        if not self.parts:
            self.stop()

    def stop(self) -> None:
        self.running = False

    def _alive(self) -> bool:
        b = self.broker
        return self.running and b.up and b.incarnation == self.incarnation

    def _soon(self) -> None:
        """Send a fetch at the next opportunity (once, however often asked)."""
        if not self.wake_scheduled:
            self.wake_scheduled = True
            call_at(self.env, max(0.0, self.wait_until - self.env.now), self._wake)

    def _wake(self, _event=None) -> None:
        self.wake_scheduled = False
        self._pump()

    def _pump(self) -> None:
        """The next fetch, unless one is on the wire, we wait, or the broker is frozen."""
        if not self._alive() or self.outstanding is not None or not self.parts:
            return
        b = self.broker
        if b.paused:
            b.resumed.callbacks.append(lambda _e: self._soon())
            return
        now = self.env.now
        if now < self.wait_until:
            self._soon()
            return
        self.token += 1
        self.outstanding = self.token
        self.sent_at = now
        parts = {}
        for p, epoch in sorted(self.parts.items()):
            log = b.logs[p]
            # before KIP-320 a fetch named no epoch, so the leader could not spot a divergence
            parts[p] = (log.leo, -1 if b.hw_truncation else log.latest_epoch, epoch)
        leader = b.peers[self.leader_id]
        b.network.send(b.node, leader.node, leader.on_replica_fetch,
                       FetchRequest(b.id, self.token, parts, self._on_response))
        self.timer.arm(now + b.replica_request_timeout)

    def _on_response(self, token: int, resp) -> None:
        if token != self.outstanding or not self._alive():
            return
        self.outstanding = None
        backoff, blocked = self.broker.apply_fetch_response(self, resp)
        wait = self.broker.replica_fetch_backoff if backoff else blocked
        if wait > 0:
            self.wait_until = self.env.now + wait
            self._soon()
        else:
            self._pump()

    def _check_timeout(self) -> None:
        if self.outstanding is None or not self._alive():
            return
        deadline = self.sent_at + self.broker.replica_request_timeout
        if self.env.now >= deadline:
            self.outstanding = None  # given up: a new fetch
            self._pump()
        else:
            self.timer.arm(deadline)
