"""The table of fault kinds (sim/faults/kinds.py) is the one home of each kind: validation, the docs, the
injector and the chaos processes all follow it. Each test walks the whole table, so a new entry is
checked by them without a line here."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ConfigError, docs
from sim.faults import CHAOS_KINDS, FAULT_KINDS, random_faults
from sim.faults.kinds import BROKERS, CONSUMER, FORBIDDEN, PRODUCER, REQUIRED
from sim.run import simulate

from simtest import config

TARGET_OF = {BROKERS: "broker:1", PRODUCER: "producer", CONSUMER: "consumer:0"}
OTHER_TARGET = {BROKERS: "producer", PRODUCER: "broker:0", CONSUMER: "broker:0"}


def fault_table(kind, target_class, **extra):
    table = {"at": 1.0, "action": kind.action, "target": TARGET_OF[target_class]}
    if kind.duration == REQUIRED:
        table["duration"] = 0.5
    for param in kind.params:
        if param.required:
            table[param.name] = 0.01 if param.maximum <= 1 else 5.0
    return {**table, **extra}


def small(faults):
    return config(cluster__brokers=3, topic__replication__factor=3, workload__duration=3, workload__rate=50,
                  faults=faults)


@pytest.mark.parametrize("action", list(FAULT_KINDS))
def test_every_kind_is_accepted_on_each_of_its_targets_and_refused_elsewhere(action):
    kind = FAULT_KINDS[action]
    for target_class in kind.targets:
        (fault,) = small([fault_table(kind, target_class)]).faults
        assert fault.action == action and fault.target == TARGET_OF[target_class]
    refused = [cls for cls in (BROKERS, PRODUCER, CONSUMER) if cls not in kind.targets]
    for target_class in refused:
        with pytest.raises(ConfigError, match="targets"):
            small([fault_table(kind, kind.targets[0], target=TARGET_OF[target_class])])


@pytest.mark.parametrize("action", list(FAULT_KINDS))
def test_the_duration_rule_of_every_kind(action):
    kind = FAULT_KINDS[action]
    with_duration = fault_table(kind, kind.targets[0], duration=0.5)
    without = {k: v for k, v in fault_table(kind, kind.targets[0]).items() if k != "duration"}
    if kind.duration == FORBIDDEN:
        with pytest.raises(ConfigError, match="not allowed"):
            small([with_duration])
    else:
        assert small([with_duration]).faults[0].duration == 0.5
    if kind.duration == REQUIRED:
        with pytest.raises(ConfigError, match="required"):
            small([without])
    else:
        assert small([without]).faults[0].duration is None


@pytest.mark.parametrize("action", list(FAULT_KINDS))
def test_every_kind_takes_exactly_its_own_fields(action):
    kind = FAULT_KINDS[action]
    for param in kind.params:
        if param.required:
            table = fault_table(kind, kind.targets[0])
            del table[param.name]
            with pytest.raises(ConfigError, match=f"{param.name}: required for {action}"):
                small([table])
    foreign = [name for name in ("from", "rate", "extra_ms") if kind.param(name) is None]
    for name in foreign:
        with pytest.raises(ConfigError, match=f"{name} = .*only for"):
            small([fault_table(kind, kind.targets[0], **{name: 0.01 if name != "from" else "brokers"})])


@pytest.mark.parametrize("action", list(FAULT_KINDS))
def test_every_kind_is_applied_when_it_fires(action):
    kind = FAULT_KINDS[action]
    target_class = kind.targets[0]
    faults = [fault_table(kind, target_class)]
    if action == "restart":
        faults.insert(0, {"at": 0.5, "action": "crash", "target": "broker:1"})
    cluster = simulate(small(faults))
    applied = [entry for entry in cluster.faults.applied if entry[1] == action]
    assert len(applied) == 1
    at, _action, target, hit = applied[0]
    assert at == 1.0 and target == TARGET_OF[target_class]
    assert hit == ([1] if target_class == BROKERS else target)
    assert cluster.drained  # and the drain heals whatever it did


def test_every_kind_and_chaos_key_is_in_the_docs():
    text = docs.render_markdown()
    for kind in FAULT_KINDS.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{kind.action}` |")]
        assert kind.doc in row
        for chaos in kind.chaos:
            assert f"`chaos.{chaos.key}`" in row
    for key in CHAOS_KINDS:
        assert f"| `{key}.mtbf` |" in text and f"| `{key}.duration` |" in text


@pytest.mark.parametrize("key", list(CHAOS_KINDS))
def test_every_chaos_kind_draws_its_action_on_each_of_its_targets(key):
    kind, chaos = CHAOS_KINDS[key]
    cfg = config(cluster__brokers=3, consumer__app__members=2, workload__duration=2000,
                 **{f"chaos__{key.replace('.', '__')}__mtbf": 20, f"chaos__{key.replace('.', '__')}__duration": 0.01})
    faults = random_faults(cfg, np.random.default_rng(3), 3, 2000.0)
    assert faults and {fault.action for fault in faults} == {kind.action}
    expected = {"broker": {"broker:0", "broker:1", "broker:2"}, "cluster": {"all-brokers"},
                "producer": {"producer"}, "consumer": {"consumer:0", "consumer:1"}}[chaos.scope]
    assert {fault.target for fault in faults} == expected
    per_target = len(faults) / len(expected)
    assert abs(per_target - 100) < 5 * 100 ** 0.5  # 2000 s / 20 s per target, a Poisson count


def test_a_kind_keeps_its_random_faults_whatever_other_kinds_are_on():
    """Common random numbers: each chaos kind draws from its own stream."""
    alone = config(workload__duration=5000, chaos__broker__crash__mtbf=100)
    crowded = config(workload__duration=5000, chaos__broker__crash__mtbf=100, chaos__broker__pause__mtbf=50,
                     chaos__broker__disk_failure__mtbf=900, chaos__producer__crash__mtbf=300)

    def crashes(cfg):
        return [(f.at, f.target) for f in random_faults(cfg, np.random.default_rng(5), 3, 5000.0)
                if f.action == "crash"]
    kept = set(crashes(crowded))
    assert kept and kept <= set(crashes(alone))  # only crashes overlapping a fault of another kind are dropped
