"""Producer timelines on a tiny cluster with a constant 1 ms one-way network delay.

A fresh producer first fetches metadata and opens a connection (one round trip each), so
each test sends a warm-up record at t=0.1 s and looks at later records.
"""

from __future__ import annotations

import pytest

from sim.ledger import (F_DELIVERY_TIMEOUT, F_METADATA_TIMEOUT, F_PRODUCER_CRASH, F_RECORD_TOO_LARGE, P_ACK,
                        P_NACK_SEEN, P_NACK_UNSEEN, P_NONE)
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import cluster, config

MS = 0.001


def run(c, until):
    c.env.run(until=until)
    return c


def test_acks_1_is_acknowledged_after_one_round_trip():
    c = run(cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=0, workload__duration=1), 0.3)
    assert c.ledger.ack_t[1] == pytest.approx(0.2 + 2 * MS)


def test_acks_all_waits_for_the_followers_next_fetch():
    # produce (1 ms) -> parked follower fetch answered (1 ms) -> follower's next fetch (1 ms) -> response (1 ms)
    c = run(cluster([0.1, 0.2], producer__linger__ms=0, workload__duration=1, topic__replication__factor=3), 0.3)
    assert c.ledger.ack_t[1] == pytest.approx(0.2 + 4 * MS)


def test_linger_holds_a_lone_record_back():
    c = run(cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=20, workload__duration=1), 0.3)
    assert c.ledger.ack_t[1] == pytest.approx(0.2 + 20 * MS + 2 * MS)


def test_acks_0_succeeds_when_the_request_is_written():
    c = run(cluster([0.1, 0.2], producer__acks="0", producer__linger__ms=0, workload__duration=1), 0.3)
    assert c.ledger.ack_t[1] == pytest.approx(0.2)
    assert c.ledger.appended[1]


def test_acks_all_timeout_reports_failure_for_a_record_that_is_in_the_log():
    # Both followers die at 0.15 s. The record sent at 0.2 s is appended (they are still in the ISR
    # until fenced), never replicated, retried (REQUEST_TIMED_OUT, then NOT_ENOUGH_REPLICAS once the
    # ISR is down to the leader) and expires after delivery.timeout.ms -- yet after the drain it is read.
    faults = [{"at": 0.15, "action": "crash", "target": "followers"}]
    cfg = config(producer__linger__ms=0, producer__delivery__timeout__ms=20000, producer__request__timeout__ms=5000,
                 workload__duration=30, topic__replication__factor=3, topic__min__insync__replicas=2,
                 faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 0.2]))
    assert c.ledger.p[0] == P_ACK
    assert c.ledger.p[1] == P_NACK_SEEN and c.ledger.fail[1] == F_DELIVERY_TIMEOUT
    assert c.producer.counters.retries > 1
    result = RunResult.from_cluster(c, 0.0)
    assert result.outcomes["delivered"] == 2
    assert result["causes"]["delivered"] == {"ok": 1, "false_failure": 1}


def test_fire_and_forget_failure_is_unseen():
    faults = [{"at": 0.15, "action": "crash", "target": "followers"}]  # as above, nobody looks at the result
    c = cluster([0.1, 0.2], producer__linger__ms=0, producer__delivery__timeout__ms=20000,
                producer__request__timeout__ms=5000, producer__app__callback="fire-and-forget",
                workload__duration=30, topic__replication__factor=3, topic__min__insync__replicas=2, faults=faults)
    run(c, 30)
    assert c.ledger.p[1] == P_NACK_UNSEEN


def test_producer_crash_loses_buffered_records_without_a_callback():
    faults = [{"at": 0.205, "action": "producer_crash"}]
    c = cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=50, workload__duration=1, faults=faults)
    run(c, 1)
    assert c.ledger.p[0] == P_ACK
    assert c.ledger.p[1] == P_NONE and c.ledger.fail[1] == F_PRODUCER_CRASH
    assert not c.ledger.appended[1]


def test_producer_restart_sends_with_a_new_producer_id_and_skips_the_downtime():
    faults = [{"at": 0.15, "action": "producer_crash", "duration": 0.1}]
    c = cluster([0.1, 0.2, 0.3], producer__acks="1", producer__linger__ms=0, workload__duration=1, faults=faults)
    run(c, 1)
    assert c.ledger.n == 2  # the send at 0.2 never happened: the application was down
    assert c.producer.instances == 2 and c.producer.client.producer_id == 1002
    assert c.ledger.p[1] == P_ACK


def test_request_timeout_closes_the_connection_and_retries_without_idempotence_duplicates():
    # the leader is cut off from clients after appending (t=0.201) but before replying (t=0.202)
    faults = [{"at": 0.2015, "action": "isolate", "target": "leader", "from": "clients", "duration": 1.0}]
    c = cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=0, producer__enable__idempotence=False,
                producer__request__timeout__ms=500, workload__duration=3, faults=faults)
    run(c, 3)
    assert c.producer.counters.request_timeouts >= 1
    log = c.brokers[0].logs[0]
    copies = [b.ids for b in log.batches if b.ids[0].start <= 1 < b.ids[0].stop]
    assert len(copies) == 2  # the retry appended a second copy
    assert c.ledger.p[1] == P_ACK


def test_idempotent_retry_after_a_lost_response_is_not_appended_twice():
    faults = [{"at": 0.2015, "action": "isolate", "target": "leader", "from": "clients", "duration": 1.0}]
    c = cluster([0.1, 0.2], producer__linger__ms=0, producer__request__timeout__ms=500, workload__duration=3,
                faults=faults)
    run(c, 3)
    assert c.producer.counters.request_timeouts >= 1
    log = c.brokers[0].logs[0]
    assert sum(1 for b in log.batches if b.ids[0].start <= 1 < b.ids[0].stop) == 1
    assert c.ledger.p[1] == P_ACK


def test_every_batch_completes_once_end_to_end():
    cfg = config(workload__duration=5, workload__rate=2000, topic__partitions=3, topic__replication__factor=3,
                 producer__enable__idempotence=False, producer__acks="1")
    c = simulate(cfg)
    n = c.ledger.n
    assert (c.ledger.p[:n] == P_ACK).all()
    counters = c.producer.counters
    assert counters.records_sent == n and counters.retries == 0


def test_latency_spike_on_the_producer_link_delays_the_acknowledgement():
    faults = [{"at": 0.15, "action": "latency_spike", "target": "producer", "extra_ms": 30, "duration": 0.1}]
    c = run(cluster([0.1, 0.2, 0.3], producer__acks="1", producer__linger__ms=0, workload__duration=1,
                    faults=faults), 0.5)
    assert c.ledger.ack_t[1] == pytest.approx(0.2 + 2 * MS + 60 * MS)  # 30 ms each way
    assert c.ledger.ack_t[2] == pytest.approx(0.3 + 2 * MS)  # the spike ended at 0.25 s


def test_isolated_producer_link_holds_the_request_until_the_heal():
    faults = [{"at": 0.15, "action": "isolate", "target": "producer", "duration": 0.5}]
    c = run(cluster([0.1, 0.2], producer__acks="1", producer__linger__ms=0, workload__duration=1,
                    faults=faults), 1)
    assert c.ledger.ack_t[1] == pytest.approx(0.65 + 2 * MS)  # TCP retransmits it once the link heals
    assert c.producer.counters.request_timeouts == 0


def test_a_send_before_the_first_metadata_waits_for_it():
    # metadata request 0 -> 1 ms -> answer at 2 ms; then connect (2 ms) and produce (2 ms)
    c = run(cluster([0.0005, 0.1], producer__acks="1", producer__linger__ms=0, workload__duration=1), 0.5)
    assert c.ledger.send_t[0] == pytest.approx(2 * MS) and c.ledger.ack_t[0] == pytest.approx(6 * MS)
    assert c.ledger.send_t[1] == pytest.approx(0.1 + 1.5 * MS)  # the application thread was stuck 1.5 ms


def test_metadata_wait_fails_after_max_block_while_the_producer_is_cut_off():
    faults = [{"at": 0, "action": "isolate", "target": "producer", "duration": 1.0}]
    c = run(cluster([0.01, 0.05, 1.5], producer__acks="1", producer__linger__ms=0, producer__max__block__ms=300,
                    workload__duration=3, faults=faults), 3)
    assert list(c.ledger.fail[:2]) == [F_METADATA_TIMEOUT, F_METADATA_TIMEOUT]
    assert list(c.ledger.p[:3]) == [P_NACK_SEEN, P_NACK_SEEN, P_ACK]
    assert c.ledger.send_t[2] == pytest.approx(1.5 + 0.6)  # two sends spent 300 ms each in send()
    assert c.producer.client.accumulator.metadata_timeouts == 2


def test_records_above_max_request_size_fail_at_send_and_nobody_sees_it():
    cfg = config(producer__max__request__size=1500, workload__message__bytes=2000, workload__duration=1,
                 producer__app__callback="fire-and-forget")
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 0.2]))
    assert (c.ledger.p[:2] == P_NACK_UNSEEN).all() and (c.ledger.fail[:2] == F_RECORD_TOO_LARGE).all()
    result = RunResult.from_cluster(c, 0.0)
    assert result.outcomes["failed_silent"] == 2 and result["causes"]["failed_silent"] == {"record_too_large": 2}
    assert result["producer"]["requests"] == 0


def test_flush_sends_a_lingering_batch_at_once_and_returns_when_it_is_acknowledged():
    c = cluster([0.1, 0.2005], producer__acks="1", producer__linger__ms=1000, workload__duration=2)
    returned = []

    def app():
        yield c.env.timeout(0.2)
        yield c.producer.client.flush()
        returned.append(c.env.now)

    c.env.process(app())
    run(c, 1.5)
    # no connection yet: connect (2 ms), then produce (2 ms)
    assert c.ledger.ack_t[0] == pytest.approx(0.2 + 4 * MS) and returned == [pytest.approx(0.2 + 4 * MS)]
    assert c.ledger.send_t[1] == pytest.approx(0.2045)  # the send at 0.2005 waited 4 ms for flush() to return
    assert c.ledger.ack_t[1] == pytest.approx(1.2045 + 2 * MS)  # and then lingered


def test_close_with_acks_0_waits_until_the_broker_has_every_byte():
    # the last request is still on the wire when production ends: close() must not let the drain
    # declare the cluster settled (and the consumer finish) before it arrives
    faults = [{"at": 0.99, "action": "latency_spike", "target": "producer", "extra_ms": 50}]
    cfg = config(producer__acks="0", producer__linger__ms=0, workload__duration=1, consumer__fetch__max__wait__ms=10,
                 faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 0.9995]))  # the second arrives at 1.0505
    result = RunResult.from_cluster(c, 0.0)
    assert result.outcomes["delivered"] == 2 and result.outcomes["unconsumed"] == 0
