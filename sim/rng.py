"""Named random streams for one replication, derived from one root seed.

Every component draws from its own stream, so adding draws in one component never
shifts the numbers another component sees; the fault stream in particular stays the same
across configurations (common random numbers). Streams are derived with
numpy.random.SeedSequence: (root seed, spawn_key) -> one child per name.
"""

from __future__ import annotations

import numpy as np

# Order is part of the contract: append new names at the end, never reorder.
STREAMS = ("workload", "network", "faults", "producer", "consumer", "broker", "keys", "partitioner", "pagecache")


def make_streams(seed: int, spawn_key: tuple[int, ...] = ()) -> dict[str, np.random.Generator]:
    """One independent PCG64 generator per stream name."""
    root = np.random.SeedSequence(seed, spawn_key=tuple(spawn_key))
    children = root.spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAMS, children, strict=True)}
