"""Consumer timelines: polls, auto commit, sync commit, crashes, auto.offset.reset, processing.

One partition, so a message's id is its offset; 100 sends per second from 0.1 s. With the constant
1 ms network a record sent at s is appended at s + 1 ms, reaches the waiting consumer at s + 2 ms
(the parked fetch is answered at the append) and is processed 0.1 ms later.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.result import RunResult
from sim.run import drain, simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

STEADY = [0.1 + 0.01 * i for i in range(1500)]  # 0.1 s .. 15.09 s
BASE = dict(producer__linger__ms=0, workload__duration=20)


def member(c, slot=0):
    return c.consumer.members[slot].client


def crash_and_capture(crash_at, **overrides):
    """Run to just after the consumer crash (before its restart); return the cluster and the commit."""
    faults = [{"at": crash_at, "action": "consumer_crash", "duration": 0.5}]
    c = cluster(STEADY, faults=faults, **dict(BASE, **overrides))
    c.env.run(until=crash_at + 1e-6)
    assert not c.consumer.members[0].up
    committed = c.coordinator.committed.get(0, 0)
    return c, committed


def finish(c):
    c.drained = False
    c.env.run(until=c.end)
    c.env.run(until=c.env.process(drain(c)))
    return RunResult.from_cluster(c, 0.0)


def record_commits(c):
    """Every OffsetCommit the coordinator receives: (time, member node, offsets)."""
    commits = []
    orig = c.coordinator.on_offset_commit

    def record(req):
        commits.append((c.env.now, req.src, dict(req.offsets)))
        orig(req)
    c.coordinator.on_offset_commit = record
    return commits


def test_auto_commit_sends_the_positions_of_earlier_polls_every_interval():
    c = cluster(STEADY, **BASE)
    commits = record_commits(c)
    c.env.run(until=16.0)
    # sent from the poll at 5.0, 10.0, 15.0 (the consumer waits in poll() until the deadline), one ms later
    assert [t for t, _n, _o in commits] == pytest.approx([5.001, 10.001, 15.001])
    # each covers what earlier polls returned: records sent up to 2 ms before the commit left
    assert [o[0] for _t, _n, o in commits] == [490, 990, 1490]


def test_crash_between_auto_commits_redelivers_exactly_the_records_after_the_commit():
    c, committed = crash_and_capture(7.505)
    before = c.ledger.processed[:c.ledger.n].copy()
    assert committed == 490  # the auto commit at 5.0
    assert np.flatnonzero(before).tolist() == list(range(741))  # processed by 7.505: sent up to 7.50 s
    r = finish(c)
    twice = np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2)
    assert twice.tolist() == list(range(490, 741))
    assert r["causes"]["duplicated"] == {"dup_redelivery": 251}
    assert r.outcomes["delivered"] + r.outcomes["duplicated"] == r["sent"]


def test_a_restarted_consumer_waits_for_the_crashed_members_session_to_expire():
    # the crashed member's last heartbeat (every 3 s) reached the coordinator at 6.001; the new member
    # joins at 8.008 but the rebalance completes only when that session expires, 45 s later
    c, _ = crash_and_capture(7.505)
    finish(c)
    assert [(round(e[0], 6), e[2]) for e in c.trace.of("member_removed")][0] == (51.001, "consumer:0-1")
    assigned = [(round(e[0], 6), e[3]) for e in c.trace.of("assigned")]
    # JoinGroup answered at 51.002, SyncGroup at 51.004, OffsetFetch at 51.006
    assert assigned == [(0.0, 1), (51.006, 2)]


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


# Session 6 s (the coordinator's minimum), heartbeats every 2 s: the crashed member's last heartbeat
# (sent at 2.0) arrives at 2.001, its session expires at 8.001; the new member then gets the partition:
# JoinGroup answer 8.002, SyncGroup answer 8.004, OffsetFetch answer 8.006 (nothing committed yet).
SHORT_SESSION = dict(consumer__session__timeout__ms=6000, consumer__heartbeat__interval__ms=2000)
CRASH_AT_2 = [{"at": 2.005, "action": "consumer_crash", "duration": 2.0}]


def test_restart_without_a_committed_offset_and_reset_latest_skips_what_arrived_meanwhile():
    cfg = config(faults=CRASH_AT_2, consumer__app__group__start="new", **BASE, **SHORT_SESSION)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    # processed before the crash: sent up to 2.00 s (0..190); ListOffsets(latest) reaches the leader at
    # 8.007, when records sent up to 8.00 s are in the log (0..790): 191..790 are never read
    skipped = np.flatnonzero(c.ledger.processed[:c.ledger.n] == 0)
    assert skipped.tolist() == list(range(191, 791))
    assert r["causes"]["lost_acked"] == {"lost_skipped": 600}
    assert r["by_stage"]["consumer"]["lost_acked"] == 600
    assert r.outcomes["duplicated"] == 0


def test_a_running_group_has_its_offsets_committed_so_an_early_crash_only_duplicates():
    # the default warm start: the group committed offset 0 before t = 0, so reset latest never applies
    cfg = config(faults=CRASH_AT_2, **BASE, **SHORT_SESSION)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == 0
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist() == list(range(191))


def test_restart_without_a_committed_offset_and_reset_earliest_reads_everything_again():
    cfg = config(faults=CRASH_AT_2, consumer__auto__offset__reset="earliest", consumer__app__group__start="new",
                 **BASE, **SHORT_SESSION)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == 0
    assert np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist() == list(range(191))
    assert r["causes"]["duplicated"] == {"dup_redelivery": 191}


def test_reset_none_leaves_the_partition_unread():
    cfg = config(faults=CRASH_AT_2, consumer__auto__offset__reset="none", consumer__app__group__start="new",
                 sim__drain__timeout=30, **BASE, **SHORT_SESSION)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    # NoOffsetForPartitionException: nothing after the crash is ever read, and the drain cannot finish
    assert not r["drained"]
    assert r.outcomes["delivered"] == 191 and r.outcomes["unconsumed"] == 1500 - 191


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


def test_fetch_min_bytes_holds_the_fetch_until_enough_records_are_there():
    # every record is its own batch (linger 0): 1024 + 10 bytes of record + 61 of batch header
    ten = 10 * (1024 + 10 + 61)
    c = cluster(STEADY[:40], consumer__fetch__min__bytes=ten, **BASE)
    c.env.run(until=1.0)
    t = c.ledger.processed_t[:40] - 0.0001 * (np.arange(40) % 10 + 1)
    # records 0..9 are handed over together when record 9 is appended (0.191), and so on
    assert t == pytest.approx(np.repeat([0.192, 0.292, 0.392, 0.492], 10))


def test_fetch_max_wait_answers_a_fetch_that_never_gets_its_bytes():
    c = cluster(STEADY[:3], consumer__fetch__min__bytes=100000, consumer__fetch__max__wait__ms=500, **BASE)
    c.env.run(until=2.0)
    # metadata answered at 0.002, the fetch parked at 0.003 (before any record) expires at 0.503 and
    # brings the three records (sent 0.10 .. 0.12) at 0.504
    assert c.ledger.processed_t[:3] == pytest.approx([0.5041, 0.5042, 0.5043])


def test_end_to_end_latency_and_lag_are_reported():
    cfg = config(**BASE)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    # send -> append 1 ms -> consumer 1 ms -> processed 0.1 ms
    assert r["latency"]["e2e_p50_ms"] == pytest.approx(2.1) and r["latency"]["e2e_p99_ms"] == pytest.approx(2.1)
    # committed-offset lag peaks just before an auto commit: 500 records behind (5 s at 100/s)
    assert r["consumer"]["lag_max"] == 500
    assert 0 < r["consumer"]["lag_mean"] < 500
    assert r["consumer"]["records_processed"] == 1500 and r["consumer"]["redeliveries"] == 0


def test_processing_times_can_be_exponential_and_are_drawn_from_the_consumer_stream():
    runs = []
    for seed in (1, 1, 2):
        cfg = config(consumer__app__record__processing__ms=5, consumer__app__record__processing__distribution=
                     "exponential", sim__seed=seed, **BASE)
        c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
        runs.append(c.ledger.processed_t[:1500] - c.ledger.send_t[:1500] - 0.002)
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    # a record waits for its own processing time, plus the queue in front of it: positive, mean >= 5 ms
    assert runs[0].min() > 0 and runs[0].mean() >= 0.005


UNCLEAN_RF2 = [{"at": 1.0, "action": "isolate", "target": "broker:1", "from": "brokers"},
               {"at": 4.0, "action": "crash", "target": "broker:0"}]


@pytest.mark.parametrize("reset", ["latest", "earliest"])
def test_before_kip_320_an_unclean_election_moves_the_log_end_back_and_the_consumer_resets(reset):
    # RF 2, acks=1: broker 1 is cut off from broker 0 at 1.0 and leaves the ISR; the consumer reads what
    # only broker 0 has (records sent 1.0 .. 4.0: 90..389). Broker 0 dies at 4.0 and is fenced at
    # 11.001; broker 1 is elected uncleanly with records 0..89 only. A consumer before Kafka 2.1 fetches on
    # from 390, past the new log end: OFFSET_OUT_OF_RANGE, then auto.offset.reset.
    c = cluster(STEADY, faults=UNCLEAN_RF2, cluster__brokers=2, topic__replication__factor=2, producer__acks="1",
                topic__unclean__leader__election__enable=True, broker__replica__lag__time__max__ms=1000,
                consumer__auto__offset__reset=reset, consumer__model__offset__validation=False, **BASE)
    r = finish(c)
    assert r["consumer"]["offset_resets"] == 1 and r["consumer"]["log_truncations"] == 0
    twice = np.flatnonzero(c.ledger.processed[:c.ledger.n] == 2).tolist()
    # earliest reads 0..89 again; latest starts at the new log end, which the producer's retries had
    # not reached yet (so here nothing is skipped)
    assert twice == (list(range(90)) if reset == "earliest" else [])
    assert r.outcomes["lost_acked"] == 0 and r.outcomes["unconsumed"] == 0
    # the records only broker 0 had were processed, then truncated away: phantom reads
    assert r["acked_missing_from_log"] == {"total": 300, "processed_before_loss": 300, "never_written": 0,
                                           "by_cause": {"unclean_election": 300}}


@pytest.mark.parametrize("reset", ["latest", "earliest"])
def test_kip_320_the_consumer_finds_its_position_truncated_and_moves_back_to_the_divergence(reset):
    # The same unclean election. A Kafka 2.1+ consumer learns the new leader epoch and, before fetching,
    # asks broker 1 where epoch 0 (the epoch of its last consumed record, 389) ends there: at 90, below its
    # position 390. It moves back to 90, whatever the reset policy: no reset, nothing read twice.
    c = cluster(STEADY, faults=UNCLEAN_RF2, cluster__brokers=2, topic__replication__factor=2, producer__acks="1",
                topic__unclean__leader__election__enable=True, broker__replica__lag__time__max__ms=1000,
                consumer__auto__offset__reset=reset, **BASE)
    r = finish(c)
    assert r["consumer"]["offset_resets"] == 0 and r["consumer"]["log_truncations"] == 1
    (event,) = c.trace.of("log_truncation")
    assert (event.partition, event.position, event.end) == (0, 390, 90)
    assert not (c.ledger.processed[:c.ledger.n] == 2).any()
    assert r.outcomes["lost_acked"] == 0 and r.outcomes["unconsumed"] == 0
    assert r["acked_missing_from_log"]["processed_before_loss"] == 300


def test_kip_320_a_consumer_stalled_across_an_unclean_election_would_skip_the_new_leaders_records():
    # 500 msg/s; broker 1 is cut off from broker 0 at 1 s (it holds about 500 records), the consumer stalls at
    # 5 s (position about 2,500), broker 0 dies at 6 s and broker 1 is elected uncleanly at about 15 s. When
    # the stall ends at 25 s the new leader's log is past 2,500 again: fetching on from its position, a consumer
    # before KIP-320 skips the new leader's records 500..2,500 -- in the final log, never processed.
    faults = [{"at": 1, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 40},
              {"at": 5, "action": "consumer_stall", "duration": 20},
              {"at": 6, "action": "crash", "target": "broker:0", "duration": 40}]
    skipped = {}
    for validation in (False, True):
        r = RunResult.from_cluster(simulate(config(
            cluster__brokers=2, topic__replication__factor=2, topic__unclean__leader__election__enable=True,
            producer__acks="1", broker__replica__lag__time__max__ms=2000, workload__rate=500, workload__duration=30,
            consumer__model__offset__validation=validation, faults=faults)), wall_s=0)
        skipped[validation] = r["causes"]["lost_acked"].get("lost_skipped", 0)
    assert abs(skipped[False] - 500 * (5 - 1)) < 50  # what the new leader wrote between 1 s and 5 s of offsets
    assert skipped[True] == 0


def test_kip_320_with_reset_none_a_truncated_position_stops_the_partition():
    # auto.offset.reset = none: LogTruncationException instead of a seek, modelled as the partition no longer
    # being read (as the NoOffsetForPartitionException of a missing offset). Records 0..389 were processed
    # (90..389 only on broker 0: phantom reads); the 1,110 sent from 4.0 s on reach broker 1 and are never read.
    # The auto commit of position 390, retried until the coordinator moves to broker 1 (11.03 s), lands before
    # the consumer validates its position (11.04 s): the 300 records broker 1 holds at offsets 90..389 are
    # below the committed offset (lost_skipped), the other 810 unconsumed.
    cfg = config(faults=UNCLEAN_RF2, cluster__brokers=2, topic__replication__factor=2, producer__acks="1",
                 topic__unclean__leader__election__enable=True, broker__replica__lag__time__max__ms=1000,
                 consumer__auto__offset__reset="none", sim__drain__timeout=30, **BASE)
    r = RunResult.from_cluster(simulate(cfg, arrivals=ArrivalStream.from_times(STEADY)), 0.0)  # the drain is bounded
    assert r["consumer"]["log_truncations"] == 1 and r["consumer"]["offset_resets"] == 0 and not r["drained"]
    assert r.outcomes["delivered"] == 390 and r.outcomes["lost_acked"] == 300
    assert r.outcomes["unconsumed"] == len(STEADY) - 390 - 300
    assert r["acked_missing_from_log"]["processed_before_loss"] == 300


def test_while_every_broker_is_down_the_clients_back_off_instead_of_asking_every_round_trip():
    # every broker process dies at 0.5 s and stays down until 2.5 s: the consumer's fetches are refused
    # (one round trip each); it asks a broker again only after reconnect.backoff.ms (50 ms), and its
    # metadata refresh, with no broker to ask, waits retry.backoff.ms (100 ms). Before: a fetch and a
    # metadata request every 2 ms round trip (~2,000 messages in these 2 s)
    faults = [{"at": 0.5, "action": "crash", "target": "all-brokers", "duration": 2.0}]
    c = cluster([0.1 * i for i in range(1, 30)], topic__replication__factor=3, workload__duration=3, faults=faults)
    c.env.run(until=0.6)
    before = c.network.counters.messages
    c.env.run(until=2.4)
    sent = c.network.counters.messages - before
    assert 0 < sent <= 2 * 1.8 / 0.05 + 1.8 / 0.1 + 40  # fetch + refusal per 50 ms, metadata, heartbeats


def test_with_retry_backoff_0_and_no_broker_reachable_the_metadata_refresh_still_waits():
    # retry.backoff.ms = 0 on both clients: with no broker up, the refresh waits reconnect.backoff.ms
    # (before: a loop that never yielded -- the run hung with simulated time frozen at 0.5 s)
    faults = [{"at": 0.5, "action": "crash", "target": "all-brokers", "duration": 1.0}]
    c = cluster([0.1 * i for i in range(1, 20)], topic__replication__factor=3, workload__duration=2,
                producer__retry__backoff__ms=0, consumer__retry__backoff__ms=0, faults=faults)
    c.env.run(until=1.4)
    assert c.env.now == 1.4
    assert c.producer.client.metadata.requests < 40


def test_kip_320_a_position_awaiting_validation_is_not_committed():
    # SubscriptionState.allConsumed takes valid positions only: from the moment the consumer's metadata
    # names the new leader epoch (the unclean election of broker 1, about 11.03 s) until broker 1 has
    # answered where epoch 0 ends, a commit leaves partition 0 out; then it commits the position moved back.
    c = cluster(STEADY, faults=UNCLEAN_RF2, cluster__brokers=2, topic__replication__factor=2, producer__acks="1",
                topic__unclean__leader__election__enable=True, broker__replica__lag__time__max__ms=1000, **BASE)
    app = c.consumer.members[0].client
    c.env.run(until=10.0)
    assert app.fetcher.consumed() == {0: 390}
    while app.metadata.epochs[0] == 0:
        c.env.step()
    assert 11.0 < c.env.now < 11.1 and app.fetcher.consumed() == {}
    c.env.run(until=c.env.now + 0.1)
    assert app.fetcher.consumed()[0] >= 90 and c.trace.of("log_truncation")


def test_a_partition_without_a_leader_is_not_awaiting_validation_and_is_still_committed():
    # RF 1: broker 0 is cut off at 5 s and fenced; partition 0 has no leader, in a new epoch. Kafka's
    # consumer validates only against a known leader (maybeValidatePosition), so its position stays valid.
    faults = [{"at": 5, "action": "isolate", "target": "broker:0", "duration": 50}]
    c = cluster(STEADY, faults=faults, topic__partitions=3, topic__replication__factor=1, producer__acks="1",
                workload__duration=70)
    app = c.consumer.members[0].client
    c.env.run(until=40.0)
    assert app.metadata.leaders[0] is None and app.metadata.epochs[0] == 1
    assert sorted(app.fetcher.consumed()) == [0, 1, 2]


def test_a_refused_fetch_is_over_and_its_timeout_cannot_end_a_later_fetch():
    # Every broker process is down from 0.5 s to 2.5 s: fetches are refused. A refused fetch used to keep its
    # request.timeout.ms deadline, which 30 s later dropped the broker's newer fetch from the in-flight set.
    faults = [{"at": 0.5, "action": "crash", "target": "all-brokers", "duration": 2.0}]
    c = cluster([0.1 * i for i in range(1, 300)], topic__replication__factor=3, workload__duration=40,
                faults=faults)
    c.env.run(until=3.0)
    app = c.consumer.members[0].client
    assert app.deadlines.live() <= 4  # the refused fetches' timeouts are gone with them
    c.env.run(until=35.0)
    for broker, req in app.fetcher.fetching.items():
        assert not req.done and req.broker == broker
