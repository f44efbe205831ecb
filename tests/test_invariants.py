"""sim/invariants.py: each invariant is checked at the end of a run, and a broken one raises an error
that names it and carries what is needed to replay the run."""

from __future__ import annotations

import pytest

from sim.config import load_config
from sim.invariants import InvariantViolation, check_run, problems, read_below_hw
from sim.result import RunResult
from sim.run import finish, run_once, start

SHORT = {"workload.duration": 1, "topic.replication.factor": 3, "sim.seed": 7}


def finished(spawn_key=(), **extra):
    cluster = finish(start(load_config(overrides={**SHORT, **extra}), spawn_key))
    return cluster, RunResult.from_cluster(cluster, 0.0)


def test_a_normal_run_keeps_every_invariant():
    cluster, result = finished(faults=[{"at": 0.5, "action": "crash", "target": "leader", "duration": 0.2}])
    assert problems(cluster, result) == []


def test_an_hw_above_the_leo_is_reported_with_the_seed_and_config_to_replay():
    cluster, result = finished(spawn_key=(0, 3))
    log = cluster.brokers[1].logs[0]
    log.hw = log.leo + 1
    with pytest.raises(InvariantViolation) as caught:
        check_run(cluster, result, (0, 3))
    err = caught.value
    assert "broker 1 partition 0: HW" in str(err) and "seed 7" in str(err)
    assert err.seed == 7 and err.spawn_key == (0, 3) and err.config["topic.replication.factor"] == 3
    assert run_once(err.cfg, err.spawn_key)["sent"] == result["sent"]  # the replay runs the same run


def test_a_broken_count_an_epoch_from_nowhere_and_a_commit_past_every_hw_are_each_reported():
    cluster, result = finished()
    result.data["outcomes"]["delivered"] += 1
    cluster.brokers[2].logs[0].epochs.append((99, cluster.brokers[2].logs[0].leo))
    cluster.coordinator.committed[0] = 10**9
    found = " | ".join(problems(cluster, result))
    assert "conservation" in found and "leader epoch 99" in found and "committed offset 1000000000" in found


def test_a_run_past_its_drain_bound_is_reported():
    cluster, result = finished()
    cluster.env.run(until=cluster.end + cluster.cfg.settings.sim.drain_timeout + 1)
    assert any("drain bound" in p for p in problems(cluster, result))


def test_a_consumer_read_at_the_hw_is_refused():
    class Batch:
        base = 10
    read_below_hw([(Batch, 0, 5)], 15)  # offsets 10..14, HW 15: fine
    with pytest.raises(InvariantViolation, match="offset 15 at or above the HW 15"):
        read_below_hw([(Batch, 0, 6)], 15)
