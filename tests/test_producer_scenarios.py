"""Producer-side ways to lose, duplicate and reorder, on tiny clusters (1 ms links) and whole runs.

Timelines first: one request or one response dropped by a `packet_loss` fault window on the
producer's link, then what retries, idempotence and max.in.flight make of it. Then whole runs
with faults, classified per message.

"Dropped" is `network.loss.model = "drop"`: the request or response is gone and only the
client's request.timeout.ms notices -- how a lost request or response looks to Kafka (a broken
connection, a proxy, a bug). With TCP's retransmission (the default model) the same short loss
window only delays the message: tests/test_network.py and the last test here.
"""

from __future__ import annotations

import pytest

from sim.result import RunResult
from sim.run import run_once, simulate
from sim.workload import ArrivalStream

from simtest import config

MS = 0.001
ONE_PARTITION = dict(producer__acks="1", producer__linger__ms=0, producer__request__timeout__ms=500,
                     workload__duration=3, network__loss__model="drop")


def drop_window(start: float, end: float) -> dict:
    """A packet_loss fault that drops everything on the producer's links between start and end."""
    return {"at": start, "action": "packet_loss", "target": "producer", "rate": 1.0, "duration": end - start}


def run_timeline(times, faults, **overrides):
    cfg = config(**dict(ONE_PARTITION, **overrides), faults=faults)
    c = simulate(cfg, arrivals=ArrivalStream.from_times(times))
    return c, RunResult.from_cluster(c, 0.0)


def log_ids(c, p=0):
    """The first message id of every batch in partition p's final log, in offset order."""
    log = c.leader_log(p)
    return [b.ids[0].start for b in log.batches]


# -- one request lost: reordering ---------------------------------------------------------------------

# The request of message 1 (sent at 0.2) is dropped; message 2 (0.21) goes on the same connection
# and is appended; at 0.2 + 500 ms the request times out, the connection closes, message 1 is retried.
LOST_REQUEST = dict(times=[0.1, 0.2, 0.21], faults=[drop_window(0.1995, 0.2005)])


def test_without_idempotence_a_retried_batch_lands_after_a_later_one():
    c, r = run_timeline(**LOST_REQUEST, producer__enable__idempotence=False)
    assert log_ids(c) == [0, 2, 1]
    assert r["producer"]["reorderings"] == 1 and r["producer"]["reorderings_by_partition"] == [1]
    assert r["producer"]["request_timeouts"] == 1 and r.outcomes["delivered"] == 3


def test_one_request_in_flight_keeps_the_order():
    c, r = run_timeline(**LOST_REQUEST, producer__enable__idempotence=False,
                        producer__max__in__flight__requests__per__connection=1)
    assert log_ids(c) == [0, 1, 2] and r["producer"]["reorderings"] == 0


def test_idempotence_keeps_the_order_with_five_in_flight():
    # message 2 (seq 2) is refused as out of order until the retried seq 1 is in
    c, r = run_timeline(**LOST_REQUEST, producer__acks="all")
    assert log_ids(c) == [0, 1, 2] and r["producer"]["reorderings"] == 0
    assert r.outcomes["delivered"] == 3


# -- one response lost: duplicates ------------------------------------------------------------------

# Message 1's request arrives at 0.201 and is appended; its response (sent at 0.201) is dropped.
LOST_RESPONSE = dict(times=[0.1, 0.2], faults=[drop_window(0.2005, 0.2015)])


def test_without_idempotence_a_retry_after_a_lost_response_duplicates():
    c, r = run_timeline(**LOST_RESPONSE, producer__enable__idempotence=False)
    assert log_ids(c) == [0, 1, 1]
    assert r.outcomes["duplicated"] == 1 and r["causes"]["duplicated"] == {"dup_log": 1}


def test_with_idempotence_the_retry_after_a_lost_response_is_not_appended_again():
    c, r = run_timeline(**LOST_RESPONSE, producer__acks="all")
    assert log_ids(c) == [0, 1]
    assert r.outcomes["duplicated"] == 0 and r.outcomes["delivered"] == 2


def test_without_retries_a_lost_response_is_a_false_failure():
    c, r = run_timeline(**LOST_RESPONSE, producer__retries=0)
    assert log_ids(c) == [0, 1]
    assert r["causes"]["delivered"] == {"ok": 1, "false_failure": 1}


# -- whole runs ---------------------------------------------------------------------------------------

RUN = dict(cluster__brokers=3, topic__partitions=3, topic__replication__factor=3, topic__min__insync__replicas=2,
           workload__duration=12, workload__rate=3000, network__latency__distribution="lognormal")
# the leader's links to its followers slow down (300 ms each way), then the leader process dies: what it
# appended meanwhile never reached a follower, one of which becomes the leader
SLOW_FOLLOWERS_THEN_CRASH = [{"at": 6, "action": "latency_spike", "target": "leader", "from": "brokers",
                              "extra_ms": 300},
                             {"at": 8, "action": "crash", "target": "leader"}]
LOSSY_PRODUCER_LINKS = [{"at": 1, "action": "packet_loss", "target": "producer", "rate": 0.01}]


@pytest.fixture(scope="module")
def acks_under_leader_crash():
    return {acks: run_once(config(**RUN, producer__acks=acks, faults=SLOW_FOLLOWERS_THEN_CRASH))
            for acks in ("0", "1", "all")}


def test_acks_all_loses_nothing_acknowledged_when_the_leader_crashes(acks_under_leader_crash):
    r = acks_under_leader_crash["all"]
    assert r.outcomes["lost_acked"] == 0 and r["acked_missing_from_log"]["total"] == 0
    assert r.outcomes["delivered"] == r["sent"] and r["drained"]


def test_acks_1_loses_what_the_followers_had_not_fetched(acks_under_leader_crash):
    r = acks_under_leader_crash["1"]
    lost = r.outcomes["lost_acked"]
    assert lost > 0 and r["causes"]["lost_acked"] == {"lost_storage": lost}
    assert r["by_stage"]["broker"]["lost_acked"] == lost  # written to the old leader, truncated away
    assert r.outcomes["delivered"] + lost == r["sent"]


def test_acks_0_loses_at_least_as_much_as_acks_1(acks_under_leader_crash):
    # the same faults and send times (common random numbers); acks=0 never learns of any failure
    r0, r1 = acks_under_leader_crash["0"], acks_under_leader_crash["1"]
    assert r0.outcomes["lost_acked"] >= r1.outcomes["lost_acked"] > 0
    assert r0.outcomes["failed_visible"] == r0.outcomes["failed_silent"] == 0


@pytest.fixture(scope="module")
def lossy_links():
    base = dict(RUN, producer__request__timeout__ms=1000, network__loss__model="drop")
    return {name: run_once(config(**base, **extra, faults=LOSSY_PRODUCER_LINKS)) for name, extra in (
        ("default", {}), ("no_retries", {"producer__retries": 0}),
        ("no_idempotence", {"producer__enable__idempotence": False}))}


def test_default_retries_deliver_everything_through_packet_loss(lossy_links):
    r = lossy_links["default"]
    assert r.outcomes["delivered"] == r["sent"] and r["causes"]["delivered"] == {"ok": r["sent"]}
    assert r["producer"]["request_timeouts"] > 0 and r["producer"]["retries"] > 0
    assert r["producer"]["reorderings"] == 0


def test_without_retries_packet_loss_fails_sends_some_of_which_were_written(lossy_links):
    r = lossy_links["no_retries"]
    failed = r.outcomes["failed_visible"]
    assert failed > 0 and r["causes"]["failed_visible"] == {"retries_exhausted": failed}
    assert r["causes"]["delivered"]["false_failure"] > 0  # the response was lost, not the request
    assert r.outcomes["duplicated"] == r.outcomes["lost_acked"] == 0 and r["producer"]["retries"] == 0


def test_without_idempotence_lost_responses_duplicate_and_retries_reorder(lossy_links):
    off, on = lossy_links["no_idempotence"], lossy_links["default"]
    dup = off.outcomes["duplicated"]
    assert dup > 0 and off["causes"]["duplicated"] == {"dup_log": dup}
    assert off["producer"]["reorderings"] > 0
    assert on.outcomes["duplicated"] == 0 and on["flags"]["dup_in_log"] == 0


# -- acks=all: what the leader answers when the ISR is short ----------------------------------------------

# RF 2, min.insync.replicas 2: the follower (broker 1) dies at 0.15 s and comes back at 20 s. Until the
# controller fences it (broker.session.timeout.ms, 9 s) it stays in the ISR: writes are appended and wait
# for it in purgatory (REQUEST_TIMED_OUT after request.timeout.ms, appended); once the ISR is the leader
# alone, the leader refuses them before appending (NOT_ENOUGH_REPLICAS).
SHORT_ISR = dict(cluster__brokers=2, topic__replication__factor=2, topic__min__insync__replicas=2,
                 producer__linger__ms=0, producer__request__timeout__ms=2000, producer__delivery__timeout__ms=60000,
                 workload__duration=30, faults=[{"at": 0.15, "action": "crash", "target": "broker:1", "duration": 19.85}])


def copies_written(c, message_id, p=0):
    """Times at which the leader wrote a copy of a message."""
    log = c.brokers[0].logs[p]
    return [t for b, t in zip(log.batches, log.written, strict=True)
            if any(s.start <= message_id < s.stop for s in b.ids)]


def test_not_enough_replicas_is_refused_before_the_append_and_retried():
    cfg = config(**SHORT_ISR, producer__enable__idempotence=False)
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 12.0]))
    assert c.controller.leader_of(0) == 0
    written = copies_written(c, 1)
    assert len(written) == 1 and written[0] > 20.0  # refused while the ISR was short, written once it was back
    assert c.ledger.p[1] == 1 and c.ledger.ack_t[1] > written[0] and c.producer.counters.retries > 0


def test_purgatory_timeouts_are_appended_and_retried_so_without_idempotence_they_duplicate():
    cfg = config(**SHORT_ISR, producer__enable__idempotence=False)
    c = simulate(cfg, arrivals=ArrivalStream.from_times([0.1, 0.2]))
    written = copies_written(c, 1)
    assert len(written) >= 3 and all(t < 10.0 for t in written[:-1])  # one copy per REQUEST_TIMED_OUT
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["duplicated"] == 1 and r["causes"]["duplicated"] == {"dup_log": 1}


def test_purgatory_timeouts_with_idempotence_leave_one_copy():
    c = simulate(config(**SHORT_ISR), arrivals=ArrivalStream.from_times([0.1, 0.2]))
    assert len(copies_written(c, 1)) == 1 and c.producer.counters.retries >= 3
    assert RunResult.from_cluster(c, 0.0).outcomes["delivered"] == 2


def test_the_same_scenario_and_seed_give_the_same_result():
    cfg = config(**dict(RUN, workload__keys=50, producer__enable__idempotence=False, producer__app__resend=True,
                        producer__request__timeout__ms=1000, workload__duration=4, network__loss__model="drop"),
                 faults=LOSSY_PRODUCER_LINKS)
    first, second = run_once(cfg).data, run_once(cfg).data
    first.pop("wall_s"), second.pop("wall_s")
    assert first == second and first["producer"]["retries"] > 0


# -- idempotence across a leader failover ------------------------------------------------------------

# RF 3, acks=all. Message 1 reaches the leader at 0.201, the followers have it at 0.202; the leader dies
# at 0.2025, before their next fetches tell it so: no answer. The producer retries; after the fencing
# (9 s) a follower leads -- with message 1 in its log and in its rebuilt producer state.
FAILOVER = dict(cluster__brokers=3, topic__replication__factor=3, topic__min__insync__replicas=2,
                producer__linger__ms=0, workload__duration=15,
                faults=[{"at": 0.2025, "action": "crash", "target": "leader"}])


@pytest.mark.parametrize("idempotent, copies", [(True, 1), (False, 2)])
def test_the_duplicate_window_survives_the_failover(idempotent, copies):
    c = simulate(config(**FAILOVER, producer__enable__idempotence=idempotent),
                 arrivals=ArrivalStream.from_times([0.1, 0.2]))
    leader = c.controller.leader_of(0)
    assert leader != 0
    assert sum(1 for b in c.brokers[leader].logs[0].batches if b.ids[0].start == 1) == copies
    r = RunResult.from_cluster(c, 0.0)
    assert r.outcomes["duplicated"] == copies - 1 and r.outcomes["lost_acked"] == 0


def test_acks_0_notices_a_stalled_connection_by_its_unacknowledged_bytes():
    # message 1's request (0.2 s) is lost: the broker's kernel acknowledges nothing after it, so the
    # oldest unacknowledged bytes age until request.timeout.ms (0.2 + 0.5 s) closes the connection, even
    # though the application keeps sending; messages 1-5 are lost although "acknowledged"
    times = [0.1 * i for i in range(1, 11)]
    c, r = run_timeline(times, [drop_window(0.1995, 0.2005)], producer__acks="0")
    assert log_ids(c) == [0, 6, 7, 8, 9] and r["producer"]["request_timeouts"] == 1
    assert r.outcomes["lost_acked"] == 5 and r["by_stage"]["producer"]["lost_acked"] == 5


def test_with_tcp_retransmission_a_lost_request_only_waits_for_the_retransmission_timeout():
    # LOST_REQUEST again, with the default loss model: message 1's request (0.2 s) is lost once and
    # sent again after the RTO (2 ms round trip + 200 ms), or sooner: message 2's request (0.21 s) is
    # the next segment on the link, and its SACK reveals the gap one round trip and a quarter later
    # (fast retransmit at 0.21 + 2.5 ms). Message 2 waits behind it; nothing times out or reorders.
    c, r = run_timeline(**LOST_REQUEST, producer__enable__idempotence=False, network__loss__model="retransmit")
    assert log_ids(c) == [0, 1, 2]
    assert r["producer"]["request_timeouts"] == 0 and r["producer"]["retries"] == 0
    again = 0.21 + 0.0025
    assert c.ledger.ack_t[1] == pytest.approx(again + 2 * MS)  # there and back, 1 ms each way
    assert c.ledger.ack_t[2] == pytest.approx(again + 2 * MS)  # delivered together with it
    assert c.network.counters.retransmissions == 1 and c.network.counters.dropped == 0
