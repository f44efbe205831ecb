"""Experiment: acks=0 / 1 / all under a leader failure, over several seeds.

    .venv/bin/python experiments/acks_under_leader_failure.py [--seeds N] [--quick]

Each seed runs the same workload and the same fault (the leader of partition 0 loses power at a
random moment between 5 s and 15 s) once per acks setting, so the three columns face the same
failure (common random numbers). Prints acknowledged-but-lost and duplicated messages per setting.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from sim.config import load_config
from sim.run import run_once

SETTINGS = ("0", "1", "all")


def run(seeds: int, quick: bool) -> dict:
    duration, rate = (8, 5000) if quick else (20, 20000)
    rows = {acks: [] for acks in SETTINGS}
    for seed in range(1, seeds + 1):
        at = float(np.random.default_rng(seed).uniform(0.25 * duration, 0.75 * duration))
        for acks in SETTINGS:
            cfg = load_config(overrides={
                "topic.partitions": 3, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
                "producer.acks": acks, "workload.duration": duration, "workload.rate": rate,
                "network.latency.ms": 2.0, "sim.seed": seed,
                "faults": [{"at": round(at, 4), "action": "power_loss", "target": "leader", "duration": 3}],
            })
            r = run_once(cfg)
            rows[acks].append((r["sent"], r.outcomes["lost_acked"], r.outcomes["duplicated"]))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="a short workload (for the test suite)")
    args = p.parse_args(argv)
    rows = run(args.seeds, args.quick)
    print(f"{'acks':>5} {'runs':>5} {'sent':>10} {'lost_acked':>11} {'runs losing':>12} {'duplicated':>11}")
    for acks, values in rows.items():
        sent = sum(v[0] for v in values)
        lost = sum(v[1] for v in values)
        losing = sum(1 for v in values if v[1] > 0)
        dups = sum(v[2] for v in values)
        print(f"{acks:>5} {len(values):>5} {sent:>10} {lost:>11} {losing:>12} {dups:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
