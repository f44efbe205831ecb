"""Application re-sends (producer.app.resend, producer.app.resend.on.restart) and how the ledger counts them.

A re-send is a new send() of the same logical message: new ids, new sequence numbers, so
idempotence cannot recognise it. The outcome classes count logical messages (what the
application meant to send): copies and times processed add up over the attempts, the producer
result is the last attempt's.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.ledger import F_BUFFER_EXHAUSTED, F_DELIVERY_TIMEOUT, F_METADATA_TIMEOUT, F_RETRIES_EXHAUSTED, P_ACK, Ledger
from sim.result import RunResult
from sim.run import simulate
from sim.workload import ArrivalStream

from simtest import config
from test_accumulator import accumulator
from test_producer_scenarios import ONE_PARTITION, drop_window, log_ids

MS = 0.001


def run(times, faults, **overrides):
    cfg = config(**dict(ONE_PARTITION, **overrides), faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(times))
    return c, RunResult.from_cluster(c, 0.0)


# -- the ledger: logical messages -------------------------------------------------------------------

def test_classes_count_logical_messages_and_take_the_last_attempts_result():
    ledger = Ledger()
    first = ledger.allocate(np.array([0.1, 0.2, 0.3]))  # ids 0, 1, 2
    ledger.ack((slice(0, 1),), 0.15)
    ledger.fail_send((slice(1, 3),), True, F_DELIVERY_TIMEOUT)
    again = ledger.resend((slice(1, 3),), 1.0)  # ids 3, 4 repeat messages 1 and 2
    assert (first, again) == (slice(0, 3), slice(3, 5)) and list(ledger.origin[:5]) == [-1, -1, -1, 1, 2]
    ledger.ack((slice(3, 4),), 1.1)  # message 1's re-send succeeds
    ledger.fail_send((slice(4, 5),), True, F_RETRIES_EXHAUSTED)  # message 2 fails again
    # final log: message 0, message 1's first attempt (a false failure) and its re-send
    for ids in ((slice(0, 1),), (slice(1, 2),), (slice(3, 4),)):
        ledger.mark_appended(ids)
        ledger.mark_processed(ids)
    out = ledger.classify({0: [(0, (slice(0, 2),)), (2, (slice(3, 4),))]}, {0: 3})
    assert out.n == 3 and sum(out.counts.values()) == 3
    assert out.counts["delivered"] == 1 and out.counts["duplicated"] == 1 and out.counts["failed_visible"] == 1
    assert out.causes["duplicated"] == {"dup_log": 1}
    assert out.causes["failed_visible"] == {"retries_exhausted": 1}  # the last attempt's cause


def test_a_re_sent_message_written_once_is_delivered_ok():
    ledger = Ledger()
    ledger.allocate(np.array([0.1]))
    ledger.fail_send((slice(0, 1),), True, F_METADATA_TIMEOUT)
    ledger.resend((slice(0, 1),), 0.5)
    ledger.resend((slice(1, 2),), 0.9)  # a re-send of the re-send still repeats message 0
    assert ledger.origin[2] == 0
    ledger.ack((slice(2, 3),), 1.0)
    ledger.mark_appended((slice(2, 3),))
    ledger.mark_processed((slice(2, 3),))
    out = ledger.classify({0: [(0, (slice(2, 3),))]}, {0: 1})
    assert out.counts["delivered"] == 1 and out.causes["delivered"] == {"ok": 1} and out.n == 1


# -- timelines ----------------------------------------------------------------------------------------

def test_re_sending_a_false_failure_duplicates_it():
    # the response of message 1 is lost; with retries = 0 the send fails, yet it is in the log
    c, r = run([0.1, 0.2], [drop_window(0.2005, 0.2015)], producer__retries=0, producer__app__resend=True)
    assert log_ids(c) == [0, 1, 2]  # id 2 is message 1 again
    assert c.ledger.origin[2] == 1 and c.ledger.send_t[2] == pytest.approx(0.7)  # when the request timed out
    assert r["sent"] == 2 and r["producer"]["resends"] == 1
    assert r.outcomes["duplicated"] == 1 and r["causes"]["duplicated"] == {"dup_log": 1}


def test_idempotence_does_not_recognise_an_application_re_send():
    # message 1 appended, its response and every retry lost until 1.0 s: it expires at 0.8 s (a false
    # failure), the application sends it again with a new sequence number
    c, r = run([0.1, 0.2], [drop_window(0.2005, 1.0)], producer__acks="all", producer__delivery__timeout__ms=600,
               producer__app__resend=True)
    assert c.ledger.fail[1] == F_DELIVERY_TIMEOUT and c.ledger.origin[2] == 1
    ids = log_ids(c)
    assert ids[:2] == [0, 1] and len(ids) == 3 and c.ledger.origin[ids[2]] == 1  # the original and a re-send
    assert r.outcomes["duplicated"] == 1 and r["causes"]["duplicated"] == {"dup_log": 1}


def test_a_re_send_after_a_failure_that_never_reached_the_log_delivers_it_once():
    # cut off until 1 s: send() times out waiting for metadata (300 ms) at 0.31 s; the application
    # calls it again 100 ms later (producer.app.resend.backoff.ms), it times out again at 0.71 s; the
    # second re-send, at 0.81 s, gets the metadata (asked again by 1.1 s) and goes through
    faults = [{"at": 0, "action": "isolate", "target": "producer", "duration": 1.0}]
    c, r = run([0.01], faults, producer__max__block__ms=300, producer__app__resend=True)
    assert r["sent"] == 1 and r["producer"]["resends"] == 2
    assert list(c.ledger.fail[:2]) == [F_METADATA_TIMEOUT] * 2 and c.ledger.p[2] == P_ACK
    assert c.ledger.send_t[2] > 1.0
    assert r.outcomes["delivered"] == 1 and r["causes"]["delivered"] == {"ok": 1}


def test_no_re_send_once_the_application_closed_the_producer():
    # the failure comes during the drain (after close()): send() is no longer possible
    c, r = run([0.1, 2.9], [drop_window(2.9005, 3.0)], producer__retries=0, producer__app__resend=True)
    assert r["producer"]["resends"] == 0 and c.ledger.fail[1] == F_RETRIES_EXHAUSTED
    assert r["causes"]["delivered"] == {"ok": 1, "false_failure": 1}


# -- after a crash ----------------------------------------------------------------------------------

# message 1 reaches the leader at 0.201 and is appended; the producer dies at 0.2015, before the answer
CRASH_IN_FLIGHT = [{"at": 0.2015, "action": "producer_crash", "duration": 0.1}]


def test_a_crash_leaves_an_in_flight_record_in_doubt():
    c, r = run([0.1, 0.2], CRASH_IN_FLIGHT)
    assert log_ids(c) == [0, 1] and r["causes"]["delivered"] == {"ok": 1, "in_doubt": 1}


def test_re_sending_what_was_in_doubt_after_a_restart_duplicates_despite_idempotence():
    # the new producer has a new producer id: the broker cannot tell the re-send from a new record
    c, r = run([0.1, 0.2], CRASH_IN_FLIGHT, producer__acks="all", producer__app__resend__on__restart=True)
    assert c.producer.client.producer_id == 1002 and c.ledger.origin[2] == 1
    assert log_ids(c) == [0, 1, 2] and r.outcomes["duplicated"] == 1 and r["sent"] == 2


def test_a_keyed_record_is_re_sent_to_its_keys_partition():
    # the send for partition 2 times out waiting for memory; its re-send goes to partition 2 again
    failures = []
    acc, ledger = accumulator([0.0, 1 * MS, 2 * MS], partitions=3, keys=[0, 1, 2], buffer_memory=2 * 16384,
                              linger=1.0, max_block=0.1)
    acc.on_failure = lambda ids, cause, partition: failures.append((ids, cause, partition))
    acc.catch_up(0.103)
    assert failures == [((slice(2, 3),), F_BUFFER_EXHAUSTED, 2)]  # the send for partition 2 gave up
    acc.resend(failures[0][0], 1, failures[0][2], 0.103)
    acc.release(acc.pop_head(0), 0.15)
    acc.catch_up(0.15)
    assert [len(dq) for dq in acc.deques] == [0, 1, 1] and ledger.origin[3] == 2


def test_with_max_block_0_and_a_full_buffer_re_sends_wait_between_attempts():
    # buffer.memory holds one batch, held by a request the cut-off leader never answers: every later
    # send() fails at once (max.block.ms = 0). The application re-sends each after 100 ms, so simulated
    # time goes on and the number of attempts stays bounded (before: time froze while re-sends grew)
    faults = [{"at": 0.05, "action": "isolate", "target": "producer", "duration": 1.0}]
    c, r = run([0.01, 0.1, 0.2, 0.3], faults, producer__max__block__ms=0, producer__buffer__memory=16384,
               producer__app__resend=True, producer__request__timeout__ms=30000)
    assert c.drained and c.env.now > 1.0
    # two messages, an attempt each per 100 ms from 0.2 and 0.3 s until the request is answered (~1.05 s)
    assert 7 + 8 <= r["producer"]["resends"] <= 9 + 10
    assert r.outcomes["delivered"] == 4
