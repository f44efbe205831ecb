"""Keyed sends in the accumulator: every record goes to its key's partition, so a step of sends
touches several partitions at once. Vectorized over the records, looping only over partitions.
"""

from __future__ import annotations

import math

import numpy as np


def keyed_fit(acc, parts: np.ndarray) -> int:
    """How many of these records can be appended before one needs a buffer the pool lacks."""
    uniq, inv = np.unique(parts, return_inverse=True)
    room = np.array([acc.room(int(p)) for p in uniq])[inv]
    rank = rank_within_groups(inv)
    needs_buffer = (rank >= room) & ((rank - room) % acc.capacity == 0)
    taken = np.cumsum(needs_buffer)
    return int(np.searchsorted(taken, acc.pool_slots - acc.used, side="right"))


def keyed_change_in(acc, times: np.ndarray, parts: np.ndarray) -> float:
    """The first of these future sends that fills or overflows its partition's batch or opens one that
    lingers (inf if none of them does)."""
    uniq, inv = np.unique(parts, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=len(uniq))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    best = math.inf
    full_at = acc.capacity - (1 if acc.exact_fit else 0)
    for group, partition in enumerate(uniq.tolist()):
        room = acc.room(partition)
        first = float(times[order[starts[group]]])
        if room:
            need = room - (1 if acc.exact_fit else 0)  # fills (exact fit) or overflows the open batch
        elif acc.deques[partition]:
            best = min(best, first)  # opening a second batch makes the first one ready
            continue
        else:
            need = full_at  # a first batch: it lingers, or fills before that
            best = min(best, first + acc.linger)
        if need < counts[group]:
            best = min(best, float(times[order[starts[group] + need]]))
    return best


def rank_within_groups(groups: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its group (0 for the first of each)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(len(groups), np.int64)
    rank[order] = np.arange(len(groups)) - starts
    return rank
