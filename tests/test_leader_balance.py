"""Leader balancing (auto.leader.rebalance.enable): leadership goes back to the preferred replica.

Three brokers, partition 0 on replicas (0, 1, 2): broker 0 is its preferred leader. Broker 0
crashes at 1 s (last heartbeat at 0 s), is fenced at 9.001 s and partition 0 moves to broker 1;
broker 0 restarts at 6 s, registers once fenced and rejoins the ISR. The check interval is
20 s here (Kafka's default is 300 s), so the controller's check runs at 29.001 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import load_config
from sim.ledger import P_ACK
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

SENDS = [0.1 + 0.01 * i for i in range(3500)]  # 100 sends per second from 0.1 s to 35 s
BASE = dict(topic__replication__factor=3, broker__replica__lag__time__max__ms=1000, producer__linger__ms=0,
            workload__duration=40, broker__leader__imbalance__check__interval__seconds=20)
CRASH_0 = {"at": 1.0, "action": "crash", "target": "broker:0", "duration": 5.0}
FENCED_AT = 9.001
CHECK_AT = FENCED_AT + 20


def leader_changes(c, p=0):
    """(time, leader, leader epoch) of every election of partition p."""
    return [(e[0], e[3], e[4]) for e in c.trace.of("leader") if e[2] == p]


def test_leadership_returns_to_the_preferred_replica_one_check_interval_after_the_failover():
    c = cluster(SENDS, faults=[CRASH_0], **BASE)
    c.env.run(until=40.0)
    changes = leader_changes(c)
    assert [(leader, epoch) for _t, leader, epoch in changes] == [(1, 1), (0, 2)]
    assert changes[0][0] == pytest.approx(FENCED_AT) and changes[1][0] == pytest.approx(CHECK_AT)
    assert [e[0] for e in c.trace.of("preferred_election") if e[2] == 0] == [pytest.approx(CHECK_AT)]
    assert c.controller.parts[0].isr == (0, 1, 2)  # a preferred election leaves the ISR as it is
    assert 0 in c.brokers[0].leading and 0 not in c.brokers[1].leading
    # the producer follows: a message sent after the move is acknowledged by broker 0's log
    sent_at = np.asarray(SENDS)
    late = int(np.searchsorted(sent_at, CHECK_AT + 1.0))
    assert c.ledger.p[late] == P_ACK
    assert any(late in range(b.ids[0].start, b.ids[-1].stop) for b in c.brokers[0].logs[0].batches
               if b.epoch == 2)


def test_without_auto_rebalance_leadership_stays_where_the_election_put_it():
    c = cluster(SENDS, faults=[CRASH_0], broker__auto__leader__rebalance__enable=False, **BASE)
    c.env.run(until=40.0)
    assert [(leader, epoch) for _t, leader, epoch in leader_changes(c)] == [(1, 1)]
    assert c.controller.counters.preferred_elections == 0 and c.trace.of("preferred_election") == []


def test_a_preferred_replica_outside_the_isr_waits_for_the_next_check():
    # broker 0 is down until 41 s: the check at 29.001 s finds it fenced; the next, 20 s later, elects it
    faults = [dict(CRASH_0, duration=40.0)]
    c = cluster(SENDS, faults=faults, **dict(BASE, workload__duration=60))
    c.env.run(until=60.0)
    changes = leader_changes(c)
    assert [(leader, epoch) for _t, leader, epoch in changes] == [(1, 1), (0, 2)]
    assert changes[1][0] == pytest.approx(CHECK_AT + 20)


def test_a_live_preferred_replica_that_left_the_isr_is_not_elected():
    # broker 0, back and unfenced, is cut off from the other brokers (not from the controller) from
    # 20 s to 35 s: it leaves the ISR, the check at 29.001 s passes it over, the next one elects it
    faults = [CRASH_0, {"at": 20.0, "action": "isolate", "target": "broker:0", "from": "brokers", "duration": 15.0}]
    c = cluster(SENDS, faults=faults, **dict(BASE, workload__duration=60))
    c.env.run(until=CHECK_AT + 0.5)
    assert not c.controller.fenced[0] and 0 not in c.controller.parts[0].isr
    assert c.controller.leader_of(0) == 1
    c.env.run(until=60.0)
    changes = leader_changes(c)
    assert [(leader, epoch) for _t, leader, epoch in changes] == [(1, 1), (0, 2)]
    assert changes[1][0] == pytest.approx(CHECK_AT + 20)


def test_no_check_is_scheduled_while_every_partition_has_its_preferred_leader():
    c = cluster(SENDS, **BASE)
    c.env.run(until=40.0)
    assert not c.controller._balance_scheduled and c.controller.counters.elections == 0


def _lagging_preferred_replica(acks: str, rebalance: bool):
    """Broker 0 back in the ISR but 0.3 s slower to fetch (a latency spike on its broker links)
    when the check at 29.001 s makes it leader again."""
    faults = [CRASH_0, {"at": 28.0, "action": "latency_spike", "target": "broker:0", "from": "brokers",
                        "extra_ms": 300, "duration": 5.0}]
    cfg = config(producer__acks=acks, faults=faults, broker__auto__leader__rebalance__enable=rebalance, **BASE)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(SENDS))
    return c, RunResult.from_cluster(c, 0.0)


def test_a_preferred_election_truncates_what_acks_1_acknowledged_on_the_old_leader():
    c, r = _lagging_preferred_replica("1", rebalance=True)
    # broker 1 leads no more: it truncates to the new leader's log, losing the acks=1 records
    # the slow preferred replica had not fetched yet -- acknowledged, then gone from every replica
    truncations = [e for e in c.trace.of("truncate") if e[2] == 1 and e[3] == 0]
    assert len(truncations) == 1
    t, _kind, _broker, _p, _offset, removed = truncations[0]
    assert CHECK_AT < t < CHECK_AT + 1.0
    assert removed > 0
    assert r["causes"]["lost_acked"]["lost_storage"] == removed
    assert r["acked_missing_from_log"]["by_cause"] == {"truncation": removed}
    # the lost records are the tail the old leader took after the new one's last fetch: every message
    # sent in the last 0.4 s before the election (one fetch round trip with the spike is 0.6 s)
    gone = np.flatnonzero(c.ledger.gone[:c.ledger.n])
    assert len(gone) == removed and (c.ledger.p[gone] == P_ACK).all()
    assert gone.tolist() == list(range(gone[0], gone[0] + removed))
    send_t = c.ledger.send_t
    assert CHECK_AT - 0.6 < send_t[gone[0]] and send_t[gone[-1]] < CHECK_AT < send_t[gone[-1] + 1]
    assert sum(r.outcomes.values()) == r["sent"]


def test_the_same_lag_loses_nothing_without_a_preferred_election_or_with_acks_all():
    for acks, rebalance in (("1", False), ("all", True)):
        c, r = _lagging_preferred_replica(acks, rebalance)
        assert r.outcomes["lost_acked"] == 0, (acks, rebalance)
        assert r.outcomes["delivered"] == r["sent"], (acks, rebalance)
    assert c.controller.counters.preferred_elections >= 1  # the acks=all run did move leadership back


def test_server_properties_set_leader_balancing_and_the_zookeeper_threshold_is_ignored(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("auto.leader.rebalance.enable=false\nleader.imbalance.check.interval.seconds=60\n"
                    "leader.imbalance.per.broker.percentage=10\n")
    cfg = load_config(broker_config=path)
    assert cfg["broker.auto.leader.rebalance.enable"] is False
    assert cfg.seconds("broker.leader.imbalance.check.interval.seconds") == 60
    assert cfg.notes == (f"{path}: ignored 1 Kafka configs the model does not use: "
                         "leader.imbalance.per.broker.percentage",)


def test_a_check_elects_at_most_its_limit_and_looks_again_10_ms_later():
    # six partitions: broker 0 is the preferred replica of 0 and 3; the scheduled check is far away
    c = cluster(SENDS, faults=[CRASH_0], topic__partitions=6,
                **dict(BASE, broker__leader__imbalance__check__interval__seconds=1000))
    c.env.run(until=25.0)
    assert c.controller.leader_of(0) != 0 and c.controller.leader_of(3) != 0
    c.controller._balance(limit=1)  # what the controller does when it reaches MAX_ELECTIONS_PER_IMBALANCE
    c.env.run(until=26.0)
    moves = [(e[0], e[2]) for e in c.trace.of("preferred_election")]
    assert moves == [(25.0, 0), (pytest.approx(25.010), 3)]
