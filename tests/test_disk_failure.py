"""Disk failure: a broker loses its log disk with every replica on it, and comes back on an empty one.

Three brokers, partition 0 on replicas (0, 1, 2) with broker 0 leading, a constant 1 ms network delay,
ten sends a second. (Kafka halts a broker whose last log directory fails; after the disk is replaced
it starts with empty logs and must rebuild every replica from the leaders.)
"""

from __future__ import annotations

import numpy as np

from sim.ledger import GONE_DISK, P_ACK
from sim.result import RunResult
from sim.run import simulate
from sim.scenarios.catalog import CATALOG
from sim.workload import ArrivalStream

from simtest import cluster, config, scenario_config

SENDS = [0.1 + 0.1 * i for i in range(150)]  # 0.1 s .. 15 s
RF3 = dict(topic__replication__factor=3, topic__min__insync__replicas=2, producer__linger__ms=0,
           broker__replica__lag__time__max__ms=1000, workload__duration=30)


def test_a_follower_that_loses_its_disk_rebuilds_its_replica_from_the_leader():
    faults = [{"at": 3.0, "action": "disk_failure", "target": "broker:2", "duration": 2.0}]
    c = cluster(SENDS, faults=faults, **RF3)
    c.env.run(until=2.99)
    had = c.brokers[2].logs[0].leo
    assert had > 0
    c.env.run(until=3.01)
    log = c.brokers[2].logs[0]
    assert (log.leo, log.hw, log.hw_checkpoint, log.epochs, log.batches) == (0, 0, 0, [], [])
    assert c.brokers[2].counters.lost_on_disk_failure == had
    assert [e[2:] for e in c.trace.of("disk_lost")] == [(2, 0, 0, had)]
    c.env.run(until=30.0)
    leader, rebuilt = c.brokers[0].logs[0], c.brokers[2].logs[0]
    assert rebuilt.leo == leader.leo > had and 2 in c.controller.parts[0].isr
    r = RunResult.from_cluster(simulate(config(faults=faults, **RF3), arrivals=ArrivalStream.from_times(SENDS)), 0.0)
    assert r.outcomes["lost_acked"] == 0 and r.outcomes["delivered"] == r["sent"] == len(SENDS)
    assert r["brokers"]["lost_on_disk_failure"] == had and r["brokers"]["diverged_records"] == 0


def _last_replica_loses_its_disk(elr: int):
    """S4's timeline with a disk failure instead of the power loss: followers cut off at 1 s and 3 s
    leave the ISR, which is then {0}; broker 0's disk fails at 5 s and it is back on an empty one at 6 s."""
    s = CATALOG["last-replica-standing"]
    faults = [dict(f, action="disk_failure") if f["action"] == "power_loss" else f for f in s.base["faults"]]
    cfg = scenario_config("last-replica-standing", faults, broker__eligible__leader__replicas__version=elr)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(s.sends))
    return c, RunResult.from_cluster(c, 0.0)


def test_without_elr_the_last_isr_member_comes_back_empty_and_takes_the_committed_data_with_it():
    c, r = _last_replica_loses_its_disk(elr=0)
    n = c.ledger.n
    before = (c.ledger.p[:n] == P_ACK) & (c.ledger.ack_t < 5.0)  # acknowledged before the disk failed
    acked = int(np.count_nonzero(before))
    assert acked > 0
    # it stayed the last ISR member, was elected with an empty log, and the others truncated to it:
    # everything acknowledged before the failure is gone; what was refused meanwhile (NOT_ENOUGH_REPLICAS
    # while the ISR was {0}) and retried once it led again is delivered
    assert r.outcomes["lost_acked"] == acked == r["acked_missing_from_log"]["total"]
    # one of them is blamed on the truncation: broker 0's last fetch answer to broker 1 was held while
    # broker 1 was cut off and delivered after the heal (the process halted, its kernel still sent what
    # was queued), so broker 1 wrote that record again after the disk failure, and lost it by truncating
    # to the empty leader; every other one never had a copy again after the disk failure
    assert r["acked_missing_from_log"]["by_cause"] == {"disk_failure": acked - 1, "truncation": 1}
    assert int(np.count_nonzero(c.ledger.gone[:n][before] & GONE_DISK)) == acked - 1
    assert r.outcomes["delivered"] == r["sent"] - acked
    assert r["brokers"]["truncated_records"] > 0


def test_with_elr_a_replica_that_left_the_isr_below_min_isr_is_elected_instead():
    c, r = _last_replica_loses_its_disk(elr=1)
    assert r.outcomes["lost_acked"] == 0 and r["acked_missing_from_log"]["total"] == 0
    assert [e[3] for e in c.trace.of("elr_election")] != []


def test_a_later_restart_does_not_start_a_broker_whose_disk_has_failed():
    # broker 2 crashes at 1 s (back at 6 s, say the crash); its disk fails at 2 s, replaced at 12 s:
    # the crash's restart finds no disk, the broker starts after the replacement
    faults = [{"at": 1.0, "action": "crash", "target": "broker:2", "duration": 5.0},
              {"at": 2.0, "action": "disk_failure", "target": "broker:2", "duration": 10.0}]
    c = cluster(SENDS, faults=faults, **RF3)
    c.env.run(until=11.9)
    assert not c.brokers[2].up and c.brokers[2].logs[0].leo == 0 and c.trace.of("started") == []
    c.env.run(until=30.0)
    (started,) = c.trace.of("started")
    assert started[2] == 2 and started[0] > 12.0
    assert c.brokers[2].logs[0].leo == c.brokers[0].logs[0].leo


def test_records_rebuilt_after_a_disk_failure_and_lost_later_are_blamed_on_the_later_loss():
    # broker 1's disk fails and it rebuilds (the records are written again: that loss is repaired);
    # later broker 1 is out of sync when the others die and an unclean election makes it leader
    faults = [{"at": 1.0, "action": "disk_failure", "target": "broker:1", "duration": 1.0},
              {"at": 14.0, "action": "isolate", "target": "broker:1", "from": "brokers"},
              {"at": 17.0, "action": "crash", "target": "broker:0"},
              {"at": 17.0, "action": "crash", "target": "broker:2"},
              {"at": 17.5, "action": "heal", "target": "broker:1"}]
    cfg = config(faults=faults, topic__unclean__leader__election__enable=True, producer__acks="1",
                 **dict(RF3, topic__min__insync__replicas=1))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(SENDS))
    r = RunResult.from_cluster(c, 0.0)
    assert c.controller.counters.unclean_elections >= 1 and r["brokers"]["lost_on_disk_failure"] > 0
    missing = r["acked_missing_from_log"]
    assert missing["total"] > 0 and "disk_failure" not in missing["by_cause"]
    assert set(missing["by_cause"]) <= {"unclean_election", "truncation"}
