"""Replication timelines: ISR, high watermark, elections, truncation.

Three brokers, partition 0 on replicas (0, 1, 2) with broker 0 leading, a constant 1 ms
network delay, replica.lag.time.max.ms = 1 s (the leader checks every 0.5 s).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.broker.replica_log import LogBatch, ReplicaLog
from sim.ledger import P_ACK
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

MS = 0.001
STEADY = [0.1 + 0.01 * i for i in range(1000)]  # 100 sends per second from 0.1 s to 10 s
RF3 = dict(topic__replication__factor=3, broker__replica__lag__time__max__ms=1000, producer__linger__ms=0,
           workload__duration=30)


def isr_events(c, p=0):
    """(time, isr) of every ISR change the controller committed for partition p."""
    return [(e[0], e[3]) for e in c.trace.of("isr") if len(e) == 4 and e[2] == p]


def test_follower_cut_off_from_the_leader_leaves_the_isr_after_the_lag_time():
    c = cluster(STEADY, faults=[{"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers"}], **RF3)
    c.env.run(until=3.0)
    # last caught up just before 1.0; the checks at 1.5 (lag 0.5 s) keep it, the check at 2.0 removes it
    ((t, isr),) = isr_events(c)
    assert 2.0 < t < 2.01 and isr == (0, 1)


def test_acks_all_waits_for_the_lagging_follower_to_leave_the_isr():
    c = cluster(STEADY, faults=[{"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers"}], **RF3)
    c.env.run(until=3.0)
    sent_at = np.asarray(STEADY)
    first = int(np.searchsorted(sent_at, 1.0))
    # the first request after the cut waits in purgatory until the ISR change is committed and
    # applied (AlterPartition at 2.0 -> controller -> leader: 2 ms) and answered (1 ms)
    assert c.ledger.ack_t[first] == pytest.approx(2.003)
    # the requests behind it on the same connection wait too (one request at a time per connection)
    n = c.ledger.n  # messages sent by now
    assert n > np.searchsorted(sent_at, 2.0)
    later = ((sent_at > 1.0) & (sent_at < 2.0))[:n]
    assert (c.ledger.ack_t[later] > 2.003).all()
    j = int(np.searchsorted(sent_at, 2.5))
    assert c.ledger.ack_t[j] == pytest.approx(sent_at[j] + 4 * MS)  # and normal again after


def test_high_watermark_is_the_smallest_log_end_offset_in_the_isr():
    c = cluster(STEADY, faults=[{"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers"}], **RF3)
    c.env.run(until=1.5)
    leader, lagging = c.brokers[0].logs[0], c.brokers[2].logs[0]
    assert leader.leo > lagging.leo
    assert leader.hw == lagging.leo
    c.env.run(until=2.5)
    assert leader.hw == leader.leo  # ISR (0, 1) now


def test_high_watermark_does_not_advance_while_the_isr_is_below_min_insync_replicas():
    faults = [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers", "duration": 4.0}]
    c = cluster(STEADY, producer__acks="1", topic__min__insync__replicas=2, faults=faults, **RF3)
    c.env.run(until=3.0)
    ((_t, isr),) = isr_events(c)
    assert isr == (0,)
    leader = c.brokers[0].logs[0]
    frozen = leader.hw
    c.env.run(until=4.9)
    assert leader.leo > frozen + 100 and leader.hw == frozen  # acks=1 writes land but stay invisible
    c.env.run(until=8.0)
    assert isr_events(c)[-1][1] == (0, 1, 2) and leader.hw == leader.leo


def test_clean_election_picks_the_next_isr_member_after_the_session_timeout():
    c = cluster(STEADY, faults=[{"at": 1.0, "action": "crash", "target": "leader"}], **RF3)
    c.env.run(until=12.0)
    # last heartbeat at t=0 (every 2 s), fenced at 0.001 + 9 s
    (fenced,) = c.trace.of("fenced")
    assert fenced[0] == pytest.approx(9.001) and fenced[2] == 0
    leaders = [e for e in c.trace.of("leader") if e[2] == 0]
    assert [(e[3], e[4], e[5]) for e in leaders] == [(1, 1, (1, 2))]
    assert c.controller.leader_of(0) == 1


def _last_replica_standing(unclean: bool, **extra):
    """Followers cut off from the leader until the ISR is {0}; then the leader dies for good."""
    faults = [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers"},
              {"at": 3.0, "action": "crash", "target": "leader"}]
    return cluster(STEADY, producer__acks="1", topic__unclean__leader__election__enable=unclean, faults=faults,
                   **dict(RF3, **extra))


def test_without_unclean_election_the_partition_goes_offline():
    c = _last_replica_standing(unclean=False)
    c.env.run(until=15.0)
    assert c.controller.leader_of(0) is None
    assert c.controller.parts[0].isr == (0,)  # the ISR never becomes empty


def test_unclean_election_makes_an_out_of_sync_replica_leader():
    c = _last_replica_standing(unclean=True)
    c.env.run(until=15.0)
    assert c.controller.leader_of(0) == 1 and c.controller.parts[0].isr == (1,)
    assert c.controller.counters.unclean_elections == 1


def _unclean_run(min_isr: int):
    faults = [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers"},
              {"at": 3.0, "action": "crash", "target": "leader"}]
    cfg = config(producer__acks="1", topic__unclean__leader__election__enable=True, faults=faults,
                 topic__min__insync__replicas=min_isr, **dict(RF3, workload__duration=20))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    return RunResult.from_cluster(c, 0.0)


def test_unclean_election_loses_acknowledged_writes_end_to_end():
    # min.insync.replicas=2 keeps the HW frozen once the ISR is {0}: nobody reads what only 0 has
    r = _unclean_run(min_isr=2)
    # everything acked between the isolation (1 s) and the crash (3 s) existed only on broker 0
    lost = r["causes"]["lost_acked"]["lost_storage"]
    assert lost == 200
    assert r["by_stage"]["broker"]["lost_acked"] == lost
    assert r["acked_missing_from_log"] == {"total": 200, "processed_before_loss": 0, "never_written": 0,
                                           "by_cause": {"unclean_election": 200}}
    assert sum(r.outcomes.values()) == r["sent"]


def test_records_read_before_an_unclean_election_are_phantom_reads():
    # min.insync.replicas=1: the HW follows broker 0 alone, the consumer reads what is then lost
    r = _unclean_run(min_isr=1)
    missing = r["acked_missing_from_log"]
    assert missing["total"] == 200 and missing["processed_before_loss"] == 200
    assert r.outcomes["lost_acked"] == 0 and r.outcomes["delivered"] == r["sent"]


def test_old_leader_truncates_what_the_new_leader_never_had():
    # a zombie leader cut off from brokers and controller keeps acking acks=1 writes
    faults = [{"at": 1.0, "action": "isolate", "target": "leader", "from": ["brokers", "controller"],
               "duration": 14.0}]
    cfg = config(producer__acks="1", faults=faults, **dict(RF3, workload__duration=20))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    truncations = [e for e in c.trace.of("truncate") if e[2] == 0 and e[3] == 0]
    assert len(truncations) == 1
    t, _kind, broker, p, offset, removed = truncations[0]
    assert t > 15.0 and removed > 0
    assert c.brokers[0].logs[0].leo >= offset
    r = RunResult.from_cluster(c, 0.0)
    assert r["causes"]["lost_acked"]["lost_storage"] == removed  # acked by the zombie, gone everywhere
    assert c.ledger.p[:c.ledger.n].tolist().count(P_ACK) == c.ledger.n


def test_acks_all_loses_nothing_when_a_zombie_leader_is_isolated():
    faults = [{"at": 1.0, "action": "isolate", "target": "leader", "from": ["brokers", "controller"],
               "duration": 14.0}]
    cfg = config(topic__min__insync__replicas=2, faults=faults, **dict(RF3, workload__duration=20))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == 0 and r.outcomes["delivered"] == r["sent"]


def test_a_paused_leader_answers_after_the_pause_and_is_fenced_if_it_lasts():
    # a 12 s GC pause: requests wait, heartbeats stop, the controller fences it after 9 s
    faults = [{"at": 1.0, "action": "pause", "target": "leader", "duration": 12.0}]
    c = cluster(STEADY, faults=faults, **RF3)
    c.env.run(until=9.0)
    sent_at = np.asarray(STEADY)
    first = int(np.searchsorted(sent_at, 1.0))
    assert np.isnan(c.ledger.ack_t[first])  # waiting in the paused broker
    c.env.run(until=20.0)
    (fenced,) = c.trace.of("fenced")
    assert fenced[2] == 0 and 9.0 < fenced[0] < 9.1  # last heartbeat at 0 s
    assert c.controller.leader_of(0) == 1
    assert not np.isnan(c.ledger.ack_t[first])


def test_a_short_pause_only_delays():
    faults = [{"at": 1.0, "action": "pause", "target": "leader", "duration": 0.5}]
    c = cluster(STEADY, faults=faults, **RF3)
    c.env.run(until=5.0)
    sent_at = np.asarray(STEADY)
    first = int(np.searchsorted(sent_at, 1.0))
    assert c.ledger.ack_t[first] == pytest.approx(1.5 + 4 * MS, abs=2 * MS)
    assert c.trace.of("fenced") == [] and c.controller.leader_of(0) == 0


def test_end_offset_for_epoch_answers_as_the_leader_epoch_cache_does():
    from sim.broker.replica_log import LogBatch, ReplicaLog
    log = ReplicaLog()
    assert log.end_offset_for_epoch(0) == (-1, -1)  # no epochs at all: undefined
    log.append(LogBatch(0, 10, [slice(0, 10)], 2), 0.0)
    log.append(LogBatch(10, 5, [slice(10, 15)], 4), 0.0)
    assert log.end_offset_for_epoch(4) == (4, 15)  # the latest epoch ends at the LEO
    assert log.end_offset_for_epoch(2) == (2, 10)
    assert log.end_offset_for_epoch(3) == (2, 10)  # an epoch never seen here: the one before it
    # older than every epoch here: nothing was written here in it, so it ends where the first starts
    assert log.end_offset_for_epoch(1) == (1, 0)


def test_a_replica_whose_copy_was_empty_rejoins_the_isr_after_a_failover():
    # six partitions and the sticky partitioner: partition 0 gets no record before broker 0, its
    # leader at epoch 0, crashes at 1 s; broker 1 leads it at epoch 1 with an epoch cache that has no
    # epoch 0. Broker 0's fetch (offset 0, last epoch 0) is no divergence (KIP-320): it replicates.
    c = cluster([0.1 + 0.01 * i for i in range(2500)], topic__partitions=6,
                faults=[{"at": 1.0, "action": "crash", "target": "broker:0", "duration": 5.0}], **RF3)
    c.env.run(until=1.0)
    assert c.brokers[0].logs[0].leo == 0
    c.env.run(until=25.0)
    assert 0 in c.controller.parts[0].isr
    b0, b1 = c.brokers[0], c.brokers[1]
    assert b0.logs[0].leo == b1.logs[0].leo > 0
    assert c.trace.of("truncate") == []
    # and the follower long-polls instead of fetching in a loop: about one fetch per produce request to each
    # of its two leaders
    fetches = c.brokers[0].counters.replica_fetches
    assert fetches < 2 * c.producer.counters.requests


def test_a_truncation_that_removes_nothing_still_drops_an_epoch_never_written_to():
    # broker led epoch 1 from offset 10 and lost leadership before appending to it; the new leader
    # (epoch 2) never saw epoch 1, answers "diverging at epoch 0, ending at 10", and the follower
    # truncates to 10 = its LEO: UnifiedLog.truncateTo still trims the epoch cache from the LEO, so
    # the next fetch names epoch 0 and replicates (keeping epoch 1 would get the same answer forever)
    from sim.broker.replica_log import LogBatch, ReplicaLog
    log = ReplicaLog()
    log.append(LogBatch(0, 10, [slice(0, 10)], 0), 0.0)
    log.assign_epoch(1)
    assert log.epochs == [(0, 0), (1, 10)]
    assert log.truncate_to(10) == []
    assert log.epochs == [(0, 0)] and log.leo == 10 and log.latest_epoch == 0


def test_diverging_records_counts_offsets_where_a_follower_holds_another_message():
    from sim.broker.replica_log import LogBatch, ReplicaLog, diverging_records
    shared = [LogBatch(0, 3, [slice(0, 3)], 0), LogBatch(3, 2, [slice(3, 5)], 0)]
    leader, follower = ReplicaLog(), ReplicaLog()
    for b in shared:
        leader.append(b, 0.0)
        follower.append(b, 0.0)  # a fetched batch is the leader's own object
    assert diverging_records(leader, follower) == 0
    leader.append(LogBatch(5, 4, [slice(10, 12), slice(20, 22)], 1), 0.0)  # ids 10, 11, 20, 21
    follower.append(LogBatch(5, 2, [slice(10, 12)], 0), 0.0)  # the same first two records, split differently
    follower.append(LogBatch(7, 3, [slice(30, 33)], 0), 0.0)  # then others at offsets 7, 8 (and 9: beyond)
    assert diverging_records(leader, follower) == 2
    assert diverging_records(follower, leader) == 2


def test_a_leader_that_restarts_before_it_is_fenced_does_not_lead_on_in_the_same_epoch():
    # ZooKeeper-era quick re-registration: broker 0 (leader) loses its disk at 1 s and is back at 1.5 s;
    # a bounce is a failure and a startup (KIP-380): partition 0 goes to broker 1 in a new epoch, so the
    # followers keep what they had instead of accepting an empty log in the old epoch
    faults = [{"at": 1.0, "action": "disk_failure", "target": "broker:0", "duration": 0.5}]
    cfg = config(broker__model__quick__restart__keeps__isr=True, broker__model__startup__ms=50,
                 faults=faults, **dict(RF3, workload__duration=12))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    changes = [(e[3], e[4]) for e in c.trace.of("leader") if e[2] == 0]
    assert changes[0] == (1, 1)
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["lost_acked"] == 0 and r["brokers"]["diverged_records"] == 0


def test_with_elr_the_last_known_leader_is_elected_when_every_replica_came_back_unclean():
    # RF 3, min.insync.replicas 2, ELR on: the whole cluster loses power at 2 s. At 11.001 s the
    # controller fences the brokers one at a time (maybeFenceOneStaleBroker): leadership hops 0 -> 1 -> 2
    # and the partition goes leaderless with broker 2 its last leader; each broker comes back after an
    # unclean shutdown and leaves ISR and ELR. With both empty, the controller elects the last known
    # leader once it is back (lastKnownElr) instead of staying offline for good -- as an unclean
    # election: whatever its log lost is lost for everyone.
    faults = [{"at": 2.0, "action": "power_loss", "target": "all-brokers", "duration": 3.0}]
    cfg = config(broker__eligible__leader__replicas__version=1, topic__min__insync__replicas=2, faults=faults,
                 **dict(RF3, workload__duration=20))
    c = simulate(cfg, arrivals=ArrivalStream.from_times(STEADY))
    (lkl,) = [e for e in c.trace.of("last_known_leader_election") if e[2] == 0]
    assert lkl[3] == 2 and c.controller.leader_of(0) == 2
    assert [e[3] for e in c.trace.of("leader") if e[2] == 0][:3] == [1, 2, None]
    assert c.controller.counters.unclean_elections >= 1
    r = RunResult.from_cluster(c, 0.0)
    assert r["drained"] and sum(r.outcomes.values()) == r["sent"]


@pytest.mark.parametrize("min_bytes, copied_at_1_3", [(1, 1), (1_000_000, 0)])
def test_a_follower_fetch_waits_for_replica_fetch_min_bytes(min_bytes, copied_at_1_3):
    # one 1 KiB record sent at 1.2 s (appended at 1.203 after the producer's metadata and connection round
    # trips), acks=1. The follower's fetches park for replica.fetch.wait.max.ms = 500 ms: 0.003-0.503,
    # 0.505-1.005, 1.007-1.507. With the default (1 byte) the append answers the parked fetch at once; asking
    # for 1 MB, the fetch waits until it expires at 1.507.
    c = cluster([1.2], producer__acks="1", producer__linger__ms=0, topic__replication__factor=2,
                cluster__brokers=2, broker__replica__fetch__min__bytes=min_bytes,
                broker__replica__fetch__wait__max__ms=500, workload__duration=5)
    c.env.run(until=1.3)
    assert c.brokers[1].logs[0].leo == copied_at_1_3
    c.env.run(until=1.6)
    assert c.brokers[1].logs[0].leo == 1


def test_follower_fetches_are_sized_in_bytes_so_batch_size_is_no_durability_setting():
    # RF 3, acks=1, linger.ms=0, 5,000 msg/s of 100 B, the leader crashes at 4 s. Each produce request
    # carries a batch of one or two records whatever batch.size says; a follower fetch takes whole batches up
    # to replica.fetch.max.bytes (1 MiB). Counting the fetch in batches of a *full* batch.size instead left the
    # followers a second behind with batch.size = 1 MiB (15,807 acknowledged records lost, against 5).
    lost = {}
    for batch_size in (16384, 1048576):
        r = RunResult.from_cluster(simulate(config(
            cluster__brokers=3, topic__replication__factor=3, producer__acks="1", producer__linger__ms=0,
            producer__batch__size=batch_size, workload__rate=5000, workload__message__bytes=100, workload__duration=6,
            faults=[{"at": 4, "action": "crash", "target": "leader", "duration": 1}])), wall_s=0)
        lost[batch_size] = r.outcomes["lost_acked"]
    assert lost[16384] < 50 and lost[1048576] < 50  # what one replication round trip holds at 5,000 msg/s


def test_a_fetch_returns_whole_batches_up_to_its_byte_limits():
    log = ReplicaLog()
    for base in range(0, 40, 10):  # four batches of ten 100-byte records: 61 + 10 * (100 + 10) = 1161 bytes each
        log.append(LogBatch(base, 10, (slice(base, base + 10),), 0), 0.0)
    batches, size = log.batches_from(0, 3000, 100)
    assert [b.base for b in batches] == [0, 10] and size == 2 * 1161  # a third would pass 3,000 bytes
    batches, size = log.batches_from(5, 100, 100)  # a limit below one batch: the first goes anyway (KIP-74)
    assert [(b.base, b.count) for b in batches] == [(5, 5)] and size == 1161
    assert log.batches_from(5, 100, 100, at_least_one=False) == ([], 0)
    chunks, size = log.read(15, 35, 3000, 100)  # a consumer: record ranges below the HW (35), whole batches
    assert [(b.base, lo, hi) for b, lo, hi in chunks] == [(10, 5, 10), (20, 0, 10)] and size == 2 * 1161


class _LeaderBroker:
    """What a PartitionLeader asks of its broker, for a unit test of the leader's HW rule."""

    def __init__(self, cfg, log, fenced=()):
        self.settings = cfg.settings
        self.logs = {0: log}
        self.id = 0
        self.fenced = set(fenced)
        self.env = type("Clock", (), {"now": 0.0})()
        self.replica_fetches = type("Sessions", (), {"replay_fetches": staticmethod(lambda leader: None),
                                                     "news": staticmethod(lambda p: None)})()

    def is_fenced(self, broker_id):
        return broker_id in self.fenced

    def hw_advanced(self, p):
        pass


@pytest.mark.parametrize("fenced, hw", [((), 10), ((1,), 15)])
def test_the_leader_hw_waits_for_a_caught_up_follower_about_to_join_the_isr(fenced, hw):
    # Partition.maybeIncrementLeaderHW: ISR = {0}, min.insync.replicas 1. Follower 1 fetched at the leader's
    # LEO (10) at 0.5 s -- caught up -- and the leader then appended 5 more records. Within
    # replica.lag.time.max.ms of that, the HW waits for follower 1 (shouldWaitForReplicaToJoinIsr) unless it
    # may not join the ISR (fenced); ISR members alone would let it move to 15.
    from sim.broker.partition import PartitionLeader
    log = ReplicaLog()
    log.append(LogBatch(0, 10, (slice(0, 10),), 0), 0.0)
    broker = _LeaderBroker(config(topic__replication__factor=2, cluster__brokers=2), log, fenced)
    leader = PartitionLeader(broker, 0, 0, 0, (0,), (0, 1), 0.0)
    broker.env.now = 0.5
    leader.on_follower_fetch(1, 10, 0.5)
    assert log.hw == 10
    log.append(LogBatch(10, 5, (slice(10, 15),), 0), 0.6)
    broker.env.now = 0.6
    leader.maybe_advance_hw()
    assert log.hw == hw
    broker.env.now = 0.5 + 30.1  # past replica.lag.time.max.ms (30 s): no longer caught up, no longer waited for
    leader.maybe_advance_hw()
    assert log.hw == 15


def test_before_kip_320_a_follower_checks_for_divergence_on_a_new_leader_or_a_missed_epoch():
    # Partition.makeFollower with KAFKA-7164 (2.0.1): the same leader one epoch on needs no check; a new
    # leader, or a jump past an epoch the follower never heard of, does. A check rides on the fetches
    # (they name the epoch of the last record) until the leader answers (in Kafka, one
    # OffsetsForLeaderEpoch round trip before fetching).
    c = cluster([0.1, 0.2], broker__model__replica__fetch__fencing=False, topic__replication__factor=3,
                workload__duration=5)
    c.env.run(until=1.0)
    follower = c.brokers[1].follower
    log = c.brokers[1].logs[0]
    assert follower.following[0] == 0 and follower.fetch_epoch(0) == -1  # checked at the start, done
    follower.follow(0, 0, log.latest_epoch + 1)
    assert follower.fetch_epoch(0) == -1
    follower.follow(0, 0, log.latest_epoch + 3)
    assert follower.fetch_epoch(0) == log.latest_epoch
    c.env.run(until=2.0)  # broker 0, unfenced, answers the check (within a long-poll): done
    assert follower.fetch_epoch(0) == -1
    follower.follow(0, 2, log.latest_epoch + 4)
    assert follower.fetch_epoch(0) == log.latest_epoch
