"""Consumer timelines: polls, auto commit, sync commit, crashes, auto.offset.reset.

One partition, so a message's id is its offset; 100 sends per second from 0.1 s.
"""

from __future__ import annotations

import numpy as np

from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

STEADY = [0.1 + 0.01 * i for i in range(1500)]  # 0.1 s .. 15.09 s
BASE = dict(producer__linger__ms=0, workload__duration=20)


def crash_and_capture(crash_at, **overrides):
    """Run to just after the consumer crash (before its restart); return the cluster and the commit."""
    faults = [{"at": crash_at, "action": "consumer_crash", "duration": 0.5}]
    c = cluster(STEADY, faults=faults, **dict(BASE, **overrides))
    c.env.run(until=crash_at + 1e-6)
    assert not c.consumer.up
    committed = c.coordinator.committed.get(0, 0)
    return c, committed


def finish(c):
    from sim.run import drain
    c.drained = False
    c.env.run(until=c.end)
    c.env.run(until=c.env.process(drain(c)))
    return RunResult.from_cluster(c, 0.0)


def test_auto_commit_sends_the_positions_of_earlier_polls_every_interval():
    c = cluster(STEADY, **BASE)
    commits = []
    orig = c.coordinator.on_offset_commit

    def record(src, token, offsets, reply):
        commits.append((c.env.now, dict(offsets)))
        orig(src, token, offsets, reply)
    c.coordinator.on_offset_commit = record
    c.env.run(until=16.0)
    times = [t for t, _o in commits]
    assert len(times) == 3 and np.allclose(np.diff(times), 5.0, atol=0.02)  # every auto.commit.interval.ms
    for t, offsets in commits:
        # the commit left at the start of a poll: it covers what earlier polls returned, all processed
        sent_before = int(np.searchsorted(STEADY, t - 0.01))
        assert sent_before - 2 <= offsets[0] <= sent_before


def test_crash_between_auto_commits_redelivers_exactly_the_records_after_the_commit():
    c, committed = crash_and_capture(7.5)
    before = c.ledger.processed[:c.ledger.n].copy()
    assert committed > 400  # the auto commit at ~5 s
    r = finish(c)
    n = c.ledger.n
    twice = np.flatnonzero(c.ledger.processed[:n] == 2)
    expected = np.flatnonzero((before == 1) & (np.arange(len(before)) >= committed))
    assert twice.tolist() == expected.tolist()
    assert r["causes"]["duplicated"] == {"dup_redelivery": len(expected)}
    assert r.outcomes["delivered"] + r.outcomes["duplicated"] == r["sent"]


def test_sync_commit_after_each_poll_limits_redelivery_to_the_poll_in_progress():
    # 20 ms per record against 100 sends per second: the consumer falls behind, polls grow
    c, committed = crash_and_capture(7.5, consumer__enable__auto__commit=False, consumer__app__commit="sync",
                                     consumer__app__record__processing__ms=20)
    before = c.ledger.processed[:c.ledger.n].copy()
    r = finish(c)
    dups = r.outcomes["duplicated"]
    # exactly the records of the poll in progress that were processed before the crash
    assert dups == int(((before == 1) & (np.arange(len(before)) >= committed)).sum())
    assert 0 < dups <= 500  # at most one poll (max.poll.records)
    assert r.outcomes["lost_acked"] == 0


def test_restart_without_a_committed_offset_and_reset_latest_skips_what_arrived_meanwhile():
    faults = [{"at": 2.0, "action": "consumer_crash", "duration": 2.0}]
    cfg = config(faults=faults, **BASE)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    # nothing was committed before 5 s: the new consumer starts at the end of the log at 4 s
    skipped = r["causes"]["lost_acked"]["lost_skipped"]
    assert abs(skipped - 200) <= 2  # sends from ~2.0 s to ~4.0 s
    assert r["by_stage"]["consumer"]["lost_acked"] == skipped
    assert r.outcomes["duplicated"] == 0


def test_restart_without_a_committed_offset_and_reset_earliest_reads_everything_again():
    faults = [{"at": 2.0, "action": "consumer_crash", "duration": 2.0}]
    cfg = config(faults=faults, consumer__auto__offset__reset="earliest", **BASE)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == 0
    assert abs(r["causes"]["duplicated"]["dup_redelivery"] - 190) <= 2  # everything read before 2 s


def test_consumer_reads_only_below_the_high_watermark():
    # acks=1 with a follower cut off: the leader appends, but the HW waits for the ISR shrink
    faults = [{"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers"}]
    c = cluster(STEADY, producer__acks="1", topic__replication__factor=3,
                broker__replica__lag__time__max__ms=1000, faults=faults, **BASE)
    c.env.run(until=1.9)
    hw = c.brokers[0].logs[0].hw
    processed = np.flatnonzero(c.ledger.processed[:c.ledger.n])
    assert c.brokers[0].logs[0].leo > hw + 50
    assert processed.max() < hw


def test_close_commits_the_final_position():
    cfg = config(**BASE)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    assert c.coordinator.committed[0] == len(STEADY)
