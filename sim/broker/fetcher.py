"""ReplicaFetcher: a follower broker pulling its partitions from one leader broker.

Kafka's ReplicaFetcherThread (num.replica.fetchers = 1 per source broker). Each fetch
names, per partition, the follower's LEO (its acknowledgement to the leader), the epoch
of its last record and the leader epoch it believes in. The leader answers with data,
its high watermark, or a diverging epoch, after which the follower truncates its log
(KIP-101/KIP-320) and fetches again.

Fetches are incremental (KIP-227 fetch sessions): the first fetch of a session names every
partition; later ones name only partitions whose fetch state changed, and the leader keeps the
rest in its FetchSession and answers only for partitions with news. A fetch unanswered for
replica.socket.timeout.ms (30 s) is given up and the next one starts a new session.

Driven by callbacks, not a process: the answer to one fetch sends the next, so a fetch round
costs the two network deliveries and nothing more.
"""

from __future__ import annotations

import math

from .. import protocol as P
from ..timer import call_at
from ..timer import LazyTimer


REPLICA_SOCKET_TIMEOUT = 30.0  # s, replica.socket.timeout.ms default: a fetch unanswered this long is given up


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
        self.sent_to = -1  # the leader's incarnation when the last fetch was sent
        self.wait_until = -math.inf  # error backoff, or the append path's fsync
        self.wake_scheduled = False
        self.running = True
        self.timer = LazyTimer(self.env, self._check_timeout)
        # the fetch session: what the leader was last told per partition, and what may have changed
        self.session = 0
        self.seq = 0
        self.full_next = True
        self.sent: dict[int, tuple] = {}
        self.dirty: set[int] = set()
        self._soon()

    def add(self, partition: int, leader_epoch: int) -> None:
        self.parts[partition] = leader_epoch
        self.dirty.add(partition)
        self._soon()

    def remove(self, partition: int) -> None:
        self.parts.pop(partition, None)
        self.dirty.add(partition)
        if not self.parts:
            self.stop()

    def touch(self, partition: int) -> None:
        """The follower's log of `partition` changed outside a fetch response (a truncation)."""
        self.dirty.add(partition)

    def stop(self) -> None:
        self.running = False

    def _alive(self) -> bool:
        broker = self.broker
        return self.running and broker.up and broker.incarnation == self.incarnation

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
        broker = self.broker
        if broker.paused:
            broker.resumed.callbacks.append(lambda _event: self._soon())
            return
        now = self.env.now
        if now < self.wait_until:
            self._soon()
            return
        self.token += 1
        self.outstanding = self.token
        broker.counters.replica_fetches += 1
        self.sent_at = now
        leader = broker.peers[self.leader_id]
        self.sent_to = leader.incarnation  # the leader process the fetch goes to
        broker.network.send(broker.node, leader.node, leader, self._request())
        self.timer.arm(now + REPLICA_SOCKET_TIMEOUT)

    def _entry(self, partition: int) -> P.FetchPosition:
        return P.FetchPosition(self.broker.logs[partition].leo, self.broker.follower.fetch_epoch(partition),
                               self.parts[partition])

    def _request(self) -> P.FetchRequest:
        """A full fetch (a new session) or an incremental one naming only what changed."""
        broker = self.broker
        if self.full_next:
            self.full_next = False
            self.session = broker.follower.next_session_id()
            self.seq = 0
            self.sent = {partition: self._entry(partition) for partition in sorted(self.parts)}
            self.dirty.clear()
            return P.FetchRequest(broker.id, self.token, dict(self.sent), self, self.session, 0, True, (),
                                  broker.incarnation)
        self.seq += 1
        changed, removed = {}, []
        for partition in sorted(self.dirty):
            if partition in self.parts:
                entry = self._entry(partition)
                if self.sent.get(partition) != entry:
                    changed[partition] = self.sent[partition] = entry
            elif partition in self.sent:
                del self.sent[partition]
                removed.append(partition)
        self.dirty.clear()
        return P.FetchRequest(broker.id, self.token, changed, self, self.session, self.seq, False, tuple(removed),
                              broker.incarnation)

    def on_fetch_response(self, response: P.FetchResponse) -> None:
        if response.token != self.outstanding or not self._alive():
            return
        self.outstanding = None
        if response.error == P.FETCH_SESSION_ID_NOT_FOUND:
            self.full_next = True
            self._pump()
            return
        resp = response.parts
        self.dirty.update(resp)  # applying the answer can move the fetch state of these partitions
        backoff, blocked = self.broker.follower.apply_fetch_response(self, resp)
        wait = self.broker.settings.broker.replica_fetch_backoff if backoff else blocked
        if wait > 0:
            self.wait_until = self.env.now + wait
            self._soon()
        else:
            self._pump()

    def on_disconnect(self, incarnation: int) -> None:
        """The leader's process died with our fetch on the wire: it failed at once (NetworkClient sees
        the reset); the next fetch, after replica.fetch.backoff.ms, starts a new session. A late reset
        (the leader has restarted since, incarnation) leaves a fetch to the new process alone."""
        if self.outstanding is None or not self._alive() or self.sent_to >= incarnation:
            return
        self.outstanding = None
        self.full_next = True
        self.wait_until = self.env.now + self.broker.settings.broker.replica_fetch_backoff
        self._soon()

    def _check_timeout(self) -> None:
        if self.outstanding is None or not self._alive():
            return
        deadline = self.sent_at + REPLICA_SOCKET_TIMEOUT
        if self.env.now >= deadline:
            self.outstanding = None  # given up: a new fetch, in a new session
            self.full_next = True
            self._pump()
        else:
            self.timer.arm(deadline)
