"""Reference runs: a fixed set of replications that touch every fault kind, every named scenario, the
bench workload and the main configuration switches, written out so that two versions of the model can
be compared field by field. Used to show that a restructuring or a speed-up leaves results identical.

    python tests/reference_runs.py write results/reference/before
    ... change the model ...
    python tests/reference_runs.py write results/reference/after
    python tests/reference_runs.py compare results/reference/before results/reference/after

Each case keeps the whole RunResult (less the wall time), a digest of every ledger array, the
number of SimPy events, and for named scenarios the replica timeline's samples. The JSON trace is
compared as (time, kind, fields) rows, whatever form a version writes it in.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from sim.bench import DEFAULT as BENCH
from sim.config import load_config
from sim.result import RunResult
from sim.run import finish, start
from sim.scenarios import default_path as default_scenario_path
from sim.scenarios.catalog import CATALOG
from sim.scenarios.named import variant_config
from sim.timeline import ReplicaTimeline
from sim.workload import ArrivalStream

RF3 = {"cluster.brokers": 3, "topic.partitions": 3, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
       "workload.duration": 20, "workload.rate": 800}


def _fault(at, action, target=None, **extra):
    fault = {"at": at, "action": action, **extra}
    if target is not None:
        fault["target"] = target
    return fault


CASES: dict[str, dict] = {
    "default": {"use_default_scenario": True},
    "default-seed7": {"use_default_scenario": True, "sim.seed": 7},
    "schema-defaults": {},
    "crash-leader": {**RF3, "faults": [_fault(5, "crash", "leader", duration=6)]},
    "power-loss-all": {**RF3, "faults": [_fault(8, "power_loss", "all-brokers", duration=3)]},
    "disk-failure": {**RF3, "faults": [_fault(4, "disk_failure", "broker:1", duration=3),
                                       _fault(9, "crash", "leader", duration=2)]},
    "shutdown-restart": {**RF3, "faults": [_fault(4, "shutdown", "broker:0"), _fault(9, "restart", "broker:0")]},
    "isolate-heal": {**RF3, "producer.acks": "1", "topic.min.insync.replicas": 1,
                     "faults": [_fault(3, "isolate", "leader", **{"from": ["brokers", "controller"]}),
                                _fault(12, "heal", "broker:0")]},
    "isolate-clients": {**RF3, "faults": [_fault(3, "isolate", "broker:1", duration=4, **{"from": "clients"}),
                                          _fault(10, "isolate", "producer", duration=2)]},
    "pause": {**RF3, "faults": [_fault(5, "pause", "leader", duration=12), _fault(2, "pause", "broker:2",
                                                                                   duration=1)]},
    "packet-loss": {**RF3, "faults": [_fault(2, "packet_loss", "broker:0", duration=8, rate=0.05),
                                      _fault(4, "packet_loss", "consumer", duration=3, rate=0.1)]},
    "packet-loss-drop": {**RF3, "network.loss.model": "drop", "network.packet.loss": 0.0005},
    "latency-spike": {**RF3, "faults": [_fault(3, "latency_spike", "followers", duration=5, extra_ms=400,
                                               **{"from": "brokers"}),
                                        _fault(9, "latency_spike", "producer", duration=2, extra_ms=50)]},
    "producer-crash": {**RF3, "producer.app.resend.on.restart": True,
                       "faults": [_fault(6, "producer_crash", duration=2)]},
    "consumer-faults": {**RF3, "consumer.app.members": 2, "consumer.app.commit": "async+sync",
                        "consumer.enable.auto.commit": False,
                        "faults": [_fault(3, "consumer_stall", "consumer:1", duration=5),
                                   _fault(10, "consumer_crash", "consumer:0", duration=2),
                                   _fault(15, "consumer_error", "consumer:1")]},
    "acks0-crash": {**RF3, "producer.acks": "0", "faults": [_fault(5, "crash", "leader", duration=3)]},
    "acks1-keyed": {**RF3, "producer.acks": "1", "topic.min.insync.replicas": 1, "workload.keys": 50,
                    "producer.buffer.memory": 262144, "faults": [_fault(6, "crash", "leader", duration=4)]},
    "no-idempotence-inflight": {**RF3, "producer.enable.idempotence": False,
                                "producer.max.in.flight.requests.per.connection": 5,
                                "producer.request.timeout.ms": 1500, "producer.app.resend": True,
                                "faults": [_fault(5, "isolate", "leader", duration=4)]},
    "unclean-elr": {**RF3, "topic.unclean.leader.election.enable": True, "broker.eligible.leader.replicas.version": 1,
                    "faults": [_fault(3, "crash", "followers", duration=6), _fault(5, "power_loss", "leader",
                                                                                    duration=2)]},
    "hw-truncation-quick": {**RF3, "broker.model.truncation": "high-watermark",
                            "broker.model.quick.restart.keeps.isr": True,
                            "faults": [_fault(4, "crash", "leader", duration=0.5),
                                       _fault(8, "crash", "leader", duration=0.5)]},
    "flush-messages": {**RF3, "topic.flush.messages": 1, "broker.log.segment.bytes": 2_000_000,
                       "faults": [_fault(7, "power_loss", "all-brokers", duration=2)]},
    "flush-ms": {**RF3, "broker.log.flush.interval.ms": 1000, "broker.log.flush.scheduler.interval.ms": 500,
                 "faults": [_fault(7, "power_loss", "leader", duration=2)]},
    "async-processing": {**RF3, "consumer.app.processing": "async", "consumer.app.workers": 2,
                         "consumer.app.record.processing.ms": 0.5,
                         "faults": [_fault(8, "consumer_crash", duration=2)]},
    "per-record-commit": {**RF3, "workload.rate": 200, "consumer.app.commit": "per-record",
                          "consumer.enable.auto.commit": False, "consumer.auto.offset.reset": "earliest",
                          "consumer.app.group.start": "new", "faults": [_fault(6, "consumer_crash", duration=1)]},
    "chaos-datacenter-fast": {**RF3, "workload.duration": 60, "workload.rate": 300,
                              "chaos.broker.crash.mtbf": 40, "chaos.broker.power_loss.mtbf": 120,
                              "chaos.cluster.power_outage.mtbf": 100, "chaos.broker.disk_failure.mtbf": 200,
                              "chaos.broker.partition.mtbf": 60, "chaos.broker.pause.mtbf": 30,
                              "chaos.broker.latency_spike.mtbf": 20, "chaos.producer.crash.mtbf": 80,
                              "chaos.consumer.crash.mtbf": 50, "chaos.broker.crash.duration": 5,
                              "chaos.broker.power_loss.duration": 5, "chaos.cluster.power_outage.duration": 3,
                              "chaos.broker.disk_failure.duration": 6, "chaos.broker.partition.duration": 4},
    "many-partitions": {"cluster.brokers": 5, "topic.partitions": 40, "topic.replication.factor": 3,
                        "topic.min.insync.replicas": 2, "workload.duration": 15, "workload.rate": 3000,
                        "chaos.broker.crash.mtbf": 20, "chaos.broker.crash.duration": 3,
                        "chaos.broker.latency_spike.mtbf": 10},
    "bench": {**BENCH, "workload.duration": 15.0},
}


def _digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def ledger_digests(ledger) -> dict:
    """sha256 of every per-message array of the ledger, over the messages sent."""
    n = ledger.n
    out = {}
    for name, value in sorted(vars(ledger).items()):
        if isinstance(value, np.ndarray) and value.ndim == 1 and len(value) >= n:
            out[name] = _digest(value[:n])
    return out


def _normal_trace(trace) -> list:
    """Trace rows as JSON lists [time, kind, fields...], whatever form the version writes."""
    events = trace["events"] if isinstance(trace, dict) else trace
    rows = []
    for event in events:
        if isinstance(event, dict):
            row = [event["t"], event["kind"], *[event[k] for k in event if k not in ("t", "kind")]]
        else:
            row = list(event)
        rows.append(json.loads(json.dumps(row)))
    return rows


def record(cluster, result: RunResult, timeline=None) -> dict:
    data = dict(result.data)
    data.pop("wall_s", None)
    data["trace"] = {"events": _normal_trace(data["trace"]), "dropped": data["trace"]["dropped"]}
    # the result's JSON as written (key order included), the trace in its normal form
    written = hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]
    out = {"result": data, "json": written, "ledger": ledger_digests(cluster.ledger),
           "simpy_events": next(cluster.env._eid)}
    if timeline is not None:
        out["timeline"] = timeline.to_text()
    return out


def run_case(overrides: dict) -> dict:
    path = None
    if overrides.pop("use_default_scenario", False):
        path = default_scenario_path()
    cluster = start(load_config(path, overrides=overrides))
    finish(cluster)
    return record(cluster, RunResult.from_cluster(cluster, wall_s=0.0))


def run_named(name: str, which: str) -> dict:
    spec = CATALOG[name]
    cfg = variant_config(spec, which)
    arrivals = None
    if spec.sends is not None:
        arrivals = ArrivalStream.from_times(spec.sends, end=cfg.seconds("workload.duration"))
    cluster = start(cfg, arrivals=arrivals)
    timeline = ReplicaTimeline(cluster, spec.partition, max(0.01, cfg.seconds("workload.duration") / 400))
    finish(cluster)
    return record(cluster, RunResult.from_cluster(cluster, wall_s=0.0), timeline)


def all_cases():
    for name, overrides in CASES.items():
        yield name, lambda overrides=overrides: run_case(dict(overrides))
    for name in CATALOG:
        for which in ("unsafe", "safe"):
            yield f"named-{name}-{which}", lambda name=name, which=which: run_named(name, which)


def write(out: Path, only: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, run in all_cases():
        if only and only not in name:
            continue
        started = time.perf_counter()
        data = run()
        (out / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"{name:<48} {time.perf_counter() - started:6.2f} s  {data['result']['sent']:>8} msgs", flush=True)


def _diff(a, b, path="") -> list[str]:
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"[:300]]
    if isinstance(a, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'second' if key in b else 'first'}")
            else:
                out.extend(_diff(a[key], b[key], f"{path}.{key}"))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"] + _diff(a[:min(len(a), len(b))], b[:min(len(a), len(b))], path)
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(_diff(x, y, f"{path}[{i}]"))
            if len(out) > 20:
                break
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"[:300]]


def compare(first: Path, second: Path) -> int:
    names = sorted({p.name for p in first.glob("*.json")} | {p.name for p in second.glob("*.json")})
    bad = 0
    for name in names:
        a, b = first / name, second / name
        if not a.exists() or not b.exists():
            print(f"{name}: missing in {'first' if not a.exists() else 'second'}")
            bad += 1
            continue
        diffs = _diff(json.loads(a.read_text()), json.loads(b.read_text()))
        if diffs:
            bad += 1
            print(f"{name}: {len(diffs)} difference(s)")
            for line in diffs[:12]:
                print("   ", line)
    print(f"{len(names) - bad} of {len(names)} identical")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "write":
        write(Path(argv[1]), argv[2] if len(argv) > 2 else None)
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
