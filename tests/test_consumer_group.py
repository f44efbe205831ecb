"""Group membership timelines: rebalances, session and poll timeouts, coordinator failover, hand-off.

Constant 1 ms network; 100 sends per second from 0.1 s. The group is formed at t = 0 (generation 1)
with every member at offset 0; heartbeats go out every heartbeat.interval.ms from t = 0.
"""

from __future__ import annotations

import numpy as np

from sim.cluster import Cluster
from sim.consumer.coordinator import range_assign
from sim.result import RunResult
from sim.run import drain
from sim.workload import ArrivalStream

from simtest import cluster, config

STEADY = [0.1 + 0.01 * i for i in range(1500)]
BASE = dict(producer__linger__ms=0, workload__duration=20)


def finish(c):
    c.drained = False
    c.env.run(until=c.end)
    c.env.run(until=c.env.process(drain(c)))
    return RunResult.from_cluster(c, 0.0)


def member(c, slot=0):
    return c.consumer.members[slot].client


def ids_of_partition(c, p):
    """Message ids in partition p's final log, in offset order."""
    out = []
    for b in c.leader_log(p).batches:
        for s in b.ids:
            out.extend(range(s.start, s.stop))
    return np.asarray(out)


def events(c, kind):
    return [(round(e[0], 6),) + e[2:] for e in c.trace.of(kind)]


def test_range_assignor_gives_consecutive_partitions_and_the_first_members_one_more():
    assert range_assign(5, ["a", "b", "c"]) == {"a": (0, 1), "b": (2, 3), "c": (4,)}
    assert range_assign(1, ["a", "b"]) == {"a": (0,), "b": ()}


def test_a_group_of_three_starts_with_the_range_assignment_and_shares_the_work():
    c = cluster(STEADY, topic__partitions=5, consumer__app__members=3, **BASE)
    r = finish(c)
    assert events(c, "assigned")[:3] == [(0.0, "consumer:0", 1, (0, 1)), (0.0, "consumer:1", 1, (2, 3)),
                                         (0.0, "consumer:2", 1, (4,))]
    assert r.outcomes["delivered"] == 1500 and c.coordinator.rebalances == 1  # the close at the end


def test_a_crashed_members_partitions_move_after_its_session_expires_and_are_read_again_from_its_commit():
    # session 7 s, heartbeats every 2 s: member 1's last heartbeat (6.0) arrives at 6.001, its session
    # ends at 13.001. Member 0 hears of the rebalance from its heartbeat at 14.0 (answer at 14.002),
    # commits its positions before giving up its partition (14.003), rejoins alone (JoinGroup 14.005,
    # SyncGroup 14.007) and fetches the committed offsets: both partitions are its own at 14.010.
    faults = [{"at": 7.505, "action": "consumer_crash", "target": "consumer:1"}]
    c = cluster(STEADY, faults=faults, topic__partitions=2, consumer__app__members=2,
                consumer__session__timeout__ms=7000, consumer__heartbeat__interval__ms=2000, **BASE)
    commits = []
    orig = c.coordinator.on_offset_commit
    c.coordinator.on_offset_commit = lambda req: (commits.append((round(c.env.now, 6), req.src, dict(req.offsets))),
                                                  orig(req))
    c.env.run(until=7.506)
    committed_p1 = c.coordinator.committed[1]  # member 1's auto commit at 5.0
    processed_before = c.ledger.processed.copy()
    c.env.run(until=14.02)
    assert events(c, "member_removed")[0] == (13.001, "consumer:1-2", "session timed out")
    assert events(c, "assigned")[-1] == (14.01, "consumer:0", 2, (0, 1))
    r = finish(c)
    # the commit before revocation: every partition-0 record that had reached member 0 by 14.002 (a
    # record sent at 14.0 reaches it in the same instant as the heartbeat answer: in either order)
    p0 = ids_of_partition(c, 0)
    reached = c.ledger.send_t[p0] + 0.002
    before, tie = int(np.count_nonzero(reached < 14.002)), int(np.count_nonzero(reached == 14.002))
    [(t, offsets)] = [(t, o) for t, src, o in commits if 14.0 < t < 14.01]
    assert t == 14.003 and offsets.keys() == {0} and offsets[0] in (before, before + tie)
    p1 = ids_of_partition(c, 1)
    again = p1[committed_p1:]
    again = again[processed_before[again] == 1]  # processed by member 1 after its last commit
    assert len(again) > 0
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist() == sorted(again.tolist())
    assert r.outcomes["lost_acked"] == 0


def test_exceeding_max_poll_interval_leaves_the_group_and_the_next_poll_reads_again():
    # record 490 (sent 5.0) is being processed at 5.00205 when processing stalls for 3 s; poll() last
    # returned at 5.002, so at 7.002 the heartbeat thread leaves the group (max.poll.interval.ms = 2 s).
    # The record finishes at 8.0021, its commitSync fails (no longer a member), the next poll joins an
    # empty group: group.initial.rebalance.delay.ms (3 s) later it owns the partition again, and reads
    # from the last commit -- record 490 a second time.
    faults = [{"at": 5.00205, "action": "consumer_stall", "duration": 3}]
    c = cluster(STEADY, faults=faults, consumer__max__poll__interval__ms=2000, consumer__enable__auto__commit=False,
                consumer__app__commit="sync", **BASE)
    r = finish(c)
    assert events(c, "poll_timeout") == [(7.002, "consumer:0", "consumer:0-1")]
    assert events(c, "rebalance")[1][0] == 8.0031  # JoinGroup of the stalled member, once it polls again
    assert events(c, "assigned")[1] == (11.0081, "consumer:0", 3, (0,))
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist() == [490]
    assert r["consumer"]["poll_timeouts"] == 1 and r["consumer"]["commits_failed"] == 1
    assert r["causes"] == {"duplicated": {"dup_redelivery": 1}, "delivered": {"ok": 1499}}


def test_a_member_past_max_poll_interval_keeps_processing_while_another_reads_the_same_records():
    # keyed sends alternating between the partitions: both get records all the time (sticky runs of
    # 32 records could leave partition 0 idle at 5.0)
    faults = [{"at": 5.0, "action": "consumer_stall", "target": "consumer:0", "duration": 6}]
    cfg = config(faults=faults, topic__partitions=2, consumer__app__members=2,
                 consumer__max__poll__interval__ms=2000, consumer__enable__auto__commit=False,
                 consumer__app__commit="sync", consumer__app__record__processing__ms=5, **BASE)
    arrivals = ArrivalStream.from_times(STEADY, end=cfg.seconds("workload.duration"),
                                        partitions=[i % 2 for i in range(len(STEADY))])
    c = Cluster(cfg, arrivals=arrivals)
    c.env.run(until=5.5)
    work = member(c, 0).processing.thread.work  # the poll member 0 is stuck in (the stall hit its next record)
    assert work is not None and 6.0 < work.start + float(work.ends[-1]) - 5.0 < 6.1
    stalled = [s.start + lo for _p, b, lo, hi in work.records for s in b.ids]
    zombie_done = work.start + float(work.ends[-1])
    c.env.run(until=zombie_done - 1e-6)
    # member 0 left at its poll timeout; member 1 heard of the rebalance at its heartbeat (9.0), took
    # partition 0 over from the last commit and has already processed the stalled records
    t_assigned, node, gen, parts = events(c, "assigned")[2]
    assert (node, gen, parts) == ("consumer:1", 2, (0, 1)) and t_assigned < zombie_done
    assert all(c.ledger.processed[i] == 1 for i in stalled) and member(c, 0).alive
    r = finish(c)
    assert all(c.ledger.processed[i] == 2 for i in stalled)  # the zombie finished them too
    assert r["consumer"]["poll_timeouts"] == 1 and r.outcomes["lost_acked"] == 0


def test_hand_off_to_workers_then_a_crash_skips_exactly_the_committed_but_unprocessed_records():
    # one worker at 20 ms per record against 100 records/s: the queue grows. The poll loop hands each
    # record over at once, so the auto commit at 5.0 covers everything received by then (0..489); the
    # worker has finished record k at 0.102 + 0.02 (k + 1): 0..369 by the crash at 7.505.
    faults = [{"at": 7.505, "action": "consumer_crash", "duration": 0.5}]
    c = cluster(STEADY, faults=faults, consumer__app__processing="async", consumer__app__workers=1,
                consumer__app__queue__polls=1000, consumer__app__record__processing__ms=20, **BASE)
    c.env.run(until=7.506)
    assert c.coordinator.committed == {0: 490}
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n]).tolist() == list(range(370))
    r = finish(c)
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 0).tolist() == list(range(370, 490))
    assert r["causes"] == {"delivered": {"ok": 1380}, "lost_acked": {"lost_skipped": 120}}
    assert r["by_stage"]["consumer"] == {"lost_acked": 120}


def test_hand_off_with_a_full_queue_blocks_the_poll_loop():
    c = cluster(STEADY[:300], consumer__app__processing="async", consumer__app__workers=2,
                consumer__app__queue__polls=3, consumer__app__record__processing__ms=50, **BASE)
    c.env.run(until=2.0)
    pool, f = member(c).processing, member(c).fetcher
    assert len(pool.queue) == 3 and all(t.work is not None for t in pool.threads)
    # the poll loop holds one more poll it cannot put: it does not poll until a worker is free
    assert not member(c).membership.in_poll
    position = f.positions[0]
    in_pool = sum(w.n for w in pool.queue) + sum(t.work.n for t in pool.threads)
    assert position > int(np.count_nonzero(c.ledger.processed[:300])) + in_pool
    free = min(t.work.start + float(t.work.ends[-1]) for t in pool.threads)
    c.env.run(until=free - 1e-6)
    assert f.positions[0] == position
    c.env.run(until=free + 0.01)
    assert f.positions[0] > position


def test_a_commit_async_in_flight_when_the_consumer_crashes_is_lost():
    # commitAsync after each poll: record 500 is processed at 5.1021, its commit (501) arrives at 5.1031
    for crash_at, committed, twice in ((5.1025, 500, [500]), (5.1035, 501, [])):
        faults = [{"at": crash_at, "action": "consumer_crash", "duration": 0.5}]
        c = cluster(STEADY, faults=faults, consumer__enable__auto__commit=False, consumer__app__commit="async", **BASE)
        c.env.run(until=crash_at + 0.01)
        assert c.coordinator.committed == {0: committed}
        finish(c)
        assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist() == twice


def test_the_coordinator_moves_when_its_broker_is_fenced_and_keeps_the_committed_offsets():
    # broker 0 hosts the coordinator (and leads the partition); it dies at 3.0 and is fenced at 11.001
    # (last heartbeat 2.001 + broker.session.timeout.ms 9 s). Until then every commit fails.
    faults = [{"at": 3.0, "action": "crash", "target": "broker:0"}]
    c = cluster(STEADY, faults=faults, topic__replication__factor=3, topic__min__insync__replicas=2,
                consumer__auto__commit__interval__ms=1000, **BASE)
    c.env.run(until=10.9)
    assert c.coordinator.host == 0 and c.coordinator.committed == {0: 190}  # the commit at 2.0
    assert member(c).counters.commits_failed > 0
    r = finish(c)
    ((t, host),) = events(c, "coordinator")
    assert host == 1 and 11.001 <= t < 11.2  # found by the consumer's next FindCoordinator
    # the member stayed in the group: no rebalance until the close at the end, nothing read twice
    assert c.coordinator.rebalances == 1 and r.outcomes["duplicated"] == 0 and r.outcomes["delivered"] == 1500
    assert c.coordinator.committed == {0: 1500}


def test_with_the_coordinator_on_another_broker_a_leader_crash_does_not_touch_the_commits():
    faults = [{"at": 3.0, "action": "crash", "target": "broker:0"}]
    c = cluster(STEADY, faults=faults, topic__replication__factor=3, topic__min__insync__replicas=2,
                consumer__auto__commit__interval__ms=1000, cluster__group__coordinator=1, **BASE)
    assert c.coordinator.replicas == (1, 2, 0)
    c.env.run(until=10.9)
    # the partition is unavailable until broker 0 is fenced, but every auto commit succeeds (the
    # position simply stops moving meanwhile)
    assert member(c).counters.commits_failed == 0 and c.coordinator.commits == 10
    finish(c)
    assert events(c, "coordinator") == [] and c.coordinator.host == 1
