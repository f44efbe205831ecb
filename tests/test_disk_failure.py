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

from simtest import cluster, config

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
    assert c.brokers[2].stats["lost_on_disk_failure"] == had
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
    base = {k.replace(".", "__"): v for k, v in s.base.items() if k != "faults"}
    cfg = config(**dict(base, broker__eligible__leader__replicas__version=elr), faults=faults)
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
    assert r["acked_missing_from_log"]["by_cause"] == {"disk_failure": acked}
    assert (c.ledger.gone[:n][before] & GONE_DISK).all()
    assert r.outcomes["delivered"] == r["sent"] - acked
    assert r["brokers"]["truncated_records"] > 0


def test_with_elr_a_replica_that_left_the_isr_below_min_isr_is_elected_instead():
    c, r = _last_replica_loses_its_disk(elr=1)
    assert r.outcomes["lost_acked"] == 0 and r["acked_missing_from_log"]["total"] == 0
    assert [e[3] for e in c.trace.of("elr_election")] != []
