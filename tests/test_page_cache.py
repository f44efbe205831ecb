"""What survives a power loss: Kafka's own flushes and Linux's dirty-page write-back.

Linux defaults: the flusher wakes every 5 s (vm.dirty_writeback_centisecs = 500) and writes back every
inode (segment file) that has been dirty for 30 s (vm.dirty_expire_centisecs = 3000), all of its pages
at once; the inode is then clean and its next write starts a new 30 s. Kafka by default never fsyncs on
the write path. A process crash keeps the page cache; a power loss does not.
"""

from __future__ import annotations

import math

import numpy as np

from sim.broker.page_cache import PageCache
from sim.broker.replica_log import LogBatch, ReplicaLog
from sim.records import batch_bytes
from sim.result import RunResult
from sim.rng import STREAMS, make_streams
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

NEVER = math.inf
EXPIRE, PERIOD = 30.0, 5.0  # the Linux defaults, in seconds


def append(log, t, count=10):
    log.append(LogBatch(log.leo, count, (slice(log.leo, log.leo + count),), 0), t)


def log_written_at(times, per_batch=10):
    log = ReplicaLog()
    for t in times:
        append(log, t, per_batch)
    return log


def linux(**kw):
    args = dict(flush_messages=NEVER, flush_interval=NEVER, scheduler_interval=NEVER, writeback_period=PERIOD,
                dirty_expire=EXPIRE)
    args.update(kw)
    return PageCache(**args)


def test_the_flusher_writes_a_whole_inode_back_once_its_first_dirty_write_is_30_s_old():
    log = log_written_at([1.0, 2.0, 3.0, 4.0, 6.0])
    pc = linux()  # wakes at 0, 5, 10, ... s
    # the inode turned dirty at 1 s; at the 30 s wake-up it has been dirty for 29 s only
    assert pc.durable_offset(log, 34.9, 0.0) == 0
    # at 35 s it has been dirty for 34 s: every page goes, also the one written at 6 s (29 s old)
    assert pc.durable_offset(log, 35.0, 0.0) == 50
    # now clean; the write at 36 s dirties it again, due at the first wake-up from 66 s: 70 s
    append(log, 36.0)
    append(log, 50.0)
    assert pc.durable_offset(log, 69.9, 0.0) == 50
    assert pc.durable_offset(log, 70.0, 0.0) == 70


def test_each_machine_has_its_own_flusher_phase():
    log = log_written_at([1.0, 2.0])
    # dirtied at 1 s: due at the first wake-up from 31 s, which the phase places anywhere in [31, 36)
    assert linux(writeback_phase=0.0).durable_offset(log, 33.0, 0.0) == 0  # wakes at 30, 35
    assert linux(writeback_phase=2.0).durable_offset(log, 33.0, 0.0) == 20  # wakes at 32
    assert linux(writeback_phase=2.0).durable_offset(log, 31.9, 0.0) == 0


def test_an_inode_written_once_and_then_idle_is_on_disk_after_expire_plus_period():
    rng = np.random.default_rng(13)
    for _ in range(200):
        written, phase = float(rng.uniform(0, 100)), float(rng.uniform(0, PERIOD))
        log = log_written_at([written])
        pc = linux(writeback_phase=phase)
        assert pc.durable_offset(log, written + EXPIRE + PERIOD, 0.0) == 10
        assert pc.durable_offset(log, written + EXPIRE - 0.001, 0.0) == 0  # never before it is 30 s old


def lost_window(log, cut):
    """Seconds of writes a power cut at `cut` took from this log: back to the last batch on disk."""
    return cut - (log.written[-1] if len(log.written) else 0.0)


def test_a_continuously_written_segment_loses_a_window_spread_over_0_to_35_s():
    # Writes every 10 ms. Each write-back cleans the inode at a wake-up w; the next write (within 10 ms)
    # dirties it again, so the following one is at the first wake-up at least 30 s after that write:
    # w + 35 s (expire + period, as expire is a multiple of the period). A power cut at a time uniform
    # over a cycle loses everything since the last write-back: a window uniform on [0, 35 s), mean
    # (expire + period) / 2 = 17.5 s, standard deviation 35 / sqrt(12) = 10.1 s. (The old model kept what
    # was 30 s old at the last wake-up: always 30-35 s, mean 32.5 s.)
    gap = 0.01
    log = log_written_at(np.arange(0.0, 200.0, gap))  # what is written after the cut plays no part
    rng = np.random.default_rng(7)
    windows = []
    for _ in range(400):
        cut, phase = float(rng.uniform(80, 200)), float(rng.uniform(0, PERIOD))
        durable = linux(writeback_phase=phase).durable_offset(log, cut, 0.0)
        windows.append(cut - log.written[log.index_of(durable) - 1])  # back to the last batch on disk
    windows = np.array(windows)
    assert windows.min() >= 0 and windows.max() <= EXPIRE + PERIOD + gap
    assert windows.min() < 2 and windows.max() > 33  # the whole range, not a 5 s band
    expected = (EXPIRE + PERIOD) / 2 + gap / 2
    assert abs(windows.mean() - expected) < 3 * (EXPIRE + PERIOD) / math.sqrt(12) / math.sqrt(len(windows))


def test_an_fsync_cleans_the_inode_and_the_next_write_starts_a_new_30_s():
    pc = linux(flush_messages=25)
    log = ReplicaLog()
    for t in (1.0, 2.0, 3.0, 20.0, 22.0):
        append(log, t)
        pc.on_append(log, t)
    # 30 records fsynced at 3 s; the write at 20 s dirtied the clean file: due at 50 s, not at 35 s, and
    # then the write of 22 s goes with it
    assert pc.durable_offset(log, 45.0, 0.0) == 30
    assert pc.durable_offset(log, 50.0, 0.0) == 50


def test_a_rolled_segment_is_on_disk_and_the_new_one_is_a_new_inode():
    # 1 KiB records: a 10-record segment is 10340 bytes; 6-record batches at 1 s and 2 s roll it at 2 s
    pc = linux(segment_bytes=10340, fsync=0.001)
    log = ReplicaLog()
    for t in (1.0, 2.0, 4.0, 20.0):
        append(log, t, 4 if t > 3 else 6)
        pc.on_append(log, t)
    assert log.segment_base == 12
    assert pc.durable_offset(log, 2.0005, 0.0) == 0  # the fsync of the rolled segment is running
    assert pc.durable_offset(log, 10.0, 0.0) == 12  # the rolled segment is on disk
    # the new segment turned dirty at 4 s: written back whole at the first wake-up from 34 s
    assert pc.durable_offset(log, 34.9, 0.0) == 12
    assert pc.durable_offset(log, 35.0, 0.0) == 20


def test_background_write_back_keeps_at_most_the_ratio_of_memory_dirty_on_a_machine():
    # two logs on one machine, one 1 KiB record every 0.1 s to each, alternately; 30 s never pass, so only
    # background write-back writes anything: at most 10% of 2 MiB, the newest writes, stay dirty
    limit = 0.10 * 2 * 1024 * 1024
    pc = linux(background_bytes=limit)
    logs = {0: ReplicaLog(), 1: ReplicaLog()}
    for i in range(400):
        append(logs[i % 2], 0.05 * i, 1)
    durable = pc.durable_offsets(logs, 20.0, 0.0)
    per_batch = batch_bytes(1, 1024)
    lost = sum(log.leo - durable[p] for p, log in logs.items())
    assert limit - per_batch < lost * per_batch <= limit
    assert abs((logs[0].leo - durable[0]) - (logs[1].leo - durable[1])) <= 1  # the newest, from both logs
    assert linux().durable_offsets(logs, 20.0, 0.0) == {0: 0, 1: 0}  # no pressure: nothing is 30 s old


def test_a_new_random_stream_leaves_the_others_draws_unchanged():
    streams = make_streams(42)
    old = np.random.SeedSequence(42).spawn(8)  # the eight streams before "pagecache" was added
    for name, seed in zip(STREAMS[:8], old, strict=True):
        assert streams[name].random() == np.random.Generator(np.random.PCG64(seed)).random()
    assert STREAMS[-1] == "pagecache"


def test_without_write_back_only_kafka_flushes_count():
    log = log_written_at([1.0, 2.0])
    assert linux(writeback_period=NEVER).durable_offset(log, 1000.0, 0.0) == 0


def test_flush_messages_fsyncs_in_the_append_path_and_blocks_it_for_the_fsync():
    pc = linux(flush_messages=25, writeback_period=NEVER, fsync=0.002)
    log = ReplicaLog()
    blocked = []
    for t in (1.0, 2.0, 3.0):
        log.append(LogBatch(log.leo, 10, (slice(log.leo, log.leo + 10),), 0), t)
        blocked.append(pc.on_append(log, t))
    assert blocked == [0.0, 0.0, 0.002]  # the third append reached 25 unflushed messages
    assert pc.durable_offset(log, 3.001, 0.0) == 0  # the fsync is still running
    assert pc.durable_offset(log, 3.002, 0.0) == 30


def test_a_rolled_segment_is_flushed_in_the_background():
    # 1 KiB records: a 10-record segment is 10340 bytes
    pc = linux(writeback_period=NEVER, fsync=0.001, segment_bytes=10340)
    log = ReplicaLog()
    for t in (1.0, 2.0):
        log.append(LogBatch(log.leo, 6, (slice(log.leo, log.leo + 6),), 0), t)
        assert pc.on_append(log, t) == 0.0
    assert log.segment_base == 12 and pc.durable_offset(log, 2.5, 0.0) == 12
    assert pc.recovery_records(log) == 0


def test_clean_shutdown_flushes_everything():
    pc = linux(writeback_period=NEVER, fsync=0.001)
    log = log_written_at([1.0, 2.0])
    assert pc.flush(log, 3.0) == 0.001
    assert pc.durable_offset(log, 3.001, 0.0) == 20


def test_periodic_flush_needs_the_scheduler_to_run():
    log = log_written_at([1.0, 2.0, 3.0])
    # log.flush.interval.ms = 1 s does nothing while log.flush.scheduler.interval.ms is Long.MAX_VALUE
    assert linux(flush_interval=1.0, writeback_period=NEVER).durable_offset(log, 3.5, 0.0) == 0
    # with the scheduler every 1 s the last flush before 3.5 s was at 3 s
    pc = linux(flush_interval=1.0, scheduler_interval=1.0, writeback_period=NEVER)
    assert pc.durable_offset(log, 3.5, 0.0) == 30
    assert pc.durable_offset(log, 2.5, 0.0) == 20


SLOW = [1.0 + i for i in range(20)]  # one send per second from 1 s to 20 s


def _rf1(**extra):
    return {"producer__acks": "1", "producer__linger__ms": 0, "workload__duration": 60, **extra}


def test_power_loss_keeps_only_the_written_back_prefix():
    sends = SLOW + [36.0 + i for i in range(4)]  # and again from 36 s, once a second
    c = cluster(sends, faults=[{"at": 67.5, "action": "power_loss", "target": "broker:0"}],
                **_rf1(broker__model__writeback__phase__ms=0, workload__duration=80))
    c.env.run(until=67.6)
    log = c.brokers[0].logs[0]
    # the segment turned dirty at 1 s and was written back whole at 35 s; dirty again from 36 s, it is due
    # at the first wake-up from 66 s: 70 s, after the power failed. The sends of 36-39 s are lost.
    assert log.leo == 20
    assert c.brokers[0].counters.lost_on_power_loss == 4


def test_a_whole_cluster_power_loss_loses_a_different_window_on_each_machine_and_seed():
    sends = np.arange(0.0, 80.0, 0.1)  # 10 sends a second, RF 3: every broker appends all of them
    cut = 80.0
    windows = []
    for seed in (1, 2, 3):
        c = cluster(sends, faults=[{"at": cut, "action": "power_loss", "target": "all-brokers"}],
                    **_rf1(topic__replication__factor=3, workload__duration=90, sim__seed=seed))
        c.env.run(until=cut + 0.001)
        windows.append([lost_window(b.logs[0], cut) for b in c.brokers])
    flat = [w for per_seed in windows for w in per_seed]
    assert all(0 <= w <= EXPIRE + PERIOD + 0.1 for w in flat)
    assert all(len(set(per_seed)) == 3 for per_seed in windows)  # three machines, three flusher phases
    assert len({tuple(per_seed) for per_seed in windows}) == 3
    assert max(flat) - min(flat) > 1.0


def test_the_mean_window_lost_at_random_power_cuts_is_half_of_expire_plus_period():
    # one broker, 5 sends a second; a power cut at a random time in [40, 75) s on each of 25 seeds.
    # Expected lost window (test above): uniform on [0, 35 s), mean 17.5 s (+ half the 0.2 s gap),
    # standard error 10.1 / sqrt(25) = 2 s; the old model gave 30-35 s every time
    rng = np.random.default_rng(2026)
    sends = np.arange(0.0, 75.0, 0.2)
    windows = []
    for seed in range(25):
        cut = float(rng.uniform(40, 75))
        c = cluster(sends[sends < cut], faults=[{"at": cut, "action": "power_loss", "target": "broker:0"}],
                    **_rf1(workload__duration=80, sim__seed=seed))
        c.env.run(until=cut + 0.001)
        windows.append(lost_window(c.brokers[0].logs[0], cut))
    assert abs(np.mean(windows) - (EXPIRE + PERIOD) / 2) < 3 * 10.1 / math.sqrt(25)
    assert min(windows) < 10 and max(windows) > 25


def test_the_flusher_phase_is_drawn_per_machine_and_the_setting_fixes_it():
    phases = [b.page_cache.writeback_phase for b in cluster(cluster__brokers=3).brokers]
    assert len(set(phases)) == 3 and all(0 <= p < PERIOD for p in phases)
    assert phases == [b.page_cache.writeback_phase for b in cluster(cluster__brokers=3).brokers]
    assert phases != [b.page_cache.writeback_phase for b in cluster(cluster__brokers=3, sim__seed=5).brokers]
    fixed = cluster(cluster__brokers=3, broker__model__writeback__phase__ms=1500).brokers
    assert [b.page_cache.writeback_phase for b in fixed] == [1.5, 1.5, 1.5]


def test_process_crash_keeps_the_page_cache():
    c = cluster(SLOW, faults=[{"at": 37.5, "action": "crash", "target": "broker:0", "duration": 1}], **_rf1())
    c.env.run(until=40)
    assert c.brokers[0].logs[0].leo == 20


def test_flush_on_every_message_survives_power_loss():
    c = cluster(SLOW, faults=[{"at": 37.5, "action": "power_loss", "target": "broker:0"}],
                **_rf1(topic__flush__messages=1))
    c.env.run(until=37.6)
    assert c.brokers[0].logs[0].leo == 20


def test_power_loss_of_every_replica_loses_acknowledged_data():
    # acks=all, RF 3, min.insync.replicas 2: committed everywhere, yet only in page caches
    faults = [{"at": 25.0, "action": "power_loss", "target": "all-brokers", "duration": 5}]
    cfg = config(producer__linger__ms=0, topic__replication__factor=3, topic__min__insync__replicas=2,
                 workload__duration=40, faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(SLOW))
    r = RunResult.from_cluster(c, 0.0)
    # at 25 s the last write-back (25 s) covered nothing dirty for 30 s: all 20 acked records are gone,
    # after a consumer had already processed them (phantom reads)
    assert r["acked_missing_from_log"] == {"total": 20, "processed_before_loss": 20, "never_written": 0,
                                           "by_cause": {"power_loss": 20}}
    assert r.outcomes["delivered"] == 20 and r.outcomes["lost_acked"] == 0


def test_power_loss_before_the_consumer_reads_is_lost_acked():
    faults = [{"at": 25.0, "action": "power_loss", "target": "all-brokers", "duration": 5},
              {"at": 0.5, "action": "consumer_crash", "duration": 35}]
    cfg = config(producer__linger__ms=0, topic__replication__factor=3, topic__min__insync__replicas=2,
                 consumer__auto__offset__reset="earliest", workload__duration=40, faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(SLOW))
    r = RunResult.from_cluster(c, 0.0)
    assert r["causes"]["lost_acked"] == {"lost_storage": 20}
    assert r["by_stage"]["broker"] == {"lost_acked": 20}
