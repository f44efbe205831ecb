"""Random valid configurations of every section, with scripted and random faults, for the property
tests (tests/test_random_configs.py, through hypothesis) and for a plain random search
(`python tests/randomconfig.py N`: runs N of them, each under a wall-clock alarm, and prints the
ones that crash, hang or break an invariant).

`random_overrides(pick)` builds one configuration from a chooser: `pick(options)` returns one of
the options (hypothesis' `draw(sampled_from(...))`, or a numpy generator's choice), so the same
description serves both. Every configuration is short: a few seconds of production at a few
hundred messages per second.
"""

from __future__ import annotations

import sys

DISK_KEEPING = ("crash", "isolate", "pause", "packet_loss")  # faults after which every replica keeps its log
BROKER_FAULTS = ("crash", "power_loss", "disk_failure", "shutdown", "isolate", "pause", "packet_loss",
                 "latency_spike")
CLIENT_FAULTS = ("producer_crash", "consumer_crash", "consumer_error", "consumer_stall")
DURATIONS = (2, 4, 8)  # s of production
RATES = (50, 200, 800)  # messages per second
SAFE_CHAOS = ("broker.crash", "broker.partition", "broker.pause")  # random faults that keep every log on disk
CHAOS_KEYS = ("broker.crash", "broker.power_loss", "cluster.power_outage", "broker.disk_failure",
              "broker.partition", "broker.pause", "broker.latency_spike", "producer.crash", "consumer.crash")

# key -> the values drawn for it (each list starts with Kafka's default or a common value)
CHOICES = {
    "topic.partitions": [1, 3, 6],
    "topic.unclean.leader.election.enable": [False, True],
    "topic.flush.messages": [None, 1, 100],
    "broker.log.flush.interval.ms": [None, 1000],
    "broker.log.flush.scheduler.interval.ms": [2**63 - 1, 1000],
    "broker.replica.lag.time.max.ms": [30000, 2000],
    "broker.replica.fetch.wait.max.ms": [500, 50],
    "broker.replica.fetch.max.bytes": [1048576, 20000],
    "broker.broker.session.timeout.ms": [9000, 3000],
    "broker.broker.heartbeat.interval.ms": [2000, 500],
    "broker.log.segment.bytes": [1073741824, 200000],
    "broker.auto.leader.rebalance.enable": [True, False],
    "broker.leader.imbalance.check.interval.seconds": [300, 2],
    "broker.model.isr.broker.epochs": [True, False],
    "broker.model.hw.frozen.below.min.isr": [True, False],
    "broker.model.truncation": ["leader-epoch", "high-watermark"],
    "broker.model.replica.fetch.fencing": [True, False],
    "broker.model.isr.write": ["alter-partition", "zookeeper"],
    "broker.model.quick.restart.keeps.isr": [False, True],
    "broker.vm.dirty_expire_centisecs": [3000, 100],
    "producer.acks": ["all", "1", "0"],
    "producer.enable.idempotence": [None, True, False],
    "producer.retries": [2147483647, 0, 3],
    "producer.max.in.flight.requests.per.connection": [5, 1],
    "producer.request.timeout.ms": [30000, 1000],
    "producer.delivery.timeout.ms": [None, 3000],
    "producer.linger.ms": [5, 0, 50],
    "producer.batch.size": [16384, 2000],
    "producer.buffer.memory": [33554432, 40000, 5000],
    "producer.max.block.ms": [60000, 0, 200],
    "producer.retry.backoff.ms": [100, 0],
    "producer.reconnect.backoff.ms": [50, 0],
    "producer.app.callback": ["checked", "fire-and-forget"],
    "producer.app.resend": [False, True],
    "producer.app.resend.on.restart": [False, True],
    "consumer.enable.auto.commit": [True, False],
    "consumer.auto.commit.interval.ms": [5000, 200],
    "consumer.auto.offset.reset": ["latest", "earliest", "none"],
    "consumer.max.poll.records": [500, 10],
    "consumer.fetch.max.wait.ms": [500, 10],
    "consumer.max.partition.fetch.bytes": [1048576, 5000],
    "consumer.retry.backoff.ms": [100, 0],
    "consumer.session.timeout.ms": [45000, 6000],
    "consumer.app.commit": ["auto", "sync", "async", "async+sync", "async+sync-processed", "per-record"],
    "consumer.model.offset.validation": [True, False],
    "consumer.app.members": [1, 2],
    "consumer.app.processing": ["sync", "async"],
    "consumer.app.record.processing.ms": [0.1, 0, 2],
    "consumer.app.error.policy": ["close", "skip", "retry"],
    "workload.keys": [0, 0, 20],
    "workload.message.bytes": [1024, 100, 20000],
    "network.latency.ms": [0.25, 2],
    "network.latency.distribution": ["lognormal", "constant"],
    "network.packet.loss": [0.0, 0.0, 0.01],
    "network.loss.model": ["retransmit", "retransmit", "drop"],
    "cluster.kafka.version": [None, "2.0", "2.8", "3.5", "3.9", "4.0"],
}


def _choices_for(key: str) -> list:
    """CHOICES, restricted to values the schema accepts (enum spellings change between versions)."""
    from sim.config.schema import SCHEMA
    spec = SCHEMA[key]
    values = CHOICES[key]
    if spec.kind == "enum":
        values = [v for v in values if v is None or v in spec.choices]
    return values or [spec.default]


def random_overrides(pick, *, safety: bool = False) -> dict:
    """One random configuration as overrides (dotted keys, plus "faults").

    safety: acks=all, RF 3, min.insync.replicas 2, unclean election off, and only faults that keep
    every replica's log on disk -- the configurations that must lose no acknowledged message."""
    values: dict = {}
    for key in CHOICES:
        if pick([True, False, False]):  # each key set in about a third of the configurations
            value = pick(_choices_for(key))
            if value is not None:
                values[key] = value
    brokers = pick([1, 3, 3, 4])
    values["cluster.brokers"] = brokers
    rf = pick([r for r in (1, 2, 3) if r <= brokers])
    values["topic.replication.factor"] = rf
    values["topic.min.insync.replicas"] = pick(list(range(1, rf + 1)))
    if brokers >= 3 and pick([False, False, True]):
        values["broker.eligible.leader.replicas.version"] = 1
        values["topic.min.insync.replicas"] = max(2, values["topic.min.insync.replicas"]) if rf >= 2 else 1
    duration = pick(list(DURATIONS))
    values["workload.duration"] = duration
    values["workload.rate"] = pick(list(RATES))
    values["sim.seed"] = pick(list(range(1, 1000)))
    kinds = DISK_KEEPING if safety else BROKER_FAULTS + CLIENT_FAULTS
    faults = []
    for _ in range(pick([0, 1, 2, 3])):
        action = pick(list(kinds))
        fault = {"at": pick([0.2, 0.5, 1.0, 1.5]) * duration / 2, "action": action}
        if action in CLIENT_FAULTS:
            fault["target"] = "producer" if action == "producer_crash" else "consumer"
        else:
            fault["target"] = pick(["leader", "followers", "broker:0", "all-brokers"])
        if action in ("packet_loss",):
            fault["rate"] = pick([0.01, 0.2])
        if action == "latency_spike":
            fault["extra_ms"] = pick([20, 500])
        if action in ("consumer_stall",) or pick([True, False]):
            fault["duration"] = pick([0.1, 1.0, 3.0])
        if action in ("consumer_error",):
            fault.pop("duration", None)
        faults.append(fault)
    if faults:
        values["faults"] = faults
    if pick([False, False, True]):
        for key in SAFE_CHAOS if safety else CHAOS_KEYS:
            if pick([False, True]):
                values[f"chaos.{key}.mtbf"] = pick([1, 3, 10])
                values[f"chaos.{key}.duration"] = pick([0.5, 2])
    if safety:
        values.update({"producer.acks": "all", "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
                       "topic.unclean.leader.election.enable": False, "cluster.brokers": max(3, brokers)})
        values["broker.model.truncation"] = "leader-epoch"  # truncating to the HW (before 0.11) loses committed data
        values["broker.model.replica.fetch.fencing"] = True  # so do unfenced fetches (before 2.1; S3)
    return values


def load(values: dict):
    """The Config of these overrides, or None when validation refuses the combination."""
    from sim.config import load_config
    from sim.config.errors import KafkasimInputError
    try:
        return load_config(overrides=values)
    except KafkasimInputError:
        return None


def _search(count: int, start: int = 0, limit_s: int = 30) -> None:
    import signal
    import traceback

    import numpy as np

    from sim.run import run_once

    def on_alarm(_signum, _frame):
        raise TimeoutError("wall-clock limit")

    signal.signal(signal.SIGALRM, on_alarm)
    for i in range(start, start + count):
        rng = np.random.default_rng(i)
        values = random_overrides(lambda options, rng=rng: options[int(rng.integers(len(options)))])
        cfg = load(values)
        if cfg is None:
            continue
        signal.alarm(limit_s)
        try:
            result = run_once(cfg)
            problem = None if result.data["drained"] else "not drained"
        except Exception as err:  # noqa: BLE001 -- a search reports every failure
            problem = f"{type(err).__name__}: {err}"
            if not isinstance(err, TimeoutError):
                traceback.print_exc()
        finally:
            signal.alarm(0)
        print(i, problem or "ok", values if problem else "", flush=True)


if __name__ == "__main__":
    _search(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
