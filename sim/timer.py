"""Timers: how a process loop sleeps until a deadline or until something wakes it.

The counterpart of the poll(timeout) + wakeup() pair that Kafka's I/O threads use.
It keeps at most one pending SimPy timeout at or before any deadline asked for, so a
loop that recomputes its next deadline on every wake-up does not flood the event heap.
"""

from __future__ import annotations

import heapq
import math

import simpy
from simpy.events import NORMAL, Event

MIN_WAIT = 0.001  # s: the shortest wait of a loop with nothing to talk to (a 0 wait would freeze simulated time)


def call_at(env, delay: float, callback) -> None:
    """Call callback(event) after delay: a bare SimPy event, without Timeout's checks and closures."""
    ev = Event.__new__(Event)
    ev.env = env
    ev.callbacks = [callback]
    ev._value = None
    ev._ok = True
    env.schedule(ev, NORMAL, delay)


class Alarm:
    """Wake one waiting process at `until` or on `notify()`, whichever comes first."""

    __slots__ = ("env", "event", "_pending")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.event: simpy.Event | None = None
        self._pending: list[float] = []  # times of scheduled timeouts not yet fired

    def wait(self, until: float = math.inf) -> simpy.Event:
        """Event that succeeds at `until` (absolute time) or at the next notify()."""
        env = self.env
        ev = self.event = env.event()
        if until < math.inf and (not self._pending or self._pending[0] > until):
            heapq.heappush(self._pending, until)
            timer = env.timeout(max(0.0, until - env.now))
            timer.callbacks.append(self._ring)
        return ev

    def notify(self) -> None:
        ev = self.event
        if ev is not None and not ev.triggered:
            ev.succeed()

    def _ring(self, _timer) -> None:
        heapq.heappop(self._pending)
        self.notify()


class LazyTimer:
    """Calls `callback()` at the earliest time it was armed for, with at most one SimPy event pending
    for deadlines that only move later (a request timeout re-armed by every request)."""

    __slots__ = ("env", "callback", "pending")

    def __init__(self, env: simpy.Environment, callback):
        self.env = env
        self.callback = callback
        self.pending = math.inf  # time of the earliest scheduled event

    def arm(self, at: float) -> None:
        if at < self.pending:
            self.pending = at
            call_at(self.env, max(0.0, at - self.env.now), self._fire)

    def _fire(self, _event) -> None:
        if self.env.now >= self.pending:
            self.pending = math.inf
        self.callback()  # the callback checks its own deadline and re-arms if it is later
