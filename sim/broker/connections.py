"""ClientConnection: a client's connection to a broker, as the broker's socket server sees it.

Kafka reads one request at a time from a connection (the next waits in the socket until the
previous is answered). The connection is one TCP stream: a request that follows a lost one never
reaches the broker, and the kernel acknowledges bytes only up to the first gap.
"""

from __future__ import annotations

from collections import deque


class ClientConnection:
    """One client connection: Kafka handles one request at a time per connection."""

    __slots__ = ("gen", "busy", "queue", "draining", "next_seq", "stalled", "kernel_next", "kernel_stalled")

    def __init__(self, gen):
        self.gen = gen
        self.busy = False
        self.queue: deque = deque()
        self.draining = False  # a loop is handing this connection's queued requests to the handler
        self.next_seq = 0  # position of the next produce request on this connection
        self.stalled = False  # a request was lost: TCP delivers nothing after it on this connection
        self.kernel_next = 0  # the same, as the kernel sees it (it acknowledges bytes even while paused)
        self.kernel_stalled = False

    def in_stream(self, req) -> bool:
        """One TCP stream: a request that follows a lost one never reaches the broker."""
        if self.stalled or req.seq != self.next_seq:
            self.stalled = True
            return False
        self.next_seq += 1
        return True

    def kernel_acks(self, req) -> bool:
        """Does the kernel acknowledge this request's bytes? Not past a gap in the stream."""
        if self.kernel_stalled or req.seq != self.kernel_next:
            self.kernel_stalled = True
            return False
        self.kernel_next += 1
        return True
