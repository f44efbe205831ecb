"""The documented Kafka loss traces, step by step, with exact offsets (docs/scenarios.md).

Constant 1 ms links; scripted sends; the consumer is down through the interesting part, so
an acknowledged record that vanishes shows up as lost_acked rather than as a phantom read.
"""

from __future__ import annotations

import pytest

from sim.cluster import Cluster
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import config, scenario_config


def replicas(c, p=0):
    """(LEO, HW) of partition p on every broker."""
    return [(b.logs[p].leo, b.logs[p].hw) for b in c.brokers]


# -- S1: KIP-101 scenario 1, truncation to the high watermark, then an immediate election ----------
# Broker 0 ("B") leads, broker 1 ("A") follows. m2 is sent at 2.0 s: A has it at 2.002 but learns
# that it is committed only with its next fetch answer (~0.5 s later). A restarts at 2.1 s; B dies
# just before A's first fetch after the restart reaches it; A is then elected.
S1_SENDS = [0.1, 1.0, 2.0]


def s1(truncation: str):
    faults = [{"at": 2.1, "action": "crash", "target": "broker:1", "duration": 0.05},
              {"at": 2.2025, "action": "crash", "target": "broker:0"},
              {"at": 0.05, "action": "consumer_crash", "duration": 30}]
    return config(cluster__brokers=2, topic__replication__factor=2, producer__linger__ms=0,
                  consumer__auto__offset__reset="earliest", workload__duration=40,
                  broker__model__truncation=truncation, broker__model__quick__restart__keeps__isr=True,
                  broker__model__startup__ms=50, broker__replica__high__watermark__checkpoint__interval__ms=100,
                  faults=faults)


@pytest.mark.parametrize("truncation, a_after_restart, lost", [("high-watermark", 2, 1), ("leader-epoch", 3, 0)])
def test_s1_truncate_to_hw_then_immediate_election(truncation, a_after_restart, lost):
    c = Cluster(s1(truncation), arrivals=ArrivalStream.from_times(S1_SENDS))
    c.env.run(until=2.05)
    assert replicas(c) == [(3, 3), (3, 2)]  # A has m2 (offset 2) but its HW still says 2
    c.env.run(until=2.2021)
    assert c.brokers[1].up and c.brokers[1].logs[0].leo == a_after_restart
    c.env.run(until=12.0)
    # B's last heartbeat was at 2.0: fenced at 11.001, A (still in the ISR) elected in epoch 1
    assert c.controller.parts[0].record()[1:4] == (1, 1, (1,))
    assert c.brokers[1].logs[0].leo == a_after_restart
    r = RunResult.from_cluster(simulate(s1(truncation), arrivals=ArrivalStream.from_times(S1_SENDS)), 0.0)
    assert r.outcomes["lost_acked"] == lost  # m2 was acknowledged at 2.004 s
    assert r["acked_missing_from_log"]["by_cause"] == ({"truncation": 1} if lost else {})


# -- S4: last replica standing (KIP-966) -----------------------------------------------------------
# RF 3, min.insync.replicas 2, ten sends a second. Broker 2 is cut off from the others at 1 s and
# leaves the ISR; broker 1 at 3 s, and the ISR is {0}: the HW freezes (3.7+). Broker 0 loses power at
# 5 s -- everything it had was still in its page cache. The cuts heal at 5.5 s.
S4_SENDS = [round(0.1 + 0.1 * i, 3) for i in range(49)]


def s4(elr: int):
    faults = [{"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers", "duration": 4.5},
              {"at": 3.0, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 2.5},
              {"at": 5.0, "action": "power_loss", "target": "broker:0", "duration": 1.0},
              {"at": 0.05, "action": "consumer_crash", "duration": 25}]
    return config(topic__replication__factor=3, topic__min__insync__replicas=2, producer__linger__ms=0,
                  workload__duration=30, broker__replica__lag__time__max__ms=1000,
                  broker__eligible__leader__replicas__version=elr, consumer__auto__offset__reset="earliest",
                  faults=faults)


@pytest.mark.parametrize("elr", [0, 1])
def test_s4_last_replica_standing_steps(elr):
    c = Cluster(s4(elr), arrivals=ArrivalStream.from_times(S4_SENDS))
    c.env.run(until=2.6)
    st = c.controller.parts[0]
    assert st.isr == (0, 1) and replicas(c) == [(25, 25), (25, 24), (9, 8)]
    c.env.run(until=4.6)
    # broker 1 stopped at 29 records; the leader appended one more that can never commit
    assert st.isr == (0,) and replicas(c) == [(30, 29), (29, 28), (9, 8)]
    assert st.elr == ((1,) if elr else ())
    c.env.run(until=5.01)
    assert replicas(c)[0] == (0, 0)  # the power loss took every unflushed record
    c.env.run(until=13.01)
    if elr:
        # fenced at 13.001: the ISR empties, the eligible replica 1 leads -- with the committed data (its
        # 29 records; the fetch answer that carried the 30th died with broker 0's machine while held)
        assert (st.leader, st.leader_epoch) == (1, 1) and replicas(c)[1] == (29, 29)
    else:
        # the ISR keeps its last member: offline until broker 0 is back
        assert (st.leader, st.leader_epoch, st.isr) == (None, 1, (0,))
    c.env.run(until=14.1)
    if not elr:
        # broker 0 is elected with an empty log and the others truncate to it
        assert (st.leader, st.leader_epoch) == (0, 2) and [leo for leo, _hw in replicas(c)] == [0, 0, 0]


@pytest.mark.parametrize("elr, lost", [(0, 29), (1, 0)])
def test_s4_last_replica_standing_outcome(elr, lost):
    r = RunResult.from_cluster(simulate(s4(elr), arrivals=ArrivalStream.from_times(S4_SENDS)), 0.0)
    assert r.outcomes["lost_acked"] == lost  # every record committed before 3 s
    assert r["acked_missing_from_log"]["by_cause"] == ({"power_loss": lost} if lost else {})
    assert sum(r.outcomes.values()) == r["sent"] == len(S4_SENDS)


# -- S2: KIP-101 scenario 2, replica divergence after both replicas lose power ----------------------
# Broker 0 leads, broker 1 follows; the flusher wakes every second and writes pages dirty for a second.
# m2 (sent at 1.9985) is appended by broker 0 at 1.9995 and by broker 1 at 2.0005, so the write-back at
# 3 s puts it on broker 0's disk only. Both lose power at 3.5 s; broker 1 is back first (quick restart)
# and is elected once broker 0 is fenced (11.001 s); m3 (15 s) goes to the dead broker 0 first, times out
# (2 s) and lands at offset 1 on broker 1. Broker 0 is back at 23.55 s.
S2_SENDS = [0.1, 1.9985, 15.0, 27.0]


def s2(truncation: str):
    return scenario_config("kip101-divergence", broker__model__truncation=truncation)


def first_id_at(log, offset):
    for b in log.batches:
        if b.base <= offset < b.end:
            return b.ids[0].start + (offset - b.base)
    return None


@pytest.mark.parametrize("truncation, b0_offset_1, diverged", [("high-watermark", 1, 1), ("leader-epoch", 2, 0)])
def test_s2_both_replicas_lose_power_and_the_logs_diverge_without_leader_epochs(truncation, b0_offset_1, diverged):
    c = Cluster(s2(truncation), arrivals=ArrivalStream.from_times(S2_SENDS))
    c.env.run(until=3.6)
    # after the power loss: broker 0 kept m2 (on disk since the 3 s write-back), broker 1 did not
    assert [b.logs[0].leo for b in c.brokers] == [2, 1]
    assert c.brokers[0].logs[0].hw_checkpoint == 2  # and broker 0's checkpoint says m2 was committed
    c.env.run(until=20.0)
    assert c.controller.parts[0].record()[1:4] == (1, 1, (1,))
    assert first_id_at(c.brokers[1].logs[0], 1) == 2  # m3 took offset 1 on the new leader
    c.env.run(until=25.0)
    b0, b1 = c.brokers[0].logs[0], c.brokers[1].logs[0]
    assert first_id_at(b0, 1) == b0_offset_1 and first_id_at(b1, 1) == 2
    assert b0.leo == b1.leo == 2 and 0 in c.controller.parts[0].isr  # in sync, as far as Kafka can tell
    r = RunResult.from_cluster(simulate(s2(truncation), arrivals=ArrivalStream.from_times(S2_SENDS)), 0.0)
    assert r["brokers"]["diverged_records"] == diverged
    assert r.outcomes["lost_acked"] == 1 and r["acked_missing_from_log"]["by_cause"] == {"power_loss": 1}


# -- S3: the first try at KIP-320, a follower fetching unfenced in a stale epoch ---------------------
# RF 3, acks=all, min.insync.replicas 2, no retries. Broker 2 hears of every leader change 5 s late (from
# 8 s). Broker 1 is cut off from the brokers from 9.7 s to 10.1 s, so the first request of a burst sent at
# 9.75 s (15 records, offsets 1900-1914) reaches brokers 0 and 2 only. Broker 0 shuts down at 10 s: broker
# 1 leads epoch 1 and writes other records there, acknowledged once broker 0 is back in the ISR. Broker 1
# shuts down at 12 s: broker 0 leads epoch 2, and broker 2 -- to which broker 0 still leads epoch 0 --
# fetches from it again. Broker 0 shuts down at 15 s.
def s3(fencing: bool):
    from sim.scenarios.catalog import CATALOG
    cfg = scenario_config("kip320-unfenced-fetch", broker__model__replica__fetch__fencing=fencing)
    return cfg, list(CATALOG["kip320-unfenced-fetch"].sends)


def epoch_at(log, offset):
    """The leader epoch of the record at `offset` in a replica's log."""
    return max(epoch for epoch, start in log.epochs if start <= offset)


@pytest.mark.parametrize("fencing", [False, True])
def test_s3_a_follower_that_missed_two_leader_changes_fetches_on(fencing):
    cfg, sends = s3(fencing)
    c = Cluster(cfg, arrivals=ArrivalStream.from_times(sends))
    c.env.run(until=10.0)
    assert replicas(c) == [(1915, 1900), (1900, 1899), (1915, 1900)]  # the burst's first request: not on 1
    c.env.run(until=11.6)
    st = c.controller.parts[0]
    assert (st.leader, st.leader_epoch, st.isr) == (1, 1, (0, 1))  # broker 2 still fetches from broker 0
    logs = [b.logs[0] for b in c.brokers]
    assert [epoch_at(log, 1900) for log in logs] == [1, 1, 0]  # broker 0 truncated and took broker 1's
    assert logs[1].hw > 1915  # broker 1's records at 1900-1914 are committed
    c.env.run(until=12.5)
    assert (st.leader, st.leader_epoch) == (0, 2) and c.brokers[2].follower.followed_epoch[0] == 0
    if fencing:  # FENCED_LEADER_EPOCH: broker 2 gets nothing and stays out of the ISR
        assert st.isr == (0,) and logs[2].leo == 1915
    else:  # served from its own log end, past its epoch-0 records at 1900-1914: caught up, in the ISR
        assert st.isr == (0, 2) and logs[2].leo == logs[0].leo and epoch_at(logs[2], 1900) == 0
    c.env.run(until=20.01)
    assert (st.leader, st.leader_epoch) == ((None, 3) if fencing else (2, 3))
    r = RunResult.from_cluster(simulate(cfg, arrivals=ArrivalStream.from_times(sends)), 0.0)
    if fencing:
        assert r.outcomes["lost_acked"] == 0 and r["brokers"]["diverged_records"] == 0
    else:  # brokers 0 and 1 keep the acknowledged records at 1900-1914, where the leader has the burst's
        assert r.outcomes["lost_acked"] == 15
        assert r["acked_missing_from_log"]["by_cause"] == {"diverged": 15}
        assert r["brokers"]["diverged_records"] == 30


# -- S5: KIP-903, a stale AlterPartition adds a broker that came back with an empty disk -------------
# RF 2, broker 0 leads. Broker 1 is cut off from it from 1 s to 3 s and leaves the ISR (2.001 s); it
# catches up right after 3 s and broker 0 asks to add it back, over a controller link slowed by 2 s.
# Broker 1's disk fails at 3.5 s; it is back, empty, at 4.05 s (quick re-registration) and cut off from
# broker 0 again from 3.9 s. The request reaches the controller at 5.005 s. Broker 0 dies at 6 s and is
# fenced at 15.001 s (its last heartbeat, sent at 4 s, arrived 2 s late).
def s5(check_epochs: bool):
    from sim.scenarios.catalog import CATALOG
    cfg = scenario_config("kip903-stale-broker-epoch", broker__model__isr__broker__epochs=check_epochs)
    return cfg, list(CATALOG["kip903-stale-broker-epoch"].sends)


@pytest.mark.parametrize("check_epochs", [False, True])
def test_s5_a_stale_alter_partition_and_an_empty_disk(check_epochs):
    cfg, sends = s5(check_epochs)
    c = Cluster(cfg, arrivals=ArrivalStream.from_times(sends))
    c.env.run(until=5.0)
    assert c.controller.parts[0].isr == (0,) and c.brokers[1].logs[0].leo == 0  # back, empty, cut off
    c.env.run(until=5.01)
    refused = [e for e in c.trace.of("isr_refused") if e[2] == 0]
    if check_epochs:  # the request names broker 1's broker epoch from before its restart
        assert [e[3] for e in refused] == [(1,)] and c.controller.parts[0].isr == (0,)
    else:
        assert refused == [] and c.controller.parts[0].isr == (0, 1)
    c.env.run(until=15.01)
    assert c.controller.leader_of(0) == (None if check_epochs else 1)  # offline, or the empty broker 1
    r = RunResult.from_cluster(simulate(cfg, arrivals=ArrivalStream.from_times(sends)), 0.0)
    acked_before_crash = int(((c.ledger.p[:c.ledger.n] == 1) & (c.ledger.ack_t < 6.0)).sum())
    assert acked_before_crash > 30
    if check_epochs:
        assert r.outcomes["lost_acked"] == 0 and r.outcomes["delivered"] == len(sends)
    else:  # broker 0 came back, followed the empty leader and truncated everything it had
        assert r.outcomes["lost_acked"] == acked_before_crash
        assert r["acked_missing_from_log"]["by_cause"] == {"disk_failure": acked_before_crash}
