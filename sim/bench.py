"""kafkasim bench: how many simulated messages per wall second, and what they cost in memory.

The default workload is fixed (so numbers compare across commits): 3 brokers, replication
factor 3, 6 partitions, acks=all, 20,000 messages/s of 1 KiB, linger.ms 5, a consumer with auto
commit, random broker crashes (mean time between crashes 60 s per broker), network latency spikes
(every 30 s per broker) and short network partitions (every 300 s per broker), i.e. everything
on. Before it, the same process measures this machine's raw SimPy speed (a loop of bare
timeouts), and the report gives the ratio: that travels across machines, absolute numbers do not.
"""

from __future__ import annotations

import gc
import json
import resource
import time

import simpy

from .config import load_config
from .run import finish, start

DEFAULT = {
    "cluster.brokers": 3, "topic.partitions": 6, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
    "producer.acks": "all", "producer.linger.ms": 5, "workload.rate": 20000, "workload.message.bytes": 1024,
    "consumer.enable.auto.commit": True, "chaos.broker.crash.mtbf": 60, "chaos.broker.crash.duration": 5,
    "chaos.broker.latency_spike.mtbf": 30, "chaos.broker.latency_spike.duration": 2,
    "chaos.broker.partition.mtbf": 300, "chaos.broker.partition.duration": 5,
    "sim.seed": 1, "sim.trace.limit": 10_000,
}


def simpy_event_rate(events: int = 300_000, repeats: int = 3) -> float:
    """Bare SimPy timeouts per wall second on this machine, in this process (the best of
    `repeats` runs: a shared machine only ever makes a run slower)."""
    best = 0.0
    for _ in range(repeats):
        env = simpy.Environment()

        def loop(env=env):
            for _ in range(events):
                yield env.timeout(1)
        env.process(loop())
        started = time.perf_counter()
        env.run()
        best = max(best, events / (time.perf_counter() - started))
    return best


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def bench(messages: int = 1_000_000, overrides: dict | None = None) -> dict:
    """Run the benchmark workload for about `messages` messages; return the measurements."""
    values = {**DEFAULT, **(overrides or {})}
    duration = messages / values["workload.rate"]
    cfg = load_config(overrides={**values, "workload.duration": duration})
    raw = simpy_event_rate()
    gc.collect()
    rss_before = peak_rss_bytes()
    started = time.perf_counter()
    cluster = start(cfg)
    finish(cluster)
    wall = time.perf_counter() - started
    events = next(cluster.env._eid)  # SimPy's event counter: every event scheduled so far
    sent = cluster.ledger.n
    rss_after = peak_rss_bytes()
    ledger_bytes = cluster.ledger.state_bytes_per_message()
    rate = sent / wall
    event_rate = events / wall
    return {
        "workload": {k: values[k] for k in sorted(values)} | {"workload.duration": duration},
        "messages": sent,
        "simpy_events": events,
        "events_per_message": events / sent if sent else None,
        "wall_s": round(wall, 3),
        "messages_per_wall_s": round(rate),
        "model_events_per_wall_s": round(event_rate),
        "raw_simpy_events_per_wall_s": round(raw),
        "messages_per_raw_simpy_event": round(rate / raw, 4),
        "peak_rss_bytes": rss_after,
        "rss_growth_bytes_per_message": round(max(0, rss_after - rss_before) / sent, 2) if sent else None,
        "ledger_bytes_per_message": ledger_bytes,
        "trace_events": len(cluster.trace.events),
        "trace_dropped": cluster.trace.dropped,
        "drained": bool(cluster.drained),
    }


def scaling(messages: int = 200_000) -> list[dict]:
    """Time per message at 1x, 2x, 4x messages, and at 6, 60, 600 partitions."""
    rows = []
    for factor in (1, 2, 4):
        r = bench(messages * factor)
        rows.append({"case": f"{factor}x messages", "messages": r["messages"], "wall_s": r["wall_s"],
                     "us_per_message": round(1e6 * r["wall_s"] / r["messages"], 3)})
    for partitions in (6, 60, 600):
        r = bench(messages, {"topic.partitions": partitions})
        rows.append({"case": f"{partitions} partitions", "messages": r["messages"], "wall_s": r["wall_s"],
                     "us_per_message": round(1e6 * r["wall_s"] / r["messages"], 3)})
    return rows


def sweep_speedup(jobs: int = 2, replications: int = 8, messages: int = 200_000) -> dict:
    """Wall time of the same sweep (the benchmark workload, `replications` replications of about
    `messages` messages, one per task) run in this process and on a local pool of `jobs` workers,
    through the real sweep path (process start-up, result store and all)."""
    import tempfile

    from .experiment.sweep import experiment_from_dict, run_sweep

    base = {**DEFAULT, "workload.duration": messages / DEFAULT["workload.rate"]}
    base.pop("sim.seed")
    exp = experiment_from_dict({"experiment": {"name": "bench-sweep", "replications": replications, "batch": 1,
                                               "seed": DEFAULT["sim.seed"]}, "base": base})
    walls = {}
    with tempfile.TemporaryDirectory() as out:
        for n in (1, jobs):
            started = time.perf_counter()
            run_sweep(exp, out_dir=f"{out}/{n}", jobs=n)
            walls[n] = time.perf_counter() - started
    return {"jobs": jobs, "replications": replications, "messages_per_replication": messages,
            "wall_s_1_worker": round(walls[1], 3), f"wall_s_{jobs}_workers": round(walls[jobs], 3),
            "speedup": round(walls[1] / walls[jobs], 3)}


def report(r: dict) -> str:
    return "\n".join([
        f"messages simulated          {r['messages']:,}",
        f"SimPy events                {r['simpy_events']:,} ({r['events_per_message']:.3f} per message)",
        f"wall time                   {r['wall_s']:.2f} s",
        f"simulated messages / wall s {r['messages_per_wall_s']:,}",
        f"raw SimPy events / wall s   {r['raw_simpy_events_per_wall_s']:,} (this machine, this process)",
        f"ratio                       {r['messages_per_raw_simpy_event']:.3f} simulated messages per raw SimPy event",
        f"peak RSS                    {r['peak_rss_bytes'] / 2**20:.1f} MiB "
        f"({r['rss_growth_bytes_per_message']} bytes per message of growth)",
        f"ledger state per message    {r['ledger_bytes_per_message']} bytes",
        f"trace                       {r['trace_events']:,} events kept, {r['trace_dropped']:,} over the cap "
        f"(sim.trace.limit {r['workload']['sim.trace.limit']:,})",
    ]) + "\n"


def to_json(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"
