"""The application's send() calls: a Poisson stream of message times, drawn in blocks.

Nothing here is a SimPy process. The record accumulator pulls arrivals up to the current
time whenever it is looked at, so a thousand sends cost one numpy call, not a thousand
events. The stream can be delayed (the application thread blocked in send()) and can skip
a span (the producer process was down, so nothing was sent).

With keys (`workload.keys` > 0) every send also carries the partition its key hashes to:
keys are drawn uniformly from the key space by their own random stream, so the send times
are the same with and without keys (common random numbers).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

_BLOCK = 4096


class ArrivalStream:
    """Times at which the application calls send(), strictly increasing, up to `end`."""

    def __init__(self, rng: np.random.Generator, rate: float, start: float, end: float,
                 key_rng: np.random.Generator | None = None, key_partitions: np.ndarray | None = None):
        """key_partitions: the partition of each key (index = key), or None for keyless sends."""
        self.rng = rng
        self.mean_gap = 1.0 / rate
        self.end = end
        self._buf = np.empty(0)
        self._times: list[float] = []  # _buf as Python floats: peeks and counts without numpy calls
        self._pos = 0
        self._last = start  # last time drawn so far
        self._exhausted = False  # no arrival after `end`
        self.key_rng = key_rng
        self.key_partitions = key_partitions
        self.keyed = key_partitions is not None
        self._parts = np.empty(0, np.int64)  # partition of each buffered arrival (keyed streams)

    @classmethod
    def from_times(cls, times, end: float = math.inf, partitions=None) -> ArrivalStream:
        """A scripted stream (for timelines): exactly these send() times, then nothing.

        partitions: for keyed sends, the partition of each one (in the order of `times`).
        """
        stream = cls.__new__(cls)
        stream.rng = None
        stream.mean_gap = math.inf
        stream.end = end
        times = np.asarray(times, dtype=float)
        order = np.argsort(times, kind="stable")
        stream._buf = times[order]
        stream._times = stream._buf.tolist()
        stream._pos = 0
        stream._last = float(stream._buf[-1]) if len(stream._buf) else 0.0
        stream._exhausted = True
        stream.key_rng = None
        stream.key_partitions = None
        stream.keyed = partitions is not None
        stream._parts = np.asarray(partitions, np.int64)[order] if stream.keyed else np.empty(0, np.int64)
        return stream

    def _fill(self, need: int) -> None:
        """Make sure at least `need` arrivals are buffered (fewer when the stream ends)."""
        while len(self._buf) - self._pos < need and not self._exhausted:
            times = self._last + np.cumsum(self.rng.exponential(self.mean_gap, _BLOCK))
            cut = int(np.searchsorted(times, self.end, side="right"))
            if cut < _BLOCK:
                times = times[:cut]
                self._exhausted = True
            else:
                self._last = float(times[-1])
            if self.keyed:
                keys = self.key_rng.integers(len(self.key_partitions), size=_BLOCK)[:len(times)]
                self._parts = np.concatenate((self._parts[self._pos:], self.key_partitions[keys]))
            self._buf = np.concatenate((self._buf[self._pos:], times))
            self._times = self._buf.tolist()
            self._pos = 0

    def peek(self, count: int = 0) -> float:
        """Time of the (`count`+1)-th next arrival, inf if the stream ends before it."""
        self._fill(count + 1)
        pos = self._pos + count
        times = self._times
        return times[pos] if pos < len(times) else math.inf

    def count_until(self, at: float, limit: int) -> int:
        """How many of the next `limit` arrivals happen at or before `at`."""
        self._fill(limit)
        pos = self._pos
        times = self._times
        return bisect_right(times, at, pos, min(pos + limit, len(times))) - pos

    def window(self, count: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(times, partitions) of the next `count` arrivals, without taking them (fewer at the end)."""
        self._fill(count)
        times = self._buf[self._pos:self._pos + count]
        return times, (self._parts[self._pos:self._pos + count] if self.keyed else None)

    def take(self, count: int) -> np.ndarray:
        """Remove and return the next `count` arrival times."""
        self._fill(count)
        out = self._buf[self._pos:self._pos + count]
        self._pos += len(out)
        return out

    def delay(self, by: float) -> None:
        """The application thread was blocked: every later send happens `by` later."""
        if by <= 0:
            return
        self._fill(1)
        self._buf[self._pos:] += by
        self._times = self._buf.tolist()
        self._last += by
        self._trim()

    def skip_until(self, at: float) -> int:
        """Drop arrivals before `at` (the producer was down); returns how many were dropped."""
        dropped = 0
        while True:
            self._fill(_BLOCK)
            window = self._buf[self._pos:]
            count = int(np.searchsorted(window, at, side="left"))
            dropped += count
            self._pos += count
            if count < len(window) or self._exhausted:
                return dropped

    def stop(self, keep: int = 0) -> None:
        """No more sends (end of production or close()) but the next `keep` (a send() still blocked)."""
        cut = min(self._pos + keep, len(self._buf))
        self._buf = self._buf[:cut]
        del self._times[cut:]
        self._parts = self._parts[:cut]
        self._exhausted = True

    def _trim(self) -> None:
        if self._exhausted or (len(self._buf) and self._buf[-1] > self.end):
            keep = max(int(np.searchsorted(self._buf, self.end, side="right")), self._pos)
            self._buf = self._buf[:keep]
            del self._times[keep:]
            self._parts = self._parts[:keep]
            self._exhausted = True
