"""End to end: whole runs through the production and drain phases, classified per message."""

from __future__ import annotations

import pytest

from sim.ledger import CLASSES
from sim.result import RunResult
from sim.run import run_once, simulate
from sim.workload import ArrivalStream

from simtest import config

SAFE = dict(cluster__brokers=3, topic__partitions=3, topic__replication__factor=3, topic__min__insync__replicas=2,
            workload__duration=20, workload__rate=2000)


def counts(r):
    return {k: v for k, v in r.outcomes.items() if v}


def test_without_faults_every_message_is_delivered_and_nothing_else():
    r = run_once(config(**SAFE, network__latency__distribution="lognormal"))
    assert r["sent"] > 35000
    assert counts(r) == {"delivered": r["sent"]}
    assert r["causes"] == {"delivered": {"ok": r["sent"]}}
    assert r["acked_missing_from_log"]["total"] == 0 and r["drained"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_acks_0_with_the_leader_crashed_mid_run_loses_messages(seed):
    faults = [{"at": 8, "action": "crash", "target": "leader", "duration": 5}]
    cfg = config(**dict(SAFE, workload__rate=20000, network__latency__ms=2.0), producer__acks="0", faults=faults,
                 sim__seed=seed, network__latency__distribution="lognormal")
    r = run_once(cfg)
    lost = r.outcomes["lost_acked"]
    assert lost > 0
    # acks=0: the producer believed every one of them was written
    assert r["causes"]["lost_acked"].get("lost_storage") == lost
    assert r["acked_missing_from_log"]["total"] == lost
    assert sum(r.outcomes.values()) == r["sent"] and set(r.outcomes) == set(CLASSES)
    assert r.outcomes["unconsumed"] == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("action", ["crash", "power_loss"])
def test_acks_all_rf3_min_isr_2_survives_one_broker_failure(seed, action):
    faults = [{"at": 8, "action": action, "target": "leader", "duration": 5}]
    cfg = config(**SAFE, faults=faults, sim__seed=seed, network__latency__distribution="lognormal")
    r = run_once(cfg)
    assert r.outcomes["lost_acked"] == 0
    assert r["acked_missing_from_log"]["total"] == 0
    assert r["brokers"]["elections"] >= 1
    assert sum(r.outcomes.values()) == r["sent"]
    assert r.outcomes["unconsumed"] == 0 and r["drained"]


@pytest.mark.parametrize("acks, lost", [("1", 1), ("all", 0)])
def test_a_write_acknowledged_before_any_follower_fetched_it_dies_with_the_leader(acks, lost):
    # 1 ms links. A (0.5000 s) is appended at 0.5010 and answers the parked follower fetches; B
    # (0.5005 s) is appended at 0.5015, when no fetch is parked: the followers ask again at 0.5030.
    # With acks=1 B's ack reaches the producer at 0.5025; the leader loses power at 0.5026.
    faults = [{"at": 0.5026, "action": "power_loss", "target": "leader", "duration": 1}]
    cfg = config(producer__acks=acks, producer__linger__ms=0, topic__replication__factor=3,
                 topic__min__insync__replicas=2, workload__duration=15, faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 0.5, 0.5005]))
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == lost
    if lost:
        assert c.ledger.ack_t[2] == pytest.approx(0.5025)
        assert r["by_stage"]["broker"] == {"lost_acked": 1}
    else:
        assert r.outcomes["delivered"] == 3  # B was never acknowledged; the producer retried it


def test_consumer_crash_with_auto_commit_duplicates_and_loses_nothing():
    faults = [{"at": 8, "action": "consumer_crash", "duration": 1}]
    r = run_once(config(**SAFE, faults=faults))
    assert r.outcomes["duplicated"] > 0 and r["causes"]["duplicated"] == {"dup_redelivery": r.outcomes["duplicated"]}
    assert r.outcomes["lost_acked"] == 0


def test_producer_crash_leaves_records_never_acknowledged():
    faults = [{"at": 8, "action": "producer_crash", "duration": 1}]
    r = run_once(config(**dict(SAFE, producer__linger__ms=50), faults=faults))
    assert r.outcomes["lost_unacked"] > 0
    assert r["causes"]["lost_unacked"] == {"producer_crash": r.outcomes["lost_unacked"]}
    assert r["by_stage"]["producer"]["lost_unacked"] == r.outcomes["lost_unacked"]
