"""Message ids: a batch holds its ids as a tuple of `slice` objects (usually one), so every ledger update
is a slice assignment, never a loop over records."""

from __future__ import annotations

Ids = tuple  # tuple[slice, ...]


def ids_count(ids: Ids) -> int:
    return sum(s.stop - s.start for s in ids)


def ids_sub(ids: Ids, i: int, j: int) -> Ids:
    """The ids of records i..j-1 (positions inside the batch)."""
    if len(ids) == 1:
        s = ids[0]
        return (slice(s.start + i, s.start + j),)
    out = []
    pos = 0
    for s in ids:
        n = s.stop - s.start
        lo, hi = max(i, pos), min(j, pos + n)
        if lo < hi:
            out.append(slice(s.start + lo - pos, s.start + hi - pos))
        pos += n
        if pos >= j:
            break
    return tuple(out)
