"""DeadlineQueue: many cancellable timeouts served by one process.

Kafka's purgatories (delayed produce, delayed fetch) park requests until a deadline. One
SimPy timeout per parked request would cost an event each time even when the request
completes early; this queue keeps them in a heap and wakes once for the earliest live one.
"""

from __future__ import annotations

import heapq
import itertools

from .timer import Alarm


class Deadline:
    __slots__ = ("at", "fn", "args", "cancelled")

    def __init__(self, at, fn, args):
        self.at = at
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Never call it; drop the callback too, which often refers back to the owner of this
        deadline (a reference cycle the garbage collector would otherwise have to find)."""
        self.cancelled = True
        self.fn = self.args = None


class DeadlineQueue:
    """Call fn(*args) at each deadline unless it was cancelled first."""

    def __init__(self, env):
        self.env = env
        self._heap: list = []
        self._seq = itertools.count()
        self._alarm = Alarm(env)
        self.active = True
        env.process(self._run())

    def add(self, at: float, fn, *args) -> Deadline:
        deadline = Deadline(at, fn, args)
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (at, next(self._seq), deadline))
        if earliest is None or at < earliest:
            self._alarm.notify()
        return deadline

    def live(self) -> int:
        """Deadlines still to fire: neither fired nor cancelled."""
        return sum(1 for _at, _seq, deadline in self._heap if not deadline.cancelled)

    def clear(self) -> None:
        for _at, _seq, deadline in self._heap:
            deadline.cancel()
        self._heap.clear()

    def _run(self):
        env = self.env
        heap = self._heap
        while self.active:
            while heap and (heap[0][2].cancelled or heap[0][0] <= env.now):
                _at, _seq, deadline = heapq.heappop(heap)
                if not deadline.cancelled:
                    fn, args = deadline.fn, deadline.args
                    deadline.cancel()
                    fn(*args)
            yield self._alarm.wait(heap[0][0] if heap else float("inf"))
