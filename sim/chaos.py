"""Random faults: Poisson processes of crashes, power losses, partitions and pauses.

Each kind of fault on each target is a Poisson process with the configured mean time between
failures (chaos.<kind>.mtbf) and exponentially distributed durations (chaos.<kind>.duration).
The times come from the fault stream only, and each (kind, target) pair has its own
generator derived from it, so two configurations run with the same seed face exactly the same
faults (common random numbers), however many events any other kind produced.

A fault that would hit a broker already down, partitioned or paused by an earlier one is
dropped: repairs never overlap, so a restart always ends the fault that caused it.
"""

from __future__ import annotations

import numpy as np

from .config import Fault

DAY, YEAR = 86400.0, 365 * 86400.0
ALL = ("brokers", "controller", "clients")

# kind -> (fault action, what it targets)
KINDS = {
    "broker.crash": ("crash", "broker"),
    "broker.power_loss": ("power_loss", "broker"),
    "cluster.power_outage": ("power_loss", "cluster"),
    "broker.partition": ("isolate", "broker"),
    "broker.pause": ("pause", "broker"),
    "broker.latency_spike": ("latency_spike", "broker"),
    "producer.crash": ("producer_crash", "producer"),
    "consumer.crash": ("consumer_crash", "consumer"),  # every member of the group, independently
    "broker.disk_failure": ("disk_failure", "broker"),  # (last: the generators of the kinds above keep their seeds)
}

# Reference section 5 ("suggested injection defaults", marked unverified there: assumptions to sweep).
PRESETS = {
    "none": {},
    "datacenter": {"broker.crash": 60 * DAY, "broker.power_loss": YEAR / 1.5, "cluster.power_outage": YEAR,
                   "broker.disk_failure": YEAR / 0.03},  # disks: 2-4 % a year (Schroeder & Gibson, FAST 2007)
}


def mtbf(cfg, kind: str) -> float | None:
    explicit = cfg[f"chaos.{kind}.mtbf"]
    return explicit if explicit is not None else PRESETS[cfg["chaos.preset"]].get(kind)


def random_faults(cfg, rng: np.random.Generator, brokers: int, end: float) -> list[Fault]:
    """Every random fault in [0, end), in time order."""
    base = int(rng.integers(2**63))  # one draw: the seed of every (kind, target) generator
    events = []
    for k, kind in enumerate(KINDS):
        mean_gap = mtbf(cfg, kind)
        if mean_gap is None:
            continue
        action, scope = KINDS[kind]
        if scope == "broker":
            targets = [f"broker:{b}" for b in range(brokers)]
        elif scope == "consumer":
            targets = [f"consumer:{m}" for m in range(cfg["consumer.app.members"])]  # each group member
        else:
            targets = ["all-brokers"] if scope == "cluster" else [scope]
        mean_duration = cfg.seconds(f"chaos.{kind}.duration")
        spike_ms = cfg["chaos.broker.latency_spike.extra.ms"]
        for j, target in enumerate(targets):
            gen = np.random.default_rng([base, k, j])
            t = 0.0
            while True:
                t += float(gen.exponential(mean_gap))
                if t >= end:
                    break
                events.append((t, k, j, Fault(at=t, action=action, target=target,
                                              duration=float(gen.exponential(mean_duration)),
                                              isolate_from=ALL if action in ("isolate", "latency_spike") else (),
                                              index=-1, extra_ms=spike_ms if action == "latency_spike" else None)))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return _without_overlaps([e[3] for e in events], brokers)


def _without_overlaps(faults: list[Fault], brokers: int) -> list[Fault]:
    busy_until: dict[str, float] = {}
    kept = []
    for f in faults:
        hit = [f"broker:{b}" for b in range(brokers)] if f.target == "all-brokers" else [f.target]
        if any(busy_until.get(h, 0.0) > f.at for h in hit):
            continue
        for h in hit:
            busy_until[h] = f.at + f.duration
        kept.append(f)
    return kept
