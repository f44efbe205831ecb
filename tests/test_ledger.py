"""Ledger: hand-built timelines of a few messages, each asserting the exact outcome class of every id.

Every test reads as a small story: the application sends some messages (`allocate`), the producer
reports a result (`ack` / `fail_send` / `mark_crashed` / nothing), leaders append (`mark_appended`),
the consumer processes (`mark_processed`); at the end we hand `classify` the final log (records below
the final HW of the final leader, as (base_offset, ids) chunks) and the group's committed offsets.

The rules are those of design.md "Outcome classes" (checked in order, first match wins):
P = producer result, W = copies in the final log, C = times processed, K = committed past it unprocessed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.ledger import (
    CLASSES,
    GONE_POWER_LOSS,
    GONE_TRUNCATED,
    F_BUFFER_EXHAUSTED,
    F_DELIVERY_TIMEOUT,
    F_FATAL,
    F_PRODUCER_CRASH,
    F_RETRIES_EXHAUSTED,
    FAIL_CAUSES,
    P_ACK,
    P_NACK_SEEN,
    P_NACK_UNSEEN,
    P_NONE,
    STAGES,
    Ledger,
    ids_count,
    ids_sub,
)

FAILURE_CAUSES = [F_DELIVERY_TIMEOUT, F_RETRIES_EXHAUSTED, F_BUFFER_EXHAUSTED, F_FATAL, F_PRODUCER_CRASH]


# ------------------------------------------------------------------------------------------ helpers


def send(ledger: Ledger, k: int = 1, t: float = 0.0) -> tuple:
    """The application sends k messages at time t; returns their ids as a batch would hold them."""
    return (ledger.allocate(np.full(k, t)),)


def one_id(ids: tuple) -> int:
    assert ids_count(ids) == 1
    return ids[0].start


def cls_of(outcome, mid: int) -> str:
    return CLASSES[outcome.cls[mid]]


def stage_total(outcome) -> int:
    return sum(sum(per_class.values()) for per_class in outcome.by_stage.values())


def cause_total(outcome) -> int:
    return sum(sum(per_cause.values()) for per_cause in outcome.causes.values())


def only(outcome, cls: str, cause: str, stage: str | None):
    """Assert a one-message outcome: its class, its single cause, its single stage (or none)."""
    assert outcome.n == 1
    assert outcome.counts == {c: int(c == cls) for c in CLASSES}
    assert outcome.causes == {cls: {cause: 1}}
    expected_stages = {s: {} for s in STAGES}
    if stage is not None:
        expected_stages[stage] = {cls: 1}
    assert outcome.by_stage == expected_stages


# ------------------------------------------------------------------------------ ids_count / ids_sub


def test_ids_count_sums_the_slices():
    assert ids_count((slice(3, 7),)) == 4
    assert ids_count((slice(0, 2), slice(10, 13), slice(20, 20))) == 5
    assert ids_count(()) == 0


def test_ids_sub_single_slice():
    assert ids_sub((slice(100, 110),), 0, 10) == (slice(100, 110),)
    assert ids_sub((slice(100, 110),), 3, 7) == (slice(103, 107),)
    assert ids_count(ids_sub((slice(100, 110),), 4, 4)) == 0


@pytest.mark.parametrize("i, j, expected", [
    (0, 9, (slice(0, 3), slice(10, 12), slice(20, 24))),   # everything
    (0, 3, (slice(0, 3),)),                                # exactly the first slice
    (1, 2, (slice(1, 2),)),                                # inside the first slice
    (2, 4, (slice(2, 3), slice(10, 11))),                  # across the first boundary
    (3, 5, (slice(10, 12),)),                              # exactly the second slice
    (4, 7, (slice(11, 12), slice(20, 22))),                # across the second boundary
    (2, 8, (slice(2, 3), slice(10, 12), slice(20, 23))),   # across both boundaries
    (5, 9, (slice(20, 24),)),                              # exactly the last slice
    (8, 9, (slice(23, 24),)),                              # the very last record
])
def test_ids_sub_across_slice_boundaries(i, j, expected):
    ids = (slice(0, 3), slice(10, 12), slice(20, 24))
    sub = ids_sub(ids, i, j)
    assert sub == expected
    assert ids_count(sub) == j - i
    flat = [m for s in ids for m in range(s.start, s.stop)]
    assert [m for s in sub for m in range(s.start, s.stop)] == flat[i:j]


# ------------------------------------------------------------------- every class, one message each


def test_duplicated_dup_log():
    """Retry without idempotence: two copies in the log, the consumer processes both."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)  # first attempt appended, response lost
    led.mark_appended(ids)  # retry appended again
    led.ack(ids, 0.01)
    led.mark_processed(ids)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids), (1, ids)]}, {0: 2})
    assert cls_of(out, 0) == "duplicated"
    assert out.w[0] == 2
    assert out.dup_in_log == 1
    only(out, "duplicated", "dup_log", "producer")


def test_duplicated_dup_redelivery():
    """Consumer crash before the commit: one copy, processed twice."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    led.mark_processed(ids)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "duplicated"
    assert out.dup_in_log == 0
    only(out, "duplicated", "dup_redelivery", "consumer")


def test_delivered_ok():
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "delivered"
    assert out.false_failures == 0
    only(out, "delivered", "ok", None)


@pytest.mark.parametrize("seen", [True, False])
def test_delivered_false_failure(seen):
    """Delivery timeout while in flight, but the broker did append: the producer said failed, it arrived."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.fail_send(ids, seen=seen, cause=F_DELIVERY_TIMEOUT)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "delivered"
    assert out.false_failures == 1
    only(out, "delivered", "false_failure", None)


def test_delivered_in_doubt():
    """The producer crashed with the batch in flight, the broker had appended it, the consumer read it."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.mark_crashed(ids)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert led.p[0] == P_NONE
    assert cls_of(out, 0) == "delivered"
    assert out.false_failures == 0
    only(out, "delivered", "in_doubt", None)


def test_lost_acked_lost_storage_stage_broker():
    """Acked (acks=1), appended on the old leader, truncated away after failover."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    out = led.classify({0: []}, {0: 0})
    assert cls_of(out, 0) == "lost_acked"
    assert out.w[0] == 0
    only(out, "lost_acked", "lost_storage", "broker")


def test_lost_acked_lost_storage_stage_producer():
    """acks=0: the producer counts it as sent, the leader never appended it."""
    led = Ledger()
    ids = send(led)
    led.ack(ids, 0.0)
    out = led.classify({}, {})
    assert cls_of(out, 0) == "lost_acked"
    only(out, "lost_acked", "lost_storage", "producer")


def test_lost_acked_lost_skipped():
    """Auto-commit with asynchronous processing: committed past it, never processed."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "lost_acked"
    assert out.w[0] == 1
    only(out, "lost_acked", "lost_skipped", "consumer")


@pytest.mark.parametrize("cause", FAILURE_CAUSES)
def test_failed_visible_each_cause(cause):
    led = Ledger()
    ids = send(led)
    led.fail_send(ids, seen=True, cause=cause)
    out = led.classify({0: []}, {0: 0})
    assert led.p[0] == P_NACK_SEEN
    assert cls_of(out, 0) == "failed_visible"
    only(out, "failed_visible", FAIL_CAUSES[cause], "producer")


@pytest.mark.parametrize("cause", FAILURE_CAUSES)
def test_failed_silent_each_cause(cause):
    led = Ledger()
    ids = send(led)
    led.fail_send(ids, seen=False, cause=cause)
    out = led.classify({0: []}, {0: 0})
    assert led.p[0] == P_NACK_UNSEEN
    assert cls_of(out, 0) == "failed_silent"
    only(out, "failed_silent", FAIL_CAUSES[cause], "producer")


def test_lost_unacked_producer_crash():
    led = Ledger()
    ids = send(led)
    led.mark_crashed(ids)
    out = led.classify({0: []}, {0: 0})
    assert cls_of(out, 0) == "lost_unacked"
    only(out, "lost_unacked", "producer_crash", "producer")


def test_lost_unacked_pending_at_end():
    """Nothing ever completed it and the producer did not crash: still pending at the end."""
    led = Ledger()
    send(led)
    out = led.classify({0: []}, {0: 0})
    assert cls_of(out, 0) == "lost_unacked"
    only(out, "lost_unacked", "pending_at_end", "producer")


def test_unconsumed():
    """Acked, in the log above the committed offset, never processed: the backlog was not drained."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    out = led.classify({0: [(0, ids)]}, {0: 0})
    assert cls_of(out, 0) == "unconsumed"
    only(out, "unconsumed", "not_consumed", "consumer")


def test_all_seven_classes_in_one_ledger():
    led = Ledger()
    dup, dlv, lost, vis, sil, unack, unc = (send(led, t=0.001 * i) for i in range(7))
    for ids in (dup, dlv, lost, unc):
        led.mark_appended(ids)
        led.ack(ids, 0.01)
    led.fail_send(vis, seen=True, cause=F_RETRIES_EXHAUSTED)
    led.fail_send(sil, seen=False, cause=F_DELIVERY_TIMEOUT)
    led.mark_crashed(unack)
    led.mark_processed(dup)
    led.mark_processed(dlv)
    led.mark_processed(dup)
    # final log: dup@0, dlv@1, unc@2 ; commit at 2
    out = led.classify({0: [(0, dup), (1, dlv), (2, unc)]}, {0: 2})
    assert [cls_of(out, m) for m in range(7)] == list(CLASSES)
    assert out.counts == {c: 1 for c in CLASSES}
    assert out.causes == {
        "duplicated": {"dup_redelivery": 1},
        "delivered": {"ok": 1},
        "lost_acked": {"lost_storage": 1},
        "failed_visible": {"retries_exhausted": 1},
        "failed_silent": {"delivery_timeout": 1},
        "lost_unacked": {"producer_crash": 1},
        "unconsumed": {"not_consumed": 1},
    }
    assert out.by_stage == {
        "producer": {"failed_visible": 1, "failed_silent": 1, "lost_unacked": 1},
        "broker": {"lost_acked": 1},
        "consumer": {"duplicated": 1, "unconsumed": 1},
    }
    assert cause_total(out) == 7
    assert stage_total(out) == 6  # delivered has no stage


# --------------------------------------------------------------------- order of the rules (first wins)


def test_why_a_re_sent_message_is_missing_folds_every_attempt():
    # Message A (id 0) is re-sent as id 1 before message B (id 2) is sent. A's second attempt was acknowledged
    # and then removed by a power loss; B was acknowledged and then truncated away. Per logical message (A,
    # B), the causes are A's attempts' and B's -- not the flags of ids 0 and 1.
    led = Ledger()
    a = send(led)
    led.mark_appended(a)
    again = (led.resend(a, 0.1),)
    b = send(led)
    for ids in (again, b):
        led.mark_appended(ids)
        led.ack(ids, 0.2)
    led.mark_gone(again, GONE_POWER_LOSS)
    led.mark_gone(b, GONE_TRUNCATED)
    out = led.classify({0: []}, {0: 0})
    assert out.n == 2 and cls_of(out, 0) == cls_of(out, 1) == "lost_acked"
    assert out.acked_missing_from_log["by_cause"] == {"power_loss": 1, "truncation": 1}


def test_an_acked_record_missing_from_the_leader_but_held_by_another_replica_is_blamed_on_divergence():
    led = Ledger()
    kept, other = send(led), send(led)
    for ids in (kept, other):
        led.mark_appended(ids)
        led.ack(ids, 0.01)
    # the leader has `other` at offset 0; a follower still has `kept` there (never truncated)
    out = led.classify({0: [(0, other)]}, {0: 0}, other_replicas=[(0, kept)])
    assert cls_of(out, 0) == "lost_acked" and cls_of(out, 1) == "unconsumed"
    assert out.acked_missing_from_log["by_cause"] == {"diverged": 1}
    alone = led.classify({0: [(0, other)]}, {0: 0})  # no other replica holds it: no reason recorded
    assert alone.acked_missing_from_log["by_cause"] == {"other": 1}


@pytest.mark.parametrize("seen, cls", [(True, "failed_visible"), (False, "failed_silent")])
def test_failed_and_reported_but_processed_once_is_delivered_false_failure(seen, cls):
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.fail_send(ids, seen=seen, cause=F_DELIVERY_TIMEOUT)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "delivered"
    assert out.counts[cls] == 0
    assert out.causes == {"delivered": {"false_failure": 1}}


@pytest.mark.parametrize("producer_result", ["ack", "nack_seen", "nack_unseen", "crashed", "pending"])
def test_processed_twice_is_duplicated_whatever_the_producer_result(producer_result):
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    if producer_result == "ack":
        led.ack(ids, 0.01)
    elif producer_result == "nack_seen":
        led.fail_send(ids, seen=True, cause=F_DELIVERY_TIMEOUT)
    elif producer_result == "nack_unseen":
        led.fail_send(ids, seen=False, cause=F_DELIVERY_TIMEOUT)
    elif producer_result == "crashed":
        led.mark_crashed(ids)
    led.mark_processed(ids)
    led.mark_processed(ids)
    led.mark_processed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == "duplicated"
    only(out, "duplicated", "dup_redelivery", "consumer")
    assert out.false_failures == 0  # the flag belongs to delivered only


def test_processed_twice_even_when_gone_from_the_log_is_duplicated():
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    led.mark_processed(ids)
    led.mark_processed(ids)
    out = led.classify({0: []}, {0: 5})
    assert cls_of(out, 0) == "duplicated"
    only(out, "duplicated", "dup_redelivery", "consumer")
    assert out.acked_missing_from_log == {"total": 1, "processed_before_loss": 1, "never_written": 0,
                                          "by_cause": {"other": 1}}


def test_acked_above_commit_unprocessed_is_unconsumed_not_lost():
    led = Ledger()
    a, b = send(led), send(led)
    for ids in (a, b):
        led.mark_appended(ids)
        led.ack(ids, 0.01)
    out = led.classify({0: [(7, a), (8, b)]}, {0: 8})  # commit exactly at b's offset: b is not behind it
    assert cls_of(out, 0) == "lost_acked"
    assert cls_of(out, 1) == "unconsumed"


def test_acked_processed_once_then_lost_from_log_is_delivered():
    """Phantom read: the end-to-end view says delivered, the durability view still counts it missing."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    led.mark_processed(ids)
    out = led.classify({0: []}, {0: 1})
    assert cls_of(out, 0) == "delivered"
    assert out.counts["lost_acked"] == 0
    assert out.acked_missing_from_log == {"total": 1, "processed_before_loss": 1, "never_written": 0,
                                          "by_cause": {"other": 1}}


@pytest.mark.parametrize("seen, cls", [(True, "failed_visible"), (False, "failed_silent")])
def test_failed_send_in_log_and_skipped_stays_failed(seen, cls):
    """K only turns *acked* messages into lost_acked; a reported failure checks first."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.fail_send(ids, seen=seen, cause=F_DELIVERY_TIMEOUT)
    out = led.classify({0: [(0, ids)]}, {0: 1})
    assert cls_of(out, 0) == cls


def test_failed_send_in_log_above_commit_is_failed_not_unconsumed():
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.fail_send(ids, seen=True, cause=F_DELIVERY_TIMEOUT)
    out = led.classify({0: [(0, ids)]}, {0: 0})
    assert cls_of(out, 0) == "failed_visible"


def test_in_doubt_in_log_unprocessed_is_lost_unacked_not_unconsumed():
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.mark_crashed(ids)
    out = led.classify({0: [(0, ids)]}, {0: 0})
    assert cls_of(out, 0) == "lost_unacked"
    assert out.causes == {"lost_unacked": {"producer_crash": 1}}


def test_commit_of_one_partition_does_not_skip_another():
    led = Ledger()
    a, b = send(led), send(led)
    for ids in (a, b):
        led.mark_appended(ids)
        led.ack(ids, 0.01)
    out = led.classify({0: [(0, a)], 1: [(0, b)]}, {0: 1})  # partition 1 has no committed offset
    assert cls_of(out, 0) == "lost_acked"
    assert cls_of(out, 1) == "unconsumed"


# ------------------------------------------------------------------------ acked_missing_from_log


def test_acked_missing_from_log_counts():
    led = Ledger()
    phantom = send(led)     # acked, appended, processed, then removed (power loss after the read)
    truncated = send(led)   # acked, appended, removed before anyone read it
    acks0 = send(led)       # acked (acks=0), never written anywhere
    kept = send(led)        # acked, still in the log
    failed = send(led)      # failed and not in the log: not an *acked* message
    pending = send(led)     # never completed, not in the log
    for ids in (phantom, truncated, kept):
        led.mark_appended(ids)
    for ids in (phantom, truncated, acks0, kept):
        led.ack(ids, 0.01)
    led.fail_send(failed, seen=True, cause=F_RETRIES_EXHAUSTED)
    led.mark_processed(phantom)
    led.mark_gone(phantom, GONE_POWER_LOSS)
    led.mark_gone(truncated, GONE_TRUNCATED)
    led.mark_gone(kept, GONE_TRUNCATED)  # a copy went from one replica; the final log still has it
    out = led.classify({0: [(0, kept)]}, {0: 0})
    assert out.acked_missing_from_log == {"total": 3, "processed_before_loss": 1, "never_written": 1,
                                          "by_cause": {"power_loss": 1, "truncation": 1, "never_written": 1}}
    assert [cls_of(out, one_id(i)) for i in (phantom, truncated, acks0, kept, failed, pending)] == [
        "delivered", "lost_acked", "lost_acked", "unconsumed", "failed_visible", "lost_unacked"]
    assert out.by_stage["broker"] == {"lost_acked": 1}
    assert out.by_stage["producer"]["lost_acked"] == 1


# ----------------------------------------------------------------- batches made of several slices


def test_multi_slice_batch_partly_below_commit():
    """Two producers' batches interleave in id space; one log batch holds ids from two slices."""
    led = Ledger()
    first = led.allocate(np.zeros(4))    # ids 0..3
    other = led.allocate(np.zeros(3))    # ids 4..6 (another batch, not in this log)
    second = led.allocate(np.zeros(4))   # ids 7..10
    batch = (first, second)              # 8 records: 0,1,2,3,7,8,9,10
    led.mark_appended(batch)
    led.ack(batch, 0.01)
    led.fail_send((other,), seen=True, cause=F_RETRIES_EXHAUSTED)
    # the consumer processed positions 2..5 of the batch (ids 2,3,7,8), across the slice boundary
    done = ids_sub(batch, 2, 6)
    assert done == (slice(2, 4), slice(7, 9))
    led.mark_processed(done)
    # log batch at offset 100; commit at 107 covers positions 0..6 (ids 0,1,2,3,7,8,9)
    out = led.classify({0: [(100, batch)]}, {0: 107})
    got = {m: cls_of(out, m) for m in range(11)}
    assert got == {
        0: "lost_acked", 1: "lost_acked",          # below the commit, never processed: skipped
        2: "delivered", 3: "delivered", 7: "delivered", 8: "delivered",
        9: "lost_acked",                           # in the second slice, still below the commit
        10: "unconsumed",                          # the last record, at offset 107 == commit
        4: "failed_visible", 5: "failed_visible", 6: "failed_visible",
    }
    assert out.causes["lost_acked"] == {"lost_skipped": 3}
    assert list(out.w) == [1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1]


def test_log_chunks_from_ids_sub_of_a_multi_slice_batch():
    """The replica log keeps ids_sub(batch.ids, 0, n) below the HW; a truncated tail is not in W."""
    led = Ledger()
    a = led.allocate(np.zeros(2))  # 0,1
    led.allocate(np.zeros(1))      # 2 (elsewhere)
    b = led.allocate(np.zeros(3))  # 3,4,5
    batch = (a, b)
    led.mark_appended(batch)
    led.ack(batch, 0.01)
    below_hw = ids_sub(batch, 0, 3)  # HW cuts the batch after its third record
    out = led.classify({0: [(0, below_hw)]}, {0: 0})
    assert list(out.w) == [1, 1, 0, 1, 0, 0]
    assert [cls_of(out, m) for m in (0, 1, 3, 4, 5)] == [
        "unconsumed", "unconsumed", "unconsumed", "lost_acked", "lost_acked"]
    assert out.causes["lost_acked"] == {"lost_storage": 2}
    assert out.by_stage["broker"] == {"lost_acked": 2}


@pytest.mark.parametrize("commit, n_skipped", [(9, 0), (10, 0), (11, 1), (13, 3), (15, 5), (99, 5)])
def test_chunk_straddling_the_commit_skips_only_records_below_it(commit, n_skipped):
    led = Ledger()
    ids = send(led, 5)  # ids 0..4 at offsets 10..14
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    out = led.classify({0: [(10, ids)]}, {0: commit})
    assert [cls_of(out, m) for m in range(5)] == (
        ["lost_acked"] * n_skipped + ["unconsumed"] * (5 - n_skipped))
    assert out.counts["lost_acked"] == n_skipped
    assert out.counts["unconsumed"] == 5 - n_skipped


def test_two_chunks_around_the_commit_and_a_processed_record():
    led = Ledger()
    ids = send(led, 6)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    led.mark_processed(ids_sub(ids, 1, 2))  # id 1 processed
    chunks = [(0, ids_sub(ids, 0, 3)), (3, ids_sub(ids, 3, 6))]
    out = led.classify({0: chunks}, {0: 4})
    assert [cls_of(out, m) for m in range(6)] == [
        "lost_acked", "delivered", "lost_acked", "lost_acked", "unconsumed", "unconsumed"]


def test_skipped_needs_the_commit_past_every_copy():
    """A retried batch: one copy below the commit (skipped), its second copy above it (still to be read)."""
    led = Ledger()
    ids = send(led)
    led.mark_appended(ids)
    led.mark_appended(ids)
    led.ack(ids, 0.01)
    out = led.classify({0: [(0, ids), (5, ids)]}, {0: 3})
    assert out.w[0] == 2
    assert cls_of(out, 0) == "unconsumed"


# -------------------------------------------------------------------------------------- growth


def test_times_after_the_send_keep_a_relative_precision_of_float32():
    led = Ledger()
    sent = np.array([3600.0, 3600.0, 7200.0, 0.5])
    delays = np.array([0.0123456789, 99.87654321, 1e-6, 3000.0])
    ids = (led.allocate(sent),)
    for i, d in enumerate(delays):
        led.ack((ids_sub(ids, i, i + 1)[0],), sent[i] + d)
    led.mark_processed(ids, sent + 2 * delays)
    got_ack = led.ack_t[:4] - sent
    got_e2e = led.processed_t[:4] - sent
    # absolute float32 times at 7200 s would be off by up to 0.24 ms; delays keep 6e-8 relative
    # (+ 1e-11 for the float64 rounding of absolute times near 7200 s)
    assert np.all(np.abs(got_ack - delays) <= 6e-8 * delays + 1e-11)
    assert np.all(np.abs(got_e2e - 2 * delays) <= 6e-8 * 2 * delays + 1e-11)
    # p, fail, gone, appended 1 byte each; processed 2; send_t 8; ack_dt, processed_dt, origin 4 each
    assert led.state_bytes_per_message() == 26


def test_growth_beyond_the_initial_size_keeps_earlier_state():
    led = Ledger()
    assert len(led.p) == 1024
    a = (led.allocate(np.linspace(0.0, 1.0, 1024)),)  # fills the initial arrays exactly
    led.mark_appended(a)
    led.ack(a, 2.0)
    led.mark_processed(ids_sub(a, 0, 10))
    b = (led.allocate(np.full(100, 3.0)),)      # crosses 1024: grows
    led.fail_send(b, seen=False, cause=F_FATAL)
    c = (led.allocate(np.full(3000, 4.0)),)     # needs more than double: grows to fit
    led.mark_crashed(ids_sub(c, 0, 1))
    assert led.n == 4124
    assert len(led.p) >= 4124
    assert all(len(getattr(led, f)) == len(led.p) for f in Ledger.ARRAYS)
    # state from before the growth survived it (ack times are float32 delays after the send)
    assert (led.p[:1024] == P_ACK).all() and np.allclose(led.ack_t[:1024], 2.0, rtol=0, atol=1e-6)
    assert led.send_t[1023] == 1.0 and led.appended[:1024].all()
    assert (led.processed[:10] == 1).all() and (led.processed[10:1024] == 0).all()
    # new rows start clean
    assert (led.p[1024:1124] == P_NACK_UNSEEN).all() and (led.p[1124:4124] == P_NONE).all()
    assert (led.fail[1024:1124] == F_FATAL).all()
    assert (led.send_t[1024:1124] == 3.0).all() and (led.send_t[1124:4124] == 4.0).all()
    assert np.isnan(led.ack_t[1024:4124]).all()
    assert not led.appended[1024:4124].any()
    assert led.fail[1124] == F_PRODUCER_CRASH and (led.fail[1125:4124] == 0).all()
    out = led.classify({0: [(0, a)]}, {0: 500})
    assert out.counts == {
        "duplicated": 0, "delivered": 10, "lost_acked": 490, "failed_visible": 0,
        "failed_silent": 100, "lost_unacked": 3000, "unconsumed": 524}
    assert out.causes["lost_unacked"] == {"producer_crash": 1, "pending_at_end": 2999}
    assert out.causes["failed_silent"] == {"fatal_error": 100}
    assert sum(out.counts.values()) == 4124


def test_expected_size_preallocates():
    led = Ledger(expected=5000)
    assert len(led.p) == 5000
    ids = (led.allocate(np.zeros(5000)),)
    assert len(led.p) == 5000
    led.ack(ids, 1.0)
    assert led.classify({}, {}).counts["lost_acked"] == 5000


def test_empty_ledger():
    out = Ledger().classify({}, {})
    assert out.n == 0
    assert out.counts == {c: 0 for c in CLASSES}
    assert out.causes == {}
    assert out.acked_missing_from_log == {"total": 0, "processed_before_loss": 0, "never_written": 0,
                                          "by_cause": {}}


# ------------------------------------------------------------------- property: random P/W/C/K


PRODUCER_RESULTS = ["ack", "nack_seen", "nack_unseen", "crashed", "pending"]

message_st = st.tuples(
    st.sampled_from(PRODUCER_RESULTS),
    st.sampled_from(FAILURE_CAUSES),   # cause when the send failed
    st.booleans(),                     # appended to some leader
    st.integers(0, 3),                 # W: copies in the final log
    st.integers(0, 3),                 # C: times processed
    st.booleans(),                     # copies below the commit (K when C == 0); all or none of them
    st.integers(0, 1),                 # partition
)


def oracle(p, fail, appended, w, c, below):
    """Class, cause and stage of one message, straight from design.md."""
    k = c == 0 and w > 0 and below
    if c >= 2:
        return ("duplicated", "dup_log", "producer") if w >= 2 else ("duplicated", "dup_redelivery", "consumer")
    if c == 1:
        if p == "ack":
            return "delivered", "ok", None
        if p in ("nack_seen", "nack_unseen"):
            return "delivered", "false_failure", None
        return "delivered", "in_doubt", None
    if p == "ack" and w == 0:
        return "lost_acked", "lost_storage", "broker" if appended else "producer"
    if p == "ack" and k:
        return "lost_acked", "lost_skipped", "consumer"
    if p == "nack_seen":
        return "failed_visible", FAIL_CAUSES[fail], "producer"
    if p == "nack_unseen":
        return "failed_silent", FAIL_CAUSES[fail], "producer"
    if p == "crashed":
        return "lost_unacked", "producer_crash", "producer"
    if p == "pending":
        return "lost_unacked", "pending_at_end", "producer"
    return "unconsumed", "not_consumed", "consumer"


@settings(max_examples=150, deadline=None)
@given(
    msgs=st.lists(message_st, min_size=0, max_size=40),
    batch_sizes=st.lists(st.integers(1, 7), min_size=1, max_size=10),
    data=st.data(),
)
def test_property_classes_add_up_and_match_the_rules(msgs, batch_sizes, data):
    n = len(msgs)
    led = Ledger()
    # allocate the ids in batches of random sizes, as a producer would
    allocated = 0
    bi = 0
    while allocated < n:
        k = min(batch_sizes[bi % len(batch_sizes)], n - allocated)
        bi += 1
        s = led.allocate(np.full(k, float(bi)))
        assert (s.start, s.stop) == (allocated, allocated + k)
        allocated += k
    assert led.n == n

    for m, (p, fail, appended, _w, c, _below, _part) in enumerate(msgs):
        ids = (slice(m, m + 1),)
        if p == "ack":
            led.ack(ids, 1.0)
        elif p == "nack_seen":
            led.fail_send(ids, seen=True, cause=fail)
        elif p == "nack_unseen":
            led.fail_send(ids, seen=False, cause=fail)
        elif p == "crashed":
            led.mark_crashed(ids)
        if appended:
            led.mark_appended(ids)
        for _ in range(c):
            led.mark_processed(ids)

    # build each partition's final log: the "below" copies first, then the commit, then the rest;
    # consecutive copies are grouped into log batches whose ids may span several slices
    final_logs, committed = {}, {}
    for part in (0, 1):
        below = [m for m, msg in enumerate(msgs) if msg[6] == part and msg[5] for _ in range(msg[3])]
        above = [m for m, msg in enumerate(msgs) if msg[6] == part and not msg[5] for _ in range(msg[3])]
        below = data.draw(st.permutations(below))
        above = data.draw(st.permutations(above))
        records = below + above
        base = data.draw(st.integers(0, 50))
        committed[part] = base + len(below)
        chunks, pos = [], 0
        while pos < len(records):
            size = data.draw(st.integers(1, 4))
            group = records[pos:pos + size]
            ids = []
            for m in group:  # merge runs of consecutive ids into one slice
                if ids and ids[-1].stop == m:
                    ids[-1] = slice(ids[-1].start, m + 1)
                else:
                    ids.append(slice(m, m + 1))
            chunks.append((base + pos, tuple(ids)))
            pos += len(group)
        final_logs[part] = chunks

    out = led.classify(final_logs, committed)

    # the classes add up to the messages sent
    assert out.n == n
    assert sum(out.counts.values()) == n
    assert set(out.counts) == set(CLASSES)

    expected_counts = {c: 0 for c in CLASSES}
    expected_causes: dict = {}
    expected_stages = {s: {} for s in STAGES}
    missing = phantom = never_written = 0
    for m, (p, fail, appended, w, c, below, _part) in enumerate(msgs):
        assert out.w[m] == w
        cls, cause, stage = oracle(p, fail, appended, w, c, below)
        assert cls_of(out, m) == cls, (m, msgs[m])
        expected_counts[cls] += 1
        expected_causes.setdefault(cls, {})
        expected_causes[cls][cause] = expected_causes[cls].get(cause, 0) + 1
        if stage:
            expected_stages[stage][cls] = expected_stages[stage].get(cls, 0) + 1
        if p == "ack" and w == 0:
            missing += 1
            phantom += c > 0
            never_written += not appended
    assert out.counts == expected_counts
    assert out.causes == expected_causes
    assert out.by_stage == expected_stages
    # causes count every message exactly once, stages every message except the delivered ones
    assert cause_total(out) == n
    for cls in CLASSES:
        assert sum(out.causes.get(cls, {}).values()) == out.counts[cls]
        in_stages = sum(out.by_stage[s].get(cls, 0) for s in STAGES)
        assert in_stages == (0 if cls == "delivered" else out.counts[cls])
    assert stage_total(out) == n - out.counts["delivered"]
    by_cause = {k: v for k, v in (("other", missing - never_written), ("never_written", never_written)) if v}
    assert out.acked_missing_from_log == {
        "total": missing, "processed_before_loss": phantom, "never_written": never_written, "by_cause": by_cause}
    assert out.dup_in_log == sum(1 for msg in msgs if msg[3] >= 2)
    assert out.false_failures == sum(
        1 for msg in msgs if msg[4] == 1 and msg[0] in ("nack_seen", "nack_unseen"))


def test_mark_processed_keeps_the_first_processing_time_of_each_message():
    ledger = Ledger()
    ledger.allocate(np.zeros(6))
    ledger.mark_processed((slice(0, 2), slice(4, 6)), np.array([1.0, 2.0, 3.0, 4.0]))
    ledger.mark_processed((slice(1, 5),), np.array([5.0, 6.0, 7.0, 8.0]))  # 1 and 4 a second time
    assert ledger.processed[:6].tolist() == [1, 2, 1, 1, 2, 1]
    assert ledger.processed_t[:6].tolist() == [1.0, 2.0, 6.0, 7.0, 3.0, 4.0]


def test_defaults_hold_for_every_id_when_the_arrays_are_sized_far_ahead():
    # The arrays are sized for the messages expected, but the NaN / -1 defaults are written only a
    # block ahead of the ids in use (so a run that sends fewer messages touches less memory).
    led = Ledger(expected=1_000_000)
    ids = [(led.allocate(np.full(k, float(i))),) for i, k in enumerate((10, 70_000, 70_000, 1_000_000))]
    assert led.n == 1_140_010 and len(led.p) >= led.n
    assert np.isnan(led.ack_t).all() and np.isnan(led.processed_t).all() and (led.origin[:led.n] == -1).all()
    led.ack(ids[2], 5.0)
    assert np.allclose(led.ack_dt[70_010:140_010], 5.0 - 2.0) and np.allclose(led.ack_t[70_010:140_010], 5.0)
    assert np.isnan(led.ack_t[140_010:]).all()
    assert len(led.ack_t) == led.n
