"""Experiment: consumer commit strategies under the same crashes and processing errors.

    .venv/bin/python experiments/consumer_commit_strategies.py [--seeds N] [--quick] [--out DIR]

The seed article ("Can Kafka lose messages?") says auto commit can acknowledge records before
they are processed, so a consumer that dies mid-processing never processes some of them, and
recommends commitAsync in the loop plus commitSync in the exception handler. Each strategy here
runs the same workload, with the same seeds, through the same schedule of two consumer crashes
and two processing errors (policy close: the exception leaves the poll loop), drawn per seed
(--quick: one of each).
Brokers are safe (RF 3, min.insync.replicas 2, acks=all), so every loss and duplicate comes from
the consumer. A second, fault-free run per strategy and seed offers more than the consumer can
take and measures its throughput.

Prints a table and writes table.csv and strategies.png (lost_skipped, duplicated, throughput per
strategy) under --out (default results/consumer_commit_strategies).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from sim.config import load_config
from sim.run import run_once

ROOT = Path(__file__).resolve().parents[1]
# A thread pool with an (in practice) unbounded queue, as Executors.newFixedThreadPool gives
HAND_OFF = {"consumer.app.processing": "async", "consumer.app.workers": 1, "consumer.app.queue.polls": 1_000_000}

# (label, consumer.app.commit, extra overrides)
STRATEGIES = (
    ("auto", "auto", {}),
    ("auto hand-off", "auto", HAND_OFF),
    ("sync", "sync", {}),
    ("async", "async", {}),
    ("async+sync", "async+sync", {}),
    ("async+sync-processed", "async+sync-processed", {}),
    ("per-record", "per-record", {}),
)
COLUMNS = ("strategy", "runs", "sent", "lost_skipped", "duplicated", "delivered", "commits_failed",
           "throughput_per_s")


def base(seed: int, quick: bool) -> dict:
    """A consumer tuned for batches (fetch.min.bytes 64 KiB: polls of about 60 records), 0.4 ms per record."""
    return {
        "cluster.brokers": 3, "topic.partitions": 3, "topic.replication.factor": 3,
        "topic.min.insync.replicas": 2, "producer.acks": "all", "sim.seed": seed,
        "consumer.fetch.min.bytes": 65536,
        "consumer.app.record.processing.ms": 0.4, "consumer.app.record.processing.distribution": "exponential",
        "consumer.session.timeout.ms": 6000, "consumer.heartbeat.interval.ms": 2000,
        "workload.duration": 20 if quick else 60,
        "workload.rate": 1250,  # half of what one thread processes at 0.4 ms per record
    }


def fault_schedule(seed: int, duration: float, quick: bool) -> list:
    """The same consumer failures for every strategy, jittered per seed: a downstream stall of 6 s
    that ends in a crash 5.5 s in (back 1 s later, then waiting for the old session to expire), and
    later a processing error -- at about 15 % and 45 %, then again at 60 % and 90 % of the production
    phase (quick: once, at 30 % and 95 %). The first crash comes after the first auto commit; each
    error meets a consumer that has worked off the backlog of the crash before it."""
    rng = np.random.default_rng(seed)
    plan = ((0.30, "crash"), (0.95, "error")) if quick else ((0.15, "crash"), (0.45, "error"),
                                                             (0.60, "crash"), (0.90, "error"))
    faults = []
    for share, kind in plan:
        at = round(float((share + rng.uniform(-0.02, 0.02)) * duration), 4)
        if kind == "crash":
            faults.append({"at": at, "action": "consumer_stall", "duration": 6})
            faults.append({"at": at + 5.5, "action": "consumer_crash", "duration": 1})
        else:
            faults.append({"at": at, "action": "consumer_error"})
    return faults


def strategy_config(commit: str, extra: dict, values: dict) -> dict:
    return {**values, "consumer.app.commit": commit, "consumer.enable.auto.commit": commit == "auto", **extra}


def throughput(seed: int, quick: bool, commit: str, extra: dict) -> float:
    """Distinct messages processed per second of production when more is offered than can be processed."""
    values = base(seed, quick)
    values.update({"workload.rate": 4000, "workload.duration": 3 if quick else 10})
    cfg = load_config(overrides=strategy_config(commit, extra, values))
    r = run_once(cfg)
    return r["consumer"]["processed_in_production"] / cfg["workload.duration"]


def run(seeds: int, quick: bool) -> list[dict]:
    rows = []
    for label, commit, extra in STRATEGIES:
        row = dict.fromkeys(COLUMNS, 0)
        row["strategy"], row["runs"] = label, seeds
        rates = []
        for seed in range(1, seeds + 1):
            values = base(seed, quick)
            values["faults"] = fault_schedule(seed, values["workload.duration"], quick)
            r = run_once(load_config(overrides=strategy_config(commit, extra, values)))
            if not r["drained"]:
                raise RuntimeError(f"{label}, seed {seed}: the drain did not finish")
            row["sent"] += r["sent"]
            row["lost_skipped"] += r["causes"].get("lost_acked", {}).get("lost_skipped", 0)
            row["duplicated"] += r.outcomes["duplicated"]
            row["delivered"] += r.outcomes["delivered"]
            row["commits_failed"] += r["consumer"]["commits_failed"]
            rates.append(throughput(seed, quick, commit, extra))
        row["throughput_per_s"] = round(float(np.mean(rates)), 1)
        rows.append(row)
    return rows


def write(rows: list[dict], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    table = out / "table.csv"
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    chart = out / "strategies.png"
    plot(rows, chart)
    return table, chart


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["strategy"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = (("lost_skipped", "lost (committed, never processed)", "tab:red"),
              ("duplicated", "duplicated (processed twice or more)", "tab:orange"),
              ("throughput_per_s", "throughput (messages/s, saturated)", "tab:blue"))
    for ax, (key, title, color) in zip(axes, panels, strict=True):
        bars = ax.bar(range(len(rows)), [r[key] for r in rows], color=color)
        ax.bar_label(bars, fmt="%g", fontsize=8)
        if key != "throughput_per_s":
            ax.set_yscale("symlog", linthresh=10)  # counts span 0 .. tens of thousands
            ax.set_ylim(0, max(100, 5 * max(r[key] for r in rows)))
        else:
            ax.margins(y=0.1)
        ax.set_title(title)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=40, ha="right")
    fig.suptitle(f"Consumer commit strategies: {rows[0]['runs']} seeds, the same consumer crashes and "
                 "processing errors for every strategy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="a short workload (for the test suite)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "consumer_commit_strategies")
    args = p.parse_args(argv)
    rows = run(args.seeds, args.quick)
    print(f"{'strategy':<22} {'runs':>4} {'sent':>8} {'lost_skipped':>12} {'duplicated':>10} {'delivered':>9} "
          f"{'commits_failed':>14} {'throughput/s':>12}")
    for r in rows:
        print(f"{r['strategy']:<22} {r['runs']:>4} {r['sent']:>8} {r['lost_skipped']:>12} {r['duplicated']:>10} "
              f"{r['delivered']:>9} {r['commits_failed']:>14} {r['throughput_per_s']:>12.1f}")
    table, chart = write(rows, args.out)
    print(f"wrote {table} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
