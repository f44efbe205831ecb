"""kafkasim demo: the seed article's question -- can Kafka lose messages, where, and what does it cost --
answered in one command, with replications and intervals.

Three stages, each a few configurations under the same faults (common random numbers):
producer (acks under broker crashes), broker (flushing, min.insync.replicas and unclean election
under whole-cluster power outages and partitions), consumer (commit strategies under a slow
downstream call that ends in a crash, then a processing error). Faults are far more frequent
than in production so that a short run sees them; compare configurations with each other, not
with a real cluster's absolute rates.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .experiment.report import plot, plot_outcomes, point_label
from .experiment.summary import fmt_rate
from .experiment.sweep import experiment_from_dict, run_sweep

COMMON = {"cluster.brokers": 3, "topic.partitions": 3, "topic.replication.factor": 3, "workload.duration": 30,
          "workload.rate": 1000}

STAGES = {
    "producer": {
        "faults": {"chaos.broker.crash.mtbf": 40, "chaos.broker.crash.duration": 8},
        "points": [
            ("acks=0", {"producer.acks": "0"}),
            ("acks=1", {"producer.acks": "1", "topic.min.insync.replicas": 1}),
            ("acks=all, min.insync.replicas=2", {"producer.acks": "all", "topic.min.insync.replicas": 2}),
        ],
    },
    "broker": {
        "faults": {"chaos.cluster.power_outage.mtbf": 30, "chaos.cluster.power_outage.duration": 5,
                   "chaos.broker.partition.mtbf": 60, "chaos.broker.partition.duration": 20},
        "points": [
            ("default flush, unclean election on", {"topic.unclean.leader.election.enable": True,
                                                    "topic.min.insync.replicas": 1}),
            ("default flush, min.insync.replicas=2", {"topic.min.insync.replicas": 2}),
            ("flush.messages=1, min.insync.replicas=2", {"topic.flush.messages": 1, "topic.min.insync.replicas": 2}),
        ],
    },
    "consumer": {
        # a slow downstream call (6 s) that ends in a crash, then a processing error that closes the
        # consumer; the same for every strategy; 0.4 ms per record
        "faults": {"faults": [{"at": 8, "action": "consumer_stall", "duration": 6},
                              {"at": 13.5, "action": "consumer_crash", "duration": 1},
                              {"at": 24, "action": "consumer_error"}],
                   "consumer.app.record.processing.ms": 0.4, "consumer.session.timeout.ms": 6000,
                   "consumer.heartbeat.interval.ms": 2000},
        "points": [
            ("auto commit", {"consumer.app.commit": "auto"}),
            ("auto commit, records handed to a worker", {"consumer.app.commit": "auto",
                                                         "consumer.app.processing": "async",
                                                         "consumer.app.workers": 1,
                                                         "consumer.app.queue.polls": 1_000_000}),
            ("commitAsync + commitSync on error/close", {"consumer.app.commit": "async+sync",
                                                         "consumer.enable.auto.commit": False}),
            ("same, committing processed offsets", {"consumer.app.commit": "async+sync-processed",
                                                    "consumer.enable.auto.commit": False}),
        ],
    },
}


def experiment(replications: int, seed: int, quick: bool = False):
    points, labels, stages = [], [], []
    scale = 1 / 3 if quick else 1.0  # quick: 10 s instead of 30 s, scripted faults earlier by as much
    for stage, spec in STAGES.items():
        faults = dict(spec["faults"])
        if "faults" in faults:
            faults["faults"] = [{**f, "at": round(f["at"] * scale, 4)} for f in faults["faults"]]
        for label, overrides in spec["points"]:
            points.append({**faults, **overrides})
            labels.append(label)
            stages.append(stage)
    base = dict(COMMON, **({"workload.duration": COMMON["workload.duration"] * scale} if quick else {}))
    data = {"experiment": {"name": "demo", "replications": replications, "batch": 1, "seed": seed},
            "base": base, "points": points}
    return experiment_from_dict(data), labels, stages


def run_demo(replications: int = 6, seed: int = 1, out_dir="results", jobs=None, progress=None,
             quick: bool = False) -> dict:
    """Run the demo's sweep into out_dir/demo (replaced); returns the estimates per configuration."""
    exp, labels, stages = experiment(replications, seed, quick)
    target = Path(out_dir) / exp.name
    if target.exists():
        shutil.rmtree(target)
    results = run_sweep(exp, out_dir=out_dir, jobs=jobs, progress=progress)
    for point, entry in results.items():
        entry["label"], entry["stage"] = labels[point], stages[point]
    return results


def table(results: dict) -> str:
    head = ("stage", "configuration", "silent loss / message [95% CI]", "duplicates / message", "ack p99 ms",
            "where losses happen")
    rows = [head]
    for entry in results.values():
        estimate = entry["estimate"]
        by = estimate["silent_by_stage"]
        total = sum(by.values())
        where = ", ".join(f"{s} {100 * v / total:.0f}%" for s, v in by.items() if v) if total else "-"
        rows.append((entry["stage"], entry["label"], fmt_rate(estimate["silent_loss"]),
                     fmt_rate(estimate["duplicated"]),
                     f"{estimate['ack_p99_ms']:.1f}", where))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i in (0, 1, 5) else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def draw(results: dict, out_dir) -> Path:
    """demo.png (rates and the latency they cost) and outcomes.png (outcome classes by stage)."""
    path = Path(out_dir) / "demo" / "demo.png"
    plot(results, path, "kafkasim demo: silent loss and duplicates per message, and the latency they cost")
    plot_outcomes(results, path.with_name("outcomes.png"),
                  "kafkasim demo: what went wrong, in which stage (summed over replications)")
    return path


__all__ = ["run_demo", "table", "draw", "point_label"]
