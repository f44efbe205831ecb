"""A tripwire against performance regressions (see docs/performance.md for the targets)."""

from __future__ import annotations

from sim.bench import bench


def test_simulated_messages_per_raw_simpy_event_stays_above_the_tripwire():
    # Measured 0.041-0.045 on the benchmark workload (docs/performance.md). The tripwire sits at well
    # under half of that, so a noisy machine does not fail it; the milestone (0.2) is not
    # reached yet, so it cannot be the bar here.
    r = bench(60_000)
    assert r["drained"]
    assert r["messages_per_raw_simpy_event"] > 0.015, r
    assert r["ledger_bytes_per_message"] <= 32


def test_many_partitions_do_not_multiply_the_cost_per_message():
    # Measured 1.4x for 600 vs 6 partitions (docs/performance.md; 10.9x before fetch sessions).
    # The bar is loose for a noisy machine, but far below the old walk-every-partition cost.
    few = bench(40_000)
    many = bench(40_000, {"topic.partitions": 600})
    per_message = [r["wall_s"] / r["messages"] for r in (few, many)]
    assert per_message[1] < 3.0 * per_message[0], per_message
