"""Fetch sessions (KIP-227) between brokers: incremental fetches, and what must not change.

Three brokers, six partitions with replication factor 3; broker 0 leads partitions 0 and 3, so
each of its followers fetches both in one session. Constant 1 ms network delay.
"""

from __future__ import annotations

import pytest

from sim.cluster import Cluster
from sim.workload import ArrivalStream

from simtest import config

MS = 0.001
BASE = dict(topic__partitions=6, topic__replication__factor=3, producer__linger__ms=0, producer__acks="all",
            broker__replica__lag__time__max__ms=1000, workload__duration=120)


def keyed_cluster(times, partitions, faults=None, **overrides):
    cfg = config(**{**BASE, **overrides}, faults=faults or [])
    arrivals = ArrivalStream.from_times(times, end=cfg.seconds("workload.duration"), partitions=partitions)
    return Cluster(cfg, arrivals=arrivals)


def record_fetches(c, leader=0):
    """Every replica fetch broker `leader` receives: (time, follower, full?, partitions named)."""
    seen = []
    broker = c.brokers[leader]
    handle = broker.on_replica_fetch

    def spy(req):
        seen.append((c.env.now, req.follower, req.full, tuple(sorted(req.parts))))
        handle(req)
    broker.on_replica_fetch = spy
    return seen


def test_first_fetch_names_every_partition_later_ones_only_what_changed():
    # the send at 0.5 warms the producer up (metadata, connection); the later ones go straight out
    c = keyed_cluster([0.5, 1.0, 2.0], [0, 3, 0])
    seen = record_fetches(c)
    c.env.run(until=3.0)
    from_1 = [(t, full, parts) for t, f, full, parts in seen if f == 1]
    assert from_1[0][1:] == (True, (0, 3))  # the session starts with both partitions
    # the send to partition 3 at 1.0 is appended at 1.001; the answer to the follower's parked
    # fetch carries it (1.002), and its next fetch (arriving 1.003) names partition 3 alone
    named = {(round(t, 6), parts) for t, full, parts in from_1 if not full and parts and t > 0.9}
    assert named == {(1.003, (3,)), (2.003, (0,))}
    # three fetches name a partition (one per append); every other one names nothing
    assert [parts for _t, full, parts in from_1[1:] if parts] == [(0,), (3,), (0,)]
    assert not any(full for _t, full, _p in from_1[1:])


def test_an_idle_partition_stays_in_the_isr_although_its_fetches_name_nothing():
    # partition 3 gets one record at 1.0, then nothing for a minute while partition 0 is busy: its
    # followers stay caught up through fetches that never name it, so the ISR keeps them
    times = [1.0] + [2.0 + 0.01 * i for i in range(5000)]
    c = keyed_cluster(times, [3] + [0] * 5000)
    c.env.run(until=60.0)
    isr_changes = [e for e in c.trace.of("isr") if e[2] in (0, 3)]
    assert isr_changes == []
    assert c.brokers[0].logs[3].hw == c.brokers[0].logs[3].leo == 1
    assert c.brokers[0].logs[0].hw == c.brokers[0].logs[0].leo


def test_an_append_to_an_idle_partition_just_before_the_isr_check_does_not_shrink_the_isr():
    # The leader checks the ISR every 0.5 s. A record for idle partition 3 is appended at 10.4995,
    # just before the check at 10.5, and the followers have not fetched it yet. They last fetched
    # in the half second before (their fetches are parked for up to fetch.wait.max.ms), through
    # fetches that did not name partition 3 -- so they were caught up then, and stay in the ISR.
    c = keyed_cluster([0.5, 10.4985], [3, 3])
    c.env.run(until=11.0)
    assert c.brokers[0].logs[3].leo == 2
    assert [e for e in c.trace.of("isr") if e[2] == 3] == []


def test_a_follower_cut_off_leaves_the_isr_of_an_idle_partition_once_it_gets_data():
    # broker 2 cannot reach broker 0 from 5.0; partition 3 is idle until 10.0. Its last caught-up
    # time is its last fetch before 5.0, kept lazily; the append at 10.0 makes it lag, and the
    # check at 10.5 (lag 5.5 s > 1 s) removes it
    faults = [{"at": 5.0, "action": "isolate", "target": "broker:2", "from": "brokers", "duration": 20}]
    c = keyed_cluster([1.0, 10.0], [3, 3], faults=faults)
    c.env.run(until=12.0)
    shrinks = [(e[0], e[3]) for e in c.trace.of("isr") if len(e) == 4 and e[2] == 3]
    assert len(shrinks) == 1
    t, isr = shrinks[0]
    assert 10.5 <= t < 10.51 and isr == (0, 1)


def test_a_fetch_given_up_after_the_timeout_starts_a_new_session():
    # broker 1's fetch to broker 0 is lost in a 40 s partition; after replica.socket.timeout.ms
    # (30 s) the follower gives it up and its next fetch is a full one
    faults = [{"at": 5.0, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 40}]
    c = keyed_cluster([1.0], [0], faults=faults)
    seen = record_fetches(c)
    c.env.run(until=50.0)
    full = [round(t, 3) for t, f, is_full, _p in seen if f == 1 and is_full]
    assert full[0] < 0.1 and len(full) >= 2
    assert all(t >= 45.0 for t in full[1:])  # nothing reaches broker 0 before the partition heals
    after = [(is_full, parts) for t, f, is_full, parts in seen if f == 1 and t >= 45.0]
    assert after[0] == (True, (0, 3))


def test_leader_without_the_session_rejects_an_incremental_fetch_and_the_follower_starts_over():
    c = keyed_cluster([1.0], [0])
    seen = record_fetches(c)
    c.env.run(until=2.0)
    c.brokers[0].replica_fetches.evict_session(1)  # the leader's session cache drops follower 1's session
    c.env.run(until=2.0 + c.cfg.seconds("broker.replica.fetch.wait.max.ms") + 5 * MS)
    from_1 = [(is_full, parts) for t, f, is_full, parts in seen if f == 1 and t > 2.0]
    assert from_1[0] == (False, ())  # the parked fetch's successor, rejected...
    assert from_1[1] == (True, (0, 3))  # ...and the follower starts a new session at once


@pytest.mark.parametrize("partitions", [6, 60])
def test_every_replica_ends_with_every_record_whatever_the_session_size(partitions):
    # every record must reach every replica and the HW, however many partitions share a session
    times = [0.5 + 0.001 * i for i in range(3000)]
    c = keyed_cluster(times, [i % partitions for i in range(3000)], topic__partitions=partitions,
                      workload__duration=10)
    c.env.run(until=12.0)
    for p in range(partitions):
        leader = c.controller.leader_of(p)
        leo = c.brokers[leader].logs[p].leo
        assert leo == len([i for i in range(3000) if i % partitions == p])
        assert all(b.logs[p].leo == leo for b in c.brokers)
        assert c.brokers[leader].logs[p].hw == leo


def test_a_parked_fetch_is_answered_after_fetch_wait_max_when_nothing_happens():
    # after the last send (0.5 s) nothing changes: each fetch from follower 1 waits at the leader for
    # replica.fetch.wait.max.ms (0.5 s), is answered empty (1 ms) and the next one arrives 1 ms later
    c = keyed_cluster([0.5], [0], broker__replica__fetch__wait__max__ms=500)
    seen = record_fetches(c)
    c.env.run(until=6.0)
    idle = [t for t, f, _full, _parts in seen if f == 1 and t > 2.0]
    assert len(idle) >= 7
    assert [round(b - a, 6) for a, b in zip(idle, idle[1:], strict=False)] == [0.502] * (len(idle) - 1)


def test_a_response_carries_at_most_replica_fetch_response_max_bytes_but_always_one_batch():
    # 200 sends at 1.0 s, alternately to partitions 0 and 3 (both led by broker 0), acks=1: the followers copy
    # them. A response limit of 1 byte lets each answer carry one batch only (the first goes whatever its
    # size), so a follower needs a fetch per batch instead of a few for many batches -- yet end with every record.
    def run(limit):
        c = keyed_cluster([1.0 + 0.0001 * i for i in range(200)], [0, 3] * 100, producer__acks="1",
                          broker__replica__fetch__response__max__bytes=limit, workload__duration=3)
        c.env.run(until=4.0)
        for p in (0, 3):
            assert c.brokers[1].logs[p].leo == c.brokers[0].logs[p].leo == 100
        return c.brokers[1].counters.replica_fetches, c.brokers[0].counters.appended_batches

    few, _batches = run(10485760)
    many, batches = run(1)
    # broker 1 follows broker 0 for both partitions: one fetch per batch at least (it also fetches from broker 2)
    assert many >= batches and few < many / 2
