"""Message ids: a batch holds its ids as a tuple of `slice` objects (usually one), so every ledger update
is a slice assignment, never a loop over records."""

from __future__ import annotations

Ids = tuple  # tuple[slice, ...]


def ids_count(ids: Ids) -> int:
    return sum(s.stop - s.start for s in ids)


def ids_sub(ids: Ids, start: int, stop: int) -> Ids:
    """The ids of records `start`..`stop`-1 (positions inside the batch)."""
    if len(ids) == 1:
        span = ids[0]
        return (slice(span.start + start, span.start + stop),)
    out = []
    pos = 0
    for span in ids:
        count = span.stop - span.start
        lo, hi = max(start, pos), min(stop, pos + count)
        if lo < hi:
            out.append(slice(span.start + lo - pos, span.start + hi - pos))
        pos += count
        if pos >= stop:
            break
    return tuple(out)
