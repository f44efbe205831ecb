"""Reordering: a batch that lands in a partition's log after a batch the producer sent later.

Without idempotence, a retried batch can overtake nothing but be overtaken: with more than one
request in flight, batch 1 fails with a retriable error, batch 2 (sent later) succeeds, and
batch 1's retry is appended after it. Message ids of one partition grow with the order in which
the producer filled its batches, so the final log shows it: a batch whose first record has a
smaller id than a record already seen is out of order. A second copy of a batch already in the
log is a duplicate (dup_log), not a reordering. An application re-send is a new send with new
ids, so it never counts.
"""

from __future__ import annotations


def reorderings(final_logs: dict) -> list[int]:
    """Out-of-order batches per partition, from {partition: [(base offset, ids), ...]} in offset order."""
    out = [0] * (max(final_logs, default=-1) + 1)
    for partition, chunks in final_logs.items():
        seen: set[int] = set()  # first id of every batch met so far
        highest = -1
        for _base, ids in chunks:
            first = ids[0].start
            if first in seen:
                continue  # another copy of a batch already counted
            seen.add(first)
            if first < highest:
                out[partition] += 1
            highest = max(highest, ids[-1].stop - 1)
    return out
