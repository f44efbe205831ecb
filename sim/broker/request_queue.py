"""RequestQueue: where a client's request waits between the broker's kernel and a request handler thread.

Kafka's network threads read requests from the sockets into the request channel (up to
queued.max.requests), and the I/O threads take them from there; the time a request spends in the socket
buffer and the channel is the broker's RequestQueueTimeMs. A process that dies loses whatever waits there
-- with acks=0, records the producer already counted as sent. Modelled as a fixed delay,
broker.model.request.queue.ms, in arrival order (no load dependence: the handlers are never the
bottleneck), which the network adds to the delivery of every queued request (Message.queued) to this
broker: a request still waiting when the process dies reaches a dead process and is refused. No SimPy
event of its own. The longest queue is reported: the most requests taken by handlers within one
queue time.
"""

from __future__ import annotations

from collections import deque


class RequestQueue:
    """This broker's request queue time, and how long the queue got."""

    def __init__(self, broker):
        self.delay = broker.settings.broker.model_request_queue  # s, added to each queued request's delivery
        self.longest = 0  # the most requests waiting at once, over the broker's life
        self._handled: deque = deque()  # when the requests of the last queue time were taken

    def taken(self, now: float) -> None:
        """A queued request reaches a handler now: it entered the queue `delay` ago, with those taken since."""
        handled = self._handled
        handled.append(now)
        while handled[0] <= now - self.delay:
            handled.popleft()
        if len(handled) > self.longest:
            self.longest = len(handled)
