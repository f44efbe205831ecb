"""FetchSession: a leader's cache of one follower's fetch state (Kafka's FetchSession, KIP-227).

A full fetch names every partition and starts a session; later fetches of the session name only
partitions whose fetch state changed. The leader keeps the rest here, and the partitions it must
look at on the next fetch (pending: changed, or news on the leader since) and answer for on the
next response (inflight).
"""

from __future__ import annotations


class FetchSession:
    """One follower's fetch session on a leader."""

    __slots__ = ("id", "seq", "parts", "pending", "inflight", "last_fetch")

    def __init__(self, session_id: int):
        self.id = session_id
        self.seq = 0  # the session epoch of the last fetch received
        self.parts: dict[int, tuple] = {}  # p -> (fetch offset, last fetched epoch, leader epoch)
        self.pending: set[int] = set()  # to look at on the next fetch
        self.inflight: set[int] = set()  # to answer for in the next response
        self.last_fetch: float | None = None  # when the last fetch of the session arrived

    @classmethod
    def start(cls, req) -> FetchSession:
        """A full fetch: a new session holding every partition it names, all to be looked at."""
        session = cls(req.session)
        session.parts = dict(req.parts)
        session.pending = set(session.parts)
        session.inflight = set(session.parts)
        session.seq = req.seq
        return session

    def follows(self, req) -> bool:
        """Is this incremental fetch the next one of this session (FetchSession's epoch check)?"""
        return self.id == req.session and self.seq + 1 == req.seq

    def update(self, req) -> list[int]:
        """Apply an incremental fetch: partitions removed, changed or added; returns those added."""
        added = []
        for partition in req.removed:
            self.parts.pop(partition, None)
            self.pending.discard(partition)
            self.inflight.discard(partition)
        for partition, entry in req.parts.items():
            if partition not in self.parts:
                added.append(partition)
            self.parts[partition] = entry
            self.pending.add(partition)
        self.seq = req.seq
        return added

    def take_pending(self) -> list[int]:
        """The partitions to look at for this fetch, in order; they are answered in its response."""
        work = sorted(self.pending)
        self.pending = set()
        self.inflight.update(work)
        return work

    def news(self, partition: int) -> None:
        """Something changed for a partition of the session on the leader: look and answer next time."""
        if partition in self.parts:
            self.pending.add(partition)
            self.inflight.add(partition)

    def news_all(self) -> None:
        self.pending.update(self.parts)
        self.inflight.update(self.parts)

    def take_inflight(self) -> list[int]:
        """The partitions to answer for, in order; the session then waits for news again."""
        answered = sorted(self.inflight)
        self.inflight = set()
        return answered

    def unsettled(self, partition: int) -> None:
        """A response carried data, an error or a divergence for it: look at it again on the next fetch."""
        self.pending.add(partition)
