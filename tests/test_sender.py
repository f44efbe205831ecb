"""Sender and idempotence timelines against scripted brokers (tests/mockbroker.py).

Each test mirrors a behaviour Kafka's SenderTest, RecordAccumulatorTest or TransactionManagerTest
checks (clients/src/test/java/org/apache/kafka/clients/producer/internals/), written for the
model: 1 ms links, the producer's metadata answered at 2 ms, a new connection open 2 ms after
the first batch is ready, and responses sent when the test says so. `sent()` lists what reached
a broker: (time, [(partition, base sequence, producer epoch, records)]).
"""

from __future__ import annotations

import pytest

from sim import protocol as P
from sim.ledger import F_BUFFER_EXHAUSTED, F_DELIVERY_TIMEOUT, F_FATAL, F_RETRIES_EXHAUSTED, P_ACK, P_NACK_SEEN, P_NONE

from mockbroker import MS, Harness

EXACT = dict(producer__linger__ms=0, producer__retry__backoff__ms=0)  # no jitter in the timelines
SLOW_RETRY = dict(producer__linger__ms=0, producer__retry__backoff__ms=5000, producer__retry__backoff__max__ms=5000,
                  producer__delivery__timeout__ms=1500, producer__request__timeout__ms=1500)


def times(h, broker=0):
    return [round(t, 6) for t, _ in h.sent(broker)]


def batches(h, broker=0):
    return [b for _, b in h.sent(broker)]


# -- idempotence: sequences, retries in order, epoch bumps -------------------------------------------

def test_batches_in_flight_get_consecutive_sequences_acknowledged_in_turn():
    # SenderTest.testIdempotenceWithMultipleInflights
    h = Harness([0.1, 0.2], **EXACT).run(0.25)
    assert times(h) == [0.103, 0.201] and batches(h) == [[(0, 0, 0, 1)], [(0, 1, 0, 1)]]
    h.respond(0.3, None)
    h.run(0.31)
    assert h.idem.entry(0).last_acked == 0 and h.ledger.p[0] == P_ACK and h.ledger.p[1] == P_NONE
    h.respond(0.4, None)
    h.run(0.41)
    assert h.idem.entry(0).last_acked == 1 and h.ledger.p[1] == P_ACK and not h.idem.entry(0).inflight


def test_retries_go_one_at_a_time_in_sequence_order_and_new_batches_wait():
    # SenderTest.testIdempotenceWithMultipleInflightsRetriedInOrder
    h = Harness([0.1, 0.2, 0.3, 0.55], **EXACT)
    h.respond(0.4, P.NOT_ENOUGH_REPLICAS)  # seq 0 fails; it is the first in flight, so it goes again at once
    h.respond(0.5, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # seq 1 (the broker lacks seq 0): retried, after seq 0
    h.run(0.56)
    assert h.idem.entry(0).next_seq == 3  # the send at 0.55 is queued behind the retry, not stamped
    h.respond(0.6, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # seq 2
    h.respond(0.7, None)  # the retry of seq 0: now seq 1 may go, alone
    h.run(0.75)
    assert times(h)[4:] == [0.702]
    h.respond(0.8, None)  # seq 2 goes, the last retry; the new batch is no retry and follows at once
    h.run(0.85)
    assert times(h) == [0.103, 0.201, 0.301, 0.402, 0.702, 0.802, 0.802]
    assert [b[0][1] for b in batches(h)] == [0, 1, 2, 0, 1, 2, 3]
    assert h.idem.epoch == 0 and h.producer.counters.epoch_bumps == 0


def test_a_late_first_retry_keeps_the_acknowledged_sequence():
    # SenderTest.testCorrectHandlingOfOutOfOrderResponsesWhenSecondSucceeds: answers can only come out
    # of order from two connections, here because the leader moved between the two batches
    h = Harness([0.1, 0.2], brokers=2, **EXACT).run(0.15)
    h.leaders[0] = (1, 1)
    h.producer.metadata.request_update()
    h.respond(0.3, None, broker=1)  # seq 1, on the new leader, answered first
    h.run(0.31)
    assert h.idem.entry(0).last_acked == 1 and batches(h, 1) == [[(0, 1, 0, 1)]]
    h.respond(0.4, P.REQUEST_TIMED_OUT, broker=0)
    h.run(0.45)
    assert batches(h, 1)[-1] == [(0, 0, 0, 1)] and times(h, 1)[-1] == 0.402  # seq 0 again, same epoch
    h.respond(0.5, None, broker=1)
    h.run(0.6)
    assert h.idem.entry(0).last_acked == 1 and list(h.ledger.p[:2]) == [P_ACK, P_ACK]


def test_out_of_order_sequence_right_after_the_last_acknowledged_batch_bumps_the_epoch():
    # SenderTest.testEpochBumpOnOutOfOrderSequenceForNextBatch: a real gap (the broker lost seq 2's
    # predecessor state); the batch is rewritten to sequence 0 of epoch 1 and sent again
    h = Harness([0.1, 0.1, 0.2], **EXACT).run(0.15)
    assert batches(h) == [[(0, 0, 0, 2)]]  # both records of 0.1 in one batch: sequences 0-1
    h.respond(0.15, None)
    h.respond(0.3, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # seq 2 is the next one: a gap
    h.run(0.35)
    assert h.idem.epoch == 1 and h.producer.counters.epoch_bumps == 1
    assert h.idem.entry(0).next_seq == 1 and h.idem.entry(0).inflight[0].base_seq == 0
    assert batches(h)[-1] == [(0, 0, 1, 1)] and times(h)[-1] == 0.302


def test_a_partition_with_nothing_in_flight_restarts_its_sequences_at_its_next_batch():
    # SenderTest.testEpochBumpOnOutOfOrderSequenceForNextBatchWhenThereIsNoBatchInFlight
    h = Harness([0.1, 0.2, 0.3, 0.5], partitions=2, keys=[0, 1, 0, 1], **EXACT)
    h.respond(0.15, None)
    h.respond(0.25, None)
    h.respond(0.35, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # p0 seq 1
    h.run(0.4)
    p1 = h.idem.entry(1)
    assert h.idem.epoch == 1 and (p1.epoch, p1.next_seq, p1.last_acked) == (0, 1, 0)  # stale, untouched
    h.run(0.6)
    assert batches(h)[-1] == [(1, 0, 1, 1)]  # p1's next batch: sequence 0 of epoch 1
    assert (p1.epoch, p1.next_seq, p1.last_acked) == (1, 1, -1)


def test_a_fatal_error_burns_the_sequence_and_the_next_batch_is_renumbered():
    # SenderTest.testIdempotenceWithMultipleInflightsWhereFirstFailsFatallyAndSequenceOfFutureBatchesIsAdjusted
    # (idempotent, not transactional: Kafka bumps the epoch instead of shifting sequences)
    h = Harness([0.1, 0.2], **EXACT).run(0.25)
    h.respond(0.3, P.TOPIC_AUTHORIZATION_FAILED)
    h.run(0.35)
    assert h.ledger.p[0] == P_NACK_SEEN and h.ledger.fail[0] == F_FATAL
    assert h.idem.epoch == 1 and h.idem.entry(0).inflight[0].base_seq == 0  # seq 1 in flight became seq 0
    h.respond(0.4, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # the old request, sent as seq 1 of epoch 0
    h.run(0.45)
    assert batches(h)[-1] == [(0, 0, 1, 1)] and times(h)[-1] == 0.402


# -- idempotence: expiry, unresolved sequences (KIP-360) ----------------------------------------------

def test_expiry_of_a_batch_never_sent_leaves_no_doubt():
    # SenderTest.testExpiryOfUnsentBatchesShouldNotCauseUnresolvedSequences
    h = Harness([0.1], **SLOW_RETRY)
    h.brokers[0].silent = True  # the connection is never established
    h.run(1.7)
    assert h.ledger.fail[0] == F_DELIVERY_TIMEOUT and h.sent() == []
    assert h.idem.unresolved == {} and h.idem.epoch == 0


def test_expired_retry_is_resolved_when_a_later_batch_succeeds():
    # SenderTest.testExpiryOfFirstBatchShouldNotCauseUnresolvedSequencesIfFutureBatchesSucceed
    h = Harness([0.1, 0.6, 1.65], **SLOW_RETRY)
    h.respond(0.7, P.REQUEST_TIMED_OUT)  # seq 0 waits 4-5 s to retry; it expires at 1.6 in the queue
    h.run(1.61)
    assert h.ledger.fail[0] == F_DELIVERY_TIMEOUT and h.idem.unresolved == {0: 1}
    h.run(1.69)
    assert len(h.sent()) == 2  # the batch of 1.65 is held: the partition is unresolved
    h.respond(1.69, None)  # seq 1 succeeds, so seq 0 must have been written: resolved
    h.run(1.8)
    assert h.idem.unresolved == {} and h.idem.epoch == 0
    assert batches(h)[-1] == [(0, 2, 0, 1)] and times(h)[-1] == 1.692


def test_expired_retry_followed_by_a_gap_bumps_the_epoch():
    # SenderTest.testExpiryOfFirstBatchShouldCauseEpochBumpIfFutureBatchesFail
    h = Harness([0.1, 0.6, 1.65], **SLOW_RETRY)
    h.respond(0.7, P.NOT_ENOUGH_REPLICAS)
    h.run(1.61)
    assert h.idem.unresolved == {0: 1}
    h.respond(1.69, P.OUT_OF_ORDER_SEQUENCE_NUMBER)  # seq 1 right after the unresolved one: a gap
    h.run(1.7)
    assert h.idem.epoch == 1 and h.idem.unresolved == {} and h.idem.entry(0).next_seq == 1
    assert [b.base_seq for b in h.producer.accumulator.deques[0]] == [0, None]  # the retry, renumbered; then new


def test_expiry_of_every_sent_batch_bumps_the_epoch():
    # SenderTest.testExpiryOfAllSentBatchesShouldCauseUnresolvedSequences
    h = Harness([0.1], **SLOW_RETRY)
    h.respond(0.2, P.NOT_ENOUGH_REPLICAS)
    h.run(1.7)
    assert h.ledger.fail[0] == F_DELIVERY_TIMEOUT
    assert h.idem.epoch == 1 and h.idem.unresolved == {} and h.idem.entry(0).next_seq == 0


# -- delivery timeout in flight, ordering with max.in.flight = 1 --------------------------------------

def test_success_after_in_flight_expiry_is_ignored():
    # SenderTest.testInflightBatchesExpireOnDeliveryTimeout: failed, yet written (false failure)
    h = Harness([0.1], **SLOW_RETRY)
    h.respond(1.6005, None)  # the batch expired at 1.6, the answer arrives at 1.6015
    h.run(2.0)
    assert h.ledger.p[0] == P_NACK_SEEN and h.ledger.fail[0] == F_DELIVERY_TIMEOUT
    assert h.producer.counters.late_successes == 1 and h.producer.counters.expired_batches == 1
    assert h.idem.entry(0).last_acked == 0  # the sequence state still learns it was written


def test_with_one_in_flight_the_next_batch_waits_for_the_expired_ones_response():
    # SenderTest.testWhenFirstBatchExpireNoSendSecondBatchIfGuaranteeOrder
    h = Harness([0.1, 0.9], producer__max__in__flight__requests__per__connection=1,
                producer__enable__idempotence=False, **SLOW_RETRY)
    h.run(1.6005)
    assert h.ledger.fail[0] == F_DELIVERY_TIMEOUT and times(h) == [0.103]  # expired at 1.6, still muted
    h.respond(1.6005, None)  # arrives at 1.6015, before the request timeout (1.602)
    h.run(1.7)
    assert times(h) == [0.103, 1.6025]


def test_an_expired_batch_is_not_retried():
    # SenderTest.testExpiredBatchDoesNotRetry
    h = Harness([0.1], producer__enable__idempotence=False, **SLOW_RETRY)
    h.respond(1.6005, P.NOT_ENOUGH_REPLICAS)
    h.run(10)
    assert h.ledger.fail[0] == F_DELIVERY_TIMEOUT and len(h.sent()) == 1
    assert h.producer.counters.retries == 0


def test_muted_partition_follows_its_leader_only_after_the_answer():
    # SenderTest.testSendInOrder: with max.in.flight = 1 the partition stays muted even when its
    # leader moves, so the second batch cannot overtake the first on the new leader
    h = Harness([0.1, 0.5], brokers=2, producer__max__in__flight__requests__per__connection=1, **EXACT)
    h.run(0.3)
    h.leaders[0] = (1, 1)
    h.producer.metadata.request_update()
    h.respond(0.6, None)
    h.run(0.7)
    assert times(h, 0) == [0.103] and times(h, 1) == [0.604]  # connect to broker 1 only after 0.601


# -- retries, backoff, request timeout, disconnects -------------------------------------------------

def test_retries_exhausted_after_disconnects():
    # SenderTest.testRetries (retries = 1): the first reset is retried, the second fails the batch
    h = Harness([0.1], producer__enable__idempotence=False, producer__retries=1, **EXACT)
    h.run(0.2)
    h.brokers[0].reset_connections(h.app)
    h.run(0.5)
    assert len(h.sent()) == 2 and h.ledger.p[0] == P_NONE
    h.brokers[0].reset_connections(h.app)
    h.run(0.6)
    assert h.ledger.p[0] == P_NACK_SEEN and h.ledger.fail[0] == F_RETRIES_EXHAUSTED


def test_retry_waits_out_its_backoff():
    # SenderTest.testSenderShouldRetryWithBackoffOnRetriableError: 100 ms +-20 %
    h = Harness([0.1], producer__linger__ms=0)
    h.respond(0.2, P.NOT_ENOUGH_REPLICAS)
    h.run(0.5)
    assert 0.201 + 0.080 + MS <= times(h)[-1] <= 0.201 + 0.120 + MS


def test_backoff_doubles_per_attempt_up_to_the_maximum():
    # RecordAccumulatorTest.testExponentialRetryBackoff: 100, 200, 400, 800 ms (+-20 %), then 1000 ms
    h = Harness([0.1], producer__linger__ms=0)
    t = 0.2
    gaps = []
    for _attempt in range(5):
        h.respond(t, P.NOT_ENOUGH_REPLICAS)
        h.run(t + 1.5)
        resent = h.sent()[-1][0]
        gaps.append(resent - (t + MS) - MS)
        t += 1.51
    for gap, base in zip(gaps[:4], (0.1, 0.2, 0.4, 0.8), strict=True):
        assert 0.8 * base - 1e-9 <= gap <= 1.2 * base + 1e-9
    assert gaps[4] == pytest.approx(1.0)  # 1.6 s x U(0.8, 1.2) is above retry.backoff.max.ms


def test_a_new_leader_skips_the_retry_backoff():
    # RecordAccumulatorTest.testExponentialRetryBackoffLeaderChange / KAFKA-15415
    h = Harness([1.0], brokers=2, producer__linger__ms=0)
    h.run(1.05)
    h.leaders[0] = (1, 1)
    h.respond(1.1, P.NOT_LEADER_OR_FOLLOWER)  # metadata refreshed at 1.101, answered at 1.103
    h.run(1.5)
    assert times(h, 0) == [1.003] and times(h, 1) == [1.106]  # connect 1.103 -> 1.105, no 100 ms backoff


def test_the_same_leader_keeps_the_retry_backoff():
    h = Harness([1.0], brokers=2, producer__linger__ms=0)
    h.respond(1.1, P.NOT_LEADER_OR_FOLLOWER)
    h.run(1.5)
    assert times(h, 1) == [] and 1.101 + 0.080 + MS <= times(h, 0)[1] <= 1.101 + 0.120 + MS


def test_request_timeout_closes_the_connection_and_retries_with_the_same_sequence():
    # NetworkClient.handleTimedOutRequests: the connection closes, in-flight requests fail as retriable
    h = Harness([0.1], producer__linger__ms=0, producer__request__timeout__ms=500)
    h.run(1.0)
    assert h.brokers[0].closed == [1] and h.producer.counters.request_timeouts == 1
    assert batches(h) == [[(0, 0, 0, 1)], [(0, 0, 0, 1)]] and times(h)[1] > 0.602


# -- draining -------------------------------------------------------------------------------------

def test_drain_fills_requests_up_to_max_request_size():
    # RecordAccumulatorTest.testPartialDrain / testDrainBatches: one batch per partition per request
    h = Harness([0.1, 0.1, 0.1], partitions=3, keys=[0, 1, 2], producer__linger__ms=0,
                producer__max__request__size=2300)  # a one-record batch is 1095 bytes: two fit
    h.run(0.2)
    assert times(h) == [0.103, 0.103]
    assert [[b[0] for b in req] for req in batches(h)] == [[0, 1], [2]]


def test_a_batch_larger_than_max_request_size_still_goes_alone():
    # RecordAccumulator.drainBatchesForOneNode: the first batch of a request is never held back
    h = Harness([0.1 + i * MS for i in range(16)], producer__linger__ms=1000, producer__max__request__size=5000)
    h.run(0.2)
    assert batches(h) == [[(0, 0, 0, 15)]]  # 15571 bytes; the 16th record closed it, so it goes at once


def test_a_retrying_partition_holds_back_the_drain_of_the_partitions_after_it():
    # RecordAccumulator.drainBatchesForOneNode stops (break) at a partition that may not drain, and
    # the next drain starts there again: partitions on the same leader wait for the retry's answer
    # three partitions on one broker; the drains visit them from where the last one stopped
    h = Harness([0.1, 0.2, 0.3], partitions=3, keys=[0, 0, 2], **EXACT)
    h.respond(0.25, P.NOT_ENOUGH_REPLICAS)  # p0 seq 0 resent at 0.251; p0 seq 1 still in flight
    h.respond(0.26, P.OUT_OF_ORDER_SEQUENCE_NUMBER, index=0)  # seq 1 requeued behind the retry
    h.run(0.35)
    assert [b[0][:2] for b in batches(h)] == [(0, 0), (0, 1), (0, 0)]  # p2's batch of 0.3 is held
    h.respond(0.4, None)  # the retry of seq 0 succeeds: seq 1 and p2's batch go together
    h.run(0.45)
    assert batches(h)[-1] == [(0, 1, 0, 1), (2, 0, 0, 1)] and times(h)[-1] == 0.402


SENDER_TESTS_NOT_APPLICABLE = {
    "testMessageFormatDownConversion / testDownConversionForMismatchedMagicValues": "one record format (v2)",
    "testQuotaMetrics / testSenderMetricsTemplates / testNodeLatencyStats": "no client metrics or quotas",
    "testAppendInExpiryCallback": "callbacks do not append (producer.app.resend re-sends through the accumulator)",
    "testMetadataTopicExpiry": "one topic, always in the metadata",
    "testInitProducerIdRequest / testClusterAuthorizationExceptionInInitProducerIdRequest / "
    "testIdempotentInitProducerIdWithMaxInFlightOne / testNodeNotReady":
        "the producer id is assigned at construction, no InitProducerId round trip",
    "testResetOfProducerStateShouldAllowQueuedBatchesToDrain / testCloseWithProducerIdReset / "
    "testForceCloseWithProducerIdReset / testRetryWhenProducerIdChanges":
        "the epoch never reaches Short.MAX_VALUE, so the producer id is never reset",
    "testUnknownProducerErrorShouldBeRetriedWhenLogStartOffsetIsUnknown and other UNKNOWN_PRODUCER_ID tests":
        "current brokers no longer send UNKNOWN_PRODUCER_ID (the model's brokers accept any sequence instead)",
    "testCorrectHandlingOfDuplicateSequenceError": "current brokers answer duplicates with the original offsets",
    "testIdempotentSplitBatchAndSend / testTransactionalSplitBatchAndSend / "
    "testExpiredBatchDoesNotSplitOnMessageTooLargeError": "no MESSAGE_TOO_LARGE from brokers, no batch splitting",
    "testRecordErrorPropagatedToApplication": "no per-record errors (INVALID_RECORD)",
    "testTransactional* / testUnresolvedSequencesAreNotFatal / *Transaction* tests": "transactions are not modelled",
    "testCancelInFlightRequestAfterFatalError / testClusterAuthorizationExceptionInProduceRequest / "
    "testUnsupportedVersionInProduceRequest": "no fatal producer state (authorization, versions)",
    "testNoDoubleDeallocation": "memory is a count of buffers, released once per completed batch by construction",
    "testResetNextBatchExpiry / testDoNotPollWhenNoRequestSent": "about NetworkClient.poll timeouts: the model's "
                                                                  "sender sleeps until its next deadline instead",
}


def test_five_requests_in_flight_at_most_per_connection():
    # NetworkClient: InFlightRequests.canSendMore (max.in.flight.requests.per.connection)
    h = Harness([0.1 + i * 0.01 for i in range(6)], **EXACT).run(0.2)
    assert len(h.sent()) == 5 and h.idem.entry(0).next_seq == 5  # the sixth batch waits undrained
    h.respond(0.25, None)
    h.run(0.3)
    assert times(h)[-1] == 0.252 and batches(h)[-1] == [(0, 5, 0, 1)]


def test_not_enough_replicas_after_append_is_retried_with_the_same_sequence():
    # Sender.completeBatch: NOT_ENOUGH_REPLICAS_AFTER_APPEND is retriable (the data was appended, so the
    # broker's duplicate window answers the retry)
    h = Harness([0.1], **EXACT)
    h.respond(0.2, P.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    h.run(0.25)
    assert batches(h) == [[(0, 0, 0, 1)], [(0, 0, 0, 1)]] and times(h)[-1] == 0.202


def test_a_re_send_follows_the_sends_the_application_made_before_the_failure():
    # linger 50 ms: the send at 100 ms goes out at 150 ms; the send at 200 ms opens a batch that lingers
    # (the sender has no reason to look). The first batch fails at 211 ms with no retries left and the
    # callback re-sends its record then: it comes after the send made at 200 ms, in the same batch.
    h = Harness([0.100, 0.200], producer__linger__ms=50, producer__retries=0, producer__app__resend=True,
                producer__enable__idempotence=False, producer__acks="1")
    h.respond(0.21, P.NOT_ENOUGH_REPLICAS)
    h.run(0.5)
    assert [round(float(t), 3) for t in h.ledger.send_t[:h.ledger.n]] == [0.1, 0.2, 0.211]
    assert list(h.ledger.origin[:h.ledger.n]) == [-1, -1, 0]
    assert times(h) == [0.153, 0.251]  # (a new connection first); the second batch, opened at 200 ms, lingers to 250
    assert [b[0][3] for b in batches(h)] == [1, 2]


def test_keyed_sends_that_use_up_the_pool_block_until_a_buffer_returns():
    # BufferPoolTest, keyed: three buffers; p0's batch is in flight; sends to p1, p2, p3 at 250, 260, 270 ms
    # each open a lingering batch, and the third finds no buffer. send() blocks from 270 ms until p0's
    # answer (sent at 300 ms) returns its buffer at 301 ms, so the send due at 400 ms moves to 431 ms.
    h = Harness([0.10, 0.25, 0.26, 0.27, 0.40], keys=[0, 1, 2, 3, 1], partitions=4,
                producer__buffer__memory=3 * 16384, producer__linger__ms=100, producer__retry__backoff__ms=0)
    h.run(0.28)
    acc = h.producer.accumulator
    assert acc.blocked == "memory" and acc.blocked_since == pytest.approx(0.27)
    h.respond(0.3, None)
    h.run(0.35)
    assert [round(float(t), 4) for t in h.ledger.send_t[:h.ledger.n]] == [0.1, 0.25, 0.26, 0.301]
    assert acc.arrivals.peek() == pytest.approx(0.431)


def test_the_answer_that_returns_the_only_buffer_wakes_the_sender_for_the_waiting_send():
    # one buffer (buffer.memory = batch.size), linger 0: the send at 150 ms waits for the buffer of the
    # batch sent at 100 ms; its answer (sent at 200 ms) returns it at 201 ms and the send goes out at once
    h = Harness([0.100, 0.150], producer__buffer__memory=16384, producer__linger__ms=0)
    h.respond(0.2, None)
    h.run(0.3)
    assert [round(float(t), 3) for t in h.ledger.send_t[:h.ledger.n]] == [0.1, 0.201]
    assert times(h) == [0.103, 0.202]


def test_the_answer_that_ends_a_flush_wakes_the_sender_for_the_sends_made_behind_it():
    # flush() at 120 ms with the 100 ms batch in flight: the sends at 130 and 140 ms wait until its
    # answer at 201 ms, then happen 81 ms late (211 and 221 ms) and go out at once
    h = Harness([0.100, 0.130, 0.140], producer__linger__ms=0)

    def flusher(env):
        yield env.timeout(0.120)
        h.producer.flush()
    h.env.process(flusher(h.env))
    h.respond(0.2, None)
    h.run(0.3)
    assert [round(float(t), 3) for t in h.ledger.send_t[:h.ledger.n]] == [0.1, 0.211, 0.221]
    assert times(h) == [0.103, 0.212, 0.222]


# -- found by the random search (tests/randomconfig.py) ----------------------------------------------

@pytest.mark.parametrize("keys", [[0, 0], None])
def test_a_send_blocked_for_memory_when_production_ends_still_fails_after_max_block(keys):
    # buffer.memory holds one batch: the first record's batch is in flight and never answered, so
    # the send at 0.2 s waits for memory; production ends at 0.5 s with that send() still blocked.
    # The application's close() comes after it: at 0.2 + max.block.ms it fails (BufferExhausted),
    # it is not dropped (before: an IndexError for keyed records, a failure of no record for others).
    h = Harness([0.1, 0.2], keys=keys, producer__buffer__memory=16384, producer__max__block__ms=1000,
                workload__duration=0.5, **EXACT).run(0.5)
    assert h.producer.accumulator.blocked == "memory"
    h.app.close()
    h.run(1.5)
    assert h.ledger.n == 2 and h.ledger.p[1] == P_NACK_SEEN and h.ledger.fail[1] == F_BUFFER_EXHAUSTED
    assert h.producer.accumulator.buffer_exhausted == 1 and h.producer.accumulator.blocked is None


def test_reconnecting_without_backoff_to_a_refusing_broker_for_seconds_keeps_going():
    # reconnect.backoff.ms=0: every refused attempt (a 2 ms round trip) is followed by another; the
    # exponential backoff's exponent is capped (before: 2 ** 1024 overflowed after ~2 s, a crash)
    h = Harness([0.1], producer__reconnect__backoff__ms=0, workload__duration=5, **EXACT)
    h.brokers[0].refuse = True
    h.run(3.0)
    assert h.producer.sender.counters.connect_failures > 1100
    h.brokers[0].refuse = False
    h.run(3.1)
    assert times(h) and times(h)[0] < 3.1
