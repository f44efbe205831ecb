"""Broker lifecycle and storage timelines: fsync, restart and recovery time, controlled shutdown,
and the historical switches (old HW rule, ZooKeeper-era restarts)."""

from __future__ import annotations

import pytest

from sim.run import finish

from simtest import cluster

MS = 0.001
SENDS = [0.1 + 0.1 * i for i in range(50)]  # ten a second, 0.1 .. 5.0 s


def test_flush_per_message_makes_the_append_path_wait_for_the_fsync():
    c = cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=0, topic__flush__messages=1,
                broker__model__fsync__ms=3, workload__duration=1)
    c.env.run(until=0.3)
    assert c.ledger.ack_t[1] == pytest.approx(0.2 + 2 * MS + 3 * MS)


def test_restart_takes_startup_time_plus_recovery_of_unflushed_data():
    # 40 records of 1 KiB (+10 bytes) unflushed; recovery at 0.01 MB/s takes 4.12 s
    faults = [{"at": 5.0, "action": "crash", "target": "broker:0", "duration": 1.0}]
    c = cluster(SENDS[:40], producer__acks="1", producer__linger__ms=0, broker__model__startup__ms=500,
                broker__model__recovery__mb__per__s=0.01, workload__duration=20, faults=faults)
    c.env.run(until=20)
    (started,) = c.trace.of("started")
    assert started[0] == pytest.approx(6.0 + 0.5 + 40 * 1034 / 10_000)


def test_controlled_shutdown_moves_leadership_first_and_flushes():
    faults = [{"at": 2.05, "action": "shutdown", "target": "broker:0"},
              {"at": 3.05, "action": "power_loss", "target": "broker:0", "duration": 1.0}]
    c = cluster(SENDS, producer__linger__ms=0, topic__replication__factor=3, broker__model__startup__ms=500,
                workload__duration=20, faults=faults)
    c.env.run(until=2.5)
    assert c.controller.leader_of(0) == 1  # moved at once, not after a session timeout
    assert not c.brokers[0].up and c.brokers[0].clean_shutdown
    leo = c.brokers[0].logs[0].leo
    c.env.run(until=3.5)
    assert c.brokers[0].logs[0].leo == leo  # flushed before it stopped: the power loss takes nothing
    c.env.run(until=5.0)
    (started,) = c.trace.of("started")
    assert started[0] == pytest.approx(4.05 + 0.5)  # a clean start: no log recovery


def test_old_hw_rule_lets_the_hw_follow_a_shrunken_isr():
    faults = [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers"}]
    for frozen, moves in ((True, False), (False, True)):
        c = cluster(SENDS, producer__acks="1", producer__linger__ms=0, topic__replication__factor=3,
                    topic__min__insync__replicas=2, broker__replica__lag__time__max__ms=1000,
                    broker__model__hw__frozen__below__min__isr=frozen, workload__duration=20, faults=faults)
        c.env.run(until=2.6)
        assert c.controller.parts[0].isr == (0,)
        hw = c.brokers[0].logs[0].hw
        c.env.run(until=4.0)
        assert (c.brokers[0].logs[0].hw > hw) == moves


@pytest.mark.parametrize("keeps_isr", [False, True])
def test_quick_restart_fencing_kraft_vs_zookeeper_era(keeps_isr):
    faults = [{"at": 1.05, "action": "crash", "target": "broker:2", "duration": 0.2}]
    c = cluster(SENDS, producer__linger__ms=0, topic__replication__factor=3, broker__model__startup__ms=100,
                broker__model__quick__restart__keeps__isr=keeps_isr, workload__duration=20, faults=faults)
    c.env.run(until=12.0)
    fenced = [e[2] for e in c.trace.of("fenced")]
    if keeps_isr:
        assert fenced == [] and c.controller.parts[0].isr == (0, 1, 2)
    else:
        # KRaft: the new incarnation waits for the old session to expire (last heartbeat at 0 s)
        assert fenced == [2]
        (registered,) = c.trace.of("registered")
        assert registered[0] > 9.0


def test_with_elr_the_isr_can_become_empty():
    faults = [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers"},
              {"at": 3.0, "action": "crash", "target": "leader"}]
    c = cluster(SENDS, producer__acks="1", producer__linger__ms=0, topic__replication__factor=3,
                topic__min__insync__replicas=2, broker__replica__lag__time__max__ms=1000,
                broker__eligible__leader__replicas__version=1, workload__duration=20, faults=faults)
    c.env.run(until=2.6)
    st = c.controller.parts[0]
    assert st.isr == (0,) and st.elr == (1, 2)  # both left the ISR while it shrank below 2
    c.env.run(until=12.0)
    # broker 0 fenced at 9.001: out of the ISR, which empties; an eligible replica leads
    assert st.leader == 1 and st.isr == (1,) and 0 in st.elr


def test_a_controlled_shutdown_in_progress_when_the_drain_starts_completes_and_the_broker_starts_again():
    # the shutdown begins 0.5 ms before production ends; the controller's answer comes after the drain
    # has brought every broker back, so the broker stops then -- and the drain starts it again
    # (before: it stayed down and the run never drained)
    faults = [{"at": 0.9995, "action": "shutdown", "target": "broker:1"}]
    c = cluster(SENDS[:5], topic__replication__factor=3, workload__duration=1, faults=faults)
    c.drained = False
    finish(c)
    (stopped,) = c.trace.of("stopped")
    assert stopped[0] > 1.0  # stopped during the drain
    assert [row for row in c.trace.of("started") if row[0] > stopped[0]]
    assert c.drained and c.brokers[1].up


def test_with_elr_and_quick_restarts_a_whole_cluster_power_loss_ends_with_the_last_known_leader():
    # every broker loses power at 1 s and is back at 1.3 s, before its session expires: each registers a
    # new incarnation after an unclean shutdown, so it leaves ISR and ELR (KIP-966) and the ISR empties.
    # As Kafka's controller does for a partition without a leader when one of its replicas is ready
    # again (handleBrokerUnfenced), the last known leader is elected once it is back (before: no
    # election ever came, and the partition stayed offline)
    faults = [{"at": 1.0, "action": "power_loss", "target": "all-brokers", "duration": 0.2}]
    c = cluster(SENDS, producer__linger__ms=0, topic__replication__factor=3, topic__min__insync__replicas=2,
                broker__model__startup__ms=100, broker__model__quick__restart__keeps__isr=True,
                broker__eligible__leader__replicas__version=1, workload__duration=6, faults=faults)
    c.env.run(until=5.0)
    assert c.trace.of("fenced") == []
    (lkl,) = c.trace.of("last_known_leader_election")
    assert 1.3 <= lkl[0] < 2.0
    st = c.controller.parts[0]
    assert st.leader == lkl[3] and st.leader in st.isr


def test_a_heartbeat_during_a_controlled_shutdown_does_not_unfence_the_broker():
    # Heartbeats go every 2 s from 0 s: the one sent at 10 s arrives after the shutdown request.
    faults = [{"at": 10.0, "action": "shutdown", "target": "broker:0", "duration": 0.5}]
    c = cluster(SENDS, producer__linger__ms=0, topic__replication__factor=3, broker__model__startup__ms=50,
                workload__duration=20, faults=faults)
    c.env.run(until=10.1)
    assert c.controller.fenced[0] and not c.brokers[0].up
    c.env.run(until=10.6)
    # back at 10.55 s, it registers at once (a still unfenced old session would make it wait until 19 s)
    (registered,) = [e for e in c.trace.of("registered") if e[2] == 0]
    assert registered[0] == pytest.approx(10.55 + MS, abs=MS / 10) and not c.controller.fenced[0]


def test_a_fetch_to_a_leader_whose_process_died_fails_at_once_and_is_sent_again_after_the_backoff():
    faults = [{"at": 2.0, "action": "crash", "target": "broker:0"}]
    c = cluster(SENDS, producer__linger__ms=0, topic__replication__factor=3, workload__duration=20,
                faults=faults)
    c.env.run(until=2.0005)
    fetcher = c.brokers[1].follower.fetchers[0]
    assert fetcher.outstanding is not None  # parked at the leader, which dies with it
    sent = c.brokers[1].counters.replica_fetches
    c.env.run(until=2.5)
    assert fetcher.outstanding is None  # the reset reached broker 1 at 2.001 s
    c.env.run(until=3.0015)  # replica.fetch.backoff.ms (1 s) after the reset: a new fetch, in a new session
    assert c.brokers[1].counters.replica_fetches == sent + 1 and fetcher.full_next is False
    assert fetcher.outstanding is not None


def test_a_late_connection_reset_leaves_a_fetch_to_the_restarted_leader_alone():
    # Broker 0's links to the brokers are 3 s slow from 1.9 s; it crashes at 2.0 s, is back at 2.1 s
    # (quick restart) and leads again once leader balancing moves the partition back (3.102 s). Its
    # reset, sent at the crash, reaches the followers at 5.001 s, when their fetch on the wire goes to
    # the new process: that fetch stands.
    faults = [{"at": 1.9, "action": "latency_spike", "target": "broker:0", "from": "brokers", "extra_ms": 3000,
               "duration": 8},
              {"at": 2.0, "action": "crash", "target": "broker:0", "duration": 0.05}]
    c = cluster(SENDS, topic__replication__factor=3, broker__model__quick__restart__keeps__isr=True,
                broker__model__startup__ms=50, broker__leader__imbalance__check__interval__seconds=1,
                workload__duration=12, faults=faults)
    c.env.run(until=5.0)
    assert c.controller.leader_of(0) == 0 and c.brokers[0].incarnation == 2
    fetchers = [c.brokers[b].follower.fetchers[0] for b in (1, 2)]
    outstanding = [f.outstanding for f in fetchers]
    assert all(token is not None for token in outstanding) and all(f.sent_to == 2 for f in fetchers)
    c.env.run(until=5.01)
    assert [f.outstanding for f in fetchers] == outstanding


def test_after_a_pause_the_kernel_keeps_acknowledging_acks_0_requests():
    # The kernel acknowledges a request's bytes on arrival, paused process or not; when the process resumes
    # it serves what arrived meanwhile. It used to run the kernel's step again for those requests, saw them
    # as out of sequence and stopped acknowledging the connection for good: with acks=0 the producer then
    # timed its requests out (request.timeout.ms, 2 s here) and reconnected.
    faults = [{"at": 1.0, "action": "pause", "target": "broker:0", "duration": 0.5}]
    c = cluster([0.1 + 0.01 * i for i in range(500)], producer__acks="0", producer__linger__ms=0,
                producer__request__timeout__ms=2000, workload__duration=8, faults=faults)
    from sim.result import RunResult
    r = RunResult.from_cluster(finish(c), 0.0)
    assert r["producer"]["request_timeouts"] == 0 and r.outcomes["delivered"] == 500
