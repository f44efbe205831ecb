"""kafkasim bench: how many simulated messages per wall second, and what they cost in memory.

The benchmark workload is fixed (so numbers compare across commits): 3 brokers, replication
factor 3, 6 partitions, acks=all, 20,000 messages/s of 1 KiB, linger.ms 5, a consumer with auto
commit, random broker crashes (mean time between crashes 60 s per broker), network latency spikes
(every 30 s per broker) and short network partitions (every 300 s per broker), i.e. everything
on. Before it, the same process measures this machine's raw SimPy speed (a loop of bare
timeouts), and the report gives the ratio: that travels across machines, absolute numbers do not.

Beside it, two workloads people run (`WORKLOADS`): the built-in default scenario as `kafkasim run`
runs it, and a demo-like one (the demo's producer stage at acks=all: a low rate, small batches,
random crashes). For each: messages per wall and per CPU second, microseconds per produce request
(the run's time over the produce requests sent: the request's replication rounds, the consumer's
fetches and the background work included), SimPy events per message, and the ratio to the raw
SimPy rate. Wall and CPU time both: on a shared machine CPU time is the steadier of the two.
"""

from __future__ import annotations

import gc
import json
import resource
import time

import simpy

from .config import load_config
from .config.load import load_toml
from .run import finish, start
from .scenarios import default_path

DEFAULT = {
    "cluster.brokers": 3, "topic.partitions": 6, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
    "producer.acks": "all", "producer.linger.ms": 5, "workload.rate": 20000, "workload.message.bytes": 1024,
    "consumer.enable.auto.commit": True, "chaos.broker.crash.mtbf": 60, "chaos.broker.crash.duration": 5,
    "chaos.broker.latency_spike.mtbf": 30, "chaos.broker.latency_spike.duration": 2,
    "chaos.broker.partition.mtbf": 300, "chaos.broker.partition.duration": 5,
    "sim.seed": 1, "sim.trace.limit": 10_000,
}

# The demo's producer stage (sim/demo.py) at its acks=all, min.insync.replicas=2 point, written out
# here so that a change to the demo does not move the bench: 3 brokers, 3 partitions, replication
# factor 3, 1,000 messages/s (default size and linger.ms, so about 7 messages per request), random
# broker crashes every 40 s per broker on average, 8 s down.
DEMO_LIKE = {
    "cluster.brokers": 3, "topic.partitions": 3, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
    "producer.acks": "all", "workload.rate": 1000, "chaos.broker.crash.mtbf": 40, "chaos.broker.crash.duration": 8,
    "sim.seed": 1,
}

DEFAULT_SCENARIO_MESSAGES = 60_000  # default.toml: 30 s at 2,000 messages/s

WORKLOADS = {
    "bench": "the fixed benchmark workload: 20,000 msg/s, 6 partitions, every random fault on",
    "default": "the built-in default scenario (kafkasim run): 2,000 msg/s for 30 s, a leader and a consumer crash",
    "demo-like": "the demo's producer stage at acks=all: 1,000 msg/s, 3 partitions, random broker crashes",
}
WORKLOAD_MESSAGES = {"bench": 1_000_000, "default": DEFAULT_SCENARIO_MESSAGES, "demo-like": 200_000}


def simpy_event_rates(events: int = 300_000, repeats: int = 3) -> tuple[float, float]:
    """Bare SimPy timeouts per wall second and per CPU second on this machine, in this process (the
    best of `repeats` runs each: a shared machine only ever makes a run slower)."""
    best_wall = best_cpu = 0.0
    for _ in range(repeats):
        env = simpy.Environment()

        def loop(env=env):
            for _ in range(events):
                yield env.timeout(1)
        env.process(loop())
        wall, cpu = time.perf_counter(), time.process_time()
        env.run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best_wall, best_cpu = max(best_wall, events / wall), max(best_cpu, events / max(cpu, 1e-9))
    return best_wall, best_cpu


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def workload_config(name: str, messages: int | None = None, overrides: dict | None = None):
    """The config of workload `name` for about `messages` messages (None: the workload's own size).
    The default scenario runs as it is; asked for fewer messages than its 60,000, its timeline
    (duration, the scripted faults' times and durations) shrinks by as much, as `demo --quick` does."""
    messages = WORKLOAD_MESSAGES[name] if messages is None else messages
    extra = dict(overrides or {})
    if name == "bench":
        values = {**DEFAULT, **extra}
        return load_config(overrides={**values, "workload.duration": messages / values["workload.rate"]})
    if name == "demo-like":
        values = {**DEMO_LIKE, **extra}
        return load_config(overrides={**values, "workload.duration": messages / values["workload.rate"]})
    scenario = load_toml(default_path())
    scale = min(1.0, messages / DEFAULT_SCENARIO_MESSAGES)
    if scale < 1.0:
        extra = {"workload.duration": scenario["workload.duration"] * scale,
                 "faults": [{**fault, "at": fault["at"] * scale,
                             **({"duration": fault["duration"] * scale} if "duration" in fault else {})}
                            for fault in scenario["faults"]], **extra}
    return load_config(default_path(), overrides=extra)


def _per(total: float, count: int) -> float | None:
    return round(total / count, 3) if count else None


def measure(cfg, raw: tuple[float, float]) -> tuple[dict, object]:
    """Run one replication of cfg (production and drain, as `kafkasim run` does, less the end-of-run
    classification); its cost per message and per produce request against the raw SimPy rates."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    cluster = start(cfg)
    finish(cluster)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    events = next(cluster.env._eid)  # SimPy's event counter: every event scheduled so far
    sent = cluster.ledger.n
    requests = cluster.producer.counters.requests
    replica_fetches = sum(broker.counters.replica_fetches for broker in cluster.brokers)
    raw_wall, raw_cpu = raw
    return {
        "messages": sent,
        "produce_requests": requests,
        "messages_per_request": _per(sent, requests),
        "replica_fetches_per_request": _per(replica_fetches, requests),
        "simpy_events": events,
        "events_per_message": events / sent if sent else None,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "messages_per_wall_s": round(sent / wall),
        "messages_per_cpu_s": round(sent / cpu) if cpu else None,
        "us_per_request_wall": _per(1e6 * wall, requests),
        "us_per_request_cpu": _per(1e6 * cpu, requests),
        "model_events_per_wall_s": round(events / wall),
        "raw_simpy_events_per_wall_s": round(raw_wall),
        "raw_simpy_events_per_cpu_s": round(raw_cpu),
        "messages_per_raw_simpy_event": round(sent / wall / raw_wall, 4),
        "messages_per_raw_simpy_event_cpu": round(sent / cpu / raw_cpu, 4) if cpu else None,
        "ledger_bytes_per_message": cluster.ledger.state_bytes_per_message(),
        "drained": bool(cluster.drained),
    }, cluster


def run_workload(name: str, messages: int | None = None, overrides: dict | None = None,
                 raw: tuple[float, float] | None = None) -> dict:
    """Measure workload `name` (see WORKLOADS) for about `messages` messages."""
    cfg = workload_config(name, messages, overrides)
    row, _ = measure(cfg, raw or simpy_event_rates())
    return {"description": WORKLOADS[name], "production_s": cfg["workload.duration"], **row}


def bench(messages: int = 1_000_000, overrides: dict | None = None,
          raw: tuple[float, float] | None = None) -> dict:
    """Run the benchmark workload for about `messages` messages; return the measurements."""
    cfg = workload_config("bench", messages, overrides)
    values = {**DEFAULT, **(overrides or {})}
    raw = raw or simpy_event_rates()
    gc.collect()
    rss_before = peak_rss_bytes()
    row, cluster = measure(cfg, raw)
    rss_after = peak_rss_bytes()
    sent = row["messages"]
    return {
        "workload": {k: values[k] for k in sorted(values)} | {"workload.duration": cfg["workload.duration"]},
        **row,
        "peak_rss_bytes": rss_after,
        "rss_growth_bytes_per_message": round(max(0, rss_after - rss_before) / sent, 2) if sent else None,
        "trace_events": len(cluster.trace.events),
        "trace_dropped": cluster.trace.dropped,
    }


def workloads(names=tuple(WORKLOADS), messages: int | None = None, trace_limit: int | None = None) -> dict:
    """Measure each named workload in this process, after one measurement of the raw SimPy rates:
    the bench workload's full measurements at the top level (if it ran), every workload's under
    "workloads"."""
    raw = simpy_event_rates()
    overrides = None if trace_limit is None else {"sim.trace.limit": trace_limit}
    result: dict = {}
    rows = {}
    for name in names:
        if name == "bench":
            result = bench(WORKLOAD_MESSAGES["bench"] if messages is None else messages, overrides, raw)
            rows[name] = {"description": WORKLOADS[name],
                          "production_s": result["workload"]["workload.duration"],
                          **{key: result[key] for key in _ROW_KEYS}}
        else:
            rows[name] = run_workload(name, messages, overrides, raw)
    return {**result, "raw_simpy_events_per_wall_s": round(raw[0]), "raw_simpy_events_per_cpu_s": round(raw[1]),
            "workloads": rows}


_ROW_KEYS = ("messages", "produce_requests", "messages_per_request", "replica_fetches_per_request", "simpy_events",
             "events_per_message", "wall_s", "cpu_s", "messages_per_wall_s", "messages_per_cpu_s",
             "us_per_request_wall", "us_per_request_cpu", "model_events_per_wall_s", "raw_simpy_events_per_wall_s",
             "raw_simpy_events_per_cpu_s", "messages_per_raw_simpy_event", "messages_per_raw_simpy_event_cpu",
             "ledger_bytes_per_message", "drained")


def scaling(messages: int = 200_000) -> list[dict]:
    """Time per message at 1x, 2x, 4x messages, and at 6, 60, 600 partitions."""
    rows = []
    for factor in (1, 2, 4):
        result = bench(messages * factor)
        rows.append({"case": f"{factor}x messages", "messages": result["messages"], "wall_s": result["wall_s"],
                     "us_per_message": round(1e6 * result["wall_s"] / result["messages"], 3)})
    for partitions in (6, 60, 600):
        result = bench(messages, {"topic.partitions": partitions})
        rows.append({"case": f"{partitions} partitions", "messages": result["messages"], "wall_s": result["wall_s"],
                     "us_per_message": round(1e6 * result["wall_s"] / result["messages"], 3)})
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
        for workers in (1, jobs):
            started = time.perf_counter()
            run_sweep(exp, out_dir=f"{out}/{workers}", jobs=workers)
            walls[workers] = time.perf_counter() - started
    return {"jobs": jobs, "replications": replications, "messages_per_replication": messages,
            "wall_s_1_worker": round(walls[1], 3), f"wall_s_{jobs}_workers": round(walls[jobs], 3),
            "speedup": round(walls[1] / walls[jobs], 3)}


def report(result: dict) -> str:
    return "\n".join([
        f"messages simulated          {result['messages']:,}",
        f"SimPy events                {result['simpy_events']:,} ({result['events_per_message']:.3f} per message)",
        f"wall time                   {result['wall_s']:.2f} s",
        f"simulated messages / wall s {result['messages_per_wall_s']:,}",
        f"raw SimPy events / wall s   {result['raw_simpy_events_per_wall_s']:,} (this machine, this process)",
        f"ratio                       {result['messages_per_raw_simpy_event']:.3f} simulated messages per raw "
        "SimPy event",
        f"peak RSS                    {result['peak_rss_bytes'] / 2**20:.1f} MiB "
        f"({result['rss_growth_bytes_per_message']} bytes per message of growth)",
        f"ledger state per message    {result['ledger_bytes_per_message']} bytes",
        f"trace                       {result['trace_events']:,} events kept, {result['trace_dropped']:,} over the cap "
        f"(sim.trace.limit {result['workload']['sim.trace.limit']:,})",
    ]) + "\n"


def workload_table(result: dict) -> str:
    """One line per workload: its cost per message and per produce request, wall and CPU time."""
    head = ("workload", "messages", "requests", "msg/req", "events/msg", "msg/wall s", "msg/CPU s",
            "us/req wall", "us/req CPU", "ratio", "ratio CPU")
    rows = [head]
    for name, workload in result["workloads"].items():
        rows.append((name, f"{workload['messages']:,}", f"{workload['produce_requests']:,}",
                     f"{workload['messages_per_request']:.1f}",
                     f"{workload['events_per_message']:.3f}", f"{workload['messages_per_wall_s']:,}",
                     f"{workload['messages_per_cpu_s']:,}",
                     f"{workload['us_per_request_wall']:.0f}", f"{workload['us_per_request_cpu']:.0f}",
                     f"{workload['messages_per_raw_simpy_event']:.3f}",
                     f"{workload['messages_per_raw_simpy_event_cpu']:.3f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(f"raw SimPy: {result['raw_simpy_events_per_wall_s']:,} events / wall s, "
                 f"{result['raw_simpy_events_per_cpu_s']:,} / CPU s (this process); ratio = simulated messages "
                 "per raw SimPy event, both timed on the same clock")
    lines.append("wall time includes waiting for a shared CPU; CPU time does not: compare CPU figures across runs")
    return "\n".join(lines) + "\n"


def to_json(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"
