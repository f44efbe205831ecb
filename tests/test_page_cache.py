"""What survives a power loss: Kafka's own flushes and Linux's dirty-page write-back.

Linux defaults: the flusher wakes every 5 s (vm.dirty_writeback_centisecs = 500) and writes
pages dirty for more than 30 s (vm.dirty_expire_centisecs = 3000). Kafka by default never
fsyncs on the write path. A process crash keeps the page cache; a power loss does not.
"""

from __future__ import annotations

import math


from sim.broker.page_cache import PageCache
from sim.broker.replica_log import LogBatch, ReplicaLog
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

NEVER = math.inf


def log_written_at(times, per_batch=10):
    log = ReplicaLog()
    for t in times:
        log.append(LogBatch(log.leo, per_batch, (slice(log.leo, log.leo + per_batch),), 0), t)
    return log


def linux(**kw):
    args = dict(flush_messages=NEVER, flush_interval=NEVER, scheduler_interval=NEVER, writeback_period=5.0,
                dirty_expire=30.0)
    args.update(kw)
    return PageCache(**args)


def test_os_writes_back_only_pages_dirty_for_30_s_at_its_5_s_wakeups():
    log = log_written_at([1.0, 2.0, 3.0, 4.0, 6.0])
    pc = linux()
    assert pc.durable_offset(log, 33.9, 0.0) == 0  # last wake-up at 30 s: nothing older than 0 s
    assert pc.durable_offset(log, 35.0, 0.0) == 40  # wake-up at 35 s writes what was dirty before 5 s
    assert pc.durable_offset(log, 39.9, 0.0) == 40
    assert pc.durable_offset(log, 40.0, 0.0) == 50


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
    return dict(producer__acks="1", producer__linger__ms=0, workload__duration=60, **extra)


def test_power_loss_keeps_only_the_written_back_prefix():
    c = cluster(SLOW, faults=[{"at": 37.5, "action": "power_loss", "target": "broker:0"}], **_rf1())
    c.env.run(until=37.6)
    log = c.brokers[0].logs[0]
    # last write-back at 35 s covered pages dirty since before 5 s: the sends of 1..4 s
    assert log.leo == 4
    assert c.brokers[0].counters.lost_on_power_loss == 16


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
