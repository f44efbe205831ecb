"""Experiment: how many seconds of writes does a power cut take, with Linux's default write-back?

    .venv/bin/python experiments/power_cut_window.py [--cuts N]

One broker, RF 1, acks=1, 1,000 msg/s; replication k loses power at 40 + 35 k / N s (seed k), so the
cuts sweep one write-back cycle (vm.dirty_expire_centisecs + vm.dirty_writeback_centisecs = 35 s).
Prints the lost window (records lost on the power loss / rate) and the expectation for a continuously
written segment file: uniform on [0, expire + period), mean (expire + period) / 2 (docs/fidelity.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from sim.config import load_config
from sim.run import run_once

RATE = 1000


def run(cuts: int) -> list[float]:
    windows = []
    for seed in range(cuts):
        cut = 40 + seed * 35 / cuts
        cfg = load_config(overrides={
            "cluster.brokers": 1, "topic.partitions": 1, "topic.replication.factor": 1, "producer.acks": "1",
            "workload.rate": RATE, "workload.duration": cut + 5,
            "faults": [{"at": cut, "action": "power_loss", "target": "broker:0", "duration": 1}]}, seed=seed)
        windows.append(run_once(cfg)["brokers"]["lost_on_power_loss"] / RATE)
    return windows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=40)
    args = parser.parse_args(argv)
    defaults = load_config()
    expire, period = defaults.seconds("broker.vm.dirty_expire_centisecs"), \
        defaults.seconds("broker.vm.dirty_writeback_centisecs")
    windows = run(args.cuts)
    print(f"lost window over {args.cuts} power cuts: mean {statistics.mean(windows):.1f} s, "
          f"min {min(windows):.1f} s, max {max(windows):.1f} s "
          f"(expected: uniform on 0-{expire + period:.0f} s, mean {(expire + period) / 2:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
