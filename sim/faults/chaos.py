"""Random faults: Poisson processes of crashes, power losses, partitions, pauses and the other kinds.

Each chaos kind (sim/faults/kinds.py) on each of its targets is a Poisson process with the
configured mean time between failures (chaos.<key>.mtbf, or the preset's) and exponentially
distributed durations (chaos.<key>.duration). The times come from the fault stream only, and each
(kind, target) pair has its own generator derived from it and from the kind's stream number, so
two configurations run with the same seed face exactly the same faults (common random numbers),
however many events any other kind produced.

A fault that would hit a broker already down, partitioned or paused by an earlier one is
dropped: repairs never overlap, so a restart always ends the fault that caused it.

Importance sampling (sim/rare/importance.py) draws the same processes at biased rates,
`bias[key]` times the configured one, and returns the log of the likelihood ratio of what was
drawn: for a Poisson process of rate lam drawn at rate b*lam over [0, T) with n events, the ratio of
the densities is b**-n * exp((b - 1) * lam * T) (durations are drawn unbiased). The ratio is of the
drawn processes, before overlapping faults are dropped (dropping is a function of what was drawn).
"""

from __future__ import annotations

import math

import numpy as np

from .fault import Fault
from .kinds import ALL_PEERS, CHAOS_KINDS, PER_BROKER, PER_CLUSTER, PER_CONSUMER


def mtbf(cfg, key: str) -> float | None:
    """The mean time between faults of a chaos kind: its own key, else the preset's rate, else None."""
    chaos = cfg.settings.chaos
    explicit = getattr(chaos, f"{key.replace('.', '_')}_mtbf")
    return explicit if explicit is not None else CHAOS_KINDS[key][1].preset_mtbf(chaos.preset)


def chaos_targets(chaos, cfg, brokers: int) -> list[str]:
    """The targets of a chaos kind: one Poisson process each."""
    if chaos.scope == PER_BROKER:
        return [f"broker:{broker}" for broker in range(brokers)]
    if chaos.scope == PER_CONSUMER:
        return [f"consumer:{member}" for member in range(cfg.settings.consumer.app_members)]  # each group member
    return ["all-brokers"] if chaos.scope == PER_CLUSTER else ["producer"]


def random_faults(cfg, rng: np.random.Generator, brokers: int, end: float, bias: dict | None = None) -> list[Fault]:
    """Every random fault in [0, end), in time order."""
    return biased_faults(cfg, rng, brokers, end, bias)[0]


def biased_faults(cfg, rng: np.random.Generator, brokers: int, end: float,
                  bias: dict | None = None) -> tuple[list[Fault], float]:
    """Every random fault in [0, end) with rates multiplied by bias[key], and the log likelihood ratio."""
    base = int(rng.integers(2**63))  # one draw: the seed of every (kind, target) generator
    events = []
    log_weight = 0.0
    for key, (kind, chaos) in CHAOS_KINDS.items():
        mean_gap = mtbf(cfg, key)
        if mean_gap is None:
            continue
        factor = bias.get(key, 1.0) if bias else 1.0
        drawn_gap = mean_gap / factor
        mean_duration = getattr(cfg.settings.chaos, f"{key.replace('.', '_')}_duration")
        spike_ms = cfg[f"chaos.{key}.extra.ms"] if chaos.spike_ms is not None else None  # in ms, as in [[faults]]
        isolate_from = ALL_PEERS if kind.network else ()
        for index, target in enumerate(chaos_targets(chaos, cfg, brokers)):
            gen = np.random.default_rng([base, chaos.stream, index])
            at = 0.0
            drawn = 0
            while True:
                at += float(gen.exponential(drawn_gap))
                if at >= end:
                    break
                drawn += 1
                fault = Fault(at=at, action=kind.action, target=target, duration=float(gen.exponential(mean_duration)),
                              isolate_from=isolate_from, index=-1, extra_ms=spike_ms)
                events.append((at, chaos.stream, index, fault))
            if factor != 1.0:
                log_weight += -drawn * math.log(factor) + (factor - 1.0) * end / mean_gap
    events.sort(key=lambda event: event[:3])
    return _without_overlaps([event[3] for event in events], brokers), log_weight


def _without_overlaps(faults: list[Fault], brokers: int) -> list[Fault]:
    busy_until: dict[str, float] = {}
    kept = []
    for fault in faults:
        hit = [f"broker:{broker}" for broker in range(brokers)] if fault.target == "all-brokers" else [fault.target]
        if any(busy_until.get(name, 0.0) > fault.at for name in hit):
            continue
        for name in hit:
            busy_until[name] = fault.at + fault.duration
        kept.append(fault)
    return kept
