"""Random faults: Poisson rates in real units, common random numbers across configurations."""

from __future__ import annotations

import numpy as np
import pytest

from sim.faults import random_faults
from sim.result import RunResult
from sim.run import simulate

from simtest import config


def faults_for(seed=1, **overrides):
    cfg = config(**overrides)
    rng = np.random.default_rng(seed)
    return random_faults(cfg, rng, cfg["cluster.brokers"], cfg.seconds("workload.duration"))


def test_no_random_faults_unless_asked():
    assert faults_for() == []


def test_crash_count_matches_the_mtbf():
    counts = [len(faults_for(seed, chaos__broker__crash__mtbf="100s", chaos__broker__crash__duration=0.001,
                             workload__duration=10_000)) for seed in range(5)]
    # 3 brokers x 10,000 s / 100 s = 300 expected per run (a Poisson count), overlaps are rare
    assert all(abs(n - 300) < 4 * 300 ** 0.5 for n in counts)


def test_durations_follow_their_mean():
    fs = faults_for(chaos__broker__pause__mtbf="10s", chaos__broker__pause__duration=0.2, workload__duration=20_000)
    assert np.mean([f.duration for f in fs]) == pytest.approx(0.2, rel=0.1)
    assert {f.action for f in fs} == {"pause"}


def test_units_in_days_and_years_and_the_datacenter_preset():
    # ten years of production would be 315 billion messages: past sim.max.messages, raised here (no run happens)
    fs = faults_for(chaos__preset="datacenter", workload__duration="10y", sim__max__messages=10**12)
    crashes = [f for f in fs if f.action == "crash"]
    outages = [f for f in fs if f.target == "all-brokers"]
    assert 3 * 3650 / 60 * 0.7 < len(crashes) < 3 * 3650 / 60 * 1.3  # 60 days per broker
    assert 3 <= len(outages) <= 20  # once a year


def test_faults_never_overlap_on_one_broker():
    fs = faults_for(chaos__broker__crash__mtbf="30s", chaos__broker__power_loss__mtbf="40s",
                    chaos__cluster__power_outage__mtbf="200s", workload__duration=3000)
    busy = {}
    for f in fs:
        targets = ["broker:0", "broker:1", "broker:2"] if f.target == "all-brokers" else [f.target]
        for t in targets:
            assert busy.get(t, 0.0) <= f.at
            busy[t] = f.at + f.duration


def test_two_configurations_with_one_seed_face_the_same_faults():
    kinds = dict(chaos__broker__crash__mtbf="20s", chaos__consumer__crash__mtbf="30s", workload__duration=60)
    a = simulate(config(producer__acks="1", **kinds))
    b = simulate(config(producer__acks="all", producer__linger__ms=20, **kinds))
    assert a.faults.applied == b.faults.applied and len(a.faults.applied) > 0
    assert RunResult.from_cluster(a, 0.0)["faults"] == RunResult.from_cluster(b, 0.0)["faults"]


def test_adding_one_kind_does_not_move_the_others():
    only = faults_for(chaos__broker__crash__mtbf="50s", workload__duration=1000)
    both = faults_for(chaos__broker__crash__mtbf="50s", chaos__consumer__crash__mtbf="77s", workload__duration=1000)
    crashes = [f for f in both if f.action == "crash"]
    # the consumer crashes can only remove broker faults through overlaps; they never shift their times
    assert crashes == [f for f in only if f.action == "crash"]


def test_latency_spikes_slow_acknowledgements_down():
    calm = simulate(config(workload__duration=20, network__latency__distribution="lognormal"))
    spiky = simulate(config(workload__duration=20, network__latency__distribution="lognormal",
                            chaos__broker__latency_spike__mtbf=5, chaos__broker__latency_spike__extra__ms=80))
    spikes = [f for f in spiky.faults.applied if f[1] == "latency_spike"]
    assert spikes
    p99 = [RunResult.from_cluster(c, 0.0)["latency"]["ack_p99_ms"] for c in (calm, spiky)]
    assert p99[1] > p99[0] + 80  # at least one extra one-way delay on most acks of a spiked leader
