"""ReplicaFetcher: a follower broker pulling its partitions from one leader broker.

Kafka's ReplicaFetcherThread (num.replica.fetchers = 1 per source broker). Each fetch
names, per partition, the follower's LEO (its acknowledgement to the leader), the epoch
of its last record and the leader epoch it believes in. The leader answers with data,
its high watermark, or a diverging epoch, after which the follower truncates its log
(KIP-101/KIP-320) and fetches again.
"""

from __future__ import annotations

from ..timer import Alarm


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
        self.alarm = Alarm(self.env)
        self.token = 0
        self.response = None
        self.running = True
        self.env.process(self._run())

    def add(self, p: int, leader_epoch: int) -> None:
        self.parts[p] = leader_epoch
        self.alarm.notify()

    def remove(self, p: int) -> None:
        self.parts.pop(p, None)
        if not self.parts:
            self.stop()

    def stop(self) -> None:
        self.running = False
        self.alarm.notify()

    def _alive(self) -> bool:
        b = self.broker
        return self.running and b.up and b.incarnation == self.incarnation

    def _run(self):
        env = self.env
        b = self.broker
        leader = b.peers[self.leader_id]
        timeout = b.replica_request_timeout
        while self._alive():
            if b.paused:
                yield b.resumed
                continue
            if not self.parts:
                yield self.alarm.wait()
                continue
            self.token += 1
            token = self.token
            parts = {}
            for p, epoch in sorted(self.parts.items()):
                log = b.logs[p]
                # before KIP-320 a fetch named no epoch, so the leader could not spot a divergence
                parts[p] = (log.leo, -1 if b.hw_truncation else log.latest_epoch, epoch)
            req = FetchRequest(b.id, token, parts, self._on_response)
            b.network.send(b.node, leader.node, leader.on_replica_fetch, req)
            deadline = env.now + timeout
            self.response = None
            while self._alive() and self.response is None and env.now < deadline:
                yield self.alarm.wait(deadline)
            if not self._alive():
                return
            resp, self.response = self.response, None
            if resp is None or b.paused:
                continue  # timed out (or paused): send a new fetch
            backoff, blocked = b.apply_fetch_response(self, resp)
            wait_until = env.now + (b.replica_fetch_backoff if backoff else blocked)
            while self._alive() and env.now < wait_until:  # error backoff, or the append path's fsync
                yield self.alarm.wait(wait_until)

    def _on_response(self, token: int, resp) -> None:
        if token != self.token or not self._alive():
            return
        self.response = resp
        self.alarm.notify()

