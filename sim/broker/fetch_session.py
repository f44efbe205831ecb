"""FetchSession: a leader's cache of one follower's fetch state (Kafka's FetchSession, KIP-227).

A full fetch names every partition and starts a session; later fetches of the session name only
partitions whose fetch state changed. The leader keeps the rest here, and the partitions it must
look at on the next fetch (pending: changed, or news on the leader since) and answer for on the
next response (inflight).
"""

from __future__ import annotations


class FetchSession:
    __slots__ = ("id", "seq", "parts", "pending", "inflight", "last_fetch")

    def __init__(self, session_id: int):
        self.id = session_id
        self.seq = 0  # the session epoch of the last fetch received
        self.parts: dict[int, tuple] = {}  # p -> (fetch offset, last fetched epoch, leader epoch)
        self.pending: set[int] = set()  # to look at on the next fetch
        self.inflight: set[int] = set()  # to answer for in the next response
        self.last_fetch: float | None = None  # when the last fetch of the session arrived
